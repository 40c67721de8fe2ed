// The bridge's first text frame (bridge/control_frames.h): any input may be refused, none may
// crash, and whatever is accepted must be a host the rest of the bridge can use and log
// without escaping (host characters only, no zone id), with a valid port.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bridge/control_frames.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  junction::bridge::open_request request;
  const std::string problem = junction::bridge::parse_open_frame(text, request);
  if (problem.empty()) {
    if (request.host.empty() || request.host.size() > 253 || request.port == 0) std::abort();
    for (char c : request.host) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_' || c == ':';
      if (!ok) std::abort();
    }
    if (!request.pin.empty() && request.pin.size() != 64) std::abort();
    if (junction::bridge::loggable(request.host) != request.host) std::abort();
  } else if (problem.size() > 200) {
    std::abort();  // messages are short and never echo the frame
  }
  (void)junction::bridge::offers_subprotocol(text);
  (void)junction::bridge::close_code_for(text);
  return 0;
}
