// The bridge's control frames (shared/bridge/PROTOCOL.md), sans I/O: the subprotocol offer,
// the "open" request and the close code that follows an error frame. No sockets and no Beast,
// so unit tests and the fuzz target (tests/fuzz/bridge_open) drive them directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace junction::bridge {

inline constexpr std::string_view subprotocol = "junction-bridge.v1";
// Text frames are small control messages; anything larger is refused before parsing.
inline constexpr std::size_t max_control_frame = 4096;

// Sec-WebSocket-Protocol = 1#token (RFC 6455 section 11.3.4): true when `header` offers
// "junction-bridge.v1". Tokens compare exactly; spaces and tabs around them are ignored.
bool offers_subprotocol(std::string_view header);

struct open_request {
  std::string host;  // without brackets for an IPv6 literal; only [A-Za-z0-9._:-] characters
  std::uint16_t port = 0;
  bool implicit_tls = false;
  std::string pin;  // lower-case hex, or empty
};

// {"op":"open","host":H,"port":P,"tls":"none"|"implicit","pin_sha256":64HEXDIG}; unknown
// members are ignored; "op" is not looked at (see parse_open_frame). A host is a name of
// letters, digits, '-', '.' and '_', or an IP literal (IPv6 in brackets or bare), never with a
// zone id. Returns an empty string and fills `out`, or says what is wrong (`out` untouched).
std::string parse_open(const nlohmann::json& j, open_request& out);

// The whole first text frame: at most max_control_frame bytes of JSON, an object with
// "op":"open", then parse_open. Same return convention.
std::string parse_open_frame(std::string_view text, open_request& out);

// Which close code follows an error frame with this code: 1008 (policy) when the client asked
// for something it may not have, 1011 (internal error) when the proxy or the server failed.
std::uint16_t close_code_for(std::string_view code);

// Printable ASCII only, at most 200 characters, for log lines that carry a client's text.
std::string loggable(std::string_view text);

}  // namespace junction::bridge
