// .npy headers (numpy.lib.format: magic, version, little-endian length, a Python-literal dict padded to 64
// bytes) and a stored zip writer for .npz (PKWARE APPNOTE 6.3: local headers, central directory, ZIP64).
#include "io/npy_format.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <memory>
#include <stdexcept>

#include "hessa/errors.hpp"

namespace hessa::npy {

const PyValue* PyValue::find(std::string_view key) const {
  for (const auto& [k, v] : dict)
    if (k == key) return &v;
  return nullptr;
}

namespace {

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Recursive descent over the literal grammar numpy's header uses (and Python's ast.literal_eval accepts).
class LiteralParser {
 public:
  LiteralParser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  PyValue parse_all() {
    PyValue v = value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(source_, 0, 0, "malformed .npy header at character " + std::to_string(pos_ + 1) + ": " + what);
  }
  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool at(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!at(c)) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  PyValue value(int depth) {
    if (depth > 32) fail("nested too deeply");
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end");
    const char c = text_[pos_];
    if (c == '{') return dict(depth);
    if (c == '[') return sequence(depth, ']', PyValue::Kind::List);
    if (c == '(') return sequence(depth, ')', PyValue::Kind::Tuple);
    if (c == '\'' || c == '"') return string();
    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) return integer();
    return word();
  }

  PyValue dict(int depth) {
    PyValue v;
    v.kind = PyValue::Kind::Dict;
    ++pos_;
    while (!at('}')) {
      PyValue key = value(depth + 1);
      if (key.kind != PyValue::Kind::Str) fail("dict keys must be strings");
      expect(':');
      v.dict.emplace_back(std::move(key.str), value(depth + 1));
      if (!at(',')) break;
      ++pos_;
    }
    expect('}');
    return v;
  }

  // "(x)" is x itself, as in Python; "(x,)" and "()" are tuples.
  PyValue sequence(int depth, char close, PyValue::Kind kind) {
    PyValue v;
    v.kind = kind;
    ++pos_;
    bool saw_comma = false;
    while (!at(close)) {
      v.items.push_back(value(depth + 1));
      if (!at(',')) break;
      ++pos_;
      saw_comma = true;
    }
    expect(close);
    if (kind == PyValue::Kind::Tuple && v.items.size() == 1 && !saw_comma) return std::move(v.items[0]);
    return v;
  }

  PyValue string() {
    const char quote = text_[pos_++];
    PyValue v;
    v.kind = PyValue::Kind::Str;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        v.str += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case '\\':
        case '\'':
        case '"': v.str += e; break;
        case 'n': v.str += '\n'; break;
        case 't': v.str += '\t'; break;
        case 'r': v.str += '\r'; break;
        case '0': v.str += '\0'; break;
        case 'x': append_utf8(v.str, hex_escape(2)); break;
        case 'u': append_utf8(v.str, hex_escape(4)); break;
        case 'U': append_utf8(v.str, hex_escape(8)); break;
        default: fail(std::string("unsupported escape '\\") + e + "'");
      }
    }
    return v;
  }

  char32_t hex_escape(int digits) {
    char32_t code = 0;
    for (int k = 0; k < digits; ++k) {
      const int d = pos_ < text_.size() ? hex_digit(text_[pos_]) : -1;
      if (d < 0) fail("bad hex escape");
      code = code * 16 + char32_t(d);
      ++pos_;
    }
    if (code > 0x10FFFF) fail("bad code point");
    return code;
  }

  PyValue integer() {
    bool negative = false;
    if (text_[pos_] == '-' || text_[pos_] == '+') negative = text_[pos_++] == '-';
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') fail("expected a digit");
    std::uint64_t magnitude = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const unsigned d = unsigned(text_[pos_++] - '0');
      if (magnitude > (std::uint64_t(std::numeric_limits<std::int64_t>::max()) - d) / 10) fail("integer too large");
      magnitude = magnitude * 10 + d;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l')) ++pos_;  // Python 2 long
    PyValue v;
    v.kind = PyValue::Kind::Int;
    v.integer = negative ? -std::int64_t(magnitude) : std::int64_t(magnitude);
    return v;
  }

  PyValue word() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) ++pos_;
    const std::string_view w = text_.substr(start, pos_ - start);
    PyValue v;
    if (w == "True" || w == "False") {
      v.kind = PyValue::Kind::Bool;
      v.boolean = w == "True";
    } else if (w != "None") {
      pos_ = start;
      fail("unexpected '" + std::string(w.empty() ? text_.substr(start, 1) : w) + "'");
    }
    return v;
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string s = "(";
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (k > 0) s += ", ";
    s += std::to_string(shape[k]);
  }
  if (shape.size() == 1) s += ',';
  return s + ")";
}

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) out += char((v >> (8 * k)) & 0xFF);
}

}  // namespace

PyValue parse_py_literal(std::string_view text, const std::string& source) {
  return LiteralParser(text, source).parse_all();
}

std::string py_str(std::string_view s) {
  std::string out = "'";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "'";
}

Preamble parse_preamble(std::string_view bytes, const std::string& source) {
  static constexpr char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view(kMagic, 6))
    throw InputError(source, 0, 0, "not a .npy file (no \\x93NUMPY magic at the start)");
  Preamble p;
  p.major_version = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if (p.major_version < 1 || p.major_version > 3 || minor != 0)
    throw InputError(source, 0, 0,
                     "unsupported .npy version " + std::to_string(p.major_version) + "." + std::to_string(minor) +
                         " (expected 1.0, 2.0 or 3.0)");
  p.size = p.major_version == 1 ? 10 : 12;
  if (bytes.size() < p.size) throw InputError(source, 0, 0, "file ends inside the .npy header");
  for (std::size_t k = p.size; k-- > 8;) p.dict_size = p.dict_size * 256 + static_cast<unsigned char>(bytes[k]);
  return p;
}

Header parse_header(const Preamble& preamble, std::string_view dict, const std::string& source) {
  const PyValue value = parse_py_literal(dict, source);
  if (value.kind != PyValue::Kind::Dict) throw InputError(source, 0, 0, "malformed .npy header: not a dict");
  const PyValue* descr = value.find("descr");
  const PyValue* fortran = value.find("fortran_order");
  const PyValue* shape = value.find("shape");
  if (!descr || !fortran || !shape)
    throw InputError(source, 0, 0, "malformed .npy header: needs the keys 'descr', 'fortran_order' and 'shape'");
  if (fortran->kind != PyValue::Kind::Bool)
    throw InputError(source, 0, 0, "malformed .npy header: 'fortran_order' must be True or False");
  if (shape->kind != PyValue::Kind::Tuple)
    throw InputError(source, 0, 0, "malformed .npy header: 'shape' must be a tuple");
  Header h;
  h.major_version = preamble.major_version;
  h.descr = *descr;
  h.fortran_order = fortran->boolean;
  for (const PyValue& d : shape->items) {
    if (d.kind != PyValue::Kind::Int || d.integer < 0)
      throw InputError(source, 0, 0, "malformed .npy header: 'shape' must hold non-negative integers");
    h.shape.push_back(std::uint64_t(d.integer));
  }
  h.data_offset = preamble.size + preamble.dict_size;
  return h;
}

std::string header_dict(const std::string& descr_literal, const std::vector<std::uint64_t>& shape, bool fortran_order) {
  return "{'descr': " + descr_literal + ", 'fortran_order': " + (fortran_order ? "True" : "False") +
         ", 'shape': " + shape_text(shape) + ", }";
}

std::string make_header(std::string_view dict, int min_version, std::size_t total_size) {
  bool ascii = true;
  for (const char c : dict) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  int version = std::max(min_version, ascii ? 1 : 3);
  while (true) {
    const std::size_t preamble = version == 1 ? 10 : 12;
    const std::size_t needed = preamble + dict.size() + 1;  // + '\n'
    const std::size_t total = total_size != 0 ? total_size : (needed + 63) / 64 * 64;
    if (total < needed || total % 64 != 0) throw std::logic_error("npy header does not fit its reserved size");
    const std::size_t length = total - preamble;
    if (version == 1 && length > 0xFFFF) {
      version = 2;
      continue;
    }
    std::string out("\x93NUMPY", 6);
    out += char(version);
    out += char(0);
    put_le(out, length, version == 1 ? 2 : 4);
    out += dict;
    out.append(total - out.size() - 1, ' ');
    out += '\n';
    return out;
  }
}

std::size_t descr_item_size(std::string_view descr) {
  if (descr.size() < 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '>' && descr[0] != '=')) return 0;
  std::size_t count = 0;
  for (std::size_t k = 2; k < descr.size(); ++k) {
    if (descr[k] < '0' || descr[k] > '9' || count > 1u << 20) return 0;
    count = count * 10 + std::size_t(descr[k] - '0');
  }
  switch (descr[1]) {
    case 'f':
    case 'i':
    case 'u':
    case 'b': return count;
    case 'U': return 4 * count;
    default: return 0;
  }
}

std::u32string utf8_to_utf32(std::string_view s) {
  std::u32string out;
  for (std::size_t k = 0; k < s.size();) {
    const auto b = static_cast<unsigned char>(s[k]);
    const int extra = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
    char32_t c = extra == 0 ? b : extra == 1 ? (b & 0x1F) : extra == 2 ? (b & 0x0F) : (b & 0x07);
    bool ok = extra >= 0 && k + std::size_t(extra) < s.size() + (extra == 0 ? 1 : 0);
    for (int e = 1; ok && e <= extra; ++e) {
      const auto cont = static_cast<unsigned char>(s[k + std::size_t(e)]);
      ok = (cont & 0xC0) == 0x80;
      c = (c << 6) | (cont & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (ok && (c < kMin[extra] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))) ok = false;  // overlong, surrogate
    out += ok ? c : U'\uFFFD';
    k += ok ? std::size_t(extra) + 1 : 1;
  }
  return out;
}

// --- zip --------------------------------------------------------------------------------------------------

namespace {

constexpr std::uint32_t kMax32 = 0xFFFFFFFFu;

class CountingSink {
 public:
  explicit CountingSink(ByteSink& out) : out_(out) {}
  void put(const std::string& bytes) { put(bytes.data(), bytes.size()); }
  void put(const void* data, std::size_t size) {
    out_.write(data, size);
    offset_ += size;
  }
  std::uint64_t offset() const { return offset_; }

 private:
  ByteSink& out_;
  std::uint64_t offset_ = 0;
};

// MS-DOS date and time of "now", as zip headers store it.
std::pair<std::uint16_t, std::uint16_t> dos_time_date() {
  const std::time_t now = std::time(nullptr);
  std::tm t{};
  localtime_r(&now, &t);
  if (t.tm_year < 80) return {0, (1 << 5) | 1};  // 1980-01-01, the earliest a zip can say
  const auto time = std::uint16_t((t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec / 2));
  const auto date = std::uint16_t(((t.tm_year - 80) << 9) | ((t.tm_mon + 1) << 5) | t.tm_mday);
  return {time, date};
}

void copy_file_into(const ZipMember& m, CountingSink& out, const std::string& source) {
  if (m.tail_size == 0) return;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(m.tail_path.c_str(), "rb"), &std::fclose);
  if (!in) throw InputError(source, 0, 0, "cannot reopen temporary file " + m.tail_path + ": " + std::strerror(errno));
  std::vector<char> buffer(std::size_t(1) << 20);
  std::uint64_t left = m.tail_size;
  while (left > 0) {
    const std::size_t want = std::size_t(std::min<std::uint64_t>(left, buffer.size()));
    const std::size_t got = std::fread(buffer.data(), 1, want, in.get());
    if (got == 0)
      throw InputError(source, 0, 0,
                       "cannot read temporary file " + m.tail_path + ": " +
                           (std::ferror(in.get()) ? std::strerror(errno) : "it ended early"));
    out.put(buffer.data(), got);
    left -= got;
  }
}

}  // namespace

void write_zip(const std::vector<ZipMember>& members, ByteSink& sink, const std::string& source, bool force_zip64) {
  const auto [dos_time, dos_date] = dos_time_date();
  CountingSink out(sink);
  std::string central;
  for (const ZipMember& m : members) {
    const std::uint64_t size = m.head.size() + m.tail_size;
    const std::uint64_t offset = out.offset();
    const bool big = force_zip64 || size >= kMax32;
    const bool far = force_zip64 || offset >= kMax32;
    const std::uint16_t needed = big || far ? 45 : 20;  // 4.5: ZIP64; 2.0: plain

    std::string local;
    put_le(local, 0x04034b50, 4);
    put_le(local, needed, 2);
    put_le(local, 0x0800, 2);  // flags: bit 11, names are UTF-8
    put_le(local, 0, 2);       // method: stored
    put_le(local, dos_time, 2);
    put_le(local, dos_date, 2);
    put_le(local, m.crc32, 4);
    put_le(local, big ? kMax32 : size, 4);  // compressed size
    put_le(local, big ? kMax32 : size, 4);  // uncompressed size
    put_le(local, m.name.size(), 2);
    put_le(local, big ? 20 : 0, 2);  // extra length
    local += m.name;
    if (big) {  // ZIP64 extended information: uncompressed, compressed size
      put_le(local, 0x0001, 2);
      put_le(local, 16, 2);
      put_le(local, size, 8);
      put_le(local, size, 8);
    }
    out.put(local);
    out.put(m.head);
    copy_file_into(m, out, source);

    std::string extra;
    if (big) {
      put_le(extra, size, 8);
      put_le(extra, size, 8);
    }
    if (far) put_le(extra, offset, 8);
    put_le(central, 0x02014b50, 4);
    put_le(central, (3 << 8) | 45, 2);  // made by: Unix, 4.5
    put_le(central, needed, 2);
    put_le(central, 0x0800, 2);
    put_le(central, 0, 2);
    put_le(central, dos_time, 2);
    put_le(central, dos_date, 2);
    put_le(central, m.crc32, 4);
    put_le(central, big ? kMax32 : size, 4);
    put_le(central, big ? kMax32 : size, 4);
    put_le(central, m.name.size(), 2);
    put_le(central, extra.empty() ? 0 : extra.size() + 4, 2);
    put_le(central, 0, 2);               // comment length
    put_le(central, 0, 2);               // disk number
    put_le(central, 0, 2);               // internal attributes
    put_le(central, 0100644u << 16, 4);  // external attributes: regular file, rw-r--r--
    put_le(central, far ? kMax32 : offset, 4);
    central += m.name;
    if (!extra.empty()) {
      put_le(central, 0x0001, 2);
      put_le(central, extra.size(), 2);
      central += extra;
    }
  }

  const std::uint64_t cd_offset = out.offset();
  const std::uint64_t cd_size = central.size();
  const std::uint64_t count = members.size();
  out.put(central);
  const bool zip64 = force_zip64 || count >= 0xFFFF || cd_offset >= kMax32 || cd_size >= kMax32;
  std::string end;
  if (zip64) {
    const std::uint64_t record_offset = out.offset();
    put_le(end, 0x06064b50, 4);  // ZIP64 end of central directory record
    put_le(end, 44, 8);          // size of the rest of this record
    put_le(end, (3 << 8) | 45, 2);
    put_le(end, 45, 2);
    put_le(end, 0, 4);
    put_le(end, 0, 4);
    put_le(end, count, 8);
    put_le(end, count, 8);
    put_le(end, cd_size, 8);
    put_le(end, cd_offset, 8);
    put_le(end, 0x07064b50, 4);  // ZIP64 end of central directory locator
    put_le(end, 0, 4);
    put_le(end, record_offset, 8);
    put_le(end, 1, 4);
  }
  put_le(end, 0x06054b50, 4);  // end of central directory
  put_le(end, 0, 2);
  put_le(end, 0, 2);
  put_le(end, zip64 ? 0xFFFF : count, 2);
  put_le(end, zip64 ? 0xFFFF : count, 2);
  put_le(end, zip64 ? kMax32 : cd_size, 4);
  put_le(end, zip64 ? kMax32 : cd_offset, 4);
  put_le(end, 0, 2);
  out.put(end);
}

}  // namespace hessa::npy
