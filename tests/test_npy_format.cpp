// The .npy / .npz container pieces (host/io/npy_format.cpp): headers padded to 64 bytes in the smallest version,
// the Python-literal parser, and the stored zip writer with and without ZIP64 records.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "hessa/errors.hpp"
#include "io/npy_format.hpp"  // private to host/io (tests add host/ to their include path)
#include "io_support.hpp"
#include "npy_readback.hpp"

namespace hessa {
namespace {

using test::read_zip;
using test::ScratchDir;
using test::write_bytes;

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

TEST(NpyFormat, ForcedZip64ArchiveReadsBack) {
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

}  // namespace
}  // namespace hessa
