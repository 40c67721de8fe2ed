// The WebSocket bridge (shared/bridge/PROTOCOL.md): one object per accepted WebSocket, relaying
// to one upstream TCP/TLS connection. Beast lives here and in the server only: include this
// header from those two translation units and nowhere else.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "bridge/egress_policy.h"

namespace junction::bridge {

struct limits {
  std::size_t per_session = 8;
  std::size_t total = 2000;
  std::chrono::seconds idle_timeout{300};    // no byte either way
  std::chrono::seconds connect_timeout{15};  // DNS + TCP + TLS handshake
  std::size_t max_frame = 1 << 20;           // bytes of one incoming WebSocket message
  std::size_t read_chunk = 64 << 10;         // upstream bytes per outgoing frame, at most
};

// Counts open bridges per session and in total; thread-safe.
class registry {
 public:
  explicit registry(limits l) : limits_(l) {}
  // false when a limit would be exceeded.
  bool try_acquire(const std::string& session);
  void release(const std::string& session);
  std::size_t total() const { return total_.load(); }
  const limits& bridge_limits() const { return limits_; }

 private:
  limits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> per_session_;
  std::atomic<std::size_t> total_{0};
};

struct context {
  const egress_policy* policy = nullptr;
  registry* bridges = nullptr;
  boost::asio::ssl::context* upstream_tls = nullptr;  // client context, system trust store
  std::function<void(const std::string&)> log;        // never given secrets or payload bytes
};

using request = boost::beast::http::request<boost::beast::http::string_body>;

// Accepts the upgrade (echoing "junction-bridge.v1" when offered) and runs the bridge until
// either side ends it. `session` identifies the signed-in session for the per-session limit.
// The caller has already checked the session and the Origin.
void run(boost::beast::tcp_stream stream, request upgrade, std::string session, context ctx);
void run(boost::beast::ssl_stream<boost::beast::tcp_stream> stream, request upgrade,
         std::string session, context ctx);

}  // namespace junction::bridge
