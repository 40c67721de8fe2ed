// Shaped like Beast's advanced server: a listener, one session object per connection on its
// own strand, a timeout on every read and write, limits on header and body, keep-alive with
// requests answered in order. The routes live in serve/api.cpp; this file moves bytes.
#include "serve/http_server.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "bridge/bridge.h"
#include "serve/api.h"
#include "serve/signin_limiter.h"
#include "store/account_store.h"
#include "store/database.h"

namespace junction::serve {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// ---------------------------------------------------------------------------------------------
// store_per_thread

struct store_per_thread::connection {
  connection(const std::filesystem::path& file, const crypto::secret_box& secrets)
      : db(file), store(db, secrets) {}
  store::database db;
  store::account_store store;
};

store_per_thread::store_per_thread(std::filesystem::path database_file,
                                   const crypto::secret_box& secrets)
    : file_(std::move(database_file)), secrets_(secrets) {}

store_per_thread::~store_per_thread() = default;

store::account_store& store_per_thread::get() {
  std::lock_guard lock(mutex_);
  std::unique_ptr<connection>& c = connections_[std::this_thread::get_id()];
  if (!c) c = std::make_unique<connection>(file_, secrets_);
  return c->store;
}

namespace {

constexpr auto write_timeout = std::chrono::seconds(30);
constexpr auto keep_alive_interval = std::chrono::seconds(15);  // SSE comment lines
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr std::size_t event_queue_limit = 256;  // per event stream
constexpr int max_connections = 2048;
// After refusing a request whose body was not read: how much of it, and for how long, to read
// and drop after our answer, so that the client sees the answer rather than a reset.
constexpr std::size_t linger_bytes = 256 * 1024;
constexpr auto linger_timeout = std::chrono::seconds(2);

// Printable ASCII only and bounded, for log lines.
std::string loggable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

// Sessions and event streams the server can ask to finish at shutdown.
class stoppable {
 public:
  virtual ~stoppable() = default;
  virtual void stop_soon() = 0;  // thread-safe
};

// What every connection shares; lives as long as the last connection that uses it.
struct shared_state {
  shared_state(const serve_config& c, server_services s)
      : config(c), services(std::move(s)), handlers(config, make_dependencies(services)) {
    if (!services.log) {
      services.log = [](const std::string& line) {
        static std::mutex log_mutex;
        std::lock_guard lock(log_mutex);
        std::cerr << line << '\n';
      };
    }
    handlers.log = services.log;
  }

  static api_dependencies make_dependencies(const server_services& s) {
    api_dependencies d;
    d.store = s.store;
    d.events = s.events;
    d.tasks = s.tasks;
    d.mailboxes = s.mailboxes;
    return d;
  }

  void log(const std::string& line) const { services.log(line); }

  void track(const std::shared_ptr<stoppable>& s) {
    std::lock_guard lock(mutex);
    std::erase_if(live, [](const std::weak_ptr<stoppable>& w) { return w.expired(); });
    live.push_back(s);
  }

  void stop_all() {
    std::vector<std::weak_ptr<stoppable>> copy;
    {
      std::lock_guard lock(mutex);
      copy = live;
    }
    for (const auto& w : copy) {
      if (auto s = w.lock()) s->stop_soon();
    }
  }

  // Whether another connection from this network (signin_limiter.h's network_of) may come in.
  bool may_accept(const std::string& network) {
    if (config.max_connections_per_address <= 0) return true;
    std::lock_guard lock(mutex);
    const auto found = per_network.find(network);
    return found == per_network.end() || found->second < config.max_connections_per_address;
  }

  // Counts an event stream of this user; false when the user has the most allowed.
  bool add_event_stream(std::int64_t user_id) {
    std::lock_guard lock(mutex);
    int& n = streams_per_user[user_id];
    if (n >= std::max(1, config.max_event_streams_per_user)) return false;
    ++n;
    return true;
  }
  void remove_event_stream(std::int64_t user_id) {
    std::lock_guard lock(mutex);
    const auto found = streams_per_user.find(user_id);
    if (found != streams_per_user.end() && --found->second <= 0) streams_per_user.erase(found);
  }

  serve_config config;  // listen_port is the bound one once the listener is open
  server_services services;
  api handlers;
  bridge::context bridge_context;
  net::thread_pool* workers = nullptr;  // runs api::admit and api::handle
  std::atomic<bool> stopping{false};
  std::atomic<int> connections{0};
  std::mutex mutex;
  std::vector<std::weak_ptr<stoppable>> live;
  std::unordered_map<std::string, int> per_network;
  std::unordered_map<std::int64_t, int> streams_per_user;
};

// Counts a connection, in total and for its network, for as long as the object holding it
// lives.
class connection_count {
 public:
  connection_count(std::shared_ptr<shared_state> s, std::string network)
      : state_(std::move(s)), network_(std::move(network)) {
    ++state_->connections;
    std::lock_guard lock(state_->mutex);
    ++state_->per_network[network_];
  }
  ~connection_count() {
    --state_->connections;
    std::lock_guard lock(state_->mutex);
    const auto found = state_->per_network.find(network_);
    if (found != state_->per_network.end() && --found->second <= 0) {
      state_->per_network.erase(found);
    }
  }
  connection_count(const connection_count&) = delete;
  connection_count& operator=(const connection_count&) = delete;

 private:
  std::shared_ptr<shared_state> state_;
  std::string network_;
};

template <class Stream>
constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

template <class Stream>
void close_now(Stream& stream) {
  beast::error_code ec;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(stream).close();
}

// ---------------------------------------------------------------------------------------------
// GET /api/events: Server-Sent Events (HTML Living Standard, section 9.2) until the client goes,
// the server stops, or config.event_stream_lifetime_seconds pass (EventSource reconnects by
// itself, and the reconnection shows the session again). A user has at most
// config.max_event_streams_per_user streams; the caller counted this one (add_event_stream).
// Events queue per stream up to a bound; a slow client loses the oldest "progress" events
// first, and is cut off if the queue still overflows.

template <class Stream>
class event_stream : public stoppable, public std::enable_shared_from_this<event_stream<Stream>> {
 public:
  event_stream(Stream&& stream, std::shared_ptr<shared_state> state,
               std::unique_ptr<connection_count> count, std::int64_t user_id)
      : stream_(std::move(stream)),
        state_(std::move(state)),
        count_(std::move(count)),
        user_id_(user_id),
        keep_alive_(stream_.get_executor()),
        ends_at_(std::chrono::steady_clock::now() +
                 std::chrono::seconds(std::max(1, state_->config.event_stream_lifetime_seconds))) {}

  ~event_stream() override {
    if (token_ != 0) state_->services.events->unsubscribe(token_);
    state_->remove_event_stream(user_id_);
  }

  void start(std::string header) {
    auto weak = this->weak_from_this();
    auto executor = stream_.get_executor();
    token_ =
        state_->services.events->subscribe(user_id_, [weak, executor](const nlohmann::json& event) {
          std::string type = "message";
          const auto found = event.find("type");
          if (found != event.end() && found->is_string()) type = found->get<std::string>();
          // An event name is one line; anything odd is sent under the generic name.
          if (type.empty() ||
              type.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos) {
            type = "message";
          }
          std::string text = "event: " + type + "\ndata: " +
                             event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                             "\n\n";
          const bool progress = type == "progress";
          net::post(executor, [weak, text = std::move(text), progress]() mutable {
            if (auto self = weak.lock()) self->push(std::move(text), progress);
          });
        });
    state_->track(this->shared_from_this());
    push(std::move(header), false);
    arm_keep_alive();
    watch();
  }

  void stop_soon() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
  }

 private:
  struct item {
    std::string text;
    bool progress = false;
  };

  void push(std::string text, bool progress) {
    if (closed_) return;
    if (queue_.size() >= event_queue_limit) {
      const auto oldest_progress =
          std::find_if(queue_.begin(), queue_.end(), [](const item& i) { return i.progress; });
      if (oldest_progress == queue_.end()) {
        state_->log("event stream: client too slow, closing");
        return close();
      }
      queue_.erase(oldest_progress);
    }
    queue_.push_back({std::move(text), progress});
    if (!writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    current_ = std::move(queue_.front().text);
    queue_.pop_front();
    beast::get_lowest_layer(stream_).expires_after(write_timeout);
    net::async_write(stream_, net::buffer(current_),
                     beast::bind_front_handler(&event_stream::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return close();
    if (!queue_.empty()) do_write();
  }

  // The client sends nothing after its request; a read notices at once when it goes, so its
  // slot (and its place among the user's streams) is freed without waiting for a write to fail.
  void watch() {
    stream_.async_read_some(net::buffer(watch_buffer_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (self->closed_) return;
                              if (ec) return self->close();
                              self->watch();
                            });
  }

  void arm_keep_alive() {
    keep_alive_.expires_at(
        std::min(std::chrono::steady_clock::now() + keep_alive_interval, ends_at_));
    keep_alive_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      if (std::chrono::steady_clock::now() >= self->ends_at_) return self->close();
      if (self->queue_.empty() && !self->writing_) self->push(": keep-alive\n\n", true);
      self->arm_keep_alive();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    keep_alive_.cancel();
    if (token_ != 0) {
      state_->services.events->unsubscribe(token_);
      token_ = 0;
    }
    queue_.clear();
    close_now(stream_);
  }

  Stream stream_;
  std::shared_ptr<shared_state> state_;
  std::unique_ptr<connection_count> count_;
  std::int64_t user_id_;
  net::steady_timer keep_alive_;
  std::chrono::steady_clock::time_point ends_at_;
  char watch_buffer_[64];
  std::uint64_t token_ = 0;
  std::deque<item> queue_;
  std::string current_;
  bool writing_ = false;
  bool closed_ = false;
};

// ---------------------------------------------------------------------------------------------
// One HTTP connection: read a request, answer it, read the next (pipelined requests wait in
// the buffer and are answered in order).
//
// What a stranger can make it do is bounded (review F3): the header must arrive within
// config.header_timeout_seconds; a request with a body is admitted by api::admit (Host,
// Origin, session) before any of the body is read or "100 Continue" is sent, and gets the
// large body limits only with a valid session; the body must keep arriving at
// config.min_body_bytes_per_second after a grace period. api::admit and api::handle run on the
// worker pool (SQLite, Maildir, scrypt), never on an I/O thread; the answer is written back on
// the connection's strand.

template <class Stream>
class http_session : public stoppable, public std::enable_shared_from_this<http_session<Stream>> {
 public:
  http_session(Stream&& stream, std::shared_ptr<shared_state> state, std::string remote,
               std::string network)
      : stream_(std::move(stream)),
        state_(std::move(state)),
        count_(std::make_unique<connection_count>(state_, std::move(network))),
        remote_(std::move(remote)) {}

  void start() {
    state_->track(this->shared_from_this());
    // Run on the connection's strand from the first step on.
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (is_tls<Stream>) {
        beast::get_lowest_layer(self->stream_).expires_after(self->header_timeout());
        self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return close_now(self->stream_);
          self->do_read();
        });
      } else {
        self->do_read();
      }
    });
  }

  void stop_soon() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      // A connection waiting for its next request is closed; one inside a request finishes
      // it and closes after the response (state_->stopping).
      if (self->idle_ && !self->closed_) {
        self->closed_ = true;
        close_now(self->stream_);
      }
    });
  }

 private:
  std::chrono::seconds header_timeout() const {
    return std::chrono::seconds(std::max(1, state_->config.header_timeout_seconds));
  }

  void do_read() {
    if (state_->stopping) return do_close();
    parser_.emplace();
    parser_->header_limit(header_limit);
    // The body limit is decided by api::admit once the header is in, before a byte of the body
    // is parsed; until then a Content-Length is not judged.
    parser_->body_limit(boost::none);
    idle_ = true;
    if (buffer_.size() == 0 && !first_request_) return wait_for_request();
    read_header();
  }

  // Keep-alive: the idle wait for the first byte of the next request has its own, longer
  // timeout; from that byte on the header deadline runs.
  void wait_for_request() {
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(std::max(1, state_->config.idle_timeout_seconds)));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (self->closed_) return;
                              if (ec) return self->on_read_error(ec);
                              self->read_header();
                            });
  }

  void read_header() {
    beast::get_lowest_layer(stream_).expires_after(header_timeout());
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&http_session::on_read_header, this->shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    idle_ = false;
    first_request_ = false;
    if (closed_) return;
    if (ec) return on_read_error(ec);
    started_ = std::chrono::steady_clock::now();
    // Without a body there is nothing to protect: handle() makes every check.
    if (parser_->is_done()) return on_read({}, 0);
    http_request head = make_request(false);
    auto executor = stream_.get_executor();
    net::post(*state_->workers,
              [self = this->shared_from_this(), head = std::move(head), executor]() mutable {
                api::admission admission = self->state_->handlers.admit(head);
                net::post(executor, [self, admission = std::move(admission)]() mutable {
                  self->on_admitted(std::move(admission));
                });
              });
  }

  void on_admitted(api::admission admission) {
    if (closed_) return;
    if (admission.refusal) {
      log_request(admission.refusal->status);
      return refuse(std::move(*admission.refusal));
    }
    const auto length = parser_->content_length();
    if (length && *length > admission.body_limit) {
      return refuse(413, "too_large", "the request body is too large");
    }
    parser_->body_limit(admission.body_limit);
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      static const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      beast::get_lowest_layer(stream_).expires_after(write_timeout);
      return net::async_write(stream_, net::buffer(continue_line),
                              [self = this->shared_from_this()](beast::error_code e, std::size_t) {
                                if (e) return self->do_close();
                                self->read_body();
                              });
    }
    read_body();
  }

  void read_body() {
    body_started_ = std::chrono::steady_clock::now();
    body_bytes_ = 0;
    read_body_some();
  }

  // The body may take the header timeout plus one second per min_body_bytes_per_second bytes
  // received so far: a client trickling slower runs out of time.
  void read_body_some() {
    if (parser_->is_done()) return on_read({}, 0);
    const std::uint64_t rate = std::max<std::size_t>(1, state_->config.min_body_bytes_per_second);
    beast::get_lowest_layer(stream_).expires_at(
        body_started_ + header_timeout() + std::chrono::milliseconds(body_bytes_ * 1000 / rate));
    http::async_read_some(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
          if (self->closed_) return;
          if (ec == beast::error::timeout) {
            self->state_->log("request body too slow from " + self->remote_ + ", closing");
          }
          if (ec) return self->on_read_error(ec);
          self->body_bytes_ += n;
          self->read_body_some();
        });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::eof ||
        ec == net::error::connection_reset) {
      return do_close();
    }
    if (ec == http::error::header_limit) {
      return refuse(431, "header_too_large", "the request header is too large");
    }
    if (ec == http::error::body_limit) {
      return refuse(413, "too_large", "the request body is too large");
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
      return refuse(400, "bad_request", "the request is not valid HTTP/1.1");
    }
    do_close();
  }

  // Answers a request that cannot be read further and closes the connection, reading (and
  // dropping) a little of what the client still sends so that it sees the answer.
  void refuse(int status, std::string_view code, std::string_view message) {
    http_response response = json_error(status, code, message);
    add_security_headers(response);
    log_request(status);
    refuse(std::move(response));
  }
  void refuse(http_response response) {
    linger_ = true;
    send(std::move(response), false, false);
  }

  http_request make_request(bool with_body) {
    auto& req = parser_->get();
    http_request request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    for (const auto& field : req) {
      request.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    request.remote_address = remote_;
    request.tls = is_tls<Stream>;
    request.websocket_upgrade = beast::websocket::is_upgrade(req);
    if (with_body) request.body = std::move(req.body());
    return request;
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (closed_) return;
    if (ec) return on_read_error(ec);
    const bool head = parser_->get().method() == http::verb::head;
    const bool keep_alive = parser_->get().keep_alive();
    http_request request = make_request(true);
    auto executor = stream_.get_executor();
    net::post(*state_->workers, [self = this->shared_from_this(), request = std::move(request),
                                 executor, keep_alive, head]() mutable {
      http_response response = self->state_->handlers.handle(request);
      net::post(executor, [self, response = std::move(response), keep_alive, head]() mutable {
        self->on_handled(std::move(response), keep_alive, head);
      });
    });
  }

  void on_handled(http_response response, bool keep_alive, bool head) {
    if (closed_) return;
    switch (response.kind) {
      case response_kind::event_stream:
        if (state_->add_event_stream(response.user_id)) {
          log_request(200);
          return start_event_stream(response);
        }
        response = json_error(429, "too_many_streams",
                              "this user has too many event streams open; close one");
        add_security_headers(response);
        break;
      case response_kind::bridge:
        log_request(101);
        return start_bridge(response);
      case response_kind::message:
        break;
    }
    log_request(response.status);
    send(std::move(response), keep_alive && !state_->stopping, head);
  }

  void log_request(int status) {
    const auto& req = parser_->get();
    const std::string_view target = req.target();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started_)
                        .count();
    state_->log(std::string(req.method_string()) + " " +
                loggable(target.substr(0, target.find('?'))) + " " + std::to_string(status) + " " +
                std::to_string(ms) + " ms");
  }

  template <class Response>
  void set_fields(Response& res, const http_response& response) {
    for (const http_header& h : response.headers) res.set(h.name, h.value);
  }

  void send(http_response response, bool keep_alive, bool head) {
    const unsigned version = parser_ ? parser_->get().version() : 11;
    const auto status = static_cast<http::status>(response.status);
    if (head) {
      http::response<http::empty_body> res{status, version};
      set_fields(res, response);
      res.keep_alive(keep_alive);
      res.content_length(response.file.empty() ? response.body.size() : response.file_size);
      return write(std::move(res));
    }
    if (!response.file.empty()) {
      http::response<http::file_body> res{status, version};
      beast::error_code ec;
      res.body().open(response.file.c_str(), beast::file_mode::scan, ec);
      if (!ec) {
        set_fields(res, response);
        res.keep_alive(keep_alive);
        res.prepare_payload();
        return write(std::move(res));
      }
      response = json_error(404, "not_found", "no such file");
      add_security_headers(response);
    }
    http::response<http::string_body> res{status, version};
    set_fields(res, response);
    res.body() = std::move(response.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    write(std::move(res));
  }

  template <class Body>
  void write(http::response<Body>&& res) {
    auto message = std::make_shared<http::response<Body>>(std::move(res));
    pending_ = message;
    const bool close = message->need_eof();
    beast::get_lowest_layer(stream_).expires_after(write_timeout);
    http::async_write(stream_, *message,
                      [self = this->shared_from_this(), close](beast::error_code ec, std::size_t) {
                        self->on_write(close, ec);
                      });
  }

  void on_write(bool close, beast::error_code ec) {
    pending_.reset();
    if (ec) return do_close();
    if (linger_) return do_linger();
    if (close || state_->stopping) return do_close();
    do_read();
  }

  // After a refusal with the body unread: stop sending, read and drop at most linger_bytes
  // for at most linger_timeout, then close. Over TLS the close_notify exchange does this.
  void do_linger() {
    if constexpr (is_tls<Stream>) {
      return do_close();
    } else {
      closed_ = true;
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.expires_after(linger_timeout);
      drain_.resize(16 * 1024);
      drain();
    }
  }

  void drain() {
    if constexpr (!is_tls<Stream>) {
      stream_.async_read_some(net::buffer(drain_), [self = this->shared_from_this()](
                                                       beast::error_code ec, std::size_t n) {
        self->drained_ += n;
        if (ec || self->drained_ >= linger_bytes) return close_now(self->stream_);
        self->drain();
      });
    }
  }

  void start_event_stream(const http_response& response) {
    std::string header = "HTTP/1.1 200 OK\r\n";
    for (const http_header& h : response.headers) header += h.name + ": " + h.value + "\r\n";
    // No length and no chunking: the body runs until the connection closes.
    header += "Connection: close\r\nX-Accel-Buffering: no\r\n\r\n";
    closed_ = true;  // this session is done; the stream owns the connection now
    beast::get_lowest_layer(stream_).expires_never();
    auto stream = std::make_shared<event_stream<Stream>>(std::move(stream_), state_,
                                                         std::move(count_), response.user_id);
    stream->start(std::move(header));
  }

  void start_bridge(const http_response& response) {
    closed_ = true;
    count_.reset();
    beast::get_lowest_layer(stream_).expires_never();
    // The registry counts bridges per key: the user's, so that signing in again does not
    // give a user more (review F17).
    bridge::run(std::move(stream_), parser_->release(), "user:" + std::to_string(response.user_id),
                state_->bridge_context);
  }

  void do_close() {
    if (closed_) return;
    closed_ = true;
    if constexpr (is_tls<Stream>) {
      if (!state_->stopping) {
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
        stream_.async_shutdown(
            [self = this->shared_from_this()](beast::error_code) { close_now(self->stream_); });
        return;
      }
    }
    close_now(stream_);
  }

  Stream stream_;
  std::shared_ptr<shared_state> state_;
  std::unique_ptr<connection_count> count_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> pending_;  // the response being written
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point body_started_;
  std::uint64_t body_bytes_ = 0;
  std::vector<char> drain_;
  std::size_t drained_ = 0;
  bool first_request_ = true;
  bool linger_ = false;  // refused with the body unread: linger before closing
  bool idle_ = false;    // waiting for the next request
  bool closed_ = false;  // closed, or handed to an event stream or the bridge
};

// ---------------------------------------------------------------------------------------------

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, const tcp::endpoint& endpoint, std::shared_ptr<shared_state> state,
           ssl::context* tls)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), state_(std::move(state)), tls_(tls) {
    const std::string where =
        endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void start() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&listener::do_accept, shared_from_this()));
  }

  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  void do_accept() {
    if (!acceptor_.is_open()) return;
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      state_->log("accept failed: " + ec.message());
    } else {
      beast::error_code ignored;
      const std::string remote = socket.remote_endpoint(ignored).address().to_string();
      std::string network = network_of(remote);
      // Counted per network (IPv6 /64), so one client cannot take every slot. This runs on the
      // acceptor's strand and the session counts itself at once: no race between check and
      // count.
      if (state_->stopping || state_->connections >= max_connections ||
          !state_->may_accept(network)) {
        socket.close(ignored);
      } else if (tls_) {
        std::make_shared<http_session<beast::ssl_stream<beast::tcp_stream>>>(
            beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls_), state_, remote,
            std::move(network))
            ->start();
      } else {
        std::make_shared<http_session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)),
                                                          state_, remote, std::move(network))
            ->start();
      }
    }
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<shared_state> state_;
  ssl::context* tls_;
};

void require_tls_1_2(ssl::context& context) {
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct http_server::impl {
  // Declared before the io_context: the sessions it destroys still hold these.
  std::unique_ptr<bridge::egress_policy> policy;
  std::unique_ptr<bridge::registry> bridges;
  std::optional<ssl::context> upstream_tls;
  std::optional<ssl::context> tls;
  std::shared_ptr<shared_state> state;
  int threads = 1;
  net::io_context ioc;
  std::shared_ptr<listener> acceptor;
  std::optional<net::steady_timer> shutdown_timer;
  std::chrono::steady_clock::time_point deadline;
  std::atomic<bool> ran{false};
  std::atomic<bool> stop_requested{false};
  // Last: destroyed (joined) first, while the state its jobs use is still alive.
  std::unique_ptr<net::thread_pool> workers;

  impl(const serve_config& config, server_services services)
      : threads(std::max(1, config.threads)), ioc(std::max(1, config.threads)) {
    if (!services.store) throw std::runtime_error("http_server: no account store given");
    if (!config.tls_certificate.empty() || !config.tls_private_key.empty()) {
      tls.emplace(ssl::context::tls_server);
      require_tls_1_2(*tls);
      try {
        tls->use_certificate_chain_file(config.tls_certificate.string());
      } catch (const std::exception& e) {
        throw std::runtime_error("cannot load the TLS certificate " +
                                 config.tls_certificate.string() + ": " + e.what());
      }
      try {
        tls->use_private_key_file(config.tls_private_key.string(), ssl::context::pem);
      } catch (const std::exception& e) {
        throw std::runtime_error("cannot load the TLS private key " +
                                 config.tls_private_key.string() + ": " + e.what());
      }
    }
    const bridge::context* given_bridge = services.bridge;
    state = std::make_shared<shared_state>(config, std::move(services));
    if (given_bridge) {
      state->bridge_context = *given_bridge;
    } else {
      policy = std::make_unique<bridge::egress_policy>(make_egress_policy(config));
      bridge::limits limits;
      // The registry counts per key, and the server's key is the user (start_bridge).
      limits.per_session = static_cast<std::size_t>(std::max(1, config.max_bridges_per_user));
      bridges = std::make_unique<bridge::registry>(limits);
      upstream_tls.emplace(ssl::context::tls_client);
      require_tls_1_2(*upstream_tls);
      upstream_tls->set_default_verify_paths();
      upstream_tls->set_verify_mode(ssl::verify_peer);
      // Idle bridges are the common case (a mail client waiting on IDLE): let OpenSSL free its
      // record buffers between reads instead of holding ~34 KiB per connection.
      SSL_CTX_set_mode(upstream_tls->native_handle(), SSL_MODE_RELEASE_BUFFERS);
      state->bridge_context.policy = policy.get();
      state->bridge_context.bridges = bridges.get();
      state->bridge_context.upstream_tls = &*upstream_tls;
    }
    if (!state->bridge_context.log) {
      state->bridge_context.log = [s = state.get()](const std::string& line) { s->log(line); };
    }

    beast::error_code ec;
    const auto address = net::ip::make_address(config.listen_address, ec);
    if (ec) throw std::runtime_error("not an IP address to listen on: " + config.listen_address);
    workers = std::make_unique<net::thread_pool>(
        static_cast<std::size_t>(std::max(1, config.worker_threads)));
    state->workers = workers.get();
    acceptor = std::make_shared<listener>(ioc, tcp::endpoint(address, config.listen_port), state,
                                          tls ? &*tls : nullptr);
    // The own origin (api.h) needs the port really bound (port 0 picks one).
    state->config.listen_port = acceptor->port();
    acceptor->start();
  }

  // Polls until the connections are gone (then run() returns by itself) or the grace period
  // is over (then the io_context stops, cutting off what is left).
  void wait_for_connections() {
    shutdown_timer->expires_after(std::chrono::milliseconds(50));
    shutdown_timer->async_wait([this](beast::error_code ec) {
      if (ec) return;
      const bool bridges_open =
          state->bridge_context.bridges && state->bridge_context.bridges->total() > 0;
      if (state->connections == 0 && !bridges_open) return;
      if (std::chrono::steady_clock::now() >= deadline) {
        state->log("shutdown: cutting off " + std::to_string(state->connections.load()) +
                   " connection(s) after the grace period");
        ioc.stop();
        return;
      }
      wait_for_connections();
    });
  }
};

http_server::http_server(const serve_config& config, server_services services)
    : impl_(std::make_unique<impl>(config, std::move(services))) {}

http_server::~http_server() {
  if (impl_) {
    impl_->ioc.stop();
    // Destroy the handlers (and with them the sessions) while the rest is still alive.
    impl_->acceptor.reset();
  }
}

std::uint16_t http_server::port() const {
  return impl_->acceptor->port();
}

void http_server::run() {
  if (impl_->ran.exchange(true)) throw std::logic_error("http_server::run called twice");
  const auto run_loop = [this] {
    while (true) {
      try {
        impl_->ioc.run();
        return;
      } catch (const std::exception& e) {
        impl_->state->log(std::string("server: unexpected failure: ") + e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < impl_->threads; ++i) threads.emplace_back(run_loop);
  run_loop();
  for (auto& t : threads) t.join();
}

void http_server::stop(std::chrono::milliseconds grace) {
  if (impl_->stop_requested.exchange(true)) return;
  impl_->state->stopping = true;
  net::post(impl_->ioc, [i = impl_.get(), grace] {
    i->acceptor->stop();
    i->state->stop_all();
    i->deadline = std::chrono::steady_clock::now() + grace;
    i->shutdown_timer.emplace(i->ioc);
    i->wait_for_connections();
  });
}

}  // namespace junction::serve
