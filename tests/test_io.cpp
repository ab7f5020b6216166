// Point readers and result writers: exact round trips through every output format (bit-exact doubles, no
// tolerance anywhere: these are copies, not computations), reader errors with their line and column, atomic
// output (temporary files removed, failures at open time), and the .npy/.npz container details.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "io/npy_format.hpp"  // private to host/io (tests add host/ to their include path)

namespace hessa {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// --- helpers ------------------------------------------------------------------------------------------------

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "hessa_test_io_XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uint64_t bits(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// Runs `f`, which must throw InputError; returns it.
template <typename F>
InputError input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "no InputError thrown";
  return InputError("none");
}

std::vector<double> read_all(PointReader& reader, std::size_t chunk) {
  std::vector<double> all, part;
  while (reader.read(chunk, part) > 0) all.insert(all.end(), part.begin(), part.end());
  return all;
}

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

// --- readers: CSV -------------------------------------------------------------------------------------------

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

TEST(PointReader, MissingUnreadableAndUnknownFilesAreInputErrors) {
  ScratchDir dir;
  EXPECT_NE(input_error([&] { open_point_reader(dir.file("absent.csv")); }).message().find("No such file or directory"),
            std::string::npos);
  EXPECT_NE(input_error([&] { open_point_reader(dir.path().string() + "/sub.npy"); }).message().find("No such file"),
            std::string::npos);
  fs::create_directory(dir.file("folder.csv"));
  EXPECT_NE(input_error([&] { open_point_reader(dir.file("folder.csv")); }).message().find("directory"),
            std::string::npos);
  write_bytes(dir.file("pts.dat"), "1,2\n");
  const InputError e = input_error([&] { open_point_reader(dir.file("pts.dat")); });
  EXPECT_EQ(e.source(), dir.file("pts.dat"));
  EXPECT_NE(e.message().find(".csv, .txt or .npy"), std::string::npos) << e.message();
}

TEST(PointReader, UnreadableFileReportsTheOsReason) {
  ScratchDir dir;
  const std::string path = dir.file("secret.csv");
  write_bytes(path, "1,2\n");
  fs::permissions(path, fs::perms::none);
  if (::access(path.c_str(), R_OK) == 0) GTEST_SKIP() << "permissions are not enforced (running as root)";
  EXPECT_NE(input_error([&] { open_point_reader(path); }).message().find("Permission denied"), std::string::npos);
}

// --- readers: .npy ------------------------------------------------------------------------------------------

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

// --- .npy format pieces -------------------------------------------------------------------------------------

TEST(NpyFormat, HeaderIsPaddedTo64AndPicksTheSmallestVersion) {
  const std::string small = npy::make_header(npy::header_dict("'<f8'", {3, 2}));
  // Byte for byte what numpy.save writes for a (3, 2) float64 array: version 1.0, length 118, 128 bytes in all.
  const std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";
  EXPECT_EQ(small,
            std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(128 - 11 - dict.size(), ' ') + "\n");

  const std::string big = npy::make_header(std::string(70000, ' ') + "{}");
  EXPECT_EQ(big[6], 2);  // the length no longer fits 2 bytes
  EXPECT_EQ(big.size() % 64, 0u);
  EXPECT_EQ(npy::make_header("{'descr': [('\xC3\xA9t\xC3\xA9', '<f8')]}")[6], 3);  // UTF-8 needs 3.0

  // Rewriting in place: same size and version as the reserved header, even when the new text is shorter.
  const std::string reserved = npy::make_header(npy::header_dict("'<f8'", {std::numeric_limits<std::uint64_t>::max()}));
  const std::string rewritten = npy::make_header(npy::header_dict("'<f8'", {5}), reserved[6], reserved.size());
  EXPECT_EQ(rewritten.size(), reserved.size());
  EXPECT_THROW(npy::make_header(std::string(100, 'x'), 1, 64), std::logic_error);
}

TEST(NpyFormat, LiteralParserReadsWhatNumpyWrites) {
  const npy::PyValue v = npy::parse_py_literal(
      "{'descr': [('a\\'b', '<f8'), (\"c\", '<U11', (2, 3))], 'fortran_order': True, 'shape': (7L, ), 'x': None,"
      " 'y': -12, 'z': 'tab\\there\\u00e9', 'one': (5)}",
      "t");
  ASSERT_EQ(v.kind, npy::PyValue::Kind::Dict);
  const npy::PyValue& descr = *v.find("descr");
  ASSERT_EQ(descr.items.size(), 2u);
  EXPECT_EQ(descr.items[0].items[0].str, "a'b");
  EXPECT_EQ(descr.items[1].items[2].items[1].integer, 3);
  EXPECT_TRUE(v.find("fortran_order")->boolean);
  EXPECT_EQ(v.find("shape")->kind, npy::PyValue::Kind::Tuple);
  EXPECT_EQ(v.find("shape")->items.at(0).integer, 7);
  EXPECT_EQ(v.find("x")->kind, npy::PyValue::Kind::None);
  EXPECT_EQ(v.find("y")->integer, -12);
  EXPECT_EQ(v.find("z")->str, "tab\there\xC3\xA9");
  EXPECT_EQ(v.find("one")->kind, npy::PyValue::Kind::Int);  // "(5)" is 5, as in Python
  EXPECT_EQ(npy::parse_py_literal(npy::py_str("it's a \\ \n"), "t").str, "it's a \\ \n");
  EXPECT_THROW(npy::parse_py_literal("{'a': 1} extra", "t"), InputError);
  EXPECT_THROW(npy::parse_py_literal("{'a': 99999999999999999999}", "t"), InputError);
}

// --- test-side readers for the formats the writers produce -------------------------------------------------

struct NpyArray {
  npy::Header header;
  std::string data;
};

NpyArray parse_npy(const std::string& bytes) {
  const npy::Preamble pre = npy::parse_preamble(bytes.substr(0, npy::kMaxPreambleSize), "test");
  NpyArray a{npy::parse_header(pre, bytes.substr(pre.size, pre.dict_size), "test"), ""};
  EXPECT_EQ(a.header.data_offset % 64, 0u);
  EXPECT_EQ(bytes[a.header.data_offset - 1], '\n');
  a.data = bytes.substr(a.header.data_offset);
  return a;
}

std::uint32_t le(const std::string& s, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int k = bytes; k-- > 0;) v = v * 256 + static_cast<unsigned char>(s.at(at + std::size_t(k)));
  return v;
}
std::uint64_t le64(const std::string& s, std::size_t at) {
  return le(s, at, 4) | std::uint64_t(le(s, at + 4, 4)) << 32;
}

// Members of a stored zip, read through the central directory (ZIP64 records included); checks each CRC-32.
std::map<std::string, std::string> read_zip(const std::string& zip) {
  std::map<std::string, std::string> members;
  const std::size_t eocd = zip.rfind(std::string("PK\x05\x06", 4));
  if (eocd == std::string::npos) {
    ADD_FAILURE() << "no end of central directory";
    return members;
  }
  std::uint64_t count = le(zip, eocd + 10, 2), offset = le(zip, eocd + 16, 4);
  if (count == 0xFFFF || offset == 0xFFFFFFFF) {
    EXPECT_EQ(le(zip, eocd - 20, 4), 0x07064b50u);
    const std::uint64_t record = le64(zip, eocd - 20 + 8);
    EXPECT_EQ(le(zip, record, 4), 0x06064b50u);
    count = le64(zip, record + 32);
    offset = le64(zip, record + 48);
  }
  for (std::uint64_t e = 0; e < count; ++e) {
    EXPECT_EQ(le(zip, offset, 4), 0x02014b50u);
    EXPECT_EQ(le(zip, offset + 10, 2), 0u) << "stored";
    const std::uint32_t crc = le(zip, offset + 16, 4);
    std::uint64_t csize = le(zip, offset + 20, 4), usize = le(zip, offset + 24, 4), local = le(zip, offset + 42, 4);
    const std::size_t name_len = le(zip, offset + 28, 2), extra_len = le(zip, offset + 30, 2);
    const std::string name = zip.substr(offset + 46, name_len);
    for (std::size_t x = offset + 46 + name_len; x < offset + 46 + name_len + extra_len;) {
      const std::uint32_t id = le(zip, x, 2), size = le(zip, x + 2, 2);
      std::size_t field = x + 4;
      if (id == 1) {
        for (std::uint64_t* v : {&usize, &csize, &local})
          if (*v == 0xFFFFFFFF) *v = le64(zip, field), field += 8;
      }
      x += 4 + size;
    }
    EXPECT_EQ(le(zip, local, 4), 0x04034b50u);
    const std::size_t data = local + 30 + le(zip, local + 26, 2) + le(zip, local + 28, 2);
    EXPECT_EQ(csize, usize);
    members[name] = zip.substr(data, csize);
    const std::string& m = members[name];
    EXPECT_EQ(crc32(0, reinterpret_cast<const Bytef*>(m.data()), uInt(m.size())), crc) << name;
    offset += 46 + name_len + extra_len + le(zip, offset + 32, 2);
  }
  return members;
}

std::string ucs4_to_ascii(const std::string& bytes) {
  std::string s;
  for (std::size_t k = 0; k + 3 < bytes.size(); k += 4) {
    const std::uint32_t c = le(bytes, k, 4);
    if (c == 0) break;
    s += char(c);
  }
  return s;
}

// --- a hand-filled result over two chunks -----------------------------------------------------------------

// Values are chosen so that a swapped index shows: H(r,c) = 100r + 10c + q + 0.1 (not symmetric), component r
// of eigenvector k = 1000k + r + q/7, at global point q. Special values: -0, denormals, DBL_MAX, NaN, +Inf.
constexpr int kN = 3;
constexpr int kPoints = 5;

double coordinate(int q, int i) {
  if (q == 0 && i == 0) return -0.0;
  if (q == 1 && i == 1) return 4.9e-324;
  if (q == 2 && i == 2) return 1.7976931348623157e308;
  return (q + 1) * 0.1 + i / 3.0;
}
double hessian_entry(int q, int r, int c) { return 100.0 * r + 10.0 * c + q + 0.1; }
double eigenvector_entry(int q, int k, int r) { return 1000.0 * k + r + q / 7.0; }

PointAnalysis analysis(int q) {
  const PointClass classes[] = {PointClass::Minimum, PointClass::Unknown, PointClass::Saddle, PointClass::Noncritical,
                                PointClass::Degenerate};
  const PointStatus statuses[] = {PointStatus::Ok, PointStatus::NonfiniteF, PointStatus::Ok,
                                  PointStatus::EigenNotConverged, PointStatus::Ok};
  const std::int8_t uphill[] = {-1, 0, 1, -1, 1};
  PointAnalysis a{};
  a.f = std::sqrt(2.0) * (q + 1);
  a.grad_norm = q * 1e-7 / 3;
  a.lambda_min = -q / 7.0;
  a.lambda_max = q / 7.0 + 1;
  a.lr_max = q == 2 ? kNaN : 1 / a.lambda_max;
  a.gHg = -q / 3.0;
  a.step_opt = q % 2 ? kNaN : 0.25;
  a.step = 0.125 * q;
  a.taylor_pred = M_PI * q;
  a.f_step = q == 3 ? kInf : std::exp(q);
  a.confidence = q == 1 ? kNaN : 1.5 + q;
  a.hess_err = 1e-9 * (q + 1) / 7;
  a.grad_err = q == 4 ? kNaN : 3e-11 * q;
  a.morse_index = q == 1 ? -1 : q;
  a.point_class = classes[q];
  a.status = statuses[q];
  a.uphill = uphill[q];
  return a;
}

OutputLayout full_layout() {
  OutputLayout layout;
  layout.n = kN;
  layout.coordinate_names = {"x", "y", "z"};
  layout.gradient = layout.hessian = layout.eigenvalues = layout.eigenvectors = true;
  return layout;
}

// Points [first, first + count) as a chunk; matrices column-major as ChunkResult documents.
std::pair<std::vector<double>, ChunkResult> chunk(int first, int count) {
  std::vector<double> points;
  ChunkResult r;
  AnalysisOptions all;
  all.keep_gradient = all.keep_hessian = all.keep_eigenvalues = all.eigenvectors = true;
  r.resize(std::size_t(count), kN, all);
  for (int p = 0; p < count; ++p) {
    const int q = first + p;
    r.points[std::size_t(p)] = analysis(q);
    for (int i = 0; i < kN; ++i) {
      points.push_back(coordinate(q, i));
      r.gradient[std::size_t(p * kN + i)] = q - i * 0.5 + 1e-3;
      r.eigenvalues[std::size_t(p * kN + i)] = i - q / 9.0;
      for (int j = 0; j < kN; ++j) {
        r.hessian[std::size_t(p * kN * kN + j * kN + i)] = hessian_entry(q, i, j);           // H(i, j)
        r.eigenvectors[std::size_t(p * kN * kN + i * kN + j)] = eigenvector_entry(q, i, j);  // component j of k=i
      }
    }
  }
  return {points, r};
}

const std::string kMetadata = R"({"tool":"hessa","note":"caf\u00e9 \u2713","n":3})";

// Writes points 0-2 and 3-4 as two chunks and finishes.
void write_two_chunks(const std::string& path, const OutputLayout& layout = full_layout()) {
  auto writer = open_result_writer(path, layout);
  for (const auto& [first, count] : {std::pair{0, 3}, std::pair{3, 2}}) {
    auto [points, result] = chunk(first, count);
    writer->write(points.data(), result);
  }
  writer->finish(kMetadata);
}

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

TEST(ResultWriters, ForcedZip64ArchiveReadsBack) {
  ScratchDir dir;
  const std::string tail_path = dir.file("tail.bin");
  write_bytes(tail_path, "TAIL-BYTES");
  std::vector<npy::ZipMember> members(2);
  members[0].name = "a.npy";
  members[0].head = npy::make_header(npy::header_dict("'<f8'", {1})) + std::string("\0\0\0\0\0\0\xF8\x3F", 8);
  members[0].crc32 =
      std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(members[0].head.data()), uInt(members[0].head.size())));
  members[1].name = "b.bin";
  members[1].head = "HEAD-";
  members[1].tail_path = tail_path;
  members[1].tail_size = 10;
  members[1].crc32 = std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>("HEAD-TAIL-BYTES"), 15));
  struct StringSink final : npy::ByteSink {
    void write(const void* data, std::size_t size) override { bytes.append(static_cast<const char*>(data), size); }
    std::string bytes;
  };
  for (const bool zip64 : {false, true}) {
    StringSink sink;
    npy::write_zip(members, sink, "test.npz", zip64);
    EXPECT_EQ(sink.bytes.find(std::string("PK\x06\x06", 4)) != std::string::npos, zip64);
    const auto read = read_zip(sink.bytes);
    ASSERT_EQ(read.size(), 2u);
    EXPECT_EQ(read.at("a.npy"), members[0].head);
    EXPECT_EQ(read.at("b.bin"), "HEAD-TAIL-BYTES");
    write_bytes(dir.file(zip64 ? "zip64.npz" : "plain.npz"), sink.bytes);
  }
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

// --- atomic output --------------------------------------------------------------------------------------------

TEST(ResultWriters, DestroyedWithoutFinishLeavesNoFileAndKeepsTheOldOne) {
  for (const char* name : {"out.csv", "out.jsonl", "out.npy", "out.npz"}) {
    SCOPED_TRACE(name);
    ScratchDir dir;
    const std::string path = dir.file(name);
    write_bytes(path, "previous results");
    {
      auto writer = open_result_writer(path, full_layout());
      auto [points, result] = chunk(0, 3);
      writer->write(points.data(), result);
      const std::vector<std::string> during = dir.entries();
      EXPECT_GE(during.size(), 2u);
      EXPECT_EQ(during.back().rfind(std::string(".") + name + ".tmp-", 0), std::string::npos);
      EXPECT_EQ(during.front().rfind(std::string(".") + name + ".tmp-", 0), 0u) << during.front();
    }
    EXPECT_EQ(dir.entries(), (std::vector<std::string>{name}));
    EXPECT_EQ(read_bytes(path), "previous results");
  }
}

TEST(ResultWriters, FinishReplacesAnExistingFile) {
  ScratchDir dir;
  const std::string path = dir.file("out.csv");
  write_bytes(path, "previous results");
  write_bytes(path + ".meta.json", "old");
  write_two_chunks(path);
  EXPECT_EQ(read_bytes(path).rfind("x,y,z,f,", 0), 0u);
  EXPECT_EQ(read_bytes(path + ".meta.json"), kMetadata + "\n");
  EXPECT_EQ(dir.entries().size(), 2u);
}

TEST(ResultWriters, UnwritableOrUnknownOutputFailsAtOpen) {
  ScratchDir dir;
  write_bytes(dir.file("plain_file"), "");
  struct Case {
    std::string path;
    const char* message_part;
  };
  const Case cases[] = {
      {dir.file("missing_dir/out.csv"), "No such file or directory"},
      {dir.file("plain_file/out.npz"), "Not a directory"},
      {dir.file("out.h5"), "unsupported output extension '.h5' (expected .csv, .npy, .npz or .jsonl)"},
      {dir.file("out"), "unsupported output no extension"},
      {dir.path().string(), "unsupported output"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    const InputError e = input_error([&] { open_result_writer(c.path, full_layout()); });
    EXPECT_EQ(e.source(), c.path);
    EXPECT_NE(e.message().find(c.message_part), std::string::npos) << e.message();
  }
  fs::create_directory(dir.file("dir.csv"));
  EXPECT_NE(input_error([&] { open_result_writer(dir.file("dir.csv"), full_layout()); }).message().find("directory"),
            std::string::npos);
}

TEST(ResultWriters, ReadOnlyDirectoryFailsAtOpen) {
  ScratchDir dir;
  const fs::path readonly = dir.path() / "readonly";
  fs::create_directory(readonly);
  fs::permissions(readonly, fs::perms::owner_read | fs::perms::owner_exec);
  if (::access(readonly.c_str(), W_OK) == 0) GTEST_SKIP() << "permissions are not enforced (running as root)";
  const InputError e = input_error([&] { open_result_writer((readonly / "out.jsonl").string(), full_layout()); });
  EXPECT_NE(e.message().find("Permission denied"), std::string::npos) << e.message();
}

TEST(ResultWriters, ColumnNameClashIsAnInputError) {
  ScratchDir dir;
  OutputLayout layout = full_layout();
  layout.coordinate_names = {"x", "f", "z"};
  const InputError e = input_error([&] { open_result_writer(dir.file("out.csv"), layout); });
  EXPECT_NE(e.message().find("'f' appears twice"), std::string::npos) << e.message();
  EXPECT_TRUE(dir.entries().empty());
}

TEST(ResultWriters, FailedWriteNamesTheFileAndTheOsReason) {
  // RLIMIT_FSIZE makes write(2) fail with EFBIG, as a full disk fails with ENOSPC: the same code path.
  ScratchDir dir;
  const std::string path = dir.file("big.csv");
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  std::string message;
  {
    auto writer = open_result_writer(path, full_layout());
    auto [points, result] = chunk(0, 3);
    rlimit small = old;
    small.rlim_cur = 64 * 1024;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    try {
      for (int k = 0; k < 1000; ++k) writer->write(points.data(), result);
      writer->finish("{}");
    } catch (const InputError& e) {
      message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
  }
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(message.rfind(path + ": cannot write: ", 0), 0u) << message;
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

// --- numpy itself reads what we write (skipped where python3 + numpy are not installed) ------------------------

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
