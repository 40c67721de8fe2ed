// An HTTP request and response as the API handlers see them: plain structs, no sockets and no
// Beast, so the handlers are tested by building a request and reading the response.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ascii.h"

namespace junction::serve {

struct http_header {
  std::string name;
  std::string value;
};

// The first header named `name` (case-insensitive), or nullopt. The view lives as long as
// the headers are not changed.
inline std::optional<std::string_view> find_header(const std::vector<http_header>& headers,
                                                   std::string_view name) {
  for (const http_header& h : headers) {
    if (ascii::equals_ignore_case(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

struct http_request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // origin-form as sent: path and query, still %-encoded
  std::vector<http_header> headers;
  std::string body;
  std::string remote_address;      // the peer's IP address
  bool tls = false;                // arrived over https
  bool websocket_upgrade = false;  // a valid WebSocket upgrade request (RFC 6455 section 4.1)

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

// What the server does with a response besides writing it.
enum class response_kind {
  message,       // write it, then go on with the next request (keep-alive)
  event_stream,  // write the header, then stream the user's events (GET /api/events)
  bridge,        // accept the WebSocket upgrade and hand the connection to the bridge
};

struct http_response {
  int status = 200;
  std::vector<http_header> headers;
  std::string body;
  // A static file: sent from the disk instead of `body` (which is then empty).
  std::filesystem::path file;
  std::uint64_t file_size = 0;

  response_kind kind = response_kind::message;
  std::int64_t user_id = 0;  // event_stream: whose events
  std::string session_id;    // bridge: identifies the session (SHA-256 of its token)

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
  // Replaces every header of that name.
  void set_header(std::string name, std::string value) {
    std::erase_if(headers,
                  [&](const http_header& h) { return ascii::equals_ignore_case(h.name, name); });
    headers.push_back({std::move(name), std::move(value)});
  }
};

}  // namespace junction::serve
