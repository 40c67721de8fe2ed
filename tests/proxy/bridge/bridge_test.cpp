// The bridge against real sockets: an in-process Beast server runs bridge::run, a Beast
// WebSocket client plays the page, and small TCP/TLS servers on 127.0.0.1 play the mail
// server. Certificates are made at test time with the openssl command.
#include "bridge/bridge.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace junction::bridge {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using error_code = boost::system::error_code;

// ---- test certificates ----

struct test_pki {
  fs::path dir;
  std::string good_sha256;   // SAN DNS:localhost, IP:127.0.0.1
  std::string other_sha256;  // SAN DNS:mail.example.test only
};

std::string file_sha256(const fs::path& pem) {
  std::FILE* f = std::fopen(pem.c_str(), "r");
  if (!f) return {};
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  X509_free(cert);
  std::string out;
  char hex[3];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", md[i]);
    out += hex;
  }
  return out;
}

bool make_pki(test_pki& pki) {
  char tmpl[] = "/tmp/junction-bridge-test-XXXXXX";
  if (!::mkdtemp(tmpl)) return false;
  pki.dir = tmpl;
  const std::string d = pki.dir.string();
  std::ofstream(pki.dir / "good.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                         "basicConstraints=CA:FALSE\n"
                                         "extendedKeyUsage=serverAuth\n";
  std::ofstream(pki.dir / "other.ext") << "subjectAltName=DNS:mail.example.test\n"
                                          "basicConstraints=CA:FALSE\n"
                                          "extendedKeyUsage=serverAuth\n";
  const std::string ec_key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string script =
      "cd " + d + " && openssl req -x509" + ec_key +
      " -keyout ca.key -out ca.pem -days 2 -subj '/CN=Junction Test CA'"
      " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
      " && for n in good other; do openssl req" +
      ec_key +
      " -keyout $n.key -out $n.csr -subj /CN=$n && openssl x509 -req -in $n.csr -CA ca.pem"
      " -CAkey ca.key -set_serial 0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')"
      " -days 2 -extfile $n.ext -out $n.pem || exit 1; done) >/dev/null 2>&1";
  if (std::system(("(" + script).c_str()) != 0) return false;
  pki.good_sha256 = file_sha256(pki.dir / "good.pem");
  pki.other_sha256 = file_sha256(pki.dir / "other.pem");
  return pki.good_sha256.size() == 64 && pki.other_sha256.size() == 64;
}

test_pki* pki = nullptr;

// ---- streams of known bytes ----

// Byte `offset + i` of the stream `seed` (the same bytes as pattern() below), so a sender and
// a receiver can agree on 64 MiB without either holding it whole.
void fill_pattern(char* out, std::size_t n, std::uint64_t offset, unsigned seed) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t at = offset + i;
    out[i] = static_cast<char>((at * 31 + at / 251 + seed) & 0xff);
  }
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  fill_pattern(s.data(), n, 0, seed);
  return s;
}

// FNV-1a, 64 bits: order-sensitive, enough to tell a lost, doubled or swapped chunk.
class checksum {
 public:
  void add(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) hash_ = (hash_ ^ p[i]) * 1099511628211ull;
    size_ += n;
  }
  std::uint64_t hash() const { return hash_; }
  std::uint64_t size() const { return size_; }

 private:
  std::uint64_t hash_ = 14695981039346656037ull;
  std::uint64_t size_ = 0;
};

template <class Socket>
void set_socket_buffers(Socket& s, int bytes) {
  s.set_option(asio::socket_base::send_buffer_size(bytes));
  s.set_option(asio::socket_base::receive_buffer_size(bytes));
}

// ---- the upstream "mail server" ----

// Accepts TCP connections on 127.0.0.1 and runs `script` for each on its own thread with a
// blocking socket. Counts connections, so a test can prove nothing was connected. A nonzero
// `socket_buffer` sets SO_SNDBUF and SO_RCVBUF of the accepted sockets (on the listener, so the
// window scale offered in the handshake fits), keeping what the kernel buffers small and known.
class upstream_peer {
 public:
  using script = std::function<void(tcp::socket&)>;

  explicit upstream_peer(script s, int socket_buffer = 0) : script_(std::move(s)), acceptor_(io_) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    if (socket_buffer > 0) set_socket_buffers(acceptor_, socket_buffer);
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~upstream_peer() {
    io_.stop();
    thread_.join();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& s : sockets_) ::shutdown(s->native_handle(), SHUT_RDWR);
    }
    for (auto& t : scripts_) t.join();
  }

  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

  // Waits until every script has returned (the bridge closed its side, or the script ended).
  bool wait_scripts_done(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (finished_.load() == accepted_.load()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

 private:
  void do_accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec) return;
      ++accepted_;
      auto s = std::make_shared<tcp::socket>(std::move(socket));
      {
        std::lock_guard<std::mutex> lock(mutex_);
        sockets_.push_back(s);
        scripts_.emplace_back([this, s] {
          script_(*s);
          ::shutdown(s->native_handle(), SHUT_RDWR);  // the script's end is the server's close
          ++finished_;
        });
      }
      do_accept();
    });
  }

  script script_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<int> finished_{0};
  std::mutex mutex_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> scripts_;
  std::thread thread_;
};

// Reads until EOF or error; true when the peer saw a clean EOF.
template <class Stream>
bool drain(Stream& s) {
  char buf[4096];
  error_code ec;
  while (!ec) s.read_some(asio::buffer(buf), ec);
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

template <class Stream>
void echo(Stream& s) {
  char buf[16384];
  for (;;) {
    error_code ec;
    const std::size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) return;
    asio::write(s, asio::buffer(buf, n), ec);
    if (ec) return;
  }
}

std::unique_ptr<asio::ssl::context> server_tls(const std::string& name) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->use_certificate_chain_file((pki->dir / (name + ".pem")).string());
  ctx->use_private_key_file((pki->dir / (name + ".key")).string(), asio::ssl::context::pem);
  return ctx;
}

// ---- the page's side ----

struct client {
  asio::io_context io;
  websocket::stream<tcp::socket> ws{io};
  std::string subprotocol;  // what the server answered
};

// The page over wss: TLS to the proxy, verified against the test CA as "localhost".
struct tls_client {
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  websocket::stream<asio::ssl::stream<tcp::socket>> ws{io, tls};
  std::string subprotocol;
};

// ---- fixture: the in-process HTTP server that hands upgrades to the bridge ----

class Bridge : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static test_pki made;
    if (made.good_sha256.empty()) {
      ASSERT_TRUE(make_pki(made)) << "openssl failed";
    }
    pki = &made;
  }
  static void TearDownTestSuite() {
    if (pki) {
      std::error_code ignored;
      fs::remove_all(pki->dir, ignored);
      *pki = {};
    }
  }

  void SetUp() override {
    ::alarm(30);  // a hung test kills the run instead of blocking CI forever
    upstream_tls_.load_verify_file((pki->dir / "ca.pem").string());
  }

  void TearDown() override {
    if (thread_.joinable()) {
      io_.stop();
      thread_.join();
    }
    ::alarm(0);
  }

  static limits fast_limits() {
    limits l;
    l.connect_timeout = std::chrono::seconds(5);
    return l;
  }

  // `front_tls_` (wss) and `socket_buffer_` (the proxy's accepted sockets) apply when set
  // before this.
  void start(limits l = fast_limits()) {
    registry_ = std::make_unique<registry>(l);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    if (socket_buffer_ > 0) set_socket_buffers(acceptor_, socket_buffer_);
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  void allow(const std::string& rule_text) {
    allow_rule rule;
    ASSERT_TRUE(parse_allow_rule(rule_text, rule)) << rule_text;
    policy_.add_exception(rule);
  }

  context bridge_context() {
    context ctx;
    ctx.policy = &policy_;
    ctx.bridges = registry_.get();
    ctx.upstream_tls = &upstream_tls_;
    ctx.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mutex_);
      log_.push_back(line);
    };
    return ctx;
  }

  void do_accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](error_code ec, tcp::socket socket) {
      if (ec) return;
      if (front_tls_) {
        accept_tls(std::move(socket));
      } else {
        accept_plain(std::move(socket));
      }
      do_accept();
    });
  }

  void accept_plain(tcp::socket socket) {
    struct pending {
      beast::tcp_stream stream;
      beast::flat_buffer buffer;
      request req;
    };
    auto p = std::make_shared<pending>(pending{beast::tcp_stream(std::move(socket)), {}, {}});
    http::async_read(p->stream, p->buffer, p->req, [this, p](error_code e, std::size_t) {
      if (e) return;
      std::string session(p->req["X-Test-Session"]);
      run(std::move(p->stream), std::move(p->req), std::move(session), bridge_context());
    });
  }

  void accept_tls(tcp::socket socket) {
    struct pending {
      beast::ssl_stream<beast::tcp_stream> stream;
      beast::flat_buffer buffer;
      request req;
    };
    auto p = std::make_shared<pending>(pending{
        beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *front_tls_),
        {},
        {}});
    p->stream.async_handshake(asio::ssl::stream_base::server, [this, p](error_code ec) {
      if (ec) return;
      http::async_read(p->stream, p->buffer, p->req, [this, p](error_code e, std::size_t) {
        if (e) return;
        std::string session(p->req["X-Test-Session"]);
        run(std::move(p->stream), std::move(p->req), std::move(session), bridge_context());
      });
    });
  }

  // A nonzero `socket_buffer` sets the client socket's SO_SNDBUF and SO_RCVBUF before it
  // connects.
  std::unique_ptr<client> connect(const std::string& session = "s1", bool offer = true,
                                  int socket_buffer = 0) {
    auto c = std::make_unique<client>();
    auto& socket = c->ws.next_layer();
    socket.open(tcp::v4());
    if (socket_buffer > 0) set_socket_buffers(socket, socket_buffer);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    c->subprotocol = upgrade(c->ws, session, offer, "127.0.0.1");
    return c;
  }

  std::unique_ptr<tls_client> connect_tls(const std::string& session = "s1") {
    auto c = std::make_unique<tls_client>();
    c->tls.load_verify_file((pki->dir / "ca.pem").string());
    auto& tls = c->ws.next_layer();
    tls.set_verify_mode(asio::ssl::verify_peer);
    tls.set_verify_callback(asio::ssl::host_name_verification("localhost"));
    SSL_set_tlsext_host_name(tls.native_handle(), "localhost");
    tls.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    tls.handshake(asio::ssl::stream_base::client);
    c->subprotocol = upgrade(c->ws, session, /*offer=*/true, "localhost");
    return c;
  }

  // The WebSocket handshake; returns the subprotocol the server chose.
  template <class Ws>
  static std::string upgrade(Ws& ws, const std::string& session, bool offer,
                             const std::string& host) {
    ws.set_option(websocket::stream_base::decorator([session, offer](websocket::request_type& req) {
      req.set("X-Test-Session", session);
      if (offer) req.set(http::field::sec_websocket_protocol, "chat, junction-bridge.v1");
    }));
    websocket::response_type res;
    ws.handshake(res, host, "/bridge");
    return std::string(res[http::field::sec_websocket_protocol]);
  }

  template <class C>
  static void send_text(C& c, const json& j) {
    c.ws.text(true);
    c.ws.write(asio::buffer(j.dump()));
  }
  template <class C>
  static void send_binary(C& c, const std::string& bytes) {
    c.ws.binary(true);
    c.ws.write(asio::buffer(bytes));
  }
  template <class C>
  static json read_text(C& c) {
    beast::flat_buffer b;
    c.ws.read(b);
    EXPECT_TRUE(c.ws.got_text());
    return json::parse(beast::buffers_to_string(b.data()), nullptr, false);
  }
  template <class C>
  static std::string read_binary(C& c) {
    beast::flat_buffer b;
    c.ws.read(b);
    EXPECT_TRUE(c.ws.got_binary());
    return beast::buffers_to_string(b.data());
  }
  // Reads exactly n relayed bytes, however the bridge chunked them.
  template <class C>
  static std::string read_bytes(C& c, std::size_t n) {
    std::string out;
    while (out.size() < n) out += read_binary(c);
    return out;
  }
  // The next read must find the close; returns its code.
  template <class C>
  static int read_close(C& c) {
    beast::flat_buffer b;
    error_code ec;
    c.ws.read(b, ec);
    EXPECT_EQ(ec, websocket::error::closed) << ec.message();
    return c.ws.reason().code;
  }

  static json open_frame(const std::string& host, int port, const std::string& tls = "none") {
    return json{{"op", "open"}, {"host", host}, {"port", port}, {"tls", tls}};
  }

  // Opens a bridge and expects an error with `code`, then the close with `close_code`.
  json expect_error(const json& open, const std::string& code, int close_code) {
    auto c = connect();
    send_text(*c, open);
    json answer = read_text(*c);
    EXPECT_EQ(answer.value("op", ""), "error") << answer.dump();
    EXPECT_EQ(answer.value("code", ""), code) << answer.dump();
    EXPECT_EQ(read_close(*c), close_code);
    return answer;
  }

  bool wait_released(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (registry_->total() == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  std::vector<std::string> log_lines() {
    std::lock_guard<std::mutex> lock(log_mutex_);
    return log_;
  }

  std::string port_text(std::uint16_t p) { return std::to_string(p); }

  // Destroyed after the server's io_context (declared later), which may still hold bridges.
  egress_policy policy_;
  std::unique_ptr<registry> registry_;
  asio::ssl::context upstream_tls_{asio::ssl::context::tls_client};
  std::unique_ptr<asio::ssl::context> front_tls_;  // set: the proxy speaks wss
  int socket_buffer_ = 0;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(Bridge, PlainRelayBothWaysAndClientCloseEndsUpstream) {
  std::atomic<bool> saw_eof{false};
  upstream_peer peer([&](tcp::socket& s) {
    asio::write(s, asio::buffer(std::string("+OK hello\r\n")));
    char buf[64];
    std::size_t n = asio::read(s, asio::buffer(buf, 6));  // "USER a"
    asio::write(s, asio::buffer(buf, n));
    saw_eof = drain(s);
  });
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect();
  EXPECT_EQ(c->subprotocol, "junction-bridge.v1");
  send_text(*c, open_frame("127.0.0.1", peer.port()));
  const json opened = read_text(*c);
  EXPECT_EQ(opened["op"], "opened");
  EXPECT_EQ(opened["address"], "127.0.0.1:" + port_text(peer.port()));
  EXPECT_TRUE(opened["tls"].is_null());
  EXPECT_EQ(read_bytes(*c, 11), "+OK hello\r\n");
  send_binary(*c, "USER a");
  EXPECT_EQ(read_bytes(*c, 6), "USER a");
  c->ws.close(websocket::close_code::normal);
  EXPECT_TRUE(peer.wait_scripts_done());
  EXPECT_TRUE(saw_eof);
  EXPECT_TRUE(wait_released());
  const auto lines = log_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("127.0.0.1:" + port_text(peer.port())), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("6 bytes to the server, 17 bytes to the client"), std::string::npos)
      << lines[1];
  for (const auto& l : lines) {
    EXPECT_EQ(l.find("USER a"), std::string::npos) << l;  // never payload
    EXPECT_EQ(l.find("s1"), std::string::npos) << l;      // never the session
  }
}

TEST_F(Bridge, NoSubprotocolWhenNotOffered) {
  start();
  auto c = connect("s1", /*offer=*/false);
  EXPECT_EQ(c->subprotocol, "");
}

TEST_F(Bridge, FiveMegabytesEachWayArriveIntact) {
  constexpr std::size_t size = 5 << 20;
  std::atomic<bool> upstream_intact{false};
  upstream_peer peer([&](tcp::socket& s) {
    std::string got(size, '\0');
    error_code ec;
    asio::read(s, asio::buffer(got), ec);
    upstream_intact = !ec && got == pattern(size, 1);
    asio::write(s, asio::buffer(pattern(size, 2)), ec);
  });
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect();
  send_text(*c, open_frame("127.0.0.1", peer.port()));
  ASSERT_EQ(read_text(*c)["op"], "opened");
  const std::string up = pattern(size, 1);
  for (std::size_t at = 0; at < size; at += 100000) {
    send_binary(*c, up.substr(at, 100000));
  }
  const std::string down = read_bytes(*c, size);
  EXPECT_TRUE(down == pattern(size, 2));
  EXPECT_EQ(read_close(*c), 1000);  // the server closed after sending: a normal close
  EXPECT_TRUE(peer.wait_scripts_done());
  EXPECT_TRUE(upstream_intact);
  EXPECT_TRUE(wait_released());
}

TEST_F(Bridge, StartTlsThenRelayOverTls) {
  auto tls = server_tls("good");
  std::atomic<bool> tls_echo_done{false};
  upstream_peer peer([&](tcp::socket& s) {
    error_code ec;
    asio::write(s, asio::buffer(std::string("+OK ready\r\n")), ec);
    std::string line;
    asio::read_until(s, asio::dynamic_buffer(line), "\r\n", ec);
    if (line != "STLS\r\n") return;
    asio::write(s, asio::buffer(std::string("+OK begin TLS\r\n")), ec);
    asio::ssl::stream<tcp::socket&> t(s, *tls);
    t.handshake(asio::ssl::stream_base::server, ec);
    if (ec) return;
    echo(t);
    tls_echo_done = true;
  });
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect();
  send_text(*c, open_frame("127.0.0.1", peer.port()));
  ASSERT_EQ(read_text(*c)["op"], "opened");
  EXPECT_EQ(read_bytes(*c, 11), "+OK ready\r\n");
  send_binary(*c, "STLS\r\n");
  EXPECT_EQ(read_bytes(*c, 15), "+OK begin TLS\r\n");
  send_text(*c, json{{"op", "starttls"}});
  const json answer = read_text(*c);
  EXPECT_EQ(answer["op"], "tls") << answer.dump();
  EXPECT_EQ(answer["verified"], true);
  EXPECT_EQ(answer["cert_sha256"], pki->good_sha256);
  EXPECT_EQ(answer["version"].get<std::string>().rfind("TLSv1.", 0), 0u);
  send_binary(*c, "CAPA\r\n");
  EXPECT_EQ(read_bytes(*c, 6), "CAPA\r\n");
  // A second starttls is a client error.
  send_text(*c, json{{"op", "starttls"}});
  const json second = read_text(*c);
  EXPECT_EQ(second["code"], "bad_request");
  EXPECT_EQ(read_close(*c), 1008);
  EXPECT_TRUE(peer.wait_scripts_done());
  EXPECT_TRUE(tls_echo_done);
  EXPECT_TRUE(wait_released());
}

TEST_F(Bridge, ImplicitTlsVerifiedByName) {
  auto tls = server_tls("good");
  upstream_peer peer([&](tcp::socket& s) {
    asio::ssl::stream<tcp::socket&> t(s, *tls);
    error_code ec;
    t.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) echo(t);
  });
  start();
  allow("localhost:" + port_text(peer.port()));
  auto c = connect();
  send_text(*c, open_frame("localhost", peer.port(), "implicit"));
  const json opened = read_text(*c);
  ASSERT_EQ(opened["op"], "opened") << opened.dump();
  EXPECT_EQ(opened["address"], "127.0.0.1:" + port_text(peer.port()));
  EXPECT_EQ(opened["tls"]["verified"], true);
  EXPECT_EQ(opened["tls"]["pinned"], false);
  EXPECT_EQ(opened["tls"]["cert_sha256"], pki->good_sha256);
  EXPECT_FALSE(opened["tls"]["cipher"].get<std::string>().empty());
  send_binary(*c, "a1 NOOP\r\n");
  EXPECT_EQ(read_bytes(*c, 9), "a1 NOOP\r\n");
  c->ws.close(websocket::close_code::normal);
  EXPECT_TRUE(peer.wait_scripts_done());
  EXPECT_TRUE(wait_released());
}

TEST_F(Bridge, ImplicitTlsForAnotherHostIsTlsVerify) {
  auto tls = server_tls("other");  // made for mail.example.test, not 127.0.0.1
  upstream_peer peer([&](tcp::socket& s) {
    asio::ssl::stream<tcp::socket&> t(s, *tls);
    error_code ec;
    t.handshake(asio::ssl::stream_base::server, ec);
  });
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  const json e = expect_error(open_frame("127.0.0.1", peer.port(), "implicit"), "tls_verify", 1011);
  EXPECT_NE(e["message"].get<std::string>().find("mismatch"), std::string::npos) << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find(pki->other_sha256), std::string::npos);
  EXPECT_TRUE(wait_released());
}

TEST_F(Bridge, PinnedCertificateIsTrustedWhateverItsName) {
  auto tls = server_tls("other");
  upstream_peer peer([&](tcp::socket& s) {
    asio::ssl::stream<tcp::socket&> t(s, *tls);
    error_code ec;
    t.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) echo(t);
  });
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect();
  json open = open_frame("127.0.0.1", peer.port(), "implicit");
  std::string upper = pki->other_sha256;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  open["pin_sha256"] = upper;
  send_text(*c, open);
  const json opened = read_text(*c);
  ASSERT_EQ(opened["op"], "opened") << opened.dump();
  EXPECT_EQ(opened["tls"]["pinned"], true);
  EXPECT_EQ(opened["tls"]["verified"], false);  // the name does not match; the pin does
  send_binary(*c, "x");
  EXPECT_EQ(read_bytes(*c, 1), "x");
}

TEST_F(Bridge, PinMismatchIsTlsVerifyEvenForATrustedCertificate) {
  auto tls = server_tls("good");
  upstream_peer peer([&](tcp::socket& s) {
    asio::ssl::stream<tcp::socket&> t(s, *tls);
    error_code ec;
    t.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) drain(t);
  });
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  json open = open_frame("127.0.0.1", peer.port(), "implicit");
  open["pin_sha256"] = std::string(64, '0');
  const json e = expect_error(open, "tls_verify", 1011);
  EXPECT_NE(e["message"].get<std::string>().find("pinned"), std::string::npos) << e.dump();
  EXPECT_TRUE(peer.wait_scripts_done());
}

TEST_F(Bridge, LoopbackWithoutExceptionIsDeniedAndNothingConnects) {
  upstream_peer peer([](tcp::socket& s) { drain(s); });
  policy_.set_allowed_ports({peer.port()});  // the port is fine; the address is not
  start();
  const json e = expect_error(open_frame("127.0.0.1", peer.port()), "egress_denied", 1008);
  const auto message = e["message"].get<std::string>();
  EXPECT_NE(message.find("127.0.0.1:" + port_text(peer.port())), std::string::npos) << message;
  EXPECT_NE(message.find("internal address"), std::string::npos) << message;
  EXPECT_EQ(peer.accepted(), 0);
  EXPECT_TRUE(wait_released());
}

TEST_F(Bridge, InternalTargetsAreDenied) {
  start();
  for (const char* host :
       {"10.0.0.1", "169.254.169.254", "[::1]", "::ffff:127.0.0.1", "localhost", "0.0.0.0"}) {
    const json e = expect_error(open_frame(host, 993), "egress_denied", 1008);
    EXPECT_NE(e["message"].get<std::string>().find("internal address"), std::string::npos)
        << host << ": " << e.dump();
  }
  const json local = expect_error(open_frame("localhost", 993), "egress_denied", 1008);
  EXPECT_NE(local["message"].get<std::string>().find("localhost resolves to 127.0.0.1"),
            std::string::npos)
      << local.dump();
  EXPECT_TRUE(wait_released());
}

// The policy sees resolved addresses: every inet_aton spelling of 127.0.0.1 is refused.
TEST_F(Bridge, NumericSpellingsOfLoopbackAreDeniedAndNothingConnects) {
  upstream_peer peer([](tcp::socket& s) { drain(s); });
  policy_.set_allowed_ports({peer.port()});
  start();
  for (const char* host : {"2130706433", "0x7f000001", "0177.0.0.1", "127.1", "017700000001"}) {
    const json e = expect_error(open_frame(host, peer.port()), "egress_denied", 1008);
    EXPECT_NE(e["message"].get<std::string>().find("127.0.0.1 is an internal address"),
              std::string::npos)
        << host << ": " << e.dump();
  }
  EXPECT_EQ(peer.accepted(), 0);
  EXPECT_TRUE(wait_released());
}

// F13: a zone id is refused in the open frame, and the client's text never reaches the log.
TEST_F(Bridge, ZoneIdsAreBadRequestsAndTheLogCarriesNoClientText) {
  start();
  for (const char* host : {"2606:4700::1111%1", "[2606:4700::1111%1]", "fe80::1%eth0",
                           "2001:db8::1%\nFAKE LOG LINE"}) {
    const json frame = {{"op", "open"}, {"host", host}, {"port", 993}, {"tls", "implicit"}};
    const json e = expect_error(frame, "bad_request", 1008);
    EXPECT_NE(e["message"].get<std::string>().find("zone id"), std::string::npos) << e.dump();
  }
  EXPECT_TRUE(wait_released());
  for (const auto& line : log_lines()) {
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_EQ(line.find("FAKE"), std::string::npos) << line;
  }
}

TEST_F(Bridge, PortOutsideTheListIsDenied) {
  start();
  const json e = expect_error(open_frame("192.0.2.10", 8080), "egress_denied", 1008);
  EXPECT_NE(e["message"].get<std::string>().find("port 8080 is not allowed"), std::string::npos)
      << e.dump();
}

TEST_F(Bridge, RefusedPort) {
  std::uint16_t closed_port = 0;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = a.local_endpoint().port();
  }
  start();
  allow("127.0.0.1:" + port_text(closed_port));
  const json e = expect_error(open_frame("127.0.0.1", closed_port), "refused", 1011);
  EXPECT_NE(e["message"].get<std::string>().find("127.0.0.1:" + port_text(closed_port)),
            std::string::npos);
}

TEST_F(Bridge, UnknownNameIsDns) {
  start();
  expect_error(open_frame("no-such-host.invalid", 993), "dns", 1011);
}

TEST_F(Bridge, MalformedOpenIsBadRequest) {
  start();
  const std::vector<std::string> frames = {
      "{not json",
      "[]",
      R"({"host":"a.example","port":993,"tls":"none"})",
      R"({"op":"starttls"})",
      R"({"op":"open","host":"","port":993,"tls":"none"})",
      R"({"op":"open","host":"a b","port":993,"tls":"none"})",
      R"({"op":"open","host":"[nope]","port":993,"tls":"none"})",
      R"({"op":"open","host":"a.example","port":0,"tls":"none"})",
      R"({"op":"open","host":"a.example","port":65536,"tls":"none"})",
      R"({"op":"open","host":"a.example","port":"993","tls":"none"})",
      R"({"op":"open","host":"a.example","port":993,"tls":"maybe"})",
      R"({"op":"open","host":"a.example","port":993})",
      R"({"op":"open","host":"a.example","port":993,"tls":"implicit","pin_sha256":"abc"})",
      R"({"op":"open","host":")" + std::string(254, 'a') + R"(","port":993,"tls":"none"})",
  };
  for (const auto& f : frames) {
    auto c = connect();
    c->ws.text(true);
    c->ws.write(asio::buffer(f));
    const json e = read_text(*c);
    EXPECT_EQ(e.value("code", ""), "bad_request") << f << " → " << e.dump();
    EXPECT_EQ(read_close(*c), 1008) << f;
  }
  // A binary first frame.
  auto c = connect();
  send_binary(*c, "USER a\r\n");
  EXPECT_EQ(read_text(*c).value("code", ""), "bad_request");
  EXPECT_EQ(read_close(*c), 1008);
  EXPECT_TRUE(wait_released());
}

TEST_F(Bridge, OversizeFrameEndsTheBridgeCleanly) {
  std::atomic<bool> saw_eof{false};
  upstream_peer peer([&](tcp::socket& s) { saw_eof = drain(s); });
  limits l = fast_limits();
  l.max_frame = 1024;
  start(l);
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect();
  send_text(*c, open_frame("127.0.0.1", peer.port()));
  ASSERT_EQ(read_text(*c)["op"], "opened");
  send_binary(*c, std::string(1024, 'a'));  // at the limit: relayed
  send_binary(*c, std::string(1025, 'b'));
  EXPECT_EQ(read_close(*c), 1009);  // message too big
  EXPECT_TRUE(peer.wait_scripts_done());
  EXPECT_TRUE(saw_eof);
  EXPECT_TRUE(wait_released());
}

TEST_F(Bridge, SilentUpstreamTimesOut) {
  upstream_peer peer([](tcp::socket& s) { drain(s); });
  limits l = fast_limits();
  l.idle_timeout = std::chrono::seconds(1);
  start(l);
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect();
  send_text(*c, open_frame("127.0.0.1", peer.port()));
  ASSERT_EQ(read_text(*c)["op"], "opened");
  const auto began = std::chrono::steady_clock::now();
  const json e = read_text(*c);
  EXPECT_EQ(e["code"], "timeout") << e.dump();
  EXPECT_GE(std::chrono::steady_clock::now() - began, std::chrono::milliseconds(900));
  EXPECT_EQ(read_close(*c), 1011);
  EXPECT_TRUE(peer.wait_scripts_done());
  EXPECT_TRUE(wait_released());
}

TEST_F(Bridge, PerSessionLimit) {
  upstream_peer peer([](tcp::socket& s) { drain(s); });
  limits l = fast_limits();
  l.per_session = 1;
  start(l);
  allow("127.0.0.1:" + port_text(peer.port()));
  auto first = connect("s1");
  send_text(*first, open_frame("127.0.0.1", peer.port()));
  ASSERT_EQ(read_text(*first)["op"], "opened");

  auto second = connect("s1");
  const json e = read_text(*second);
  EXPECT_EQ(e["code"], "limit") << e.dump();
  EXPECT_EQ(read_close(*second), 1008);

  auto other_session = connect("s2");
  send_text(*other_session, open_frame("127.0.0.1", peer.port()));
  EXPECT_EQ(read_text(*other_session)["op"], "opened");
  EXPECT_EQ(registry_->total(), 2u);

  first->ws.close(websocket::close_code::normal);
  other_session->ws.close(websocket::close_code::normal);
  EXPECT_TRUE(wait_released());
  auto again = connect("s1");  // the slot came back
  send_text(*again, open_frame("127.0.0.1", peer.port()));
  EXPECT_EQ(read_text(*again)["op"], "opened");
}

TEST_F(Bridge, UpstreamEofIsANormalClose) {
  upstream_peer peer([](tcp::socket& s) {
    asio::write(s, asio::buffer(std::string("+OK bye\r\n")));
    s.shutdown(tcp::socket::shutdown_send);
    drain(s);
  });
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect();
  send_text(*c, open_frame("127.0.0.1", peer.port()));
  ASSERT_EQ(read_text(*c)["op"], "opened");
  EXPECT_EQ(read_bytes(*c, 9), "+OK bye\r\n");
  EXPECT_EQ(read_close(*c), 1000);
  EXPECT_TRUE(peer.wait_scripts_done());
  EXPECT_TRUE(wait_released());
}

// ---- backpressure, wss and a vanishing client ----

// What the bridge may hold in flight besides the kernel's buffers is one frame each way; the
// sockets the test controls use small buffers, the bridge's upstream socket keeps the kernel's
// autotuning (up to net.ipv4.tcp_wmem / tcp_rmem's maximum: with Debian's 4 MiB send maximum,
// about 0.6-2.2 MiB got ahead downstream and 4.2 MiB upstream). A bridge reading ahead of its
// slower side would let the fast side move all 64 MiB during the stall.
constexpr std::uint64_t big_transfer = 64 << 20;
constexpr std::uint64_t stall_bound = 16 << 20;
constexpr int small_buffer = 64 << 10;
constexpr auto stall = std::chrono::seconds(2);

TEST_F(Bridge, SlowClientHoldsBackTheUpstream) {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> sent_hash{0};
  upstream_peer peer(
      [&](tcp::socket& s) {
        std::vector<char> chunk(16 << 10);
        checksum sum;
        error_code ec;
        for (std::uint64_t at = 0; at < big_transfer; at += chunk.size()) {
          fill_pattern(chunk.data(), chunk.size(), at, 3);
          asio::write(s, asio::buffer(chunk), ec);
          if (ec) return;
          sum.add(chunk.data(), chunk.size());
          sent = at + chunk.size();
        }
        sent_hash = sum.hash();
      },
      small_buffer);
  socket_buffer_ = small_buffer;
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect("s1", true, small_buffer);
  send_text(*c, open_frame("127.0.0.1", peer.port()));
  ASSERT_EQ(read_text(*c)["op"], "opened");

  checksum received;
  beast::flat_buffer b;
  c->ws.read(b);
  received.add(b.data().data(), b.size());
  std::this_thread::sleep_for(stall);  // the page stops reading
  const std::uint64_t sent_in_stall = sent.load();
  RecordProperty("upstream_bytes_ahead_of_client", std::to_string(sent_in_stall - received.size()));
  EXPECT_LT(sent_in_stall, big_transfer);
  EXPECT_LT(sent_in_stall - received.size(), stall_bound)
      << "the upstream wrote " << sent_in_stall << " bytes while the client had read "
      << received.size();

  while (received.size() < big_transfer) {
    b.clear();
    error_code ec;
    c->ws.read(b, ec);
    ASSERT_FALSE(ec) << ec.message() << " after " << received.size() << " bytes";
    ASSERT_TRUE(c->ws.got_binary());
    received.add(b.data().data(), b.size());
  }
  EXPECT_EQ(read_close(*c), 1000);  // the server ended after its last byte
  EXPECT_TRUE(peer.wait_scripts_done());
  EXPECT_EQ(received.size(), big_transfer);
  EXPECT_EQ(received.hash(), sent_hash.load());
  EXPECT_TRUE(wait_released());
}

TEST_F(Bridge, StalledUpstreamHoldsBackTheClient) {
  std::atomic<bool> upstream_reads{false};
  std::atomic<std::uint64_t> upstream_got{0};
  std::atomic<std::uint64_t> upstream_hash{0};
  std::atomic<bool> saw_eof{false};
  upstream_peer peer(
      [&](tcp::socket& s) {
        // Bounded, so a test that gives up early cannot leave this thread waiting forever.
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!upstream_reads && std::chrono::steady_clock::now() < give_up) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        std::vector<char> buf(64 << 10);
        checksum sum;
        error_code ec;
        for (;;) {
          const std::size_t n = s.read_some(asio::buffer(buf), ec);
          if (ec) break;
          sum.add(buf.data(), n);
        }
        upstream_got = sum.size();
        upstream_hash = sum.hash();
        saw_eof = ec == asio::error::eof;
      },
      small_buffer);
  socket_buffer_ = small_buffer;
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect("s1", true, small_buffer);
  send_text(*c, open_frame("127.0.0.1", peer.port()));
  ASSERT_EQ(read_text(*c)["op"], "opened");

  // Blocking writes on their own thread; the stream is not touched elsewhere until the join.
  std::atomic<std::uint64_t> written{0};
  checksum sent;
  error_code write_error;
  std::thread writer([&] {
    std::vector<char> chunk(64 << 10);
    c->ws.binary(true);
    for (std::uint64_t at = 0; at < big_transfer; at += chunk.size()) {
      fill_pattern(chunk.data(), chunk.size(), at, 4);
      c->ws.write(asio::buffer(chunk), write_error);
      if (write_error) return;
      sent.add(chunk.data(), chunk.size());
      written = at + chunk.size();
    }
  });
  std::this_thread::sleep_for(stall);  // the server reads nothing
  const std::uint64_t written_in_stall = written.load();
  upstream_reads = true;
  writer.join();
  RecordProperty("client_bytes_written_in_stall", std::to_string(written_in_stall));
  EXPECT_LT(written_in_stall, stall_bound)
      << "the client wrote " << written_in_stall << " bytes while the server read none";
  ASSERT_FALSE(write_error) << write_error.message();
  EXPECT_EQ(written.load(), big_transfer);
  c->ws.close(websocket::close_code::normal);
  EXPECT_TRUE(peer.wait_scripts_done());
  EXPECT_TRUE(saw_eof);
  EXPECT_EQ(upstream_got.load(), big_transfer);
  EXPECT_EQ(upstream_hash.load(), sent.hash());
  EXPECT_TRUE(wait_released());
}

TEST_F(Bridge, SecureWebSocketRelaysBothWays) {
  std::atomic<bool> saw_eof{false};
  upstream_peer peer([&](tcp::socket& s) {
    error_code ec;
    asio::write(s, asio::buffer(std::string("* OK ready\r\n")), ec);
    char buf[16384];
    for (;;) {
      const std::size_t n = s.read_some(asio::buffer(buf), ec);
      if (ec) break;
      asio::write(s, asio::buffer(buf, n), ec);
      if (ec) break;
    }
    saw_eof = ec == asio::error::eof;
  });
  front_tls_ = server_tls("good");
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect_tls();
  EXPECT_EQ(c->subprotocol, "junction-bridge.v1");
  send_text(*c, open_frame("127.0.0.1", peer.port()));
  const json opened = read_text(*c);
  ASSERT_EQ(opened["op"], "opened") << opened.dump();
  EXPECT_EQ(opened["address"], "127.0.0.1:" + port_text(peer.port()));
  EXPECT_TRUE(opened["tls"].is_null());  // the upstream is plain; only the page side is TLS
  EXPECT_EQ(read_bytes(*c, 12), "* OK ready\r\n");
  send_binary(*c, "a1 CAPABILITY\r\n");
  EXPECT_EQ(read_bytes(*c, 15), "a1 CAPABILITY\r\n");
  const std::string large = pattern(300000, 5);  // several TLS records, several frames back
  send_binary(*c, large);
  EXPECT_TRUE(read_bytes(*c, large.size()) == large);
  c->ws.close(websocket::close_code::normal);
  EXPECT_TRUE(peer.wait_scripts_done());
  EXPECT_TRUE(saw_eof);
  EXPECT_TRUE(wait_released());
  const auto lines = log_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("(the client closed the bridge)"), std::string::npos) << lines[1];
}

TEST_F(Bridge, ClientVanishingMidTransferClosesUpstreamAndFreesTheSlot) {
  std::atomic<bool> upstream_write_failed{false};
  upstream_peer peer(
      [&](tcp::socket& s) {
        const std::vector<char> chunk(64 << 10, 'x');
        error_code ec;
        for (std::uint64_t at = 0; at < big_transfer && !ec; at += chunk.size()) {
          asio::write(s, asio::buffer(chunk), ec);
        }
        upstream_write_failed = static_cast<bool>(ec);  // the bridge closed before the end
      },
      small_buffer);
  socket_buffer_ = small_buffer;
  start();
  allow("127.0.0.1:" + port_text(peer.port()));
  auto c = connect("s1", true, small_buffer);
  send_text(*c, open_frame("127.0.0.1", peer.port()));
  ASSERT_EQ(read_text(*c)["op"], "opened");
  read_bytes(*c, 1 << 20);
  EXPECT_EQ(registry_->total(), 1u);
  c->ws.next_layer().close();  // TCP goes away without a WebSocket close
  EXPECT_TRUE(wait_released(std::chrono::seconds(1)));
  EXPECT_TRUE(peer.wait_scripts_done(std::chrono::seconds(1)));
  EXPECT_TRUE(upstream_write_failed);
  const auto lines = log_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("(the WebSocket ended: "), std::string::npos) << lines[1];
}

TEST(BridgeRegistry, CountsPerSessionAndInTotal) {
  limits l;
  l.per_session = 2;
  l.total = 3;
  registry r(l);
  EXPECT_TRUE(r.try_acquire("a"));
  EXPECT_TRUE(r.try_acquire("a"));
  EXPECT_FALSE(r.try_acquire("a"));
  EXPECT_TRUE(r.try_acquire("b"));
  EXPECT_FALSE(r.try_acquire("c"));  // total reached
  EXPECT_EQ(r.total(), 3u);
  r.release("a");
  EXPECT_TRUE(r.try_acquire("c"));
  r.release("unknown");  // never acquired: ignored
  EXPECT_EQ(r.total(), 3u);
}

}  // namespace
}  // namespace junction::bridge
