// A blocking client connection with timeouts, for the proxy's own runs (CLI and scheduler):
// TCP through Asio, TLS through OpenSSL with certificate and host-name verification against
// the system store (SSL_CERT_FILE / SSL_CERT_DIR are honoured, which is how tests trust their
// CA). There is deliberately no switch to skip verification; the only exception is a
// certificate the user pinned by its SHA-256 fingerprint.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "jobs/effects.h"

namespace junction::bridge {
class egress_policy;
}

namespace junction::net {

struct connection_error {
  jobs::failure_kind kind = jobs::failure_kind::none;
  std::string message;
  explicit operator bool() const { return kind != jobs::failure_kind::none; }
};

struct tls_info {
  bool active = false;
  std::string version;  // "TLSv1.3"
  std::string cipher;
  std::string cert_sha256;  // fingerprint of the server's certificate, lower-case hex
  bool verified = false;    // chain and host name verified (or the pin matched)
};

class mail_connection {
 public:
  struct options {
    std::chrono::milliseconds connect_timeout{15000};
    std::chrono::milliseconds io_timeout{60000};
    std::string pinned_cert_sha256;  // empty: normal verification
    // Where connect() may go (net/egress_connect.h): every run `serve` makes for a signed-in
    // user passes the server's policy; null means anywhere, for the CLI's runs, which are the
    // machine operator's own. A refusal is failure_kind::refused, "... is not allowed by the
    // egress policy: ...". Must outlive the connection.
    const bridge::egress_policy* egress = nullptr;
  };

  explicit mail_connection(options opts);
  ~mail_connection();
  mail_connection(const mail_connection&) = delete;
  mail_connection& operator=(const mail_connection&) = delete;

  connection_error connect(const std::string& host, std::uint16_t port, jobs::tls_mode tls);
  connection_error start_tls();
  connection_error write(std::string_view bytes);
  // Reads what is available (at least one byte). Empty result with no error means EOF.
  connection_error read_some(std::string& out);
  void close();

  const tls_info& tls() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace junction::net
