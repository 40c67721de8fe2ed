// Message headers (RFC 5322) with encoded words (RFC 2047): what retrieval needs for
// de-duplication (Message-ID) and a message list (From, To, Subject, Date).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace junction::mime {

struct limits {
  std::size_t max_header_bytes = 1 << 20;  // the whole header section
  std::size_t max_fields = 4096;
  std::size_t max_field_value = 65536;  // one unfolded field of interest
};

struct message_summary {
  std::string message_id;  // without the angle brackets; empty when absent or malformed
  std::string from;        // decoded to UTF-8: "Jane Doe <jane@example.com>"
  std::string to;          // decoded to UTF-8
  std::string subject;     // decoded to UTF-8, folding removed
  std::string date;        // as written
  std::optional<std::int64_t> date_unix;  // seconds since 1970 UTC when `date` parses
};

// Reads the header section of a message given in pieces, as it streams from the server.
// Bytes after the blank line that ends the headers are ignored, so the caller may feed the
// whole message. LF and CRLF line ends are both accepted.
class header_reader {
 public:
  explicit header_reader(limits l = {});
  // Returns false once the header section is complete or the reader failed.
  bool feed(std::string_view bytes);
  // The header section ended (blank line), or the caller declares the end (message with no
  // body). After finish() the summary is final.
  void finish();
  bool done() const { return done_; }
  const message_summary& summary() const { return summary_; }
  // Set when a limit was exceeded; the summary then holds what was read before.
  const engine_error& error() const { return error_; }

 private:
  // The rest is the implementer's.
  enum class state : std::uint8_t {
    line_start,  // first byte of a line: a new field, a continuation, or the blank line
    name,        // field name, up to the colon
    name_space,  // obsolete whitespace between the name and the colon (RFC 5322 §4.5)
    value,       // field body, up to the line end
    skip_line,   // a line that is not a field (no colon, bad name, mbox "From ")
  };
  static constexpr int no_field = -1;

  void on_byte(char c);
  void on_name_end();
  void end_field();
  void fail(std::string message);

  limits limits_;
  message_summary summary_;
  engine_error error_;
  bool done_ = false;
  state state_ = state::line_start;
  bool pending_cr_ = false;  // a CR whose meaning depends on the next byte (CRLF or not)
  std::size_t offset_ = 0;   // bytes consumed so far
  std::size_t fields_ = 0;
  std::string name_;      // bounded by max_field_name
  int field_ = no_field;  // index of the field of interest being read
  std::string value_;     // its raw unfolded body, bounded by max_field_value
  bool seen_[5] = {};     // first occurrence wins
};

// Decodes RFC 2047 encoded words in an unstructured or phrase field value to UTF-8
// (charsets: UTF-8, US-ASCII, ISO-8859-1, ISO-8859-15, Windows-1252; others keep the raw
// encoded word). Raw 8-bit text that is not valid UTF-8 is read as Windows-1252.
std::string decode_field(std::string_view value);

// RFC 5322 §3.3 date-time (with the obsolete forms of §4.3) to seconds since 1970 UTC.
std::optional<std::int64_t> parse_date(std::string_view value);

}  // namespace junction::mime
