// Shared result types for the core. The core never lets an exception escape an engine:
// errors are values, so the WASM boundary stays exception-free.
#pragma once

#include <string>
#include <utility>

namespace junction {

// Which side broke the rules. Both are terminal for the engine that reports them.
enum class error_kind {
  none,
  protocol,  // the peer sent something the protocol or our limits do not allow
  misuse,    // our caller used the API out of order
};

struct engine_error {
  error_kind kind = error_kind::none;
  std::string message;  // short and human, says where: "IMAP: literal size ... at byte 2113"

  explicit operator bool() const { return kind != error_kind::none; }
};

}  // namespace junction
