// Private to the SMTP engine, but pure and public for tests and the job: the grammar of the
// server's reply lines (RFC 5321 §4.2), enhanced status codes (RFC 2034, RFC 3463) and the
// EHLO keywords (RFC 5321 §4.1.1.1), as functions over one line with its CRLF removed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace junction::smtp {

// Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
// Reply-code = %x32-35 %x30-35 %x30-39
struct reply_line {
  int code = 0;
  bool last = false;            // SP or end of line after the code; false for "-"
  std::string_view text;        // after the separator
  const char* error = nullptr;  // what is wrong; nullptr when the line is good
};
reply_line parse_reply_line(std::string_view line);

// status-code = class "." subject "." detail     RFC 3463 §2
// class = "2" / "4" / "5"; subject = 1*3digit; detail = 1*3digit
// RFC 2034 §4: it starts the text of each line and is followed by SP (or ends the line).
// Returns its length in `text` (0 when the text does not start with one, or its class is not
// the first digit of `code`).
std::size_t enhanced_code_length(std::string_view text, int code);

// What an EHLO reply announces. Keywords are case-insensitive (RFC 5321 §2.4).
struct capabilities {
  bool esmtp = false;  // EHLO was accepted (false after the HELO fallback)
  bool pipelining = false;
  bool starttls = false;
  bool size = false;            // SIZE announced (RFC 1870)
  std::uint64_t max_size = 0;   // its value; 0 = no fixed limit announced
  bool eight_bit_mime = false;  // 8BITMIME (RFC 6152)
  bool smtputf8 = false;        // SMTPUTF8 (RFC 6531)
  bool enhanced_status_codes = false;
  bool auth_plain = false, auth_login = false, auth_cram_md5 = false;
  bool auth = false;  // any AUTH keyword at all
};

// `lines` are the texts of the EHLO reply's lines; the first is the server's greeting name
// and is skipped. "AUTH=LOGIN PLAIN" (pre-RFC 4954 servers) counts as AUTH too.
capabilities parse_ehlo(const std::vector<std::string>& lines);

// A short printable excerpt of hostile bytes for an error message.
std::string excerpt(std::string_view line);

}  // namespace junction::smtp
