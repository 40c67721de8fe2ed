// Content-Transfer-Encoding decoding for bodies (RFC 2045 §6.7 quoted-printable, §6.8 base64).
// Both decoders write into a sink that either stores bytes up to a cap or only counts them,
// so an attachment's size costs no memory.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/ascii.h"
#include "mime/body.h"

namespace junction::mime::detail {
namespace {

struct sink {
  std::string* out = nullptr;  // null: count only
  std::size_t max = 0;
  std::uint64_t count = 0;
  bool full = false;

  void put(char c) {
    if (out != nullptr) {
      if (out->size() >= max) {
        full = true;
        return;
      }
      out->push_back(c);
    }
    ++count;
  }
  void put(std::string_view bytes) {
    for (char c : bytes) {
      put(c);
      if (full) return;
    }
  }
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // not canonical, but written by some mailers
  return -1;
}

bool is_line_space(char c) {
  return c == ' ' || c == '\t';
}

// Length of the line break at body[i] (LF or CRLF), 0 when there is none.
std::size_t line_break_at(std::string_view body, std::size_t i) {
  if (i < body.size() && body[i] == '\n') return 1;
  if (i + 1 < body.size() && body[i] == '\r' && body[i + 1] == '\n') return 2;
  return 0;
}

// qp-line = *(qp-segment transport-padding CRLF) qp-part transport-padding
// qp-segment = qp-section *(SPACE / TAB) "="   (a soft line break)
void decode_quoted_printable(std::string_view body, sink& s) {
  const std::size_t n = body.size();
  std::size_t i = 0;
  while (i < n && !s.full) {
    const char c = body[i];
    if (c == '=') {
      if (i + 2 < n && hex_value(body[i + 1]) >= 0 && hex_value(body[i + 2]) >= 0) {
        s.put(static_cast<char>(hex_value(body[i + 1]) * 16 + hex_value(body[i + 2])));
        i += 3;
        continue;
      }
      // A soft line break: '=', transport padding, then the line end (or the body's end).
      std::size_t j = i + 1;
      while (j < n && is_line_space(body[j])) ++j;
      if (j == n) break;
      if (std::size_t lb = line_break_at(body, j); lb > 0) {
        i = j + lb;
        continue;
      }
      s.put('=');
      ++i;
      continue;
    }
    if (is_line_space(c)) {
      // Whitespace at the end of a line was added in transport (§6.7 rule 3): drop it.
      std::size_t j = i;
      while (j < n && is_line_space(body[j])) ++j;
      if (j < n && line_break_at(body, j) == 0) s.put(body.substr(i, j - i));
      i = j;
      continue;
    }
    s.put(c);
    ++i;
  }
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();

// RFC 2045 §6.8: characters outside the alphabet "must be ignored". '=' ends a quantum; what
// follows (another encoding appended by a careless mailer) starts afresh.
void decode_base64(std::string_view body, sink& s) {
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    if (c == '=') {
      acc = 0;
      bits = 0;
      continue;
    }
    const auto v = kTable[static_cast<unsigned char>(c)];
    if (v < 0) continue;
    acc = ((acc << 6) | static_cast<std::uint32_t>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      s.put(static_cast<char>((acc >> bits) & 0xff));
      if (s.full) return;
    }
  }
}

void decode(std::string_view body, transfer_encoding encoding, sink& s) {
  switch (encoding) {
    case transfer_encoding::quoted_printable:
      decode_quoted_printable(body, s);
      return;
    case transfer_encoding::base64:
      decode_base64(body, s);
      return;
    case transfer_encoding::identity:
      if (s.out == nullptr) {
        s.count = body.size();
      } else {
        const std::size_t room = s.max - s.out->size();
        s.full = body.size() > room;
        s.out->append(body.substr(0, room));
      }
      return;
  }
}

}  // namespace

transfer_encoding find_transfer_encoding(std::string_view name) {
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  if (ascii::equals_ignore_case(name, "quoted-printable"))
    return transfer_encoding::quoted_printable;
  if (ascii::equals_ignore_case(name, "base64")) return transfer_encoding::base64;
  return transfer_encoding::identity;
}

bool decode_body(std::string_view body, transfer_encoding encoding, std::size_t max,
                 std::string& out) {
  sink s;
  s.out = &out;
  s.max = max > SIZE_MAX - out.size() ? SIZE_MAX : out.size() + max;
  decode(body, encoding, s);
  return !s.full;
}

std::uint64_t decoded_size(std::string_view body, transfer_encoding encoding) {
  sink s;
  decode(body, encoding, s);
  return s.count;
}

}  // namespace junction::mime::detail
