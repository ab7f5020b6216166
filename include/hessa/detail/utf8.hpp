// UTF-8 validation (RFC 3629: no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF) for text that ends
// up in JSON metadata or HDF5 UTF-8 attributes (expressions, CSV headers): readers reject bad bytes with a located
// message instead of letting a writer fail at the end of a run.
#pragma once

#include <cstddef>
#include <string_view>

namespace hessa::detail {

// Length of the UTF-8 sequence at text[k], or 0 when it is not valid UTF-8; then `bad` is the offset of the
// first byte that breaks it (the lead byte when the text ends inside the sequence).
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t k, std::size_t& bad) {
  const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
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
    if (k + m >= text.size()) {
      bad = k;
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

// The offset of the first byte that breaks UTF-8, or text.size() when all of it is valid.
inline std::size_t first_invalid_utf8(std::string_view text) {
  for (std::size_t k = 0, bad = 0; k < text.size();) {
    const std::size_t length = utf8_sequence_length(text, k, bad);
    if (length == 0) return bad;
    k += length;
  }
  return text.size();
}

}  // namespace hessa::detail
