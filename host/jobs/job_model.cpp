// Job files, model and direction-scan parts: [function] model = "mlp" (layers, activation, loss, data set,
// parameter vector) and [points] kind = "directions" (centre, directions given / random / filter-normalized).
#include <cmath>
#include <cstdint>
#include <random>

#include "hessa/io.hpp"
#include "jobs/job_file.hpp"
#include "jobs/job_table.hpp"

namespace hessa::jobs {
namespace {

// Every row of a CSV / .npy file, row-major, and its column count; errors located at the job key.
std::vector<double> read_table(const TableReader& t, const std::string& key, const std::string& path, int* columns) {
  if (!std::filesystem::is_regular_file(path)) t.fail(t.node(key)->source(), key, "no such file '" + path + "'");
  std::vector<double> all, part;
  try {
    auto reader = open_point_reader(path);
    *columns = reader->dimension();
    while (reader->read(1 << 16, part) > 0) all.insert(all.end(), part.begin(), part.end());
  } catch (const InputError& e) {
    t.fail(t.node(key)->source(), key, std::string("cannot read it: ") + e.what());
  }
  if (all.empty()) t.fail(t.node(key)->source(), key, "'" + path + "' has no rows");
  return all;
}

// One vector: a 1-D .npy, one CSV column, or one row.
std::vector<double> read_vector(const TableReader& t, const std::string& key, const std::string& path) {
  int columns = 0;
  std::vector<double> v = read_table(t, key, path, &columns);
  const std::size_t rows = v.size() / std::size_t(columns);
  if (columns != 1 && rows != 1) {
    t.fail(t.node(key)->source(), key,
           "'" + path + "' has " + std::to_string(rows) + " rows of " + std::to_string(columns) +
               " values; expected one vector (a 1-D .npy, one CSV row or one column)");
  }
  return v;
}

std::string layers_text(const std::vector<std::int32_t>& widths) {
  std::string text;
  for (std::int32_t w : widths) text += (text.empty() ? "" : "-") + std::to_string(w);
  return text;
}

// Standard normal numbers from a 64-bit Mersenne twister by Box-Muller, written out so that a seed gives the
// same directions with every compiler (std::normal_distribution's algorithm is implementation-defined).
class Gaussian {
 public:
  explicit Gaussian(std::uint64_t seed) : engine_(seed) {}
  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (double(engine_() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = double(engine_() >> 11) * 0x1.0p-53;          // [0, 1)
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Li et al. (2018), "Visualizing the loss landscape of neural nets", filter normalization: a Gaussian direction
// whose every filter (a row of W_l: the weights into one neuron) is rescaled to the norm of the same filter of
// the centre; bias entries are 0 (their `--xignore biasbn`).
void filter_normalize(const MlpModel& model, const double* centre, double* d) {
  for (int l = 0; l < model.layer_count(); ++l) {
    const int in = model.widths[std::size_t(l)], out = model.widths[std::size_t(l) + 1];
    const std::int64_t w = detail::layer_weight_offset(model.widths.data(), l);
    for (int o = 0; o < out; ++o) {
      double norm_theta = 0.0, norm_d = 0.0;
      for (int i = 0; i < in; ++i) {
        norm_theta += centre[w + std::int64_t(o) * in + i] * centre[w + std::int64_t(o) * in + i];
        norm_d += d[w + std::int64_t(o) * in + i] * d[w + std::int64_t(o) * in + i];
      }
      const double scale = std::sqrt(norm_theta) / (std::sqrt(norm_d) + 1e-10);
      for (int i = 0; i < in; ++i) d[w + std::int64_t(o) * in + i] *= scale;
    }
    const std::int64_t b = detail::layer_bias_offset(model.widths.data(), l);
    for (int o = 0; o < out; ++o) d[b + o] = 0.0;
  }
}

}  // namespace

void read_model_function(const TableReader& t, JobSpec& job) {
  t.allow_only({"model", "layers", "activation", "loss", "data", "parameters"});
  const std::string kind = t.string("model");
  if (kind != "mlp") t.fail(t.node("model")->source(), "model", "expected \"mlp\", found \"" + kind + "\"");
  if (!t.has("layers")) t.fail_missing("layers", "the widths of the MLP, e.g. layers = [2, 16, 1]");
  if (!t.has("data")) t.fail_missing("data", "the data set, e.g. data = \"moons.csv\" (features, then targets)");
  MlpModel& model = job.mlp;
  const toml::array& layers = t.array("layers");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string key = "layers[" + std::to_string(i) + "]";
    const std::int64_t w = t.integer(layers[i], key);
    if (w < 1 || w > 1000000) t.fail(layers[i].source(), key, "must be between 1 and 1000000");
    model.widths.push_back(std::int32_t(w));
  }
  if (model.widths.size() < 2)
    t.fail(t.node("layers")->source(), "layers", "needs at least 2 widths (inputs, outputs)");
  if (t.has("activation") && !activation_from_name(t.string("activation"), &model.activation)) {
    t.fail(t.node("activation")->source(), "activation",
           "expected tanh, relu, sigmoid or gelu, found \"" + t.string("activation") + "\"");
  }
  if (t.has("loss") && !loss_from_name(t.string("loss"), &model.loss)) {
    t.fail(t.node("loss")->source(), "loss",
           "expected mse, cross_entropy or logistic, found \"" + t.string("loss") + "\"");
  }
  if (model.loss == LossKind::Logistic && model.outputs() != 1) {
    t.fail(t.node("layers")->source(), "layers",
           "loss logistic takes one output logit, but the last width is " + std::to_string(model.outputs()));
  }
  if (model.loss == LossKind::CrossEntropy && model.outputs() < 2) {
    t.fail(t.node("layers")->source(), "layers", "loss cross_entropy needs at least 2 outputs (one logit per class)");
  }
  const std::int64_t P = model.parameter_count();
  if (P > 100000000) t.fail(t.node("layers")->source(), "layers", "more than 10^8 parameters");

  job.data_path = resolve_path(t.job(), t.string("data"));
  int columns = 0;
  const std::vector<double> rows = read_table(t, "data", job.data_path, &columns);
  const std::string problem = make_dataset(rows, columns, model, &model.data);
  if (!problem.empty()) t.fail(t.node("data")->source(), "data", "'" + job.data_path + "' " + problem);
  job.data_fingerprint = fingerprint(rows);

  if (t.has("parameters")) {
    job.parameters_path = resolve_path(t.job(), t.string("parameters"));
    job.model_parameters = read_vector(t, "parameters", job.parameters_path);
    if (std::int64_t(job.model_parameters.size()) != P) {
      t.fail(t.node("parameters")->source(), "parameters",
             "'" + job.parameters_path + "' has " + std::to_string(job.model_parameters.size()) +
                 " values, but layers " + layers_text(model.widths) + " have " + std::to_string(P) + " parameters");
    }
  }
  job.model = true;
  job.function_n = int(P);
  job.function.label = "MLP " + layers_text(model.widths) + " " + activation_name(model.activation) + ", " +
                       loss_name(model.loss) + " loss";
  job.function.source_name = t.job();
}

void read_direction_scan(const TableReader& t, JobSpec& job) {
  // The centre: given, or the model's parameters.
  std::vector<double> centre;
  if (t.has("centre")) {
    const toml::node& node = *t.node("centre");
    if (node.is_string()) {
      job.centre_source = "file";
      job.centre_file = resolve_path(t.job(), t.string("centre"));
      centre = read_vector(t, "centre", job.centre_file);
    } else {
      job.centre_source = "inline";
      centre = t.numbers("centre");
    }
  } else if (job.model && !job.model_parameters.empty()) {
    job.centre_source = "parameters";
    centre = job.model_parameters;
  } else {
    t.fail_missing("centre", job.model ? "a file or inline array, or give [function] parameters"
                                       : "a file or an inline array of the function's coordinates");
  }
  if (job.model && std::int64_t(centre.size()) != job.mlp.parameter_count()) {
    t.fail(t.node("centre") ? t.node("centre")->source() : t.get().source(), "centre",
           "has " + std::to_string(centre.size()) + " values, but the model has " +
               std::to_string(job.mlp.parameter_count()) + " parameters");
  }
  const int N = int(centre.size());
  const int k = job.n;  // one direction per axis of the (alpha, beta, ...) grid
  if (k > N) {
    t.fail(t.node("counts")->source(), "counts",
           "has " + std::to_string(k) + " axes (one per direction), more than the " + std::to_string(N) +
               " coordinates of the centre");
  }

  if (t.has("seed")) {
    const std::int64_t seed = t.integer(*t.node("seed"), "seed");
    if (seed < 0) t.fail(t.node("seed")->source(), "seed", "must be >= 0");
    job.seed = std::uint64_t(seed);
  }
  std::vector<double> directions;
  const std::string source = t.has("directions") && t.node("directions")->is_string() ? t.string("directions") : "";
  if (!t.has("directions")) {
    job.directions_source = job.model ? "filter" : "random";
  } else if (source == "filter" || source == "random") {
    job.directions_source = source;
  } else if (!source.empty()) {
    job.directions_source = "file";
    job.directions_file = resolve_path(t.job(), source);
    int columns = 0;
    directions = read_table(t, "directions", job.directions_file, &columns);
    if (columns != N) {
      t.fail(t.node("directions")->source(), "directions",
             "'" + job.directions_file + "' has rows of " + std::to_string(columns) + " values, but the centre has " +
                 std::to_string(N));
    }
  } else {
    job.directions_source = "inline";
    const toml::array& rows = t.array("directions");
    for (std::size_t a = 0; a < rows.size(); ++a) {
      const std::string key = "directions[" + std::to_string(a) + "]";
      if (!rows[a].is_array()) t.wrong_type(rows[a], key, "an array of numbers");
      const toml::array& row = *rows[a].as_array();
      if (int(row.size()) != N) {
        t.fail(rows[a].source(), key,
               "has " + std::to_string(row.size()) + " values, but the centre has " + std::to_string(N));
      }
      for (std::size_t m = 0; m < row.size(); ++m)
        directions.push_back(t.number(row[m], key + "[" + std::to_string(m) + "]"));
    }
  }
  if (job.directions_source == "filter" && !job.model) {
    t.fail(t.node("directions")->source(), "directions",
           "\"filter\" normalizes per neuron of a model; for an expression use \"random\", a file or an inline array");
  }
  if (job.directions_source == "filter" || job.directions_source == "random") {
    Gaussian gaussian(job.seed);
    directions.resize(std::size_t(k) * std::size_t(N));
    for (double& v : directions) v = gaussian();
    for (int a = 0; a < k; ++a) {
      double* d = directions.data() + std::size_t(a) * std::size_t(N);
      if (job.directions_source == "filter") {
        filter_normalize(job.mlp, centre.data(), d);
        continue;
      }
      double norm = 0.0;
      for (int m = 0; m < N; ++m) norm += d[m] * d[m];
      for (int m = 0; m < N; ++m) d[m] /= std::sqrt(norm);
    }
  }
  const std::size_t given = directions.size() / std::size_t(N);
  if (int(given) != k) {
    t.fail(t.node("directions")->source(), "directions",
           "gives " + std::to_string(given) + " direction" + (given == 1 ? "" : "s") + ", but counts has " +
               std::to_string(k) + " axes (one per direction)");
  }
  if (t.has("hessian")) {
    const std::string space = t.string("hessian");
    if (space != "restricted" && space != "full" && space != "lanczos") {
      t.fail(t.node("hessian")->source(), "hessian",
             "expected \"restricted\", \"full\" or \"lanczos\", found \"" + space + "\"");
    }
    job.restricted_hessian = space == "restricted";
    job.lanczos = space == "lanczos";
  }
  job.subspace = AffineSubspace{k, N, std::move(centre), std::move(directions)};
  job.directions_scan = true;
  if (!job.model) job.function_n = N;
}

nlohmann::json model_settings(const JobSpec& job) {
  const MlpModel& m = job.mlp;
  return {
      {"name", job.function.label},
      {"model", "mlp"},
      {"layers", m.widths},
      {"activation", activation_name(m.activation)},
      {"loss", loss_name(m.loss)},
      {"data_file", job.data_path},
      {"data_fnv1a64", job.data_fingerprint},
      {"samples", m.data.samples},
      {"parameters_file", job.parameters_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.parameters_path)},
      {"parameters_fnv1a64",
       job.model_parameters.empty() ? nlohmann::json(nullptr) : nlohmann::json(fingerprint(job.model_parameters))},
      {"parameter_count", m.parameter_count()},
      {"dimension", job.function_n}};
}

nlohmann::json direction_settings(const JobSpec& job) {
  nlohmann::json s = {{"kind", "directions"},
                      {"lower", job.lower},
                      {"upper", job.upper},
                      {"counts", job.counts},
                      {"total", job.total_points},
                      {"hessian", job.lanczos              ? "lanczos"
                                  : job.restricted_hessian ? "restricted"
                                                           : "full"},
                      {"directions", job.directions_source},
                      {"seed", job.seed},
                      {"centre", job.centre_source},
                      {"centre_fnv1a64", fingerprint(job.subspace.origin)},
                      {"directions_fnv1a64", fingerprint(job.subspace.directions)}};
  if (!job.directions_file.empty()) s["directions_file"] = job.directions_file;
  if (!job.centre_file.empty()) s["centre_file"] = job.centre_file;
  return s;
}

}  // namespace hessa::jobs
