// The message content of DATA on the wire (RFC 5321 §4.5.2 and §2.3.8), encoded a chunk at a
// time so a large message streams through a bounded buffer:
//   - every line end becomes CRLF: a bare LF or a bare CR (which RFC 5321 forbids, and which
//     "SMTP smuggling" abuses to hide a second end-of-data) is sent as CRLF;
//   - a line starting with "." gets one more "." (transparency);
//   - finish() ends an unterminated last line with CRLF and adds the ".\r\n" terminator, so
//     an empty message is just ".\r\n".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace junction::smtp {

class data_encoder {
 public:
  // Appends the encoding of `chunk` to `out`. A CR at the end of a chunk is held until the
  // next byte says whether it starts CRLF.
  void encode(std::string_view chunk, std::string& out);
  // Appends what ends the message: the pending line end, then ".\r\n". Resets the encoder.
  void finish(std::string& out);

 private:
  bool at_line_start_ = true;
  bool pending_cr_ = false;
};

// The size of `message` after line ends are made CRLF and a missing final CRLF is added, not
// counting dot-stuffing: the SIZE= value RFC 1870 §3 asks for.
std::uint64_t wire_size(std::string_view message);

}  // namespace junction::smtp
