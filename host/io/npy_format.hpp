// The .npy array format (numpy.lib.format, versions 1.0-3.0) and its .npz container (a zip of .npy
// members): header text, padding and version choice, a parser for the header's Python-literal dict, and
// a stored (uncompressed) zip assembler. Private to host/io; shared by the point reader and the writers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hessa::npy {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "hessa's .npy code copies '<' (little-endian) data as is");

// The subset of Python literals that appears in .npy headers: str, int, True/False/None, tuple, list, dict.
struct PyValue {
  enum class Kind { None, Bool, Int, Str, Tuple, List, Dict };
  Kind kind = Kind::None;
  bool boolean = false;
  std::int64_t integer = 0;
  std::string str;                                    // UTF-8
  std::vector<PyValue> items;                         // Tuple, List
  std::vector<std::pair<std::string, PyValue>> dict;  // Dict, keys are str

  const PyValue* find(std::string_view key) const;  // Dict lookup, nullptr when absent
};

// Parses one literal (the whole text, surrounding whitespace allowed). Throws InputError(source, ...) with
// the 1-based character column of the problem.
PyValue parse_py_literal(std::string_view text, const std::string& source);

// Python repr of a str: single-quoted, with \\, \' and control characters escaped; other bytes (UTF-8) kept.
std::string py_str(std::string_view s);

// What a .npy header says. `descr` is a str ('<f8') for plain arrays, a list of (name, descr[, shape])
// tuples for structured ones.
struct Header {
  int major_version = 1;
  PyValue descr;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
  std::size_t data_offset = 0;  // bytes of magic + version + length + dict: where the data starts
};

// The fixed part before the dict: magic "\x93NUMPY", version, header length (2 bytes in 1.0, 4 in 2.0/3.0).
inline constexpr std::size_t kMaxPreambleSize = 12;
struct Preamble {
  int major_version = 0;
  std::size_t size = 0;       // 10 or 12
  std::size_t dict_size = 0;  // the header length field
};
// `bytes` holds the first min(kMaxPreambleSize, file size) bytes of the file.
Preamble parse_preamble(std::string_view bytes, const std::string& source);
// Parses the dict that follows the preamble and checks its keys ('descr', 'fortran_order', 'shape').
Header parse_header(const Preamble& preamble, std::string_view dict, const std::string& source);

// The dict text "{'descr': <descr>, 'fortran_order': False, 'shape': (<shape>), }" (no padding).
std::string header_dict(const std::string& descr_literal, const std::vector<std::uint64_t>& shape,
                        bool fortran_order = false);

// Magic, version, length and `dict` padded with spaces and a final '\n' so the data starts at a multiple of
// 64 bytes. The version is the smallest that can hold it: 1.0 (length < 65536, latin-1), 2.0 (longer), 3.0
// (non-ASCII bytes, read as UTF-8) and at least `min_version`. With `total_size` != 0 the result is padded to
// exactly that many bytes (a header rewritten in place); throws std::logic_error when it does not fit.
std::string make_header(std::string_view dict, int min_version = 1, std::size_t total_size = 0);

// Bytes of one element of a plain descr ('<f8' -> 8, '<U11' -> 44), 0 when unsupported.
std::size_t descr_item_size(std::string_view descr);

// UTF-8 -> UTF-32LE code units, as numpy stores '<U' strings; invalid sequences become U+FFFD.
std::u32string utf8_to_utf32(std::string_view s);

// A zip member whose bytes are `head` (in memory) followed by `tail_size` bytes of the file `tail_path`
// (may be empty). `crc32` covers head and tail (zlib crc32 / crc32_combine).
struct ZipMember {
  std::string name;
  std::string head;
  std::string tail_path;
  std::uint64_t tail_size = 0;
  std::uint32_t crc32 = 0;
};

// Writes a stored (method 0) zip of `members` through `write(const void*, size_t)` calls. ZIP64 records are
// used for a member of 4 GiB or more, an offset past 4 GiB or 65535+ members; `force_zip64` uses them
// always (for tests). Throws InputError naming `source` when a tail file cannot be read.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(const void* data, std::size_t size) = 0;
};
void write_zip(const std::vector<ZipMember>& members, ByteSink& out, const std::string& source,
               bool force_zip64 = false);

}  // namespace hessa::npy
