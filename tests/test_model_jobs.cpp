// Model jobs through the CLI (`hessa run JOB.toml` with [function] model = "mlp"): bad job files exit 2 with one
// message naming the line and key; direction scans store their grid, centre and directions, and f along the plane
// equals an independent forward pass; full Hessians, parameter-set files, and shards merged equal to one run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli_support.hpp"
#include "hessa/backend.hpp"
#include "hessa/io.hpp"
#include "hessa/model.hpp"
#include "hessa/objective.hpp"
#include "store_reader.hpp"

namespace hessa::test {
// The long-double forward pass of test_model.cpp (same test binary): the loss of `model` at `theta`, written from
// the specification; `min_hidden_abs` may be null.
long double reference_loss(const MlpModel& model, const std::vector<long double>& theta, long double* min_hidden_abs);
}  // namespace hessa::test

namespace hessa {
namespace {

namespace fs = std::filesystem;
using test::CliRun;
using test::DoubleArray;
using test::run_hessa;
using Real = long double;

// Uniform numbers from std::mt19937's exactly specified 32-bit output (portable, unlike uniform_real_distribution).
class Uniform {
 public:
  explicit Uniform(std::uint32_t seed) : engine_(seed) {}
  double operator()(double lo, double hi) { return lo + (hi - lo) * (double(engine_()) * 0x1.0p-32); }

 private:
  std::mt19937 engine_;
};

std::vector<double> random_vector(std::size_t n, double lo, double hi, std::uint32_t seed) {
  Uniform u(seed);
  std::vector<double> v(n);
  for (double& x : v) x = u(lo, hi);
  return v;
}

// A .npy file (format 1.0, little-endian f8, C order), written here byte by byte.
void write_npy(const std::string& path, const std::vector<double>& values, const std::vector<std::size_t>& shape) {
  std::string shape_text = "(";
  for (std::size_t d : shape) shape_text += std::to_string(d) + ", ";
  if (shape.size() > 1)
    shape_text.resize(shape_text.size() - 2);
  else
    shape_text.resize(shape_text.size() - 1);  // "(17,)"
  shape_text += ")";
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape_text + ", }";
  const std::size_t unpadded = 10 + header.size() + 1;
  header += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  std::ofstream out(path, std::ios::binary);
  out.put(char(0x93));
  out << "NUMPY";
  out.put(char(1));
  out.put(char(0));
  out.put(char(header.size() & 0xff));
  out.put(char(header.size() >> 8));
  out << header;
  for (double v : values) {
    unsigned char bytes[8];
    std::memcpy(bytes, &v, 8);  // the hosts this runs on are little-endian, as '<f8' says
    out.write(reinterpret_cast<const char*>(bytes), 8);
  }
}

// Rows of `columns` values as CSV, every double with 17 significant digits (it reads back exactly).
std::string csv_text(const std::vector<double>& values, std::size_t columns, const std::string& header = "") {
  std::string text = header.empty() ? "" : header + "\n";
  char cell[40];
  for (std::size_t k = 0; k < values.size(); ++k) {
    std::snprintf(cell, sizeof cell, "%.17g", values[k]);
    text += cell;
    text += (k + 1) % columns == 0 ? "\n" : ",";
  }
  return text;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The job's model, [2, 4, 1] tanh with the logistic loss (P = 2*4 + 4 + 4*1 + 1 = 17), on 40 samples of two
// interleaved half-moons with noise, labels 0 / 1; and a trained-looking parameter vector.
constexpr std::size_t kSamples = 40;
constexpr std::size_t kParameters = 17;

std::vector<double> moons_rows() {
  Uniform u(2024);
  std::vector<double> rows;
  for (std::size_t s = 0; s < kSamples; ++s) {
    const double t = u(0, 3.14159265358979), label = double(s % 2);
    rows.push_back((label == 0 ? std::cos(t) : 1 - std::cos(t)) + u(-0.1, 0.1));
    rows.push_back((label == 0 ? std::sin(t) : 0.5 - std::sin(t)) + u(-0.1, 0.1));
    rows.push_back(label);
  }
  return rows;
}

// The model as the test sees it: filled in by hand from the rows, not through make_dataset.
MlpModel reference_model(const std::vector<double>& rows, std::vector<std::int32_t> widths, Activation activation,
                         LossKind loss) {
  MlpModel m;
  m.widths = std::move(widths);
  m.activation = activation;
  m.loss = loss;
  const std::size_t columns = std::size_t(m.widths.front()) + 1;
  m.data.samples = rows.size() / columns;
  m.data.features = m.widths.front();
  m.data.targets = 1;
  for (std::size_t s = 0; s < m.data.samples; ++s) {
    for (std::size_t c = 0; c + 1 < columns; ++c) m.data.x.push_back(rows[s * columns + c]);
    m.data.y.push_back(rows[s * columns + columns - 1]);
  }
  return m;
}

double loss_at(const MlpModel& model, const std::vector<Real>& theta) {
  return double(test::reference_loss(model, theta, nullptr));
}

// centre + sum_a y_a d_a in long double; `directions` is k x P row-major.
std::vector<Real> along(const std::vector<double>& centre, const std::vector<double>& directions, const double* y,
                        int k) {
  const std::size_t P = centre.size();
  std::vector<Real> x(centre.begin(), centre.end());
  for (int a = 0; a < k; ++a)
    for (std::size_t i = 0; i < P; ++i) x[i] += Real(y[a]) * Real(directions[std::size_t(a) * P + i]);
  return x;
}

// |a - b| <= rel max(|b|, 1e-300): the same formula as hessa's, summed in another order.
::testing::AssertionResult close(double a, double b, double rel) {
  if (std::fabs(a - b) <= rel * std::fabs(b)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " vs " << b << " (relative " << std::fabs(a - b) / std::fabs(b) << ")";
}

class ModelJobs : public test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    rows_ = moons_rows();
    write("data.csv", csv_text(rows_, 3, "x0,x1,y"));
    centre_ = random_vector(kParameters, -1, 1, 7);
    write_npy(path("params.npy"), centre_, {kParameters});
    model_ = reference_model(rows_, {2, 4, 1}, Activation::Tanh, LossKind::Logistic);
  }

  // [function] for the model, with the trained parameters.
  static std::string function_section() {
    return "[function]\n"
           "model = \"mlp\"\n"
           "layers = [2, 4, 1]\n"
           "activation = \"tanh\"\n"
           "loss = \"logistic\"\n"
           "data = \"data.csv\"\n"
           "parameters = \"params.npy\"\n";
  }
  // A direction scan over the (alpha, beta) box [-1, 1]^2 with counts, then `extra` lines of [points].
  static std::string scan_job(const std::string& counts, const std::string& extra, const std::string& output,
                              int chunk) {
    return function_section() +
           "[points]\n"
           "kind = \"directions\"\n"
           "lower = [-1.0, -1.0]\n"
           "upper = [1.0, 1.0]\n"
           "counts = " +
           counts + "\n" + extra +
           "[analysis]\n"
           "eigenvalues = true\n"
           "gradient = true\n"
           "[output]\n"
           "path = \"" +
           output +
           "\"\n"
           "chunk = " +
           std::to_string(chunk) +
           "\n"
           "[run]\n"
           "backend = \"cpu\"\n";
  }

  DoubleArray doubles(const std::string& file, const std::string& name) {
    const auto a = test::read_doubles(path(file), name);
    EXPECT_TRUE(a.has_value()) << file << ": /" << name << " unreadable";
    return a ? *a : DoubleArray{};
  }
  nlohmann::json settings(const std::string& file) {
    const auto s = test::read_string_attribute(path(file), "settings");
    EXPECT_TRUE(s && s->size() == 1) << "settings attribute";
    return s && s->size() == 1 ? nlohmann::json::parse(s->front()) : nlohmann::json();
  }

  std::vector<double> rows_;
  std::vector<double> centre_;
  MlpModel model_;
};

// "[v, v, ..., v]" with `count` entries.
std::string repeated(const std::string& v, std::size_t count) {
  std::string text = "[";
  for (std::size_t i = 0; i < count; ++i) text += (i ? ", " : "") + v;
  return text + "]";
}

struct BadModelJob {
  const char* name;
  std::string text;
  std::vector<std::string> expected;  // alternatives: each "job.toml:LINE:|key path"
};

// Every bad job: exit 2, exactly one error message, naming the job file's line and the key path (the wording
// beyond them is not pinned), and no output file.
TEST_F(ModelJobs, BadJobFilesExitWith2NamingTheLineAndTheKeyPath) {
  write_npy(path("short.npy"), random_vector(kParameters - 1, -1, 1, 8), {kParameters - 1});
  std::vector<double> ce_rows = rows_;
  ce_rows[3 * 5 + 2] = 2;  // the 6th sample's class: 2 of classes 0..1
  write("ce_bad.csv", csv_text(ce_rows, 3));
  write_npy(path("params22.npy"), random_vector(22, -1, 1, 9), {22});  // [2, 4, 2]: 8 + 4 + 8 + 2

  // Lines 1-7 [function], 8-12 [points], 13-14 [output].
  const std::string good = function_section() +
                           "[points]\n"
                           "kind = \"directions\"\n"
                           "lower = [-1.0, -1.0]\n"
                           "upper = [1.0, 1.0]\n"
                           "counts = [3, 3]\n"
                           "[output]\n"
                           "path = \"o.h5\"\n";
  std::string one_direction = "directions = [[";
  for (std::size_t i = 0; i < kParameters; ++i) one_direction += (i ? ", " : "") + std::to_string(0.1 * double(i));
  one_direction += "]]\n";
  const std::string expression_scan =
      "[function]\n"
      "expression = \"x^2 + y^2 - z^2\"\n"
      "vars = [\"x\", \"y\", \"z\"]\n"
      "[points]\n"
      "kind = \"directions\"\n"
      "centre = [0.0, 0.5, 1.0]\n"
      "directions = \"filter\"\n"
      "lower = [-1.0]\n"
      "upper = [1.0]\n"
      "counts = [3]\n"
      "[output]\n"
      "path = \"o.h5\"\n";
  const BadModelJob cases[] = {
      {"syntax error", replaced(good, "[points]\n", "[points\n"), {"job.toml:8:|"}},
      {"unknown key",
       replaced(good, "layers = [2, 4, 1]\n", "layers = [2, 4, 1]\nlayer = 3\n"),
       {"job.toml:4:|function.layer"}},
      {"wrong type", replaced(good, "layers = [2, 4, 1]", "layers = \"2,8,1\""), {"job.toml:3:|function.layers"}},
      {"layers missing", replaced(good, "layers = [2, 4, 1]\n", ""), {"job.toml:1:|function.layers"}},
      {"data missing", replaced(good, "data = \"data.csv\"\n", ""), {"job.toml:1:|function.data"}},
      {"missing data file", replaced(good, "data.csv", "nowhere.csv"), {"job.toml:6:|function.data"}},
      {"layers[0] does not match the data's columns",
       replaced(good, "layers = [2, 4, 1]", "layers = [3, 4, 1]"),
       {"job.toml:3:|function.layers", "job.toml:6:|function.data"}},
      {"parameter vector of the wrong length",
       replaced(good, "params.npy", "short.npy"),
       {"job.toml:7:|function.parameters"}},
      {"counts and directions disagree",
       replaced(good, "counts = [3, 3]\n", "counts = [3, 3]\n" + one_direction),
       {"job.toml:13:|points.directions"}},
      {"filter directions for an expression", expression_scan, {"job.toml:7:|points.directions"}},
      {"cross_entropy label out of range",
       replaced(replaced(replaced(replaced(good, "[2, 4, 1]", "[2, 4, 2]"), "\"logistic\"", "\"cross_entropy\""),
                         "data.csv", "ce_bad.csv"),
                "params.npy", "params22.npy"),
       {"job.toml:6:|function.data"}},
      {"more directions than parameters (k = 18 > P = 17)",
       replaced(replaced(replaced(good, "lower = [-1.0, -1.0]", "lower = " + repeated("-1.0", kParameters + 1)),
                         "upper = [1.0, 1.0]", "upper = " + repeated("1.0", kParameters + 1)),
                "counts = [3, 3]", "counts = " + repeated("1", kParameters + 1)),
       {"job.toml:10:|points.lower", "job.toml:12:|points.counts", "job.toml:1:|points.directions",
        "job.toml:8:|points.directions"}},
      {"unknown hessian space",
       replaced(good, "counts = [3, 3]\n", "counts = [3, 3]\nhessian = \"partial\"\n"),
       {"job.toml:13:|points.hessian"}},
  };
  for (const BadModelJob& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string job = write("job.toml", c.text);
    const CliRun r = run_hessa("run " + job + " --backend cpu");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(occurrences(r.output, "hessa: error"), 1u) << r.output;
    EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
    bool found = false;
    for (const std::string& e : c.expected) {
      const std::string line = e.substr(0, e.find('|')), key = e.substr(e.find('|') + 1);
      const std::size_t at = r.output.find(line);
      found = found || (at != std::string::npos && r.output.find(key, at) != std::string::npos);
    }
    EXPECT_TRUE(found) << "expected " << c.expected.front() << " in:\n" << r.output;
    EXPECT_FALSE(fs::exists(path("o.h5")));
    fs::remove(path("o.h5"));  // so that one wrongly accepted job does not fail the cases after it
  }
}

// The default direction scan of a model: filter-normalized directions (seeded) through its parameters, the
// 2 x 2 Hessian of (alpha, beta) -> f(centre + alpha d1 + beta d2). The store holds the grid as /points, the
// resolved centre and directions, and f(alpha, beta) equal to the independent loss at centre + alpha d1 + beta d2
// computed from those stored directions (1e-12 relative: the same formula, summed in another order).
TEST_F(ModelJobs, RestrictedDirectionScanStoresTheScanAndTheLossAlongIt) {
  const CliRun r = run_hessa("run " + write("job.toml", scan_job("[5, 5]", "seed = 3\n", "scan.h5", 7)) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const DoubleArray points = doubles("scan.h5", "points");
  ASSERT_EQ(points.shape, (std::vector<hsize_t>{25, 2}));
  for (std::size_t i = 0; i < 5; ++i) {  // a grid, last axis fastest
    for (std::size_t j = 0; j < 5; ++j) {
      EXPECT_EQ(points.values[(i * 5 + j) * 2], -1.0 + 0.5 * double(i));
      EXPECT_EQ(points.values[(i * 5 + j) * 2 + 1], -1.0 + 0.5 * double(j));
    }
  }
  EXPECT_EQ(test::read_string_attribute(path("scan.h5"), "coordinate_names"),
            (std::vector<std::string>{"alpha", "beta"}));

  const DoubleArray centre = doubles("scan.h5", "scan/centre");
  ASSERT_EQ(centre.shape, (std::vector<hsize_t>{kParameters}));
  EXPECT_EQ(centre.values, centre_) << "the centre defaults to [function] parameters";
  const DoubleArray directions = doubles("scan.h5", "scan/directions");
  ASSERT_EQ(directions.shape, (std::vector<hsize_t>{2, kParameters}));

  // Filter normalization (Li et al. 2018): each row of W_l in a direction has the norm of the same row of the
  // centre's W_l; bias entries are 0. (Their code divides by |d| + 1e-10: 1e-9 relative.)
  const int widths[] = {2, 4, 1};
  for (int a = 0; a < 2; ++a) {
    const double* d = directions.values.data() + std::size_t(a) * kParameters;
    std::size_t offset = 0;
    for (int l = 0; l < 2; ++l) {
      const std::size_t in = std::size_t(widths[l]), out = std::size_t(widths[l + 1]);
      for (std::size_t o = 0; o < out; ++o) {
        double nd = 0, nc = 0;
        for (std::size_t i = 0; i < in; ++i) {
          nd += d[offset + o * in + i] * d[offset + o * in + i];
          nc += centre_[offset + o * in + i] * centre_[offset + o * in + i];
        }
        EXPECT_TRUE(close(std::sqrt(nd), std::sqrt(nc), 1e-9)) << "direction " << a << ", layer " << l << ", row " << o;
        EXPECT_EQ(d[offset + in * out + o], 0.0) << "bias entry, direction " << a << ", layer " << l;
      }
      offset += in * out + out;
    }
  }
  EXPECT_NE(std::vector<double>(directions.values.begin(), directions.values.begin() + kParameters),
            std::vector<double>(directions.values.begin() + kParameters, directions.values.end()));

  const DoubleArray f = doubles("scan.h5", "f");
  ASSERT_EQ(f.values.size(), 25u);
  EXPECT_TRUE(close(f.values[12], loss_at(model_, {centre_.begin(), centre_.end()}), 1e-12)) << "f at (0, 0)";
  for (std::size_t p = 0; p < 25; ++p)
    EXPECT_TRUE(close(f.values[p], loss_at(model_, along(centre_, directions.values, &points.values[p * 2], 2)), 1e-12))
        << "point " << p;
  EXPECT_EQ(doubles("scan.h5", "eigenvalues").shape, (std::vector<hsize_t>{25, 2}));
  EXPECT_EQ(doubles("scan.h5", "gradient").shape, (std::vector<hsize_t>{25, 2}));

  const nlohmann::json s = settings("scan.h5");
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(s["points"]["kind"], "directions");
  EXPECT_EQ(s["points"]["lower"], nlohmann::json({-1.0, -1.0}));
  EXPECT_EQ(s["points"]["upper"], nlohmann::json({1.0, 1.0}));
  EXPECT_EQ(s["points"]["counts"], nlohmann::json({5, 5}));
  EXPECT_EQ(s["points"]["hessian"], "restricted");
  EXPECT_EQ(s["points"]["directions"], "filter");
  EXPECT_EQ(s["points"]["seed"], 3);
  EXPECT_EQ(s["function"]["model"], "mlp");
  EXPECT_EQ(s["function"]["layers"], nlohmann::json({2, 4, 1}));
  EXPECT_EQ(s["function"]["activation"], "tanh");
  EXPECT_EQ(s["function"]["loss"], "logistic");
  EXPECT_EQ(s["function"]["parameter_count"], 17);
}

// hessian = "full": the P x P Hessian at each mapped point, so P eigenvalues per point (ascending, their ends
// /lambda_min and /lambda_max). At (0, 0) they equal the CPU backend's own analysis of the model at the centre
// (the same stencil on the same points: 1e-9 of the spectrum's scale allows for another batching of the sums).
TEST_F(ModelJobs, FullHessianScanStoresAllEigenvaluesOfEachPoint) {
  const CliRun r =
      run_hessa("run " + write("job.toml", scan_job("[3, 3]", "hessian = \"full\"\n", "full.h5", 4)) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(doubles("full.h5", "points").shape, (std::vector<hsize_t>{9, 2}));
  const DoubleArray eigenvalues = doubles("full.h5", "eigenvalues");
  ASSERT_EQ(eigenvalues.shape, (std::vector<hsize_t>{9, kParameters}));
  const DoubleArray lambda_min = doubles("full.h5", "lambda_min"), lambda_max = doubles("full.h5", "lambda_max");
  for (std::size_t p = 0; p < 9; ++p) {
    const double* w = eigenvalues.values.data() + p * kParameters;
    EXPECT_TRUE(std::is_sorted(w, w + kParameters)) << "point " << p;
    EXPECT_EQ(w[0], lambda_min.values[p]);
    EXPECT_EQ(w[kParameters - 1], lambda_max.values[p]);
  }
  EXPECT_EQ(settings("full.h5")["points"]["hessian"], "full");

  MlpModel model = model_;
  model.data = Dataset{};
  ASSERT_EQ(make_dataset(rows_, 3, model, &model.data), "");
  Objective objective;
  objective.model = &model;
  AnalysisOptions options;
  options.keep_eigenvalues = true;
  ChunkResult direct;
  make_cpu_backend()->analyze(objective, options, centre_.data(), 1, direct);
  const double scale = std::max(std::fabs(direct.eigenvalues.front()), std::fabs(direct.eigenvalues.back()));
  for (std::size_t i = 0; i < kParameters; ++i)
    EXPECT_NEAR(eigenvalues.values[4 * kParameters + i], direct.eigenvalues[i], 1e-9 * scale) << "lambda_" << i;
}

// kind = "file" with a model: each row is a parameter vector (a "parameter set"); f is the loss there.
TEST_F(ModelJobs, ParameterSetFileGivesTheLossOfEachRow) {
  std::vector<double> sets = centre_;
  for (std::uint32_t s = 0; s < 3; ++s) {
    const std::vector<double> v = random_vector(kParameters, -2, 2, 100 + s);
    sets.insert(sets.end(), v.begin(), v.end());
  }
  write("sets.csv", csv_text(sets, kParameters));
  std::string job = function_section() +
                    "[points]\n"
                    "kind = \"file\"\n"
                    "file = \"sets.csv\"\n"
                    "[output]\n"
                    "path = \"sets.h5\"\n";
  job = replaced(job, "parameters = \"params.npy\"\n", "");  // not needed: the rows are the parameters
  const CliRun r = run_hessa("run " + write("job.toml", job) + " --quiet --backend cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const DoubleArray points = doubles("sets.h5", "points");
  ASSERT_EQ(points.shape, (std::vector<hsize_t>{4, kParameters}));
  EXPECT_EQ(points.values, sets);
  const DoubleArray f = doubles("sets.h5", "f");
  ASSERT_EQ(f.values.size(), 4u);
  for (std::size_t p = 0; p < 4; ++p) {
    const std::vector<Real> theta(sets.begin() + std::ptrdiff_t(p * kParameters),
                                  sets.begin() + std::ptrdiff_t((p + 1) * kParameters));
    EXPECT_TRUE(close(f.values[p], loss_at(model_, theta), 1e-12)) << "row " << p;
  }
  EXPECT_EQ(settings("sets.h5")["points"]["kind"], "file");
}

// directions = "random": Gaussian rows of unit 2-norm, k = 4 named alpha, beta, gamma, a3. Given inline
// directions (k = 1) and an inline centre, or a centre file (CSV column) and a directions file (.npy k x P), are
// stored as given, and f along them equals the loss there.
TEST_F(ModelJobs, RandomAndGivenDirectionsAreStoredAsResolved) {
  std::string job = scan_job("[2, 1, 1, 2]", "directions = \"random\"\nseed = 11\n", "random.h5", 3);
  job = replaced(job, "lower = [-1.0, -1.0]", "lower = [-1.0, -1.0, -1.0, -1.0]");
  job = replaced(job, "upper = [1.0, 1.0]", "upper = [1.0, 1.0, 1.0, 1.0]");
  CliRun r = run_hessa("run " + write("job.toml", job) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::read_string_attribute(path("random.h5"), "coordinate_names"),
            (std::vector<std::string>{"alpha", "beta", "gamma", "a3"}));
  const DoubleArray directions = doubles("random.h5", "scan/directions");
  ASSERT_EQ(directions.shape, (std::vector<hsize_t>{4, kParameters}));
  for (std::size_t a = 0; a < 4; ++a) {
    double norm = 0;
    for (std::size_t i = 0; i < kParameters; ++i) norm += std::pow(directions.values[a * kParameters + i], 2);
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-14) << "direction " << a;
  }
  EXPECT_EQ(doubles("random.h5", "points").shape, (std::vector<hsize_t>{4, 4}));
  EXPECT_EQ(doubles("random.h5", "eigenvalues").shape, (std::vector<hsize_t>{4, 4}));
  EXPECT_EQ(settings("random.h5")["points"]["directions"], "random");

  std::vector<double> d = random_vector(kParameters, -0.5, 0.5, 12), c = random_vector(kParameters, -1, 1, 13);
  std::string inline_d = "directions = [[", inline_c = "centre = [";
  char cell[40];
  for (std::size_t i = 0; i < kParameters; ++i) {
    std::snprintf(cell, sizeof cell, "%s%.17g", i ? ", " : "", d[i]);
    inline_d += cell;
    std::snprintf(cell, sizeof cell, "%s%.17g", i ? ", " : "", c[i]);
    inline_c += cell;
  }
  job = scan_job("[3]", inline_c + "]\n" + inline_d + "]]\n", "given.h5", 3);
  job = replaced(job, "lower = [-1.0, -1.0]", "lower = [-1.0]");
  job = replaced(job, "upper = [1.0, 1.0]", "upper = [1.0]");
  r = run_hessa("run " + write("job.toml", job) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::read_string_attribute(path("given.h5"), "coordinate_names"), (std::vector<std::string>{"alpha"}));
  EXPECT_EQ(doubles("given.h5", "scan/centre").values, c);
  EXPECT_EQ(doubles("given.h5", "scan/directions").values, d);
  const DoubleArray f = doubles("given.h5", "f");
  ASSERT_EQ(f.values.size(), 3u);
  for (std::size_t p = 0; p < 3; ++p) {
    const double alpha = -1.0 + double(p);
    EXPECT_TRUE(close(f.values[p], loss_at(model_, along(c, d, &alpha, 1)), 1e-12)) << "alpha = " << alpha;
  }

  // From files: the centre as a CSV column, two directions as a 2 x P .npy.
  const std::vector<double> two = random_vector(2 * kParameters, -0.5, 0.5, 14);
  write("centre.csv", csv_text(c, 1));
  write_npy(path("dirs.npy"), two, {2, kParameters});
  job = scan_job("[2, 3]", "centre = \"centre.csv\"\ndirections = \"dirs.npy\"\n", "files.h5", 4);
  r = run_hessa("run " + write("job.toml", job) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(doubles("files.h5", "scan/centre").values, c);
  const DoubleArray from_file = doubles("files.h5", "scan/directions");
  EXPECT_EQ(from_file.shape, (std::vector<hsize_t>{2, kParameters}));
  EXPECT_EQ(from_file.values, two);
  const DoubleArray points = doubles("files.h5", "points"), f_files = doubles("files.h5", "f");
  ASSERT_EQ(f_files.values.size(), 6u);
  for (std::size_t p = 0; p < 6; ++p)
    EXPECT_TRUE(close(f_files.values[p], loss_at(model_, along(c, two, &points.values[p * 2], 2)), 1e-12)) << p;
}

// An expression's direction scan: random directions by default, an inline centre. f = x^2 - 3 y^2 + x z is a
// quadratic with H = [[2, 0, 1], [0, -6, 0], [1, 0, 0]], so the restricted Hessian is D H D^T everywhere and
// central differences carry rounding only: 4 df / h^2 with df = 8 eps |f| (|f| < 10 here), ~2e-6 -> 1e-5.
TEST_F(ModelJobs, ExpressionDirectionScanDefaultsToRandomDirections) {
  const std::string job =
      "[function]\n"
      "expression = \"x^2 - 3*y^2 + x*z\"\n"
      "vars = [\"x\", \"y\", \"z\"]\n"
      "[points]\n"
      "kind = \"directions\"\n"
      "centre = [0.5, -0.25, 1.0]\n"
      "lower = [-1.0, -1.0]\n"
      "upper = [1.0, 1.0]\n"
      "counts = [3, 4]\n"
      "[analysis]\n"
      "eigenvalues = true\n"
      "[output]\n"
      "path = \"expr.h5\"\n";
  const CliRun r = run_hessa("run " + write("job.toml", job) + " --quiet --backend cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(settings("expr.h5")["points"]["directions"], "random");
  const std::vector<double> c = {0.5, -0.25, 1.0};
  EXPECT_EQ(doubles("expr.h5", "scan/centre").values, c);
  const DoubleArray d = doubles("expr.h5", "scan/directions");
  ASSERT_EQ(d.shape, (std::vector<hsize_t>{2, 3}));
  const double H[3][3] = {{2, 0, 1}, {0, -6, 0}, {1, 0, 0}};
  double R[2][2] = {};
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          R[a][b] += d.values[std::size_t(a * 3 + i)] * H[i][j] * d.values[std::size_t(b * 3 + j)];
  const double mid = (R[0][0] + R[1][1]) / 2, radius = std::hypot((R[0][0] - R[1][1]) / 2, R[0][1]);
  const DoubleArray points = doubles("expr.h5", "points"), f = doubles("expr.h5", "f"),
                    eigenvalues = doubles("expr.h5", "eigenvalues");
  ASSERT_EQ(eigenvalues.shape, (std::vector<hsize_t>{12, 2}));
  for (std::size_t p = 0; p < 12; ++p) {
    const std::vector<Real> x = along(c, d.values, &points.values[p * 2], 2);
    EXPECT_NEAR(f.values[p], double(x[0] * x[0] - 3 * x[1] * x[1] + x[0] * x[2]), 1e-13)  // ulps of terms < 10
        << "point " << p;
    EXPECT_NEAR(eigenvalues.values[p * 2], mid - radius, 1e-5) << "point " << p;
    EXPECT_NEAR(eigenvalues.values[p * 2 + 1], mid + radius, 1e-5) << "point " << p;
  }
}

// --shard 1/2 and 2/2 merged equal one run byte for byte: every per-point dataset, and /scan/centre and
// /scan/directions (seeded, so the shards resolve the same directions).
TEST_F(ModelJobs, ShardsOfADirectionScanMergedEqualOneRun) {
  std::vector<std::string> names = test::per_point_datasets(false);
  names.insert(names.end(), {"eigenvalues", "gradient", "scan/centre", "scan/directions"});
  const std::string job = write("job.toml", scan_job("[6, 5]", "seed = 5\n", "scan.h5", 4));  // 30 points, 8 chunks
  for (int k = 1; k <= 2; ++k) {
    const CliRun r = run_hessa("run " + job + " --quiet --shard " + std::to_string(k) + "/2");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const CliRun merged = run_hessa("merge " + path("scan.shard-1-of-2.h5") + " " + path("scan.shard-2-of-2.h5") +
                                  " -o " + path("merged.h5"));
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  const CliRun single = run_hessa("run " + job + " --quiet");
  ASSERT_EQ(single.exit_code, 0) << single.output;
  const auto a = test::read_file(path("merged.h5"), names);
  const auto b = test::read_file(path("scan.h5"), names);
  ASSERT_TRUE(a && b);
  test::expect_same_per_point_data(*a, *b, names);
  EXPECT_EQ(a->done(), std::vector<unsigned char>(8, 1));
  EXPECT_EQ(a->complete, 1);
}

// [analysis] direction on a restricted scan: each point's d'Hd / d'd and f + g'd + d'Hd / 2 for P-dimensional
// probe directions, from exact Hessian-vector products, with only the 2 x 2 restricted Hessian formed. Checked
// against an independent long-double computation along d: fourth-order differences of the specification's loss,
// (-L(+2h) + 16 L(+h) - 30 L(0) + 16 L(-h) - L(-2h)) / 12h^2 for d'Hd and (-L(+2h) + 8 L(+h) - 8 L(-h) + L(-2h)) / 12h
// for g'd, h = 1e-3 |d|^-1: truncation ~h^4 (1e-12 of the derivatives' scale), rounding ~1e-19 / h^2 = 1e-13, so
// 1e-8 of |d'd| + |d'Hd| is a wide margin that still catches a wrong sign, factor or direction. Shards merged
// equal one run on the new datasets too.
TEST_F(ModelJobs, ProbeDirectionsGiveCurvatureAndTaylorPredictionWithoutTheFullHessian) {
  const std::vector<double> probes = random_vector(2 * kParameters, -1, 1, 11);
  write_npy(path("probes.npy"), probes, {2, kParameters});
  const std::vector<double> third = random_vector(kParameters, -0.5, 0.5, 12);
  std::string inline_direction;
  for (double v : third)
    inline_direction += (inline_direction.empty() ? "" : ",") + csv_text({v}, 1).substr(0, csv_text({v}, 1).size() - 1);
  const std::string job =
      write("job.toml", replaced(scan_job("[3, 3]", "seed = 4\n", "probe.h5", 4), "gradient = true\n",
                                 "gradient = true\ndirection = [\"probes.npy\", \"" + inline_direction + "\"]\n"));
  const CliRun r = run_hessa("run " + job + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(test::read_doubles(path("probe.h5"), "hessian").has_value()) << "no Hessian is stored";
  const DoubleArray curvature = doubles("probe.h5", "direction_curvature");
  const DoubleArray taylor = doubles("probe.h5", "direction_taylor");
  ASSERT_EQ(curvature.shape, (std::vector<hsize_t>{9, 3}));
  ASSERT_EQ(taylor.shape, (std::vector<hsize_t>{9, 3}));
  const DoubleArray points = doubles("probe.h5", "points");
  const DoubleArray scan = doubles("probe.h5", "scan/directions");
  const DoubleArray f = doubles("probe.h5", "f");
  std::vector<double> all = probes;
  all.insert(all.end(), third.begin(), third.end());
  for (std::size_t p = 0; p < 9; ++p) {
    const std::vector<Real> theta = along(centre_, scan.values, &points.values[p * 2], 2);
    for (std::size_t k = 0; k < 3; ++k) {
      const double* d = all.data() + k * kParameters;
      Real dd = 0;
      for (std::size_t i = 0; i < kParameters; ++i) dd += Real(d[i]) * Real(d[i]);
      const Real h = 1e-3L / std::sqrt(dd);
      const auto loss = [&](Real t) {
        std::vector<Real> x = theta;
        for (std::size_t i = 0; i < kParameters; ++i) x[i] += t * Real(d[i]);
        return test::reference_loss(model_, x, nullptr);
      };
      const Real l0 = loss(0), lp = loss(h), lm = loss(-h), lp2 = loss(2 * h), lm2 = loss(-2 * h);
      const Real dHd = (-lp2 + 16 * lp - 30 * l0 + 16 * lm - lm2) / (12 * h * h);
      const Real gd = (-lp2 + 8 * lp - 8 * lm + lm2) / (12 * h);
      const double scale = double(dd + std::fabs(dHd));
      EXPECT_NEAR(curvature.values[p * 3 + k] * double(dd), double(dHd), 1e-8 * scale) << "point " << p << ", d" << k;
      EXPECT_NEAR(taylor.values[p * 3 + k], double(Real(f.values[p]) + gd + dHd / 2),
                  1e-8 * (scale + std::fabs(double(gd))))
          << "point " << p << ", d" << k;
    }
  }
  const nlohmann::json s = settings("probe.h5");
  EXPECT_EQ(s["analysis"]["direction"]["count"], 3);
  EXPECT_EQ(s["analysis"]["direction"]["specs"][0], "probes.npy");

  for (int k = 1; k <= 2; ++k) {
    const CliRun shard = run_hessa("run " + job + " --quiet --shard " + std::to_string(k) + "/2");
    ASSERT_EQ(shard.exit_code, 0) << shard.output;
  }
  const CliRun merged = run_hessa("merge " + path("probe.shard-1-of-2.h5") + " " + path("probe.shard-2-of-2.h5") +
                                  " -o " + path("merged.h5"));
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  std::vector<std::string> names = test::per_point_datasets(false);
  names.insert(names.end(), {"direction_curvature", "direction_taylor"});
  const auto a = test::read_file(path("merged.h5"), names);
  const auto b = test::read_file(path("probe.h5"), names);
  ASSERT_TRUE(a && b);
  test::expect_same_per_point_data(*a, *b, names);
}

// A direction written as a TOML array of numbers (integers too) is the direction its text gives: the same probes,
// the same bits; alone (direction = [..]) or in a list beside a string.
TEST_F(ModelJobs, InlineArraysOfNumbersAreDirectionsAsTheirTextIs) {
  const std::vector<double> d = random_vector(kParameters, -0.5, 0.5, 13);
  std::string text, array = "[";
  for (std::size_t i = 0; i < d.size(); ++i) {
    const std::string v = i == 3 ? "2" : csv_text({d[i]}, 1).substr(0, csv_text({d[i]}, 1).size() - 1);
    text += (i ? "," : "") + v;
    array += (i ? ", " : "") + v;
  }
  array += "]";
  std::vector<double> curvature[3];
  const std::string forms[3] = {"[\"" + text + "\"]", array, "[\"" + text + "\", " + array + "]"};
  for (int f = 0; f < 3; ++f) {
    const std::string out = "inline" + std::to_string(f) + ".h5";
    const CliRun r =
        run_hessa("run --quiet " + write("inline.toml", replaced(scan_job("[2, 2]", "", out, 4), "gradient = true\n",
                                                                 "direction = " + forms[f] + "\n")));
    ASSERT_EQ(r.exit_code, 0) << forms[f] << ": " << r.output;
    curvature[f] = doubles(out, "direction_curvature").values;
  }
  ASSERT_EQ(curvature[0].size(), 4u);
  EXPECT_EQ(curvature[1], curvature[0]);
  ASSERT_EQ(curvature[2].size(), 8u);
  for (std::size_t p = 0; p < 4; ++p) {
    EXPECT_EQ(curvature[2][2 * p], curvature[0][p]) << p;
    EXPECT_EQ(curvature[2][2 * p + 1], curvature[0][p]) << p;
  }
}

// Bad [analysis] direction values exit 2 naming the key and what was expected.
TEST_F(ModelJobs, BadProbeDirectionsExitWith2NamingTheKey) {
  const std::string base = scan_job("[3, 3]", "", "bad.h5", 4);
  for (const auto& [value, expected] :
       std::vector<std::pair<std::string, std::string>>{{"\"1,2,3\"", "expected n = 17 numbers, found 3"},
                                                        {"[]", "expected a direction or a list of them"},
                                                        {"[1.0]", "expected n = 17 numbers, found 1"},
                                                        {"[[1.0, \"x\"]]", "expected a direction: n numbers"},
                                                        {"[1.0, inf]", "expected a direction: n numbers"},
                                                        {"[true]", "expected a direction: n numbers"},
                                                        {"\"missing.npy\"", "no such file: \"missing.npy\""},
                                                        {"\"" + std::string(5000, 'x') + "\"", "no such file"}}) {
    const CliRun r = run_hessa("run " + write("bad.toml", replaced(base, "gradient = true\n",
                                                                   "gradient = true\ndirection = " + value + "\n")));
    EXPECT_EQ(r.exit_code, 2) << value << ": " << r.output;
    EXPECT_NE(r.output.find("analysis.direction"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
  }
}

// hessian = "lanczos" on a direction scan: each mapped point's extremes of the full P x P Hessian by Lanczos over
// HVPs equal those of hessian = "full" (the central stencil's formed Hessian, dense eigenvalues) to the stencil's
// accuracy: FD Hessians are good to ~1e-7 of the spectrum's scale here, so 1e-5; the lowest / highest Ritz values
// are /lambda_min and /lambda_max; residuals are within the tolerance; the class is the same at every point.
TEST_F(ModelJobs, LanczosScanGivesTheFullHessiansExtremesWithoutFormingIt) {
  const std::string lanczos_job = replaced(
      replaced(scan_job("[3, 3]", "hessian = \"lanczos\"\n", "lz.h5", 4), "eigenvalues = true\n", ""), "[output]\n",
      "[lanczos]\nk = 2\ntol = 1e-10\ntrace_probes = 30\ndensity_probes = 2\ndensity_steps = 10\nvectors = true\n"
      "[output]\n");
  const CliRun r = run_hessa("run " + write("lz.toml", lanczos_job));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Lanczos over exact Hessian-vector products"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("per point in flight"), std::string::npos) << r.output;
  const CliRun full =
      run_hessa("run " + write("full.toml", scan_job("[3, 3]", "hessian = \"full\"\n", "full.h5", 4)) + " --quiet");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const DoubleArray w = doubles("full.h5", "eigenvalues");
  const DoubleArray lo = doubles("lz.h5", "lanczos_lowest"), hi = doubles("lz.h5", "lanczos_highest");
  ASSERT_EQ(lo.shape, (std::vector<hsize_t>{9, 2}));
  ASSERT_EQ(hi.shape, (std::vector<hsize_t>{9, 2}));
  const DoubleArray lambda_min = doubles("lz.h5", "lambda_min"), lambda_max = doubles("lz.h5", "lambda_max");
  const DoubleArray residual = doubles("lz.h5", "lanczos_residual_highest");
  const DoubleArray converged = doubles("lz.h5", "lanczos_converged");
  const DoubleArray diverge = doubles("lz.h5", "lr_diverge");
  const DoubleArray trace = doubles("lz.h5", "trace"), trace_se = doubles("lz.h5", "trace_se");
  ASSERT_EQ(trace.shape, (std::vector<hsize_t>{9}));
  const DoubleArray lz_class = doubles("lz.h5", "class"), full_class = doubles("full.h5", "class");  // (as doubles)
  for (std::size_t p = 0; p < 9; ++p) {
    const double* wp = w.values.data() + p * kParameters;
    const double scale = std::max(std::fabs(wp[0]), std::fabs(wp[kParameters - 1]));
    EXPECT_NEAR(lo.values[p * 2], wp[0], 1e-5 * scale) << "point " << p;
    EXPECT_NEAR(lo.values[p * 2 + 1], wp[1], 1e-5 * scale) << "point " << p;
    EXPECT_NEAR(hi.values[p * 2], wp[kParameters - 2], 1e-5 * scale) << "point " << p;
    EXPECT_NEAR(hi.values[p * 2 + 1], wp[kParameters - 1], 1e-5 * scale) << "point " << p;
    EXPECT_EQ(lambda_min.values[p], lo.values[p * 2]);
    EXPECT_EQ(lambda_max.values[p], hi.values[p * 2 + 1]);
    EXPECT_LE(residual.values[p * 2 + 1], 1e-10 * scale);
    EXPECT_EQ(converged.values[p], 1.0);
    EXPECT_EQ(diverge.values[p], hi.values[p * 2 + 1] > 0 ? 2.0 / hi.values[p * 2 + 1] : diverge.values[p]);
    double exact_trace = 0.0;
    for (std::size_t i = 0; i < kParameters; ++i) exact_trace += wp[i];
    EXPECT_LE(std::fabs(trace.values[p] - exact_trace), 4.0 * trace_se.values[p] + 1e-5 * scale) << "point " << p;
    EXPECT_EQ(lz_class.values[p], full_class.values[p]) << "point " << p;
  }
  EXPECT_EQ(doubles("lz.h5", "morse_index").values, std::vector<double>(9, -1.0)) << "unknown from the ends alone";
  // Ritz vectors: unit, and the two highest orthogonal (full reorthogonalization keeps them so to rounding).
  const DoubleArray vectors = doubles("lz.h5", "lanczos_vectors");
  ASSERT_EQ(vectors.shape, (std::vector<hsize_t>{9, 4 * kParameters}));
  for (std::size_t p = 0; p < 9; ++p) {
    const double* y = vectors.values.data() + p * 4 * kParameters;
    for (std::size_t c = 0; c < 4; ++c) {
      double norm = 0.0;
      for (std::size_t i = 0; i < kParameters; ++i) norm += y[c * kParameters + i] * y[c * kParameters + i];
      EXPECT_NEAR(norm, 1.0, 1e-12) << "point " << p << ", vector " << c;
    }
    double overlap = 0.0;
    for (std::size_t i = 0; i < kParameters; ++i) overlap += y[2 * kParameters + i] * y[3 * kParameters + i];
    EXPECT_LT(std::fabs(overlap), 1e-8) << "point " << p;
  }
  // The density's quadrature: per probe, weights summing to 1 and nodes inside the spectrum (Ritz values interlace).
  const DoubleArray nodes = doubles("lz.h5", "density_nodes"), weights = doubles("lz.h5", "density_weights");
  ASSERT_EQ(nodes.shape, (std::vector<hsize_t>{9, 20}));
  ASSERT_EQ(weights.shape, (std::vector<hsize_t>{9, 20}));
  for (std::size_t p = 0; p < 9; ++p) {
    const double* wp = w.values.data() + p * kParameters;
    const double scale = std::max(std::fabs(wp[0]), std::fabs(wp[kParameters - 1]));
    for (std::size_t v = 0; v < 2; ++v) {
      double sum = 0.0;
      for (std::size_t i = 0; i < 10; ++i) {
        const std::size_t at = p * 20 + v * 10 + i;
        sum += weights.values[at];
        EXPECT_GE(nodes.values[at], wp[0] - 1e-5 * scale) << "point " << p;
        EXPECT_LE(nodes.values[at], wp[kParameters - 1] + 1e-5 * scale) << "point " << p;
      }
      EXPECT_NEAR(sum, 1.0, 1e-12) << "point " << p << ", probe " << v;
    }
  }
  const nlohmann::json s = settings("lz.h5");
  EXPECT_EQ(s["points"]["hessian"], "lanczos");
  EXPECT_EQ(s["analysis"]["lanczos"]["k"], 2);
  EXPECT_EQ(s["analysis"]["lanczos"]["trace_probes"], 30);
}

// Bad Lanczos settings exit 2 with the key and its line.
TEST_F(ModelJobs, BadLanczosOptionsExitWith2NamingTheKey) {
  const std::string base =
      replaced(scan_job("[3, 3]", "hessian = \"lanczos\"\n", "bad.h5", 4), "eigenvalues = true\n", "");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {replaced(base, "[output]\n", "[lanczos]\nk = 0\n[output]\n"), "lanczos.k: must be between 1 and 1000"},
      {replaced(base, "[output]\n", "[lanczos]\ntol = 2.0\n[output]\n"), "lanczos.tol: must be in (0, 1)"},
      {replaced(base, "[output]\n", "[lanczos]\nsteps = \"many\"\n[output]\n"), "lanczos.steps"},
      {replaced(base, "[output]\n", "[lanczos]\nwarm = true\n[output]\n"), "lanczos.warm: unknown key"},
      {replaced(base, "gradient = true\n", "gradient = true\neigenvalues = true\n"),
       "analysis.eigenvalues: not available"},
      {replaced(scan_job("[3, 3]", "", "bad.h5", 4), "[output]\n", "[lanczos]\nk = 2\n[output]\n"),
       "needs [points] hessian = \"lanczos\""},
  };
  for (const auto& [job, expected] : cases) {
    const CliRun r = run_hessa("run " + write("bad.toml", job));
    EXPECT_EQ(r.exit_code, 2) << expected << ": " << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("bad.toml:"), std::string::npos) << "the file and line: " << r.output;
  }
}

}  // namespace
}  // namespace hessa

namespace hessa {
namespace {

// A Lanczos scan of the bundled network (P = 337) killed with SIGKILL after a few chunks and resumed equals an
// uninterrupted run bit for bit, the Lanczos datasets included (start vectors and probes are seeded by the point's
// index, so a point's answer does not depend on which run or chunk computed it).
TEST_F(ModelJobs, KilledLanczosScanResumedEqualsAnUninterruptedRunBitForBit) {
  const std::string examples = std::string(HESSA_SOURCE_DIR) + "/examples/";
  const auto job_text = [&](const std::string& out) {
    return "[function]\nmodel = \"mlp\"\nlayers = [2, 16, 16, 1]\nactivation = \"tanh\"\nloss = \"logistic\"\n"
           "data = \"" +
           examples + "mlp_moons/moons.csv\"\nparameters = \"" + examples +
           "mlp_moons/params.npy\"\n"
           "[points]\nkind = \"directions\"\nlower = [-1.0, -1.0]\nupper = [1.0, 1.0]\ncounts = [31, 31]\n"
           "directions = \"filter\"\nseed = 1\nhessian = \"lanczos\"\n"
           "[lanczos]\nk = 2\ntrace_probes = 40\n[output]\npath = \"" +
           out + "\"\nchunk = 8\n[run]\nbackend = \"cpu\"\n";
  };
  const std::string job = write("killed.toml", job_text("killed.h5"));
  const std::string out = path("killed.h5");
  const pid_t child = test::spawn_hessa({"run", job, "--quiet"});
  ASSERT_GE(child, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(out)) {
      if (const auto f = test::read_file(out, {}); f && test::count_done(*f) >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed: make the job bigger";
  std::vector<std::string> names = test::per_point_datasets(false);
  names.insert(names.end(), {"lanczos_lowest", "lanczos_highest", "lanczos_residual_lowest", "lanczos_residual_highest",
                             "lanczos_steps", "lanczos_converged", "abs_ratio", "lr_diverge", "trace", "trace_se"});
  const auto killed = test::read_file(out, names);
  ASSERT_TRUE(killed.has_value()) << "the killed run left an unreadable file";
  EXPECT_LT(test::count_done(*killed), killed->done().size()) << "killed after the last chunk";
  EXPECT_EQ(killed->complete, 0);
  const CliRun resumed = run_hessa("run " + job + " --resume --quiet");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const CliRun whole = run_hessa("run " + write("whole.toml", job_text("whole.h5")) + " --quiet");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const auto a = test::read_file(out, names);
  const auto b = test::read_file(path("whole.h5"), names);
  ASSERT_TRUE(a && b);
  test::expect_same_per_point_data(*a, *b, names);
  EXPECT_EQ(a->complete, 1);
}

// The README's example (scripts/demo mlp): examples/mlp_moons_scan.toml as shipped, on an 11 x 11 grid into this
// test's folder. Its f at the centre is the bundled network's loss on the bundled data (an independent long-double
// forward pass, 1e-12), and the bundled parameters are what the example says: a trained point (loss < 1e-3) at
// which the plotted surface curves up in both directions.
TEST_F(ModelJobs, BundledTwoMoonsExampleRunsAndItsCentreIsTheTrainedNetwork) {
  const std::string examples = std::string(HESSA_SOURCE_DIR) + "/examples/";
  std::ifstream in(examples + "mlp_moons_scan.toml");
  ASSERT_TRUE(in) << "examples/mlp_moons_scan.toml";
  std::string job((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto replace = [&](const std::string& from, const std::string& to) {
    const std::size_t at = job.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    job.replace(at, from.size(), to);
  };
  replace("\"mlp_moons/moons.csv\"", "\"" + examples + "mlp_moons/moons.csv\"");
  replace("\"mlp_moons/params.npy\"", "\"" + examples + "mlp_moons/params.npy\"");
  replace("counts = [61, 61]", "counts = [11, 11]");
  replace("\"out/mlp_moons_scan.h5\"", "\"scan.h5\"");
  const CliRun r = run_hessa("run " + write("example.toml", job) + " --quiet --backend cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  MlpModel model;
  model.widths = {2, 16, 16, 1};
  model.activation = Activation::Tanh;
  model.loss = LossKind::Logistic;
  std::vector<double> rows, theta, part;
  auto data = open_point_reader(examples + "mlp_moons/moons.csv");
  while (data->read(1024, part) > 0) rows.insert(rows.end(), part.begin(), part.end());
  ASSERT_EQ(make_dataset(rows, data->dimension(), model, &model.data), "");
  auto params = open_point_reader(examples + "mlp_moons/params.npy");
  while (params->read(1024, part) > 0) theta.insert(theta.end(), part.begin(), part.end());
  ASSERT_EQ(theta.size(), 337u);

  const DoubleArray f = doubles("scan.h5", "f");
  ASSERT_EQ(f.values.size(), 121u);
  const double centre_loss = loss_at(model, {theta.begin(), theta.end()});
  EXPECT_TRUE(close(f.values[60], centre_loss, 1e-12)) << "f at (0, 0)";
  EXPECT_LT(centre_loss, 1e-3);
  const DoubleArray lambda = doubles("scan.h5", "eigenvalues");
  ASSERT_EQ(lambda.shape, (std::vector<hsize_t>{121, 2}));
  EXPECT_GT(lambda.values[120], 0.0) << "lambda_min of the 2x2 Hessian at the centre";
}

}  // namespace
}  // namespace hessa
