// The HTTP API of `junction-proxy serve` and its static files, as a function from a request to
// a response: sign-in, the account document, task runs, the mailbox, and the checks in front
// of the event stream and the bridge (whose streaming the server does). Beast-free, so every
// route is tested without a socket.
//
// Errors are JSON {"error": "human message", "code": "stable_code"} with the fitting status.
// Every /api route but POST /api/session needs the session cookie. Every request must name
// this server in its Host: the host of config.public_origin, or the listen address (for a
// loopback address also localhost, 127.0.0.1 and [::1]; for a wildcard address any IP literal
// or localhost); the port in Host is not compared. Anything else gets 421 (DNS rebinding).
// A state-changing /api request (not GET, HEAD or OPTIONS) and /bridge must carry an Origin
// header naming the server's own origin (config.public_origin, or http(s)://HOST:PORT for an
// accepted HOST and the listen port) or one of config.allowed_origins: 403 otherwise. The
// server's own origin is never taken from the request's Host.
// While the user must choose their own password (the first start's one-time password), every
// route but GET and DELETE /api/session and POST /api/password, and the bridge, answer 403
// "password_change_required".
//
// Secrets never leave in the account document (GET /api/account, the answers of PUT): a
// stored password shows as "password_set": true (store::without_secrets). A run, a Test
// Connection or a send reads it from GET /api/account/{list}/{id}/secrets, which answers
// {"list", "id", "secrets": {"password": "..."}}, is never cached, and is rate-limited per
// session.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "serve/config.h"
#include "serve/hash_gate.h"
#include "serve/http_types.h"
#include "serve/http_util.h"  // session_cookie_name
#include "serve/services.h"
#include "serve/signin_limiter.h"

namespace junction::store {
class account_store;
struct session_info;
}  // namespace junction::store

namespace junction::serve {

struct api_dependencies {
  // The account store of the calling thread (each thread has its own connection).
  std::function<store::account_store&()> store;
  event_hub* events = nullptr;
  task_runner* tasks = nullptr;
  mailbox_service* mailboxes = nullptr;
  // Seconds since 1970; time(nullptr) when empty. Tests move it.
  std::function<std::int64_t()> clock;
};

// DATA/initial-password (0600) holds the one-time password of the user "admin" that the first
// start creates; it is removed once that user changes the password.
inline constexpr std::string_view initial_password_file = "initial-password";
inline constexpr std::string_view initial_user_name = "admin";
// GET /api/account/{list}/{id}/secrets: answers per session and per window of this many
// seconds, then 429.
inline constexpr int secrets_reads_per_window = 60;
inline constexpr std::int64_t secrets_window_seconds = 60;

class api {
 public:
  static constexpr int page_size = 50;  // GET /api/mailbox/messages

  api(const serve_config& config, api_dependencies deps);

  // What the server may do with a request whose header has arrived, before any of its body
  // is read and before "100 Continue": the Host and Origin checks of handle(), and the
  // session for every route that needs one. `head` has no body. body_limit is small
  // (config.max_unauthenticated_body) until a valid session is shown. Looks the session up
  // in the store: call it where blocking is allowed. Never throws.
  struct admission {
    std::optional<http_response> refusal;  // answer this, and close without reading the body
    std::size_t body_limit = 0;
  };
  admission admit(const http_request& head);

  // Never throws: a failure inside becomes a 500 (logged through `log` without details of
  // the request). The security headers are set on every response.
  http_response handle(const http_request& request);

  // The largest body accepted for a request with this method and target, decided once its
  // header has arrived: the mailbox append and batch take max_message_body, a task's state
  // 16 MiB (or max_json_body if larger), everything else max_json_body.
  std::size_t body_limit(std::string_view method, std::string_view target) const;

  // Called with a short line for unexpected failures (no secrets, no bodies).
  std::function<void(const std::string&)> log;

 private:
  struct context;  // one request being handled

  http_response dispatch(context& c);
  http_response sign_in(context& c);
  http_response session_status(context& c);
  http_response sign_out(context& c);
  http_response change_password(context& c);
  http_response get_account(context& c);
  http_response put_account(context& c);
  http_response account_secrets(context& c, std::string_view rest);
  // Counts one read of secrets by this session; the seconds to wait when over the limit.
  std::int64_t secrets_read_wait(const std::string& token, std::int64_t now);
  http_response task_route(context& c, std::string_view rest);
  http_response mailbox_route(context& c, std::string_view rest);
  http_response append_batch(context& c);
  http_response events(context& c);
  http_response bridge(context& c);
  http_response static_file(context& c);

  bool origin_allowed(const http_request& request) const;
  bool host_allowed(const http_request& request) const;
  bool is_own_host(std::string_view host) const;
  bool is_own_origin(std::string_view origin) const;
  // The Host and Origin checks every request passes; nullopt when it may go on.
  std::optional<http_response> check_host_and_origin(const http_request& request,
                                                     std::string_view path) const;
  void touch_device(const store::session_info& session, const http_request& request);

  const serve_config& config_;
  api_dependencies deps_;
  signin_limiter limiter_;
  hash_gate hashing_;
  std::filesystem::path web_root_;  // canonical, empty when there is none

  std::mutex touched_mutex_;
  std::unordered_map<std::string, std::int64_t> touched_;  // device id → last touch

  struct secrets_reads {
    std::int64_t window_start = 0;
    int count = 0;
  };
  std::mutex secrets_reads_mutex_;
  std::unordered_map<std::string, secrets_reads> secrets_reads_;  // session digest → reads
};

// {"error": message, "code": code} with `status`.
http_response json_error(int status, std::string_view code, std::string_view message);
// X-Content-Type-Options, Referrer-Policy, and the Content-Security-Policy for HTML.
void add_security_headers(http_response& response);

}  // namespace junction::serve
