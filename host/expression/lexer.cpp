// Expression lexer: numbers, identifiers and operator symbols, each with its line and column. The source must be
// valid UTF-8 (it is stored verbatim in JSON metadata, which cannot hold other bytes); columns count bytes.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "expression/ast.hpp"
#include "hessa/detail/utf8.hpp"
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

// Rejects the first byte that is not part of valid UTF-8, at its line and (byte) column.
void check_utf8(const std::string& source, const std::string& source_name) {
  int line = 1;
  int column = 1;
  for (std::size_t k = 0; k < source.size();) {
    std::size_t bad = 0;
    const std::size_t length = detail::utf8_sequence_length(source, k, bad);
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
      if (errno == ERANGE && std::isinf(t.value))
        fail(source, source_name, t.pos, "number '" + t.text + "' is too large");
      t.is_integer_literal = integer && t.value <= double(std::numeric_limits<int>::max());
      advance(end - k);
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t end = k;
      while (end < source.size() && (std::isalnum(static_cast<unsigned char>(source[end])) || source[end] == '_'))
        ++end;
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
      const std::size_t length = detail::utf8_sequence_length(source, k, unused);  // valid: checked above
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
