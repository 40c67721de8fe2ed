// The header section of a message (RFC 5322 §2.2, §3.6), read one byte at a time so that any
// split of the input costs the same linear work and yields the same summary.
//
// Contract details the header leaves open:
// - A field of interest longer than limits::max_field_value is not an error: its raw body is
//   cut at that many bytes, and the decoded text at that many bytes on a character boundary.
// - Exceeding max_header_bytes or max_fields is a protocol error that ends the reader
//   (done() turns true): the fields whose line ended stay in the summary, one cut in the
//   middle of its line is dropped.
// - Lines that are no field (no colon, a name with bytes outside 33-126, the mbox "From "
//   line, NUL) are skipped with their continuation lines. Whitespace-only lines continue the
//   field above (obs-FWS, §4.2); only an empty line ends the section.
// - A lone CR is an ordinary byte (it becomes a space in the summary).
#include <string>
#include <string_view>
#include <utility>

#include "mime/charsets.h"
#include "mime/fields.h"
#include "mime/headers.h"

namespace junction::mime {
namespace {

constexpr std::size_t kMaxFieldName = 256;

enum field_index { message_id, from, to, subject, date };
constexpr std::string_view kFieldNames[] = {"message-id", "from", "to", "subject", "date"};

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

int find_field(std::string_view name) {
  for (int k = 0; k < 5; ++k) {
    std::string_view want = kFieldNames[k];
    if (name.size() != want.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i) same = lower(name[i]) == want[i];
    if (same) return k;
  }
  return -1;
}

// ftext = %d33-57 / %d59-126
bool is_ftext(char c) {
  auto b = static_cast<unsigned char>(c);
  return b >= 33 && b <= 126 && c != ':';
}

}  // namespace

header_reader::header_reader(limits l) : limits_(l) {}

bool header_reader::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (done_) break;
    if (offset_ >= limits_.max_header_bytes) {
      fail("MIME: header section exceeds limit " + std::to_string(limits_.max_header_bytes) +
           " bytes at byte " + std::to_string(offset_));
      break;
    }
    ++offset_;
    if (pending_cr_) {
      pending_cr_ = false;
      if (c != '\n') on_byte('\r');
      if (done_) break;
    }
    if (c == '\r') {
      pending_cr_ = true;
    } else {
      on_byte(c);
    }
  }
  return !done_;
}

void header_reader::finish() {
  if (done_) return;
  if (pending_cr_) {
    pending_cr_ = false;
    on_byte('\r');
  }
  if (done_) return;
  end_field();
  done_ = true;
}

// field = field-name ":" unstructured CRLF; a line starting with WSP continues the field
void header_reader::on_byte(char c) {
  switch (state_) {
    case state::line_start:
      if (c == '\n') {
        end_field();
        done_ = true;
        return;
      }
      if (c == ' ' || c == '\t') {
        // Unfolding (§2.2.3) removes the line break and keeps the whitespace.
        state_ = state::value;
        on_byte(c);
        return;
      }
      end_field();
      if (++fields_ > limits_.max_fields) {
        fail("MIME: header field count exceeds limit " + std::to_string(limits_.max_fields) +
             " at byte " + std::to_string(offset_ - 1));
        return;
      }
      name_.clear();
      state_ = state::name;
      on_byte(c);
      return;
    case state::name:
      if (c == ':') {
        on_name_end();
      } else if (c == ' ' || c == '\t') {
        state_ = name_.empty() ? state::skip_line : state::name_space;
      } else if (c == '\n') {
        state_ = state::line_start;
      } else if (is_ftext(c) && name_.size() < kMaxFieldName) {
        name_ += c;
      } else {
        state_ = state::skip_line;
      }
      return;
    case state::name_space:
      if (c == ':') {
        on_name_end();
      } else if (c == '\n') {
        state_ = state::line_start;
      } else if (c != ' ' && c != '\t') {
        state_ = state::skip_line;  // "From sender date": the mbox separator line
      }
      return;
    case state::value:
      if (c == '\n') {
        state_ = state::line_start;
      } else if (field_ != no_field && value_.size() < limits_.max_field_value) {
        value_ += c;
      }
      return;
    case state::skip_line:
      if (c == '\n') state_ = state::line_start;
      return;
  }
}

void header_reader::on_name_end() {
  state_ = state::value;
  int k = name_.empty() ? -1 : find_field(name_);
  if (k >= 0 && !seen_[k]) {
    seen_[k] = true;
    field_ = k;
    value_.clear();
  }
}

void header_reader::end_field() {
  if (field_ == no_field) return;
  const std::size_t max = limits_.max_field_value;
  if (value_.size() >= max) {
    // The body was cut: drop a UTF-8 sequence left incomplete at the end (Windows-1252 text
    // may lose a few more bytes).
    std::size_t cut = value_.size();
    std::size_t continuation = 0;
    while (cut > 0 && continuation < 3 &&
           (static_cast<unsigned char>(value_[cut - 1]) & 0xC0) == 0x80) {
      --cut;
      ++continuation;
    }
    if (cut > 0) {
      auto lead = static_cast<unsigned char>(value_[cut - 1]);
      std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
      if (length > continuation + 1) value_.resize(cut - 1);
    }
  }
  std::string text;
  switch (field_) {
    case message_id:
      summary_.message_id = detail::extract_message_id(value_);
      break;
    case from:
      summary_.from = detail::decode_address_list(value_);
      break;
    case to:
      summary_.to = detail::decode_address_list(value_);
      break;
    case subject:
      summary_.subject = decode_field(value_);
      break;
    case date:
      detail::append_raw_text(text, value_);
      summary_.date = detail::collapse_whitespace(text);
      summary_.date_unix = parse_date(value_);
      break;
  }
  for (std::string* s :
       {&summary_.message_id, &summary_.from, &summary_.to, &summary_.subject, &summary_.date}) {
    detail::truncate_utf8(*s, max);
  }
  field_ = no_field;
  value_.clear();
  value_.shrink_to_fit();
}

void header_reader::fail(std::string message) {
  error_ = {error_kind::protocol, std::move(message)};
  // A field whose line has ended is kept (only a continuation could have followed); one cut
  // in the middle of its line is dropped.
  if (state_ == state::line_start) end_field();
  field_ = no_field;
  value_.clear();
  done_ = true;
}

}  // namespace junction::mime
