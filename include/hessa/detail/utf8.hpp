// UTF-8 validation for text that ends up in JSON metadata or HDF5 UTF-8 attributes (expressions, CSV headers):
// readers reject bad bytes with a located message instead of letting a writer fail at the end of a run.
#pragma once

#include <cstddef>
#include <string_view>

namespace hessa::detail {

// The index of the first byte that does not begin or continue a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF included), or text.size() when all of it is valid.
inline std::size_t first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
    if (b < 0x80) length = 1;
    else if (b >= 0xC2 && b <= 0xDF) length = 2;
    else if (b == 0xE0) length = 3, low = 0xA0;
    else if (b == 0xED) length = 3, high = 0x9F;  // no UTF-16 surrogates
    else if (b >= 0xE1 && b <= 0xEF) length = 3;
    else if (b == 0xF0) length = 4, low = 0x90;
    else if (b == 0xF4) length = 4, high = 0x8F;  // nothing above U+10FFFF
    else if (b >= 0xF1 && b <= 0xF3) length = 4;
    else return i;
    if (i + length > text.size()) return i;
    for (std::size_t k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if (k == 1 ? (c < low || c > high) : (c < 0x80 || c > 0xBF)) return i;
    }
    i += length;
  }
  return text.size();
}

}  // namespace hessa::detail
