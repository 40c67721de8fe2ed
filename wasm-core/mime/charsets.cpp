#include "mime/charsets.h"

#include <array>
#include <cstdint>

namespace junction::mime::detail {
namespace {

// Windows-1252 0x80-0x9F. The five bytes the code page leaves undefined (0x81, 0x8D, 0x8F,
// 0x90, 0x9D) map to the C1 control of the same value, as in the WHATWG Encoding Standard.
constexpr std::array<std::uint16_t, 32> kWindows1252High = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 0x80
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,  // 0x88
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 0x90
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,  // 0x98
};

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_lower(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

void append_code_point(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::uint32_t windows_1252(unsigned char b) {
  if (b >= 0x80 && b <= 0x9F) return kWindows1252High[b - 0x80];
  return b;
}

// ISO-8859-15 differs from ISO-8859-1 in eight places (the euro sign, Š, š, Ž, ž, Œ, œ, Ÿ).
std::uint32_t iso_8859_15(unsigned char b) {
  switch (b) {
    case 0xA4:
      return 0x20AC;
    case 0xA6:
      return 0x0160;
    case 0xA8:
      return 0x0161;
    case 0xB4:
      return 0x017D;
    case 0xB8:
      return 0x017E;
    case 0xBC:
      return 0x0152;
    case 0xBD:
      return 0x0153;
    case 0xBE:
      return 0x0178;
    default:
      return b;
  }
}

}  // namespace

charset find_charset(std::string_view name) {
  if (auto star = name.find('*'); star != std::string_view::npos) name = name.substr(0, star);
  struct alias {
    std::string_view name;
    charset cs;
  };
  static constexpr alias kAliases[] = {
      {"utf-8", charset::utf8},
      {"utf8", charset::utf8},
      {"us-ascii", charset::us_ascii},
      {"ascii", charset::us_ascii},
      {"iso-8859-1", charset::iso_8859_1},
      {"iso8859-1", charset::iso_8859_1},
      {"iso_8859-1", charset::iso_8859_1},
      {"latin1", charset::iso_8859_1},
      {"iso-8859-15", charset::iso_8859_15},
      {"iso8859-15", charset::iso_8859_15},
      {"iso_8859-15", charset::iso_8859_15},
      {"latin-9", charset::iso_8859_15},
      {"windows-1252", charset::windows_1252},
      {"cp1252", charset::windows_1252},
  };
  for (const auto& a : kAliases) {
    if (equals_lower(name, a.name)) return a.cs;
  }
  return charset::unknown;
}

bool is_valid_utf8(std::string_view bytes) {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2, cp = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3, cp = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(bytes[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void append_utf8(std::string& out, std::string_view bytes, charset cs) {
  if ((cs == charset::utf8 || cs == charset::us_ascii) && is_valid_utf8(bytes)) {
    out += bytes;
    return;
  }
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    append_code_point(out, cs == charset::iso_8859_15 ? iso_8859_15(b) : windows_1252(b));
  }
}

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7F) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

void truncate_utf8(std::string& text, std::size_t max) {
  if (text.size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
}

}  // namespace junction::mime::detail
