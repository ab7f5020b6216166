// The CSV point reader (host/io/csv_points.cpp): header, comments, blank lines, CRLF, whitespace and a BOM; errors
// with their line and column. Parsed values are compared bit for bit: strtod rounds correctly, so they are exact.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "io_support.hpp"

namespace hessa {
namespace {

using test::bits;
using test::input_error;
using test::read_all;
using test::ScratchDir;
using test::write_bytes;

TEST(CsvPoints, HeaderCommentsBlankLinesCrlfAndWhitespaceAreHandled) {
  ScratchDir dir;
  const std::string path = dir.file("pts.csv");
  write_bytes(path, "# made by hand\r\n x , y ,z\r\n\r\n0.1, -2 ,3e-310\r\n  # comment\n4,5,6\n\t7 ,8,9  \n");
  auto reader = open_point_reader(path);
  EXPECT_EQ(reader->dimension(), 3);
  EXPECT_EQ(reader->column_names(), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_FALSE(reader->total_points().has_value());
  std::vector<double> out;
  ASSERT_EQ(reader->read(2, out), 2u);  // streams: at most max_points rows
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(bits(out[0]), bits(0.1));  // strtod's correctly rounded parse, so exact
  EXPECT_EQ(bits(out[2]), bits(3e-310));
  EXPECT_EQ(out[3], 4.0);
  ASSERT_EQ(reader->read(2, out), 1u);
  EXPECT_EQ(out, (std::vector<double>{7, 8, 9}));
  EXPECT_EQ(reader->read(2, out), 0u);
  EXPECT_TRUE(out.empty());
}

TEST(CsvPoints, FileWithoutHeaderHasNoColumnNames) {
  ScratchDir dir;
  const std::string path = dir.file("pts.TXT");
  write_bytes(path,
              "\xEF\xBB\xBF"
              "1,2\n3,4");  // a UTF-8 BOM and no final newline
  auto reader = open_point_reader(path);
  EXPECT_TRUE(reader->column_names().empty());
  EXPECT_EQ(read_all(*reader, 10), (std::vector<double>{1, 2, 3, 4}));
}

struct CsvErrorCase {
  const char* text;
  int line;
  int column;
  const char* message;
};

TEST(CsvPoints, ErrorsNameLineAndColumnOfTheBadCell) {
  const CsvErrorCase cases[] = {
      {"x,y,z\n1,2,3\n4,5\n", 3, 4, "expected 3 values (as in line 1), found 2"},
      {"1,2,3\n\n1,2,3,4\n", 3, 7, "expected 3 values (as in line 1), found 4"},
      {"1,2,3\n4, abc ,6\n", 2, 4, "expected a number, found 'abc'"},
      {"1,2,3\n4,1.5x,6\n", 2, 3, "expected a number, found '1.5x'"},
      {"1,2,3\n4,,6\n", 2, 3, "expected a number, found an empty cell"},
      {"a,b\n1, nan\n", 2, 4, "coordinates must be finite, found 'nan'"},
      {"1,-inf\n", 1, 3, "coordinates must be finite, found '-inf'"},
      {"1,1e999\n", 1, 3, "coordinates must be finite, found '1e999'"},  // overflows to inf
      {"", 0, 0, "no points"},
      {"# only a comment\n\n", 0, 0, "no points"},
      {"x,y\n", 0, 0, "no points after the header"},
  };
  ScratchDir dir;
  const std::string path = dir.file("bad.csv");
  for (const CsvErrorCase& c : cases) {
    SCOPED_TRACE(c.text);
    write_bytes(path, c.text);
    const InputError e = input_error([&] {
      auto reader = open_point_reader(path);
      read_all(*reader, 1);
    });
    EXPECT_EQ(e.source(), path);
    EXPECT_EQ(e.line(), c.line);
    EXPECT_EQ(e.column(), c.column);
    EXPECT_EQ(e.message(), c.message);
  }
}

TEST(CsvPoints, ErrorTextShowsTheLineAndACaret) {
  ScratchDir dir;
  const std::string path = dir.file("pts.csv");
  write_bytes(path, "1,2,3\r\n4, abc ,6\r\n");
  const InputError e = input_error([&] { read_all(*open_point_reader(path), 5); });
  EXPECT_EQ(std::string(e.what()), path + ":2:4: expected a number, found 'abc'\n  4, abc ,6\n     ^");
}

}  // namespace
}  // namespace hessa
