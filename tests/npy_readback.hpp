// Test-side readers of what hessa's .npy / .npz writers produce, written from the formats' specifications: a .npy
// array's header and data, the members of a stored zip (through its central directory, ZIP64 included, CRC-checked).
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <map>
#include <string>

#include "io/npy_format.hpp"  // private to host/io (tests add host/ to their include path)

namespace hessa::test {

struct NpyArray {
  npy::Header header;
  std::string data;
};

inline NpyArray parse_npy(const std::string& bytes) {
  const npy::Preamble pre = npy::parse_preamble(bytes.substr(0, npy::kMaxPreambleSize), "test");
  NpyArray a{npy::parse_header(pre, bytes.substr(pre.size, pre.dict_size), "test"), ""};
  EXPECT_EQ(a.header.data_offset % 64, 0u);
  EXPECT_EQ(bytes[a.header.data_offset - 1], '\n');
  a.data = bytes.substr(a.header.data_offset);
  return a;
}

inline std::uint32_t le(const std::string& s, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int k = bytes; k-- > 0;) v = v * 256 + static_cast<unsigned char>(s.at(at + std::size_t(k)));
  return v;
}
inline std::uint64_t le64(const std::string& s, std::size_t at) {
  return le(s, at, 4) | std::uint64_t(le(s, at + 4, 4)) << 32;
}

// Members of a stored zip, read through the central directory (ZIP64 records included); checks each CRC-32.
inline std::map<std::string, std::string> read_zip(const std::string& zip) {
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

inline std::string ucs4_to_ascii(const std::string& bytes) {
  std::string s;
  for (std::size_t k = 0; k + 3 < bytes.size(); k += 4) {
    const std::uint32_t c = le(bytes, k, 4);
    if (c == 0) break;
    s += char(c);
  }
  return s;
}

}  // namespace hessa::test
