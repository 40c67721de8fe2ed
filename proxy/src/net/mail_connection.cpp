#include "net/mail_connection.h"

#include "net/egress_connect.h"
#include "net/tls_identity.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <optional>

namespace junction::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using jobs::failure_kind;

struct mail_connection::impl {
  explicit impl(options o) : opts(std::move(o)), ssl_ctx(asio::ssl::context::tls_client) {}

  options opts;
  asio::io_context io;
  asio::ssl::context ssl_ctx;
  std::optional<asio::ssl::stream<tcp::socket>> stream;
  bool tls_active = false;
  std::string host;
  tls_info info;
  std::array<char, 65536> buffer{};

  tcp::socket& socket() { return stream->next_layer(); }

  // Runs the io_context until `done` or the timeout; on timeout cancels the socket and
  // reports it. The classic pattern for blocking calls with deadlines on Asio.
  bool run_until(bool& done, std::chrono::milliseconds timeout) {
    io.restart();
    io.run_for(timeout);
    if (!done) {
      boost::system::error_code ignored;
      socket().cancel(ignored);
      io.restart();
      io.run();  // let the cancelled handlers finish
      return false;
    }
    return true;
  }

  connection_error handshake() {
    SSL* ssl = stream->native_handle();
    if (!expect_server_identity(ssl, host)) {
      // Without the name or address to check, any trusted certificate would do: fail closed.
      return {failure_kind::certificate, "the identity of " + host +
                                             " cannot be checked in its certificate (an IP "
                                             "address with a zone id, or a malformed name)"};
    }
    const bool pinned = !opts.pinned_cert_sha256.empty();
    if (pinned) {
      // The chain may be self-signed; the pin is checked after the handshake instead.
      stream->set_verify_mode(asio::ssl::verify_peer);
      stream->set_verify_callback([](bool, asio::ssl::verify_context&) { return true; });
    } else {
      stream->set_verify_mode(asio::ssl::verify_peer);
    }
    bool done = false;
    boost::system::error_code result;
    stream->async_handshake(asio::ssl::stream_base::client, [&](boost::system::error_code e) {
      result = e;
      done = true;
    });
    if (!run_until(done, opts.connect_timeout)) {
      return {failure_kind::timeout, "the TLS handshake with " + host + " timed out"};
    }
    info.cert_sha256 = peer_certificate_sha256(ssl);
    if (result) {
      long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK) {
        return {failure_kind::certificate,
                "the certificate of " + host +
                    " is not trusted: " + X509_verify_cert_error_string(verify) +
                    (info.cert_sha256.empty() ? "" : " (SHA-256 " + info.cert_sha256 + ")")};
      }
      return {failure_kind::tls, "the TLS handshake with " + host + " failed: " + result.message()};
    }
    if (pinned) {
      if (info.cert_sha256 != opts.pinned_cert_sha256) {
        return {failure_kind::certificate, "the certificate of " + host +
                                               " is not the one trusted for this task (SHA-256 " +
                                               info.cert_sha256 + ")"};
      }
    } else if (SSL_get_verify_result(ssl) != X509_V_OK) {
      return {failure_kind::certificate, "the certificate of " + host + " could not be verified"};
    }
    tls_active = true;
    info.active = true;
    info.verified = true;
    info.version = SSL_get_version(ssl);
    info.cipher = SSL_get_cipher_name(ssl);
    return {};
  }
};

mail_connection::mail_connection(options opts) : impl_(std::make_unique<impl>(std::move(opts))) {
  boost::system::error_code ec;
  impl_->ssl_ctx.set_default_verify_paths(ec);
  SSL_CTX_set_min_proto_version(impl_->ssl_ctx.native_handle(), TLS1_2_VERSION);
}

mail_connection::~mail_connection() {
  close();
}

const tls_info& mail_connection::tls() const {
  return impl_->info;
}

connection_error mail_connection::connect(const std::string& host, std::uint16_t port,
                                          jobs::tls_mode tls) {
  auto& d = *impl_;
  d.host = host;
  d.stream.emplace(d.io, d.ssl_ctx);

  tcp::resolver resolver(d.io);
  bool done = false;
  checked_connect_result result;
  auto attempt = checked_connect::start(resolver, d.socket(), d.opts.egress, host, port,
                                        [&](const checked_connect_result& r) {
                                          result = r;
                                          done = true;
                                        });
  const std::string target = host + ":" + std::to_string(port);
  d.io.restart();
  d.io.run_for(d.opts.connect_timeout);
  if (!done) {
    const bool looking_up = attempt->resolving();
    attempt->cancel();
    d.io.restart();
    d.io.run();  // let the cancelled handlers finish
    if (looking_up) return {failure_kind::dns, "looking up " + host + " timed out"};
    return {failure_kind::timeout, "connecting to " + target + " timed out"};
  }
  using outcome = checked_connect_result::outcome;
  switch (result.what) {
    case outcome::connected:
      break;
    case outcome::dns_failed:
      return {failure_kind::dns,
              "the server name " + host + " could not be found (" + result.error.message() + ")"};
    case outcome::denied:
      return {failure_kind::refused,
              "connecting to " + target + " is not allowed by the egress policy: " + result.denial};
    case outcome::connect_failed:
      if (result.error == asio::error::connection_refused) {
        return {failure_kind::refused,
                "nothing accepts connections at " + target + " (connection refused)"};
      }
      return {failure_kind::refused,
              "could not connect to " + target + ": " + result.error.message()};
  }
  boost::system::error_code ec;
  d.socket().set_option(tcp::no_delay(true), ec);
  if (tls == jobs::tls_mode::implicit) return d.handshake();
  return {};
}

connection_error mail_connection::start_tls() {
  auto& d = *impl_;
  if (!d.stream || d.tls_active) return {failure_kind::tls, "TLS is already active"};
  return d.handshake();
}

connection_error mail_connection::write(std::string_view bytes) {
  auto& d = *impl_;
  bool done = false;
  boost::system::error_code ec;
  auto handler = [&](boost::system::error_code e, std::size_t) {
    ec = e;
    done = true;
  };
  if (d.tls_active) {
    asio::async_write(*d.stream, asio::buffer(bytes.data(), bytes.size()), handler);
  } else {
    asio::async_write(d.socket(), asio::buffer(bytes.data(), bytes.size()), handler);
  }
  if (!d.run_until(done, d.opts.io_timeout)) {
    return {failure_kind::timeout, "sending to " + d.host + " timed out"};
  }
  if (ec)
    return {failure_kind::connection, "the connection to " + d.host + " broke: " + ec.message()};
  return {};
}

connection_error mail_connection::read_some(std::string& out) {
  auto& d = *impl_;
  out.clear();
  bool done = false;
  boost::system::error_code ec;
  std::size_t n = 0;
  auto handler = [&](boost::system::error_code e, std::size_t got) {
    ec = e;
    n = got;
    done = true;
  };
  if (d.tls_active) {
    d.stream->async_read_some(asio::buffer(d.buffer), handler);
  } else {
    d.socket().async_read_some(asio::buffer(d.buffer), handler);
  }
  if (!d.run_until(done, d.opts.io_timeout)) {
    return {failure_kind::timeout, d.host + " stopped answering (no data for " +
                                       std::to_string(d.opts.io_timeout.count() / 1000) + " s)"};
  }
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return {};
  if (ec)
    return {failure_kind::connection, "the connection to " + d.host + " broke: " + ec.message()};
  out.assign(d.buffer.data(), n);
  return {};
}

void mail_connection::close() {
  auto& d = *impl_;
  if (!d.stream) return;
  boost::system::error_code ec;
  d.socket().shutdown(tcp::socket::shutdown_both, ec);
  d.socket().close(ec);
  d.stream.reset();
  d.tls_active = false;
}

}  // namespace junction::net
