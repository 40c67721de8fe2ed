// Settings of `junction-proxy serve`: command-line flags, optionally a JSON config file with
// the same names (flags win). Beast-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bridge/egress_policy.h"

namespace junction::serve {

struct serve_config {
  std::filesystem::path data_dir;            // --data
  std::string listen_address = "127.0.0.1";  // --listen ADDR:PORT
  std::uint16_t listen_port = 8080;
  std::filesystem::path web_root;         // static files of the app (web/)
  std::filesystem::path tls_certificate;  // optional: serve https/wss
  std::filesystem::path tls_private_key;
  std::vector<std::string> allowed_origins;  // beside the server's own origin
  // The origin the app is reached at, e.g. "https://mail.example.org" (--public-origin), when
  // a reverse proxy or a name stands in front. Empty: derived from the listen address and the
  // TLS setting. The server answers only requests whose Host names it (see api.h).
  std::string public_origin;
  std::vector<bridge::allow_rule> egress_exceptions;  // --allow HOST:PORT
  int threads = 2;
  std::int64_t session_lifetime_seconds = 30LL * 24 * 3600;
  std::size_t max_json_body = 1 << 20;
  // POST /api/mailbox/messages and /api/mailbox/batch (config file: "max_message_body").
  std::size_t max_message_body = 64 << 20;
  // Sign-in rate limit: this many failures per address+user name within the window.
  int signin_failures_allowed = 5;
  int signin_window_seconds = 900;
  // Work for strangers (review F3, F17). Before a valid session is shown a request body may
  // have at most max_unauthenticated_body bytes (sign-in JSON); the larger limits above apply
  // only after. Connections per client address (IPv6 counted per /64; 0 = no cap): behind a
  // reverse proxy every client has the proxy's address, so raise it or set 0 there.
  std::size_t max_unauthenticated_body = 16 << 10;
  int max_connections_per_address = 64;
  // A request's header must arrive within header_timeout_seconds; a body must keep coming at
  // min_body_bytes_per_second on average after a grace of header_timeout_seconds. An idle
  // keep-alive connection is closed after idle_timeout_seconds.
  int header_timeout_seconds = 10;
  int idle_timeout_seconds = 60;
  std::size_t min_body_bytes_per_second = 4096;
  // Threads that run the API handlers (SQLite, Maildir, password hashing) off the I/O threads,
  // and how many password hashes (128 MiB of scrypt each) may run at once.
  int worker_threads = 4;
  int concurrent_password_hashes = 2;
  // Per user: open event streams, and how long one may stay open (the page reconnects).
  int max_event_streams_per_user = 8;
  // Open bridges per user, over all the user's sessions and devices.
  int max_bridges_per_user = 16;
  // Native runs (one thread each) going at once, per user and in all; a scheduled run over the
  // limit is tried again a little later, Retrieve Now answers 429.
  int max_runs_per_user = 4;
  int max_runs_total = 32;
  int event_stream_lifetime_seconds = 3600;
  // Scheduler: a floor on intervals, for tests (seconds; 0 = the task's own interval).
  int scheduler_interval_override_seconds = 0;
  // Egress: port 25 (SMTP relay to any MX) is refused unless this is set (config file
  // "allow_port_25": true, flag --allow-port-25 yes); --allow exceptions name ports anyway.
  bool allow_port_25 = false;
};

// The one egress policy of `serve` (bridge, scheduled runs, Retrieve Now, sends): the default
// ports (and 25 when allowed), the --allow exceptions, and this host's own addresses refused.
bridge::egress_policy make_egress_policy(const serve_config& config);

// Parses `serve` arguments (argv after "serve"): --data DIR, --listen ADDR:PORT, --config FILE,
// --allow HOST:PORT (repeatable), --web DIR, --tls-cert FILE, --tls-key FILE,
// --allow-origin ORIGIN (repeatable), --public-origin ORIGIN. The config file is JSON with the
// keys "data", "listen", "web_root", "tls_certificate", "tls_private_key", "allowed_origins",
// "public_origin", "allow", "threads", "session_lifetime_seconds",
// "scheduler_interval_override_seconds", "max_message_body", "max_connections_per_address",
// "worker_threads", "max_event_streams_per_user", "max_bridges_per_user", "max_runs_per_user",
// "max_runs_total", "header_timeout_seconds", "idle_timeout_seconds", "min_body_bytes_per_second",
// "allow_port_25" (a boolean; the flag --allow-port-25 takes yes or no); flags override it. Returns
// an error message, empty on success.
std::string parse_serve_arguments(int argc, char** argv, int first, serve_config& out);

}  // namespace junction::serve
