// The message composer of SMTP Accounts: RFC 5322 + MIME (RFC 2045-2047, 2183, 2231) text of a
// new message, built from what the compose form holds. Pure: the caller supplies the date and
// a random token, so the same input gives the same bytes (golden files test it byte for byte).
//
// Policies (also in compose.cpp where they are applied):
// - Bodies (text and HTML) are UTF-8. Content-Transfer-Encoding is 7bit when the body is
//   ASCII without NUL and every line is at most 998 bytes; otherwise quoted-printable with
//   soft breaks at 76 characters. 8bit is never used, so eight_bit is always false and the
//   message never needs 8BITMIME (it may need SMTPUTF8 for its addresses, see below).
// - Display names and the subject: written as they are when ASCII (a display name with
//   specials in a quoted-string); as RFC 2047 encoded-words (utf-8, Q or B, whichever is
//   shorter, Q on a tie) when they hold non-ASCII or "=?". Encoded-words are at most 66
//   characters so a header line holding one stays within 76 (RFC 2047 section 2).
// - Headers are folded at spaces to 76 characters where the words allow; no line ever exceeds
//   998 (checked at the end).
// - Addresses are written as given. A non-ASCII address (RFC 6531) sets needs_smtputf8 and
//   goes into the headers as raw UTF-8 (RFC 6532); display names stay RFC 2047 even then.
// - Bcc addresses go only into `recipients`, never into a header. With no To, there is no To
//   header (RFC 5322 allows it).
// - Message-ID is <unique@domain of from>; when that domain is not ASCII (an IDN in Unicode
//   form) the right side is "localhost.localdomain", so the id stays ASCII (it keys the Sent
//   copy and travels in References headers of servers without SMTPUTF8).
// - Attachments: base64 in 76-character lines. Content-Disposition: attachment with
//   filename="..." when the name is ASCII and short, else filename*=utf-8''... (RFC 2231,
//   percent-encoded, split into filename*0*, filename*1*... when long). Content-Type always
//   also carries name="..." as a fallback for old readers, RFC 2047-encoded when not ASCII
//   (not standard, but what common mailers write and read). The content type defaults to
//   application/octet-stream; multipart/* and message/* are sent as application/octet-stream
//   because they may not be base64-encoded (RFC 2045 section 6.4).
// - Boundaries are "=_alt_<unique>" and "=_mixed_<unique>", with "_1", "_2"... appended until
//   the boundary occurs nowhere in the parts it separates. "=_" cannot occur in
//   quoted-printable or base64 output, so the suffix is only ever needed for 7bit text.
// - The composer does not dot-stuff: the SMTP engine does that when it sends DATA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace junction::mime {

struct mailbox_address {
  std::string name;   // UTF-8, may be empty
  std::string email;  // local@domain, see model::email_address_problem
};

struct attachment {
  std::string filename;      // UTF-8; empty: no file name is written
  std::string content_type;  // "type/subtype"; empty: application/octet-stream
  std::string data;          // the raw bytes
};

struct compose_input {
  mailbox_address from;
  std::vector<mailbox_address> to, cc, bcc;  // Bcc: envelope only, never a header
  std::string subject;                       // UTF-8, one line
  std::string text;                          // UTF-8 body (LF or CRLF; normalised to CRLF)
  std::string html;                          // optional HTML alternative
  std::vector<attachment> attachments;
  std::int64_t date = 0;  // unix seconds
  int utc_offset_minutes = 0;
  // Caller-supplied random token (hex; letters, digits, '-' and '_', 1 to 48 characters):
  // Message-ID = <unique@domain-of-from>, and the boundaries derive from it.
  std::string unique;
  // Optional: message ids "<a@b>" separated by spaces, as read from the original's headers.
  std::string in_reply_to, references;
};

struct compose_result {
  bool ok = false;
  std::string error;  // "field: problem", e.g. "to: no recipients"
  // The RFC 5322 message: CRLF line ends, every line at most 998 bytes, not dot-stuffed.
  std::string message;
  std::string message_id;  // "<...>"
  // Envelope: to + cc + bcc addresses, de-duplicated (domain compared without case), in order.
  std::vector<std::string> recipients;
  // An address (from or a recipient) is not ASCII: the server must offer SMTPUTF8.
  bool needs_smtputf8 = false;
  // Always false: bodies are 7bit or quoted-printable, never 8bit (see the policies above).
  bool eight_bit = false;
};

struct compose_limits {
  std::size_t max_message_bytes = 50u << 20;  // the whole composed message
  std::size_t max_recipients = 1000;          // to + cc + bcc, as given
  std::size_t max_attachments = 250;
  std::size_t max_name_bytes = 256;      // a display name
  std::size_t max_subject_bytes = 2000;  // before encoding
  std::size_t max_filename_bytes = 255;
  std::size_t max_message_id_bytes = 900;  // one id of in_reply_to / references
  std::size_t max_references_bytes = 16 * 1024;
};

// Never throws except std::bad_alloc. On a problem: ok false, `error` set, nothing else.
compose_result compose(const compose_input& input, const compose_limits& limits = {});

}  // namespace junction::mime
