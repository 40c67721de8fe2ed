// libFuzzer target for view_message (MIME structure, transfer encodings, charsets, HTML to
// text). The first byte picks the limits; the rest is the message. Checks: no crash, the
// view is UTF-8 throughout, and every limit holds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mime/charsets.h"
#include "mime/message_view.h"

namespace {

using namespace junction::mime;

void check(bool condition) {
  if (!condition) std::abort();
}

void check_utf8(const std::string& s) {
  check(detail::is_valid_utf8(s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t knob = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  message_view_limits limits;
  limits.max_text = (knob & 0x80) != 0 ? 1u << 20 : 1 + (knob & 0x3F);
  limits.max_parts = 1 + (knob & 0x0F) * 4;
  limits.max_depth = (knob >> 4) & 0x07;

  const message_view_result r = view_message(input, limits);
  check(r.ok);
  const message_view& v = r.view;
  check(v.text.size() <= limits.max_text);
  check_utf8(v.text);
  for (const std::string* s : {&v.from, &v.to, &v.cc, &v.subject}) check_utf8(*s);
  check(v.headers.size() <= 4096);
  for (const auto& [name, value] : v.headers) {
    check_utf8(name);
    check_utf8(value);
  }
  check(v.attachments.size() <= limits.max_parts);
  for (const attachment_info& a : v.attachments) {
    check_utf8(a.filename);
    check_utf8(a.content_type);
    check(a.size <= input.size());  // decoding never makes a body larger
  }
  if (!v.text_from_html) check(v.text.find('\r') == std::string::npos);

  // Over the input limit: refused, nothing else.
  limits.max_input = input.size() / 2;
  if (limits.max_input < input.size()) {
    const message_view_result refused = view_message(input, limits);
    check(!refused.ok && !refused.error.empty() && refused.view.text.empty());
  }
  return 0;
}
