// Expression lexer: numbers, identifiers and operator symbols, each with its line and column. The source must be
// valid UTF-8 (it is stored verbatim in JSON metadata, which cannot hold other bytes); columns count bytes.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "expression/ast.hpp"
#include "hessa/errors.hpp"

namespace hessa::expr {

std::string source_line(const std::string& source, int line) {
  int current = 1;
  std::size_t start = 0;
  for (std::size_t k = 0; k < source.size() && current < line; ++k) {
    if (source[k] == '\n') {
      ++current;
      start = k + 1;
    }
  }
  std::size_t end = source.find('\n', start);
  if (end == std::string::npos) end = source.size();
  std::string text = source.substr(start, end - start);
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

void fail(const std::string& source, const std::string& source_name, SourcePosition pos, const std::string& message) {
  throw InputError(source_name, pos.line, pos.column, message, source_line(source, pos.line));
}

namespace {

// Length of the UTF-8 sequence at source[k], or 0 when it is not valid UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF); then `bad` is the offset of the first byte that breaks it.
std::size_t utf8_sequence_length(const std::string& source, std::size_t k, std::size_t& bad) {
  const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(source[at]); };
  const unsigned lead = byte(k);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned second_lo = 0x80;
  unsigned second_hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_lo = 0xA0;  // below: overlong
    if (lead == 0xED) second_hi = 0x9F;  // above: UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_lo = 0x90;  // below: overlong
    if (lead == 0xF4) second_hi = 0x8F;  // above: beyond U+10FFFF
  } else {
    bad = k;  // a continuation byte without a lead, an overlong lead (C0, C1), or F5..FF
    return 0;
  }
  for (std::size_t m = 1; m < length; ++m) {
    if (k + m >= source.size()) {
      bad = k;  // cut off by the end of the input: the lead byte is the one to blame
      return 0;
    }
    const unsigned lo = m == 1 ? second_lo : 0x80;
    const unsigned hi = m == 1 ? second_hi : 0xBF;
    if (byte(k + m) < lo || byte(k + m) > hi) {
      bad = k + m;
      return 0;
    }
  }
  return length;
}

// Rejects the first byte that is not part of valid UTF-8, at its line and (byte) column.
void check_utf8(const std::string& source, const std::string& source_name) {
  int line = 1;
  int column = 1;
  for (std::size_t k = 0; k < source.size();) {
    std::size_t bad = 0;
    const std::size_t length = utf8_sequence_length(source, k, bad);
    if (length == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(source[bad]));
      fail(source, source_name, {line, column + int(bad - k)},
           std::string("invalid UTF-8 byte ") + hex + " (the expression must be UTF-8 text)");
    }
    if (source[k] == '\n') {
      ++line;
      column = 1;
    } else {
      column += int(length);
    }
    k += length;
  }
}

}  // namespace

std::vector<Token> tokenize(const std::string& source, const std::string& source_name) {
  check_utf8(source, source_name);
  std::vector<Token> tokens;
  int line = 1;
  int column = 1;
  std::size_t k = 0;
  auto advance = [&](std::size_t count) {
    for (std::size_t m = 0; m < count; ++m) {
      if (source[k] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
      ++k;
    }
  };
  while (k < source.size()) {
    const char c = source[k];
    if (std::isspace(static_cast<unsigned char>(c))) {
      advance(1);
      continue;
    }
    if (c == '#') {
      while (k < source.size() && source[k] != '\n') advance(1);
      continue;
    }
    Token t;
    t.pos = {line, column};
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && k + 1 < source.size() && std::isdigit(static_cast<unsigned char>(source[k + 1])))) {
      std::size_t end = k;
      bool integer = true;
      while (end < source.size() && std::isdigit(static_cast<unsigned char>(source[end]))) ++end;
      if (end < source.size() && source[end] == '.') {
        integer = false;
        ++end;
        while (end < source.size() && std::isdigit(static_cast<unsigned char>(source[end]))) ++end;
      }
      if (end < source.size() && (source[end] == 'e' || source[end] == 'E')) {
        std::size_t exp = end + 1;
        if (exp < source.size() && (source[exp] == '+' || source[exp] == '-')) ++exp;
        if (exp < source.size() && std::isdigit(static_cast<unsigned char>(source[exp]))) {
          integer = false;
          end = exp;
          while (end < source.size() && std::isdigit(static_cast<unsigned char>(source[end]))) ++end;
        }
      }
      t.kind = TokenKind::Number;
      t.text = source.substr(k, end - k);
      errno = 0;
      t.value = std::strtod(t.text.c_str(), nullptr);
      if (errno == ERANGE && std::isinf(t.value)) fail(source, source_name, t.pos, "number '" + t.text + "' is too large");
      t.is_integer_literal = integer && t.value <= double(std::numeric_limits<int>::max());
      advance(end - k);
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t end = k;
      while (end < source.size() && (std::isalnum(static_cast<unsigned char>(source[end])) || source[end] == '_')) ++end;
      t.kind = TokenKind::Identifier;
      t.text = source.substr(k, end - k);
      advance(end - k);
    } else if (c == '*' && k + 1 < source.size() && source[k + 1] == '*') {
      t.kind = TokenKind::Symbol;
      t.text = "**";
      advance(2);
    } else if (std::string("+-*/^()[],;=").find(c) != std::string::npos) {
      t.kind = TokenKind::Symbol;
      t.text = std::string(1, c);
      advance(1);
    } else {
      std::size_t unused = 0;
      const std::size_t length = utf8_sequence_length(source, k, unused);  // valid: checked above
      fail(source, source_name, t.pos, "unexpected character '" + source.substr(k, length) + "'");
    }
    tokens.push_back(std::move(t));
  }
  Token end;
  end.kind = TokenKind::End;
  end.pos = {line, column};
  tokens.push_back(end);
  return tokens;
}

}  // namespace hessa::expr
