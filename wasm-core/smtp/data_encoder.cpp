#include "smtp/data_encoder.h"

namespace junction::smtp {

void data_encoder::encode(std::string_view chunk, std::string& out) {
  const char* p = chunk.data();
  const std::size_t n = chunk.size();
  std::size_t i = 0;
  while (i < n) {
    if (pending_cr_) {
      pending_cr_ = false;
      out += "\r\n";
      at_line_start_ = true;
      if (p[i] == '\n') {  // the CR was half of CRLF
        ++i;
        continue;
      }
    }
    if (at_line_start_ && p[i] == '.') out += '.';
    at_line_start_ = false;
    std::size_t j = i;
    while (j < n && p[j] != '\r' && p[j] != '\n') ++j;
    out.append(p + i, j - i);
    if (j == n) break;
    if (p[j] == '\n') {
      out += "\r\n";
      at_line_start_ = true;
    } else {
      pending_cr_ = true;
    }
    i = j + 1;
  }
}

void data_encoder::finish(std::string& out) {
  if (pending_cr_ || !at_line_start_) out += "\r\n";
  out += ".\r\n";
  at_line_start_ = true;
  pending_cr_ = false;
}

std::uint64_t wire_size(std::string_view message) {
  std::uint64_t size = message.size();
  const std::size_t n = message.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) ++size;      // bare LF
    if (message[i] == '\r' && (i + 1 == n || message[i + 1] != '\n')) ++size;  // bare CR
  }
  if (n != 0 && message[n - 1] != '\n' && message[n - 1] != '\r') size += 2;
  return size;
}

}  // namespace junction::smtp
