// libFuzzer target for the HTTP API's small parsers (serve/http_util.h): %-decoding, query
// parameters, the session cookie, whole numbers, If-Match revisions, X-Junction-Flags and the
// JSON nesting check. The input is a header byte and then the text:
//   byte 0: low 3 bits + 1 is the length of the parameter name taken from the text's start.
// Invariants: no crash and no exception (but std::bad_alloc); decoding never grows the text
// and leaves text without '%' or '+' as it is; a session token is a well-formed token taken
// from the cookie; numbers stay within their maximum and print back as given; flags are only
// the four system flag bits; and for text that is JSON (and holds no NUL byte),
// json_depth_within(text, d) is exactly "the document nests at most d deep".
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mailbox/maildir.h"
#include "serve/http_util.h"

namespace {

namespace serve = junction::serve;
using junction::mailbox::message_flag;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::size_t depth_of(const nlohmann::json& value) {
  std::size_t deepest = 0;
  if (value.is_array() || value.is_object()) {
    for (const auto& item : value) deepest = std::max(deepest, depth_of(item));
    return deepest + 1;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  for (const bool plus : {false, true}) {
    const auto decoded = serve::percent_decode(text, plus);
    if (decoded) check(decoded->size() <= text.size());
    if (text.find_first_of("%+") == std::string_view::npos) check(decoded && *decoded == text);
  }

  const std::string_view name = text.substr(0, (data[0] & 7u) + 1);
  if (const auto value = serve::query_parameter(text, name)) check(value->size() < text.size());
  (void)serve::query_parameter(text, "owner");

  serve::http_request request;
  request.headers.push_back({"Cookie", std::string(text)});
  const std::string token = serve::session_token(request);
  check(token.empty() ||
        (serve::is_session_token(token) && text.find(token) != std::string_view::npos));

  for (const std::int64_t max : {std::int64_t{0}, std::int64_t{1000}, INT64_MAX}) {
    if (const auto n = serve::parse_number(text, max)) {
      check(*n >= 0 && *n <= max);
      const std::size_t digits = text.find_first_not_of('0');
      check(std::to_string(*n) ==
            (digits == std::string_view::npos ? "0" : std::string(text.substr(digits))));
    }
  }
  if (const auto revision = serve::parse_revision(text)) {
    check(*revision >= 0 && *revision <= (std::int64_t{1} << 53));
  }
  if (const auto flags = serve::parse_flags(text)) {
    const unsigned all =
        static_cast<unsigned>(message_flag::seen) | static_cast<unsigned>(message_flag::answered) |
        static_cast<unsigned>(message_flag::flagged) | static_cast<unsigned>(message_flag::draft);
    check((*flags & ~all) == 0);
  }

  // The nesting check against nlohmann's own reading, for text that is JSON. nlohmann stops
  // at a NUL byte as if the text ended there (3.11.2), so text with one is left out: the
  // check counts the whole text, which only errs on the side of refusing.
  if (text.find('\0') != std::string_view::npos) return 0;
  if (serve::json_depth_within(text, 64)) {
    const auto document = nlohmann::json::parse(text, nullptr, false);
    if (!document.is_discarded()) {
      const std::size_t depth = depth_of(document);
      for (std::size_t d = 0; d <= depth + 1; ++d) {
        check(serve::json_depth_within(text, d) == (depth <= d));
      }
    }
  } else {
    check(!serve::json_depth_within(text, 0));
  }
  return 0;
}
