#include "bridge/bridge.h"

#include "bridge/control_frames.h"
#include "net/egress_connect.h"
#include "net/tls_identity.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

namespace junction::bridge {

bool registry::try_acquire(const std::string& session) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (total_.load() >= limits_.total) return false;
  auto& count = per_session_[session];
  if (count >= limits_.per_session) {
    if (count == 0) per_session_.erase(session);
    return false;
  }
  ++count;
  ++total_;
  return true;
}

void registry::release(const std::string& session) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = per_session_.find(session);
  if (it == per_session_.end() || it->second == 0) return;  // never acquired: a caller bug
  if (--it->second == 0) per_session_.erase(it);
  --total_;
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;
using json = nlohmann::json;

std::string endpoint_text(const tcp::endpoint& ep) {
  const auto addr = ep.address().to_string();
  const auto port = std::to_string(ep.port());
  return ep.address().is_v6() ? "[" + addr + "]:" + port : addr + ":" + port;
}

std::string seconds_text(std::chrono::seconds s) {
  return std::to_string(s.count()) + " s";
}

// One bridge: a WebSocket from the page and one TCP (then maybe TLS) connection upstream.
//
// All handlers run on the WebSocket stream's executor, which the caller makes a strand (as
// every per-connection object in the server does); the upstream socket and the timers share
// it. Each direction has at most one operation in flight: a WebSocket message is read only
// after the previous one was written upstream, and upstream is read only after the previous
// chunk was sent to the page. Neither direction cancels the other's WebSocket read: an end on
// one side closes the other (TOOLCHAIN-NOTES.md).
template <class ClientStream>
class bridge_session : public std::enable_shared_from_this<bridge_session<ClientStream>> {
 public:
  bridge_session(ClientStream&& stream, request upgrade, std::string session, context ctx)
      : ws_(std::move(stream)),
        upgrade_(std::move(upgrade)),
        session_(std::move(session)),
        ctx_(std::move(ctx)),
        resolver_(ws_.get_executor()),
        socket_(ws_.get_executor()),
        deadline_(ws_.get_executor()),
        idle_timer_(ws_.get_executor()),
        started_(steady::now()),
        last_activity_(started_) {}

  // Logs, then gives the slot back: once the registry shows the slot free, the line is out.
  ~bridge_session() {
    log_close();
    if (acquired_) ctx_.bridges->release(session_);
  }

  void start() {
    asio::dispatch(ws_.get_executor(), [self = this->shared_from_this()] { self->do_accept(); });
  }

 private:
  void log_close() noexcept {
    if (!ctx_.log) return;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started_).count();
    const std::string target = host_.empty() ? "(no target)" : display_target();
    try {
      ctx_.log("bridge " + target + " closed after " + std::to_string(ms / 1000) + "." +
               std::to_string(ms % 1000 / 100) + " s: " + std::to_string(up_bytes_) +
               " bytes to the server, " + std::to_string(down_bytes_) + " bytes to the client (" +
               (end_reason_.empty() ? "ended" : loggable(end_reason_)) + ")");
    } catch (...) {
      // A failing logger must not take the process down from a destructor.
    }
  }

  enum class phase { accepting, connecting, handshaking, relaying };
  enum class reader { idle, waiting, reading, sending };  // the upstream → client direction
  enum class after_text { start_relay, resume_relay };

  std::shared_ptr<bridge_session> shared() { return this->shared_from_this(); }

  // parse_open lets only host characters through; loggable() keeps it so if that changes.
  std::string display_target() const {
    const bool v6 = host_.find(':') != std::string::npos;
    const std::string host = loggable(host_);
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port_);
  }

  void do_accept() {
    if (!ctx_.policy || !ctx_.bridges || !ctx_.upstream_tls) {
      end_reason_ = "bridge context incomplete";
      return;  // a caller bug; dropping the stream closes the connection
    }
    auto& lowest = beast::get_lowest_layer(ws_);
    lowest.expires_never();  // the WebSocket stream's own timeouts apply from here on
    error_code ignored;
    lowest.socket().set_option(tcp::no_delay(true), ignored);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(ctx_.bridges->bridge_limits().max_frame);
    ws_.auto_fragment(false);
    const bool offered = offers_subprotocol(upgrade_[http::field::sec_websocket_protocol]);
    ws_.set_option(websocket::stream_base::decorator([offered](websocket::response_type& res) {
      res.set(http::field::server, "junction-proxy");
      if (offered) res.set(http::field::sec_websocket_protocol, subprotocol);
    }));
    ws_.async_accept(upgrade_, [self = shared()](error_code ec) { self->on_accept(ec); });
  }

  void on_accept(error_code ec) {
    upgrade_ = {};  // not needed any more; an idle bridge should stay small
    if (ec) {
      end_reason_ = "WebSocket upgrade failed: " + ec.message();
      return;
    }
    const auto& lim = ctx_.bridges->bridge_limits();
    if (!ctx_.bridges->try_acquire(session_)) {
      fail("limit", "too many bridges open (at most " + std::to_string(lim.per_session) +
                        " per session and " + std::to_string(lim.total) + " in total)");
      return;
    }
    acquired_ = true;
    ws_.async_read(in_, [self = shared()](error_code e, std::size_t) { self->on_open_frame(e); });
  }

  void on_open_frame(error_code ec) {
    if (closing_) return;
    if (ec) {
      end_client(ec);
      return;
    }
    if (!ws_.got_text()) {
      fail("bad_request", "the first frame must be a text frame {\"op\":\"open\",...}");
      return;
    }
    const auto data = in_.cdata();
    open_request req;
    const auto problem =
        parse_open_frame(std::string_view(static_cast<const char*>(data.data()), data.size()), req);
    in_.consume(in_.size());
    if (!problem.empty()) {
      fail("bad_request", problem);
      return;
    }
    host_ = std::move(req.host);
    port_ = req.port;
    implicit_tls_ = req.implicit_tls;
    pin_ = std::move(req.pin);

    phase_ = phase::connecting;
    arm_deadline();
    connecting_ = net::checked_connect::start(
        resolver_, socket_, ctx_.policy, host_, port_,
        [self = shared()](const net::checked_connect_result& r) { self->on_connect(r); });
  }

  // One deadline covers DNS, TCP and the TLS handshake (and, later, a STARTTLS handshake).
  void arm_deadline() {
    const auto generation = ++deadline_generation_;
    deadline_.expires_after(ctx_.bridges->bridge_limits().connect_timeout);
    deadline_.async_wait([self = shared(), generation](error_code ec) {
      if (ec || generation != self->deadline_generation_) return;
      self->on_deadline();
    });
  }

  void on_deadline() {
    if (closing_) return;
    timed_out_ = true;
    if (connecting_ && connecting_->resolving()) {
      // getaddrinfo cannot be interrupted: answer now, the lookup's handler finds closing_.
      fail("timeout", "looking up " + loggable(host_) + " timed out after " +
                          seconds_text(ctx_.bridges->bridge_limits().connect_timeout));
      return;
    }
    if (connecting_) connecting_->cancel();
    error_code ignored;
    socket_.cancel(ignored);  // the connect or handshake completes with operation_aborted
  }

  void disarm_deadline() {
    ++deadline_generation_;
    deadline_.cancel();
  }

  void on_connect(const net::checked_connect_result& result) {
    connecting_.reset();  // it holds this object through its handler
    if (closing_) return;
    if (timed_out_) {
      fail("timeout", "connecting to " + display_target() + " timed out after " +
                          seconds_text(ctx_.bridges->bridge_limits().connect_timeout));
      return;
    }
    using outcome = net::checked_connect_result::outcome;
    switch (result.what) {
      case outcome::connected:
        break;
      case outcome::dns_failed:
        fail("dns", "the name " + loggable(host_) + " could not be resolved (" +
                        result.error.message() + ")");
        return;
      case outcome::denied:
        fail("egress_denied",
             "connecting to " + display_target() + " is not allowed: " + result.denial);
        return;
      case outcome::connect_failed:
        if (result.error == asio::error::connection_refused) {
          fail("refused",
               "nothing accepts connections at " + display_target() + " (connection refused)");
        } else {
          fail("refused",
               "could not connect to " + display_target() + ": " + result.error.message());
        }
        return;
    }
    const tcp::endpoint& ep = result.endpoint;
    address_ = endpoint_text(ep);
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    if (implicit_tls_) {
      start_tls(after_text::start_relay);
      return;
    }
    disarm_deadline();
    write_text(json{{"op", "opened"}, {"address", address_}, {"tls", nullptr}},
               after_text::start_relay);
  }

  // Client side of TLS on the connected socket: SNI, the host name (or IP) checked against
  // the certificate, the chain checked against the caller's trust store, or only the pin.
  void start_tls(after_text next) {
    phase_ = phase::handshaking;
    tls_.emplace(socket_, *ctx_.upstream_tls);
    SSL* ssl = tls_->native_handle();
    if (!net::expect_server_identity(ssl, host_)) {
      // Without it any certificate from a trusted CA would pass: fail closed.
      fail("tls_verify", "the identity of " + display_target() +
                             " cannot be checked in a certificate (zone id or malformed name)");
      return;
    }
    tls_->set_verify_mode(asio::ssl::verify_peer);
    // Notes the leaf's fingerprint even when verification fails (OpenSSL then keeps no peer
    // certificate), so the error can offer it for pinning. A pinned certificate may be
    // self-signed or name another host: the pin is the trust, checked after the handshake.
    // The callback runs inside the handshake, which holds a reference to this object.
    const bool pinned = !pin_.empty();
    tls_->set_verify_callback([this, pinned](bool preverified, asio::ssl::verify_context& vc) {
      X509_STORE_CTX* store = vc.native_handle();
      if (X509_STORE_CTX_get_error_depth(store) == 0) {
        if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
          presented_sha256_ = net::certificate_sha256(cert);
        }
      }
      return pinned || preverified;
    });
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self = shared(), next](error_code ec) { self->on_handshake(ec, next); });
  }

  void on_handshake(error_code ec, after_text next) {
    disarm_deadline();
    if (closing_) return;
    const std::string target = display_target();
    if (timed_out_) {
      fail("timeout", "the TLS handshake with " + target + " timed out after " +
                          seconds_text(ctx_.bridges->bridge_limits().connect_timeout));
      return;
    }
    SSL* ssl = tls_->native_handle();
    const long verify = SSL_get_verify_result(ssl);
    std::string fingerprint = net::peer_certificate_sha256(ssl);
    if (fingerprint.empty()) fingerprint = presented_sha256_;
    if (ec) {
      if (pin_.empty() && verify != X509_V_OK) {
        fail("tls_verify", "the certificate of " + target +
                               " is not trusted: " + X509_verify_cert_error_string(verify) +
                               (fingerprint.empty() ? "" : " (SHA-256 " + fingerprint + ")"));
      } else {
        fail("tls_handshake", "the TLS handshake with " + target + " failed: " + ec.message());
      }
      return;
    }
    if (!pin_.empty() && fingerprint != pin_) {
      fail("tls_verify",
           "the certificate of " + target + " (SHA-256 " + fingerprint + ") is not the pinned one");
      return;
    }
    json info{{"version", SSL_get_version(ssl)},
              {"cipher", SSL_get_cipher_name(ssl)},
              {"verified", verify == X509_V_OK},
              {"pinned", !pin_.empty()},
              {"cert_sha256", fingerprint}};
    last_activity_ = steady::now();
    if (next == after_text::start_relay) {
      write_text(json{{"op", "opened"}, {"address", address_}, {"tls", std::move(info)}}, next);
    } else {
      info["op"] = "tls";
      write_text(info, next);
    }
  }

  // Only used while the upstream reader is paused, so no other WebSocket write is in flight.
  void write_text(const json& message, after_text next) {
    out_text_ = message.dump(-1, ' ', false, json::error_handler_t::replace);
    ws_.text(true);
    ws_writing_ = true;
    ws_.async_write(asio::buffer(out_text_), [self = shared(), next](error_code ec, std::size_t) {
      self->ws_writing_ = false;
      if (self->after_ws_write()) return;
      if (ec) {
        self->end_client(ec);
        return;
      }
      self->phase_ = phase::relaying;
      if (next == after_text::start_relay) {
        if (self->ctx_.log) {
          self->ctx_.log("bridge " + self->display_target() + " opened via " + self->address_ +
                         (self->tls_ ? " with TLS" : ""));
        }
        self->last_activity_ = steady::now();
        self->arm_idle();
      }
      self->do_ws_read();
      self->do_upstream_read();
    });
  }

  // ---- client → upstream ----

  void do_ws_read() {
    ws_.async_read(in_,
                   [self = shared()](error_code ec, std::size_t n) { self->on_ws_read(ec, n); });
  }

  void on_ws_read(error_code ec, std::size_t n) {
    if (closing_) return;
    if (ec) {
      end_client(ec);
      return;
    }
    last_activity_ = steady::now();
    if (ws_.got_binary()) {
      up_bytes_ += n;
      auto handler = [self = shared()](error_code e, std::size_t written) {
        self->on_upstream_write(e, written);
      };
      if (tls_) {
        asio::async_write(*tls_, in_.data(), std::move(handler));
      } else {
        asio::async_write(socket_, in_.data(), std::move(handler));
      }
      return;
    }
    on_text_frame();
  }

  void on_text_frame() {
    if (in_.size() > max_control_frame) {
      fail("bad_request",
           "a text frame may hold at most " + std::to_string(max_control_frame) + " bytes");
      return;
    }
    const auto data = in_.cdata();
    const json j = json::parse(static_cast<const char*>(data.data()),
                               static_cast<const char*>(data.data()) + data.size(), nullptr,
                               /*allow_exceptions=*/false);
    in_.consume(in_.size());
    std::string op;
    if (j.is_object() && j.contains("op") && j["op"].is_string()) op = j["op"].get<std::string>();
    if (op != "starttls") {
      fail("bad_request", op.empty() ? "a text frame must be a JSON object with \"op\""
                                     : "op \"" + op + "\" is not expected after opened");
      return;
    }
    if (tls_) {
      fail("bad_request", "starttls: TLS is already active");
      return;
    }
    // The client sends nothing until the answer, and the server sends nothing before the
    // handshake; the upstream reader is stopped where it stands and TLS starts once it is
    // idle. A readiness wait holds no bytes, so cancelling it loses nothing.
    starttls_requested_ = true;
    if (down_state_ == reader::waiting) {
      error_code ignored;
      socket_.cancel(ignored);
    } else if (down_state_ == reader::idle) {
      begin_starttls();
    }
  }

  void begin_starttls() {
    starttls_requested_ = false;
    arm_deadline();
    start_tls(after_text::resume_relay);
  }

  void on_upstream_write(error_code ec, std::size_t n) {
    if (closing_) return;
    if (ec) {
      fail("upstream_closed", "the connection to " + display_target() + " ended while " +
                                  std::to_string(in_.size()) + " bytes were waiting to be sent (" +
                                  ec.message() + ")");
      return;
    }
    in_.consume(n);
    last_activity_ = steady::now();
    do_ws_read();
  }

  // ---- upstream → client ----

  // Plain TCP waits for readability and then reads what is there, so an idle bridge holds no
  // read buffer; a TLS stream reads into a buffer of limits.read_chunk.
  void do_upstream_read() {
    if (tls_) {
      down_state_ = reader::reading;
      down_buf_.resize(ctx_.bridges->bridge_limits().read_chunk);
      tls_->async_read_some(
          asio::buffer(down_buf_),
          [self = shared()](error_code ec, std::size_t n) { self->on_upstream_read(ec, n); });
      return;
    }
    down_state_ = reader::waiting;
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared()](error_code ec) { self->on_upstream_ready(ec); });
  }

  void on_upstream_ready(error_code ec) {
    down_state_ = reader::idle;
    if (closing_) return;
    if (starttls_requested_) {
      begin_starttls();
      return;
    }
    if (ec) {
      on_upstream_read(ec, 0);
      return;
    }
    error_code e;
    socket_.non_blocking(true, e);
    const std::size_t available = e ? 0 : socket_.available(e);
    const std::size_t chunk = ctx_.bridges->bridge_limits().read_chunk;
    down_buf_.resize(std::clamp<std::size_t>(available, 1, std::max<std::size_t>(chunk, 1)));
    const std::size_t n = socket_.read_some(asio::buffer(down_buf_), e);
    if (e == asio::error::would_block || e == asio::error::try_again) {
      do_upstream_read();
      return;
    }
    on_upstream_read(e, n);
  }

  void on_upstream_read(error_code ec, std::size_t n) {
    down_state_ = reader::idle;
    if (closing_) return;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      end_normally("the server closed the connection");
      return;
    }
    if (ec) {
      fail("upstream_closed", "the connection to " + display_target() + " broke: " + ec.message());
      return;
    }
    if (tls_) n = fill_from_tls(n);
    down_bytes_ += n;
    last_activity_ = steady::now();
    down_state_ = reader::sending;
    ws_.binary(true);
    ws_writing_ = true;
    ws_.async_write(asio::buffer(down_buf_.data(), n),
                    [self = shared()](error_code e, std::size_t) { self->on_ws_write_data(e); });
  }

  // An asynchronous TLS read ends after one TLS record (at most 16 KiB): without this, every
  // record would become its own WebSocket frame, and the page would handle several times as
  // many frames as over a plain connection. Adds, without waiting, what OpenSSL has already
  // decrypted and what the socket already holds, up to the read chunk. Returns the bytes now
  // in down_buf_. A read that would block (half a record arrived) keeps the partial record
  // inside the TLS engine for the next read; any other error is left for the next
  // asynchronous read to report.
  std::size_t fill_from_tls(std::size_t n) {
    const std::size_t chunk = down_buf_.size();
    error_code e;
    socket_.non_blocking(true, e);
    if (e) return n;
    while (n < chunk) {
      const bool decrypted = SSL_pending(tls_->native_handle()) > 0;
      const std::size_t waiting = socket_.available(e);
      if (e || (!decrypted && waiting == 0)) break;
      const std::size_t m = tls_->read_some(asio::buffer(down_buf_.data() + n, chunk - n), e);
      n += m;
      if (e || m == 0) break;
    }
    return n;
  }

  void on_ws_write_data(error_code ec) {
    down_state_ = reader::idle;
    ws_writing_ = false;
    if (!tls_) down_buf_ = {};
    if (after_ws_write()) return;
    if (ec) {
      end_client(ec);
      return;
    }
    last_activity_ = steady::now();
    if (starttls_requested_) {
      begin_starttls();
      return;
    }
    do_upstream_read();
  }

  // ---- timers and endings ----

  void arm_idle() {
    idle_timer_.expires_at(last_activity_ + ctx_.bridges->bridge_limits().idle_timeout);
    idle_timer_.async_wait([self = shared()](error_code ec) { self->on_idle(ec); });
  }

  void on_idle(error_code ec) {
    if (ec || closing_) return;
    const auto idle = ctx_.bridges->bridge_limits().idle_timeout;
    if (phase_ != phase::relaying) {
      // A STARTTLS handshake runs under its own deadline; idle time counts from its end.
      last_activity_ = steady::now();
    } else if (steady::now() - last_activity_ >= idle) {
      fail("timeout", "no data either way for " + seconds_text(idle));
      return;
    }
    arm_idle();
  }

  void stop_upstream() {
    closing_ = true;
    disarm_deadline();
    idle_timer_.cancel();
    if (connecting_) connecting_->cancel();  // or it would try the next address
    resolver_.cancel();
    error_code ignored;
    socket_.close(ignored);  // ends every pending upstream operation
  }

  // The WebSocket failed or the client closed it: only the upstream is left to close.
  void end_client(error_code ec) {
    if (closing_) return;
    if (ec == websocket::error::closed) {
      end_reason_ = "the client closed the bridge";
    } else if (ec == websocket::error::message_too_big) {
      // Beast has already sent close code 1009 (too big).
      end_reason_ = "limit: a message exceeded " +
                    std::to_string(ctx_.bridges->bridge_limits().max_frame) + " bytes";
    } else {
      end_reason_ = "the WebSocket ended: " + ec.message();
    }
    stop_upstream();
  }

  // Upstream EOF: a normal close (1000) for the client.
  void end_normally(std::string reason) {
    if (closing_) return;
    end_reason_ = std::move(reason);
    stop_upstream();
    final_ = final_action::normal_close;
    if (!ws_writing_) run_final();
  }

  void fail(std::string code, std::string message) {
    if (closing_) return;
    end_reason_ = code + ": " + message;
    stop_upstream();
    error_code_ = std::move(code);
    error_text_ =
        json{{"op", "error"}, {"code", error_code_}, {"message", std::move(message)}}.dump(
            -1, ' ', false, json::error_handler_t::replace);
    final_ = final_action::error_then_close;
    if (!ws_writing_) run_final();
  }

  // Called when a WebSocket write completes; true when the bridge is ending (and the final
  // frame, if any, has been started).
  bool after_ws_write() {
    if (!closing_) return false;
    if (final_ != final_action::none) run_final();
    return true;
  }

  void run_final() {
    const auto action = final_;
    final_ = final_action::none;
    if (action == final_action::normal_close) {
      ws_.async_close(websocket::close_code::normal, [self = shared()](error_code) {});
    } else if (action == final_action::error_then_close) {
      ws_.text(true);
      ws_.async_write(asio::buffer(error_text_), [self = shared()](error_code ec, std::size_t) {
        if (ec) return;
        self->ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(
                                                          close_code_for(self->error_code_)),
                                                      self->error_code_),
                              [self](error_code) {});
      });
    }
  }

  enum class final_action { none, normal_close, error_then_close };

  websocket::stream<ClientStream> ws_;
  request upgrade_;
  std::string session_;  // a secret: never logged
  context ctx_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer deadline_;
  asio::steady_timer idle_timer_;
  beast::flat_buffer in_;       // one client message, written upstream before the next read
  std::vector<char> down_buf_;  // one upstream chunk, sent to the client before the next read
  std::string out_text_;        // the text frame being written
  std::string error_text_;      // the error frame, written once out_text_ is done
  std::string error_code_;
  std::shared_ptr<net::checked_connect> connecting_;  // while resolving and connecting
  std::string host_;
  std::uint16_t port_ = 0;
  bool implicit_tls_ = false;
  std::string pin_;
  std::string address_;
  std::string presented_sha256_;  // the leaf seen during verification
  std::string end_reason_;
  steady::time_point started_;
  steady::time_point last_activity_;
  std::uint64_t up_bytes_ = 0;
  std::uint64_t down_bytes_ = 0;
  std::uint64_t deadline_generation_ = 0;
  phase phase_ = phase::accepting;
  reader down_state_ = reader::idle;
  final_action final_ = final_action::none;
  bool acquired_ = false;
  bool closing_ = false;
  bool timed_out_ = false;
  bool ws_writing_ = false;
  bool starttls_requested_ = false;
};

template <class ClientStream>
void run_bridge(ClientStream&& stream, request upgrade, std::string session, context ctx) {
  std::make_shared<bridge_session<ClientStream>>(std::move(stream), std::move(upgrade),
                                                 std::move(session), std::move(ctx))
      ->start();
}

}  // namespace

void run(beast::tcp_stream stream, request upgrade, std::string session, context ctx) {
  run_bridge(std::move(stream), std::move(upgrade), std::move(session), std::move(ctx));
}

void run(beast::ssl_stream<beast::tcp_stream> stream, request upgrade, std::string session,
         context ctx) {
  run_bridge(std::move(stream), std::move(upgrade), std::move(session), std::move(ctx));
}

}  // namespace junction::bridge
