// A whole message made readable: its headers decoded, the text to show and the list of
// attachments (RFC 2045-2049 structure, RFC 2047 headers, RFC 2231 parameters). Not
// streaming: the message is already in memory where it is viewed (the browser's mailbox).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace junction::mime {

struct message_view_limits {
  std::size_t max_input = 64u << 20;  // larger input is refused (ok = false)
  std::size_t max_text = 1u << 20;    // text beyond this is cut (text_truncated)
  std::size_t max_parts = 500;        // MIME entities walked; the rest are not looked at
  int max_depth = 32;                 // multipart nesting; deeper parts are not looked at
};

struct attachment_info {
  std::string filename;      // UTF-8; empty when the part names none
  std::string content_type;  // "type/subtype", lower case
  std::uint64_t size = 0;    // bytes after Content-Transfer-Encoding decoding
};

struct message_view {
  // Top-level fields, in order, values RFC 2047-decoded UTF-8. At most 4096 fields and 1 MiB
  // of values are kept, each value at most 64 KiB before decoding.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string from, to, cc, subject;  // decoded; the first occurrence of each field wins
  std::optional<std::int64_t> date;   // Date: as unix seconds
  // The first text/plain part that is no attachment, decoded (CTE + charset) to UTF-8 with
  // LF line ends; else (none, or a blank one) the first such text/html part, tags stripped.
  std::string text;
  bool text_truncated = false;  // text cut at max_text (on a character boundary)
  bool text_from_html = false;
  // Parts with a filename or Content-Disposition: attachment, and message/rfc822 parts.
  std::vector<attachment_info> attachments;
};

struct message_view_result {
  bool ok = false;
  std::string error;  // why ok is false: a human sentence
  message_view view;
};

// Never throws. Malformed MIME is read as well as it can be (ok stays true); only input over
// max_input (or memory exhaustion) gives ok = false. Every string in the view is UTF-8.
message_view_result view_message(std::string_view raw, const message_view_limits& limits = {});

}  // namespace junction::mime
