// libFuzzer target for the message-header reader (RFC 5322, RFC 2047). The first byte picks
// the piece size; the rest is the message. Checks: no crash, every summary field is UTF-8,
// and reading in pieces gives the same summary as reading whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mime/charsets.h"
#include "mime/fields.h"
#include "mime/headers.h"

namespace {

using namespace junction::mime;

void check_utf8(const std::string& s) {
  if (!detail::is_valid_utf8(s)) std::abort();
}

std::string render(const header_reader& r) {
  const message_summary& s = r.summary();
  for (const std::string* f : {&s.message_id, &s.from, &s.to, &s.subject, &s.date}) {
    check_utf8(*f);
  }
  return s.message_id + '\n' + s.from + '\n' + s.to + '\n' + s.subject + '\n' + s.date + '\n' +
         (s.date_unix ? std::to_string(*s.date_unix) : "-") + '\n' + r.error().message + '\n' +
         (r.done() ? "done" : "open");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  limits l;
  l.max_header_bytes = 1 << 16;
  l.max_fields = 256;
  l.max_field_value = 1 + data[0] * 8;

  header_reader whole(l);
  whole.feed(input);
  whole.finish();

  header_reader pieces(l);
  for (std::size_t at = 0; at < input.size(); at += piece) {
    if (!pieces.feed(input.substr(at, piece))) break;
  }
  pieces.finish();
  if (render(whole) != render(pieces)) std::abort();

  // The field decoders on the raw text and on a slice of it.
  const std::string_view slice = input.substr(input.size() / 3, input.size() / 2);
  for (std::string_view text : {input, slice}) {
    check_utf8(decode_field(text));
    check_utf8(detail::decode_address_list(text));
    check_utf8(detail::extract_message_id(text));
    if (auto t = parse_date(text)) {
      // Years 1900-9999: the result stays within these bounds.
      if (*t < -2208988800LL - 86400 || *t > 253402300800LL + 86400) std::abort();
    }
  }
  return 0;
}
