// Result writers (host/io/result_writers.cpp): exact round trips through every output format (bit-exact doubles,
// no tolerance anywhere: these are copies, not computations), numpy's axis conventions, the column model, and numpy
// itself loading what is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "io/npy_format.hpp"  // private to host/io (tests add host/ to their include path)
#include "io_support.hpp"
#include "npy_readback.hpp"
#include "result_sample.hpp"

namespace hessa {
namespace {

using test::analysis;
using test::bits;
using test::chunk;
using test::coordinate;
using test::eigenvector_entry;
using test::full_layout;
using test::hessian_entry;
using test::input_error;
using test::kMetadata;
using test::kN;
using test::kPoints;
using test::NpyArray;
using test::parse_npy;
using test::read_bytes;
using test::read_zip;
using test::ScratchDir;
using test::ucs4_to_ascii;
using test::write_bytes;
using test::write_two_chunks;

// What each column should hold: a number (NaN/Inf included), an integer (-1 = unknown) or a text.
struct Expected {
  enum Type { Real, Morse, Uphill, Text } type;
  double real = 0;
  int integer = 0;
  std::string text;
};

Expected expected(const std::string& column, int q) {
  const PointAnalysis a = analysis(q);
  const auto real = [](double v) { return Expected{Expected::Real, v, 0, ""}; };
  const std::map<std::string, double> reals = {{"f", a.f},
                                               {"grad_norm", a.grad_norm},
                                               {"lambda_min", a.lambda_min},
                                               {"lambda_max", a.lambda_max},
                                               {"lr_max", a.lr_max},
                                               {"gHg", a.gHg},
                                               {"step_opt", a.step_opt},
                                               {"step", a.step},
                                               {"taylor_pred", a.taylor_pred},
                                               {"f_step", a.f_step},
                                               {"confidence", a.confidence},
                                               {"hess_err", a.hess_err},
                                               {"grad_err", a.grad_err}};
  if (reals.count(column)) return real(reals.at(column));
  if (column == "class") return {Expected::Text, 0, 0, class_name(a.point_class)};
  if (column == "status") return {Expected::Text, 0, 0, status_name(a.status)};
  if (column == "morse_index") return {Expected::Morse, 0, a.morse_index, ""};
  if (column == "uphill") return {Expected::Uphill, 0, a.uphill, ""};
  if (column == "x" || column == "y" || column == "z") return real(coordinate(q, column[0] - 'x'));
  int i = 0, j = 0;
  if (std::sscanf(column.c_str(), "H_%d_%d", &i, &j) == 2) return real(hessian_entry(q, i, j));
  if (std::sscanf(column.c_str(), "v_%d_%d", &i, &j) == 2) return real(eigenvector_entry(q, i, j));
  if (std::sscanf(column.c_str(), "g_%d", &i) == 1) return real(q - i * 0.5 + 1e-3);
  if (std::sscanf(column.c_str(), "lambda_%d", &i) == 1) return real(i - q / 9.0);
  ADD_FAILURE() << "unexpected column " << column;
  return {};
}

std::vector<std::string> expected_columns() {
  std::vector<std::string> names{"x", "y", "z"};
  for (const std::string& f : analysis_field_names()) names.push_back(f);
  for (int i = 0; i < kN; ++i) names.push_back("g_" + std::to_string(i));
  for (int r = 0; r < kN; ++r)
    for (int c = 0; c < kN; ++c) names.push_back("H_" + std::to_string(r) + "_" + std::to_string(c));
  for (int k = 0; k < kN; ++k) names.push_back("lambda_" + std::to_string(k));
  for (int k = 0; k < kN; ++k)
    for (int r = 0; r < kN; ++r) names.push_back("v_" + std::to_string(k) + "_" + std::to_string(r));
  return names;
}

// Checks one decoded .npy field value against expectations, bit for bit.
void check_npy_value(const std::string& descr, const char* bytes, const Expected& want, const std::string& where) {
  if (want.type == Expected::Real) {
    ASSERT_EQ(descr, "<f8") << where;
    double v;
    std::memcpy(&v, bytes, 8);
    EXPECT_EQ(bits(v), bits(want.real)) << where;
  } else if (want.type == Expected::Morse) {
    ASSERT_EQ(descr, "<i4") << where;
    std::int32_t v;
    std::memcpy(&v, bytes, 4);
    EXPECT_EQ(v, want.integer) << where;
  } else if (want.type == Expected::Uphill) {
    ASSERT_EQ(descr, "<i1") << where;
    EXPECT_EQ(int(static_cast<signed char>(bytes[0])), want.integer) << where;
  } else {
    ASSERT_EQ(descr[1], 'U') << where;
    EXPECT_EQ(ucs4_to_ascii(std::string(bytes, npy::descr_item_size(descr))), want.text) << where;
  }
}

// --- writers ------------------------------------------------------------------------------------------------

TEST(ResultWriters, AnalysisFieldNamesAreTheDocumentedOrder) {
  EXPECT_EQ(analysis_field_names(),
            (std::vector<std::string>{"f", "grad_norm", "lambda_min", "lambda_max", "class", "morse_index", "lr_max",
                                      "gHg", "step_opt", "step", "taylor_pred", "f_step", "uphill", "status",
                                      "confidence", "hess_err", "grad_err"}));
}

TEST(ResultWriters, CsvRoundTripIsBitExact) {
  ScratchDir dir;
  const std::string path = dir.file("out.csv");
  write_two_chunks(path);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"out.csv", "out.csv.meta.json"}));
  EXPECT_EQ(read_bytes(path + ".meta.json"), kMetadata + "\n");

  std::istringstream in(read_bytes(path));
  std::string line;
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    rows.push_back(cells);
  }
  const std::vector<std::string> names = expected_columns();
  ASSERT_EQ(rows.size(), std::size_t(kPoints + 1));
  EXPECT_EQ(rows[0], names);
  for (int q = 0; q < kPoints; ++q) {
    ASSERT_EQ(rows[std::size_t(q + 1)].size(), names.size());
    for (std::size_t c = 0; c < names.size(); ++c) {
      const std::string& cell = rows[std::size_t(q + 1)][c];
      const Expected want = expected(names[c], q);
      const std::string where = names[c] + " of point " + std::to_string(q) + ": '" + cell + "'";
      switch (want.type) {
        case Expected::Real:
          if (std::isnan(want.real)) {
            EXPECT_EQ(cell, "") << where;
          } else {
            char* end = nullptr;
            EXPECT_EQ(bits(std::strtod(cell.c_str(), &end)), bits(want.real)) << where;
            EXPECT_EQ(*end, '\0') << where;
          }
          break;
        case Expected::Morse: EXPECT_EQ(cell, want.integer < 0 ? "" : std::to_string(want.integer)) << where; break;
        case Expected::Uphill: EXPECT_EQ(cell, want.integer < 0 ? "" : want.integer ? "true" : "false") << where; break;
        case Expected::Text: EXPECT_EQ(cell, want.text) << where; break;
      }
    }
  }
}

TEST(ResultWriters, JsonlRoundTripIsBitExact) {
  ScratchDir dir;
  const std::string path = dir.file("out.jsonl");
  write_two_chunks(path);
  std::istringstream in(read_bytes(path));
  std::string line;
  int q = 0;
  const std::vector<std::string> names = expected_columns();
  for (; std::getline(in, line); ++q) {
    ASSERT_LT(q, kPoints);
    const auto row = nlohmann::ordered_json::parse(line);
    std::vector<std::string> keys;
    for (const auto& item : row.items()) keys.push_back(item.key());
    EXPECT_EQ(keys, names);
    for (const std::string& name : names) {
      const auto& cell = row.at(name);
      const Expected want = expected(name, q);
      const std::string where = name + " of point " + std::to_string(q) + ": " + cell.dump();
      switch (want.type) {
        case Expected::Real:
          if (!std::isfinite(want.real))
            EXPECT_TRUE(cell.is_null()) << where;  // JSON has no NaN/Inf
          else
            EXPECT_EQ(bits(cell.get<double>()), bits(want.real)) << where;
          break;
        case Expected::Morse:
          if (want.integer < 0)
            EXPECT_TRUE(cell.is_null()) << where;
          else
            EXPECT_EQ(cell.get<int>(), want.integer) << where;
          break;
        case Expected::Uphill:
          if (want.integer < 0)
            EXPECT_TRUE(cell.is_null()) << where;
          else
            EXPECT_EQ(cell.get<bool>(), want.integer == 1) << where;
          break;
        case Expected::Text: EXPECT_EQ(cell.get<std::string>(), want.text) << where; break;
      }
    }
  }
  EXPECT_EQ(q, kPoints);
}

TEST(ResultWriters, NpyStructuredRoundTripIsBitExact) {
  ScratchDir dir;
  const std::string path = dir.file("out.npy");
  write_two_chunks(path);
  EXPECT_EQ(read_bytes(path + ".meta.json"), kMetadata + "\n");
  const NpyArray a = parse_npy(read_bytes(path));
  EXPECT_EQ(a.header.shape, (std::vector<std::uint64_t>{kPoints}));
  EXPECT_FALSE(a.header.fortran_order);
  ASSERT_EQ(a.header.descr.kind, npy::PyValue::Kind::List);
  std::vector<std::string> names, descrs;
  std::size_t row = 0;
  for (const npy::PyValue& field : a.header.descr.items) {
    names.push_back(field.items.at(0).str);
    descrs.push_back(field.items.at(1).str);
    row += npy::descr_item_size(descrs.back());
  }
  EXPECT_EQ(names, expected_columns());
  ASSERT_EQ(a.data.size(), row * kPoints);
  for (int q = 0; q < kPoints; ++q) {
    std::size_t offset = std::size_t(q) * row;
    for (std::size_t c = 0; c < names.size(); ++c) {
      check_npy_value(descrs[c], a.data.data() + offset, expected(names[c], q),
                      names[c] + " of point " + std::to_string(q));
      offset += npy::descr_item_size(descrs[c]);
    }
  }
}

TEST(ResultWriters, NpyWithALongHeaderUsesVersion2) {
  // n = 60 with H and eigenvectors: 7200+ fields, a header past 65535 bytes, reserved and rewritten as 2.0.
  ScratchDir dir;
  const std::string path = dir.file("wide.npy");
  OutputLayout layout;
  layout.n = 60;
  layout.hessian = layout.eigenvectors = true;
  ChunkResult r;
  AnalysisOptions options;
  options.keep_hessian = options.eigenvectors = true;
  r.resize(2, 60, options);
  for (std::size_t k = 0; k < r.hessian.size(); ++k) r.hessian[k] = double(k);
  std::vector<double> points(120, 1.5);
  {
    auto writer = open_result_writer(path, layout);
    writer->write(points.data(), r);
    writer->finish("{}");
  }
  const NpyArray a = parse_npy(read_bytes(path));
  EXPECT_EQ(a.header.major_version, 2);
  EXPECT_EQ(a.header.shape, (std::vector<std::uint64_t>{2}));
  const std::vector<npy::PyValue>& fields = a.header.descr.items;
  ASSERT_EQ(fields.size(), std::size_t(60 + analysis_field_names().size() + 2 * 3600));
  // H_1_0 of point 1: H(1,0) column-major at 0*60 + 1 of the second matrix.
  std::size_t offset = 0, row = 0;
  for (const npy::PyValue& f : fields) row += npy::descr_item_size(f.items[1].str);
  for (const npy::PyValue& f : fields) {
    if (f.items[0].str == "H_1_0") break;
    offset += npy::descr_item_size(f.items[1].str);
  }
  double v;
  std::memcpy(&v, a.data.data() + row + offset, 8);
  EXPECT_EQ(v, double(3600 + 1));
}

TEST(ResultWriters, NpzRoundTripIsBitExactWithNumpyAxisConventions) {
  ScratchDir dir;
  const std::string path = dir.file("out.npz");
  write_two_chunks(path);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"out.npz", "out.npz.meta.json"}));
  const auto members = read_zip(read_bytes(path));
  std::vector<std::string> keys;
  for (const auto& [name, bytes] : members) keys.push_back(name);
  std::vector<std::string> want_keys{"points.npy",       "gradient.npy", "hessian.npy",         "eigenvalues.npy",
                                     "eigenvectors.npy", "metadata.npy", "coordinate_names.npy"};
  for (const std::string& f : analysis_field_names()) want_keys.push_back(f + ".npy");
  std::sort(want_keys.begin(), want_keys.end());
  EXPECT_EQ(keys, want_keys);

  const auto array = [&](const std::string& key, std::vector<std::uint64_t> shape) {
    const NpyArray a = parse_npy(members.at(key + ".npy"));
    EXPECT_EQ(a.header.shape, shape) << key;
    return a;
  };
  const auto f8 = [](const NpyArray& a, std::size_t k) {
    double v;
    std::memcpy(&v, a.data.data() + 8 * k, 8);
    return v;
  };
  const std::uint64_t B = kPoints, n = kN;
  const NpyArray points = array("points", {B, n}), gradient = array("gradient", {B, n}),
                 hessian = array("hessian", {B, n, n}), values = array("eigenvalues", {B, n}),
                 vectors = array("eigenvectors", {B, n, n});
  for (int q = 0; q < kPoints; ++q) {
    for (int i = 0; i < kN; ++i) {
      const std::size_t qi = std::size_t(q * kN + i);
      EXPECT_EQ(bits(f8(points, qi)), bits(coordinate(q, i)));
      EXPECT_EQ(bits(f8(gradient, qi)), bits(expected("g_" + std::to_string(i), q).real));
      EXPECT_EQ(bits(f8(values, qi)), bits(expected("lambda_" + std::to_string(i), q).real));
      for (int j = 0; j < kN; ++j) {
        const std::size_t qij = std::size_t((q * kN + i) * kN + j);
        EXPECT_EQ(f8(hessian, qij), hessian_entry(q, i, j)) << "hessian[q][r][c] = H(r, c)";
        EXPECT_EQ(f8(vectors, qij), eigenvector_entry(q, j, i)) << "eigenvectors[q][r][k] = component r of k";
      }
    }
    for (const std::string& field : analysis_field_names()) {
      const NpyArray a = array(field, {B});
      const std::string& descr = a.header.descr.str;
      check_npy_value(descr, a.data.data() + std::size_t(q) * npy::descr_item_size(descr), expected(field, q),
                      field + " of point " + std::to_string(q));
    }
  }
  const NpyArray metadata = array("metadata", {});
  EXPECT_EQ(metadata.header.descr.str, "<U" + std::to_string(npy::utf8_to_utf32(kMetadata).size()));
  EXPECT_EQ(metadata.data, std::string(reinterpret_cast<const char*>(npy::utf8_to_utf32(kMetadata).data()),
                                       4 * npy::utf8_to_utf32(kMetadata).size()));
  const NpyArray names = array("coordinate_names", {n});
  EXPECT_EQ(ucs4_to_ascii(names.data.substr(4, 4)), "y");
}

TEST(ResultWriters, EmptyResultAndDefaultNamesAreValidFiles) {
  ScratchDir dir;
  OutputLayout layout;
  layout.n = 2;  // no coordinate names: x_0, x_1
  for (const char* name : {"empty.csv", "empty.npy", "empty.npz"}) {
    auto writer = open_result_writer(dir.file(name), layout);
    writer->finish("{}");
  }
  EXPECT_EQ(read_bytes(dir.file("empty.csv")),
            "x_0,x_1,f,grad_norm,lambda_min,lambda_max,class,morse_index,lr_max,gHg,"
            "step_opt,step,taylor_pred,f_step,uphill,status,confidence,hess_err,grad_err\n");
  const NpyArray a = parse_npy(read_bytes(dir.file("empty.npy")));
  EXPECT_EQ(a.header.shape, (std::vector<std::uint64_t>{0}));
  EXPECT_EQ(a.header.descr.items.at(1).items.at(0).str, "x_1");
  EXPECT_TRUE(a.data.empty());
  const auto members = read_zip(read_bytes(dir.file("empty.npz")));
  EXPECT_EQ(parse_npy(members.at("points.npy")).header.shape, (std::vector<std::uint64_t>{0, 2}));
}

TEST(ResultWriters, CsvHeaderQuotesNamesThatNeedIt) {
  ScratchDir dir;
  OutputLayout layout;
  layout.n = 2;
  layout.coordinate_names = {"a,b", "say \"hi\""};
  open_result_writer(dir.file("q.csv"), layout)->finish("{}");
  EXPECT_EQ(read_bytes(dir.file("q.csv")).rfind("\"a,b\",\"say \"\"hi\"\"\",f,", 0), 0u);
}

TEST(ResultWriters, ColumnNameClashIsAnInputError) {
  ScratchDir dir;
  OutputLayout layout = full_layout();
  layout.coordinate_names = {"x", "f", "z"};
  const InputError e = input_error([&] { open_result_writer(dir.file("out.csv"), layout); });
  EXPECT_NE(e.message().find("'f' appears twice"), std::string::npos) << e.message();
  EXPECT_TRUE(dir.entries().empty());
}

// --- numpy itself reads what we write (skipped where python3 + numpy are not installed) ------------------------

// --columns: the named columns only, in the order named ("H_1_*" a prefix), in every format; .npz keeps the arrays
// of the named columns. Values are checked as in the round trips above.
TEST(ResultWriters, ColumnsWriteOnlyTheNamedColumnsInTheirOrder) {
  ScratchDir dir;
  OutputLayout layout = full_layout();
  layout.columns = {"class", "H_1_*", "x", "f"};
  const std::vector<std::string> want{"class", "H_1_0", "H_1_1", "H_1_2", "x", "f"};

  write_two_chunks(dir.file("out.csv"), layout);
  std::istringstream csv(read_bytes(dir.file("out.csv")));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "class,H_1_0,H_1_1,H_1_2,x,f");
  for (int q = 0; q < kPoints; ++q) {
    ASSERT_TRUE(std::getline(csv, line));
    std::stringstream cells(line);
    for (const std::string& name : want) {
      std::string cell;
      std::getline(cells, cell, ',');
      const Expected e = expected(name, q);
      if (e.type == Expected::Text) {
        EXPECT_EQ(cell, e.text) << name;
      } else {
        EXPECT_EQ(bits(std::strtod(cell.c_str(), nullptr)), bits(e.real)) << name << " of point " << q;
      }
    }
  }

  write_two_chunks(dir.file("out.jsonl"), layout);
  std::istringstream jsonl(read_bytes(dir.file("out.jsonl")));
  ASSERT_TRUE(std::getline(jsonl, line));
  const nlohmann::ordered_json row = nlohmann::ordered_json::parse(line);
  std::vector<std::string> keys;
  for (const auto& item : row.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, want);

  write_two_chunks(dir.file("out.npy"), layout);
  const NpyArray a = parse_npy(read_bytes(dir.file("out.npy")));
  std::vector<std::string> names;
  std::size_t width = 0;
  for (const npy::PyValue& field : a.header.descr.items) {
    names.push_back(field.items.at(0).str);
    width += npy::descr_item_size(field.items.at(1).str);
  }
  EXPECT_EQ(names, want);
  EXPECT_EQ(a.data.size(), width * kPoints);

  layout.columns = {"f", "H_*", "lambda_min"};
  write_two_chunks(dir.file("out.npz"), layout);
  std::vector<std::string> members;
  for (const auto& [name, bytes] : read_zip(read_bytes(dir.file("out.npz")))) members.push_back(name);
  EXPECT_EQ(members, (std::vector<std::string>{"coordinate_names.npy", "f.npy", "hessian.npy", "lambda_min.npy",
                                               "metadata.npy"}));
}

TEST(ResultWriters, ColumnsNamingAnUnknownOrRepeatedColumnAreInputErrorsAtOpen) {
  ScratchDir dir;
  const auto error_for = [&](std::vector<std::string> columns, bool gradient = true) {
    OutputLayout layout = full_layout();
    layout.gradient = gradient;
    layout.columns = std::move(columns);
    const std::string message = input_error([&] { open_result_writer(dir.file("out.csv"), layout); }).what();
    EXPECT_TRUE(dir.entries().empty()) << message;  // nothing created
    return message;
  };
  EXPECT_NE(error_for({"f", "nope"}).find("'nope' is not a column of this run; its columns: x, y, z, f,"),
            std::string::npos);
  EXPECT_NE(error_for({"g_0"}, false).find("need --gradient"), std::string::npos);
  EXPECT_NE(error_for({"f", "f"}).find("column 'f' is named twice"), std::string::npos);
  EXPECT_NE(error_for({"H_*", "H_2_0"}).find("column 'H_2_0' is named twice"), std::string::npos);
  EXPECT_NE(error_for({"q*"}).find("'q*' is not a column"), std::string::npos);
  EXPECT_NE(error_for({""}).find("'' is not a column"), std::string::npos);
}

TEST(ResultWriters, NumpyLoadsNpyAndNpz) {
  if (std::system("python3 -c 'import numpy' > /dev/null 2>&1") != 0) GTEST_SKIP() << "numpy not importable";
  ScratchDir dir;
  write_two_chunks(dir.file("out.npy"));
  write_two_chunks(dir.file("out.npz"));
  std::vector<npy::ZipMember> members(1);
  members[0].name = "a.npy";
  members[0].head = npy::make_header(npy::header_dict("'<f8'", {1})) + std::string("\0\0\0\0\0\0\xF8\x3F", 8);
  members[0].crc32 =
      std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(members[0].head.data()), uInt(members[0].head.size())));
  struct FileSink final : npy::ByteSink {
    void write(const void* data, std::size_t size) override {
      out.write(static_cast<const char*>(data), std::streamsize(size));
    }
    std::ofstream out;
  } sink;
  sink.out.open(dir.file("zip64.npz"), std::ios::binary);
  npy::write_zip(members, sink, "zip64.npz", true);
  sink.out.close();

  std::string names;
  for (const std::string& c : expected_columns()) names += (names.empty() ? "" : ",") + c;
  write_bytes(dir.file("meta.txt"), kMetadata);
  write_bytes(dir.file("check.py"), R"(import sys, zipfile, numpy as np
d = sys.argv[1]
a = np.load(d + '/out.npy'); z = np.load(d + '/out.npz')
assert a.dtype.names == tuple(sys.argv[2].split(',')), a.dtype.names
assert a.shape == (5,) and z['points'].shape == (5, 3) and z['hessian'].shape == (5, 3, 3)
for q in range(5):
    for r in range(3):
        for c in range(3):
            assert a['H_%d_%d' % (r, c)][q] == 100 * r + 10 * c + q + 0.1
            assert z['hessian'][q, r, c] == 100 * r + 10 * c + q + 0.1
            assert a['v_%d_%d' % (c, r)][q] == 1000 * c + r + q / 7
            assert z['eigenvectors'][q, r, c] == 1000 * c + r + q / 7   # [p][r][k], as numpy.linalg.eigh
    assert a['f'][q] == np.sqrt(2.0) * (q + 1) and z['f'][q] == a['f'][q]
for t in (a, z):
    assert t['class'].tolist() == ['minimum', '', 'saddle', 'noncritical', 'degenerate'], t['class']
    assert t['status'].tolist() == ['ok', 'nonfinite_f', 'ok', 'eig_not_converged', 'ok']
    assert t['uphill'].tolist() == [-1, 0, 1, -1, 1] and t['morse_index'].tolist() == [0, -1, 2, 3, 4]
    assert np.isnan(t['lr_max'][2]) and np.isinf(t['f_step'][3])
assert z['points'].tobytes() == np.stack([a['x'], a['y'], a['z']], axis=1).tobytes()
assert str(z['metadata']) == open(d + '/meta.txt', encoding='utf-8').read()
assert z['coordinate_names'].tolist() == ['x', 'y', 'z']
assert zipfile.ZipFile(d + '/zip64.npz').testzip() is None and np.load(d + '/zip64.npz')['a'][0] == 1.5
print('numpy ok')
)");
  const std::string command = "python3 " + dir.file("check.py") + " " + dir.path().string() + " " + names + " > " +
                              dir.file("py.out") + " 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_EQ(status, 0) << read_bytes(dir.file("py.out"));
  EXPECT_EQ(read_bytes(dir.file("py.out")), "numpy ok\n");
}

}  // namespace
}  // namespace hessa
