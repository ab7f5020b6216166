// The .npy point reader (host/io/npy_points.cpp): every dtype and shape it accepts, Fortran order, truncated files,
// non-finite values and malformed headers. The files are built byte by byte here, independently of npy_format.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "io_support.hpp"

namespace hessa {
namespace {

using test::bits;
using test::input_error;
using test::kNaN;
using test::read_all;
using test::ScratchDir;
using test::write_bytes;

// A .npy file built byte by byte, independently of npy::make_header.
std::string raw_npy(int major, const std::string& dict, const std::string& data) {
  const std::size_t preamble = major == 1 ? 10 : 12;
  std::string text = dict;
  while ((preamble + text.size() + 1) % 64 != 0) text += ' ';
  text += '\n';
  std::string out = std::string("\x93NUMPY", 6) + char(major) + char(0);
  for (std::size_t k = 0; k < preamble - 8; ++k) out += char((text.size() >> (8 * k)) & 0xFF);
  return out + text + data;
}

template <typename T>
std::string as_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

TEST(NpyPoints, ReadsEveryDtypeAndShapeExactly) {
  ScratchDir dir;
  const std::vector<double> f8{0.1, -0.0, 4.9e-324, 1.7976931348623157e308, 1.0 / 3, 2.5};
  const std::vector<float> f4{0.1f, -2.5f, 3.0f, 1e-40f};
  const std::vector<std::int64_t> i8{-7, 9007199254740993LL};  // 2^53 + 1 rounds to 2^53 (nearest double)
  const std::vector<std::int32_t> i4{-2147483647 - 1, 5, 6};
  struct Case {
    std::string name, bytes;
    int n;
    std::vector<double> expected;
  };
  const Case cases[] = {
      {"f8.npy", raw_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", as_bytes(f8)), 2, f8},
      {"f4.npy",
       raw_npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", as_bytes(f4)),
       2,
       {double(0.1f), -2.5, 3.0, double(1e-40f)}},
      {"i8.npy",
       raw_npy(3, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", as_bytes(i8)),
       1,
       {-7.0, 9007199254740992.0}},
      {"i4.npy",
       raw_npy(1, "{\"shape\": (1, 3), \"descr\": \"<i4\", \"fortran_order\": False}", as_bytes(i4)),
       3,
       {-2147483648.0, 5, 6}},
      // Fortran order: the file holds column 0 (3 values) then column 1; points are (0.1, 1e308), ...
      {"fortran.npy",
       raw_npy(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }", as_bytes(f8)),
       2,
       {0.1, 1.7976931348623157e308, -0.0, 1.0 / 3, 4.9e-324, 2.5}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    write_bytes(dir.file(c.name), c.bytes);
    auto reader = open_point_reader(dir.file(c.name));
    EXPECT_EQ(reader->dimension(), c.n);
    EXPECT_EQ(reader->total_points(), c.expected.size() / std::size_t(c.n));
    EXPECT_TRUE(reader->column_names().empty());
    const std::vector<double> got = read_all(*reader, 2);  // chunks of 2 cross the fortran transpose
    ASSERT_EQ(got.size(), c.expected.size());
    for (std::size_t k = 0; k < got.size(); ++k) EXPECT_EQ(bits(got[k]), bits(c.expected[k])) << "value " << k;
  }
}

TEST(NpyPoints, TruncatedFileReportsWholePointsPresent) {
  ScratchDir dir;
  const std::string path = dir.file("short.npy");
  const std::vector<double> data(12 * 2 + 1, 1.0);  // 12 whole points of 2, and half of the 13th
  write_bytes(path, raw_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (40, 2), }", as_bytes(data)));
  const InputError e = input_error([&] { open_point_reader(path); });
  EXPECT_EQ(e.message(), "file ends after 12 of 40 points");
}

TEST(NpyPoints, NonFiniteValueNamesPointAndCoordinate) {
  ScratchDir dir;
  const std::string path = dir.file("nan.npy");
  std::vector<double> data(10 * 3, 0.5);
  data[6 * 3 + 1] = kNaN;  // point 7, coordinate 2 (1-based)
  write_bytes(path, raw_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (10, 3), }", as_bytes(data)));
  auto reader = open_point_reader(path);
  std::vector<double> out;
  EXPECT_EQ(reader->read(4, out), 4u);
  const InputError e = input_error([&] { reader->read(4, out); });  // point 7 is in the second chunk
  EXPECT_EQ(e.line(), 7);
  EXPECT_EQ(e.column(), 2);
  EXPECT_EQ(e.message(), "point 7, coordinate 2: coordinates must be finite, found nan");
}

TEST(NpyPoints, MalformedHeadersAreInputErrors) {
  const std::string d8(16, '\0');
  struct Case {
    std::string bytes;
    const char* message_part;
  };
  const Case cases[] = {
      {"not numpy at all", "not a .npy file"},
      {raw_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", d8).replace(6, 1, "\x04"),
       "unsupported .npy version 4.0"},
      {raw_npy(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", d8), "unsupported dtype '>f8'"},
      {raw_npy(1, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", d8),
       "unsupported dtype a structured dtype"},
      {raw_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 2), }", d8), "found shape (1, 1, 2)"},
      {raw_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 2), }", ""), "no points"},
      {raw_npy(1, "{'descr': '<f8', 'shape': (2,), }", d8), "needs the keys"},
      {raw_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)", d8), "malformed .npy header"},
      {raw_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", d8).substr(0, 40),
       "file ends inside the .npy header"},
  };
  ScratchDir dir;
  const std::string path = dir.file("bad.npy");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message_part);
    write_bytes(path, c.bytes);
    const InputError e = input_error([&] { open_point_reader(path); });
    EXPECT_EQ(e.source(), path);
    EXPECT_NE(e.message().find(c.message_part), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace hessa
