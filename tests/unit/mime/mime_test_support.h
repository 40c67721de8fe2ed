// Helpers shared by the mime unit tests: feeding a header_reader in different ways and
// rendering what it read as "key: value" lines, the format of the golden files.
#pragma once

#include <string>
#include <string_view>

#include "mime/headers.h"

namespace junction::mime::test {

inline std::string render(const header_reader& reader) {
  const message_summary& s = reader.summary();
  std::string out;
  auto line = [&](std::string_view key, std::string_view value) {
    out += key;
    out += ':';
    if (!value.empty()) {
      out += ' ';
      out += value;
    }
    out += '\n';
  };
  line("message-id", s.message_id);
  line("from", s.from);
  line("to", s.to);
  line("subject", s.subject);
  line("date", s.date);
  line("date-unix", s.date_unix ? std::to_string(*s.date_unix) : "none");
  line("error", reader.error() ? reader.error().message : "none");
  if (!reader.done()) out += "not done\n";
  return out;
}

// The whole message in one feed, then finish().
inline std::string read_whole(std::string_view message, limits l = {}) {
  header_reader reader(l);
  reader.feed(message);
  reader.finish();
  return render(reader);
}

// Two feeds split at `at` (either may be empty).
inline std::string read_split(std::string_view message, std::size_t at, limits l = {}) {
  header_reader reader(l);
  if (reader.feed(message.substr(0, at))) reader.feed(message.substr(at));
  reader.finish();
  return render(reader);
}

inline std::string read_bytewise(std::string_view message, limits l = {}) {
  header_reader reader(l);
  for (char c : message) {
    if (!reader.feed(std::string_view(&c, 1))) break;
  }
  reader.finish();
  return render(reader);
}

inline std::string to_lf(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

inline std::string to_crlf(std::string_view text) {
  std::string out;
  for (char c : to_lf(text)) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// RFC 3629 well-formedness, written independently of the code under test.
inline bool is_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    unsigned cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c >> 6) != 2) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr unsigned kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

}  // namespace junction::mime::test
