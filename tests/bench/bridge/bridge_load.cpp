// bridge_load: the client side of tests/bench/bridge/bridge_bench.sh (not part of the test
// suite). It speaks WebSocket to junction-proxy's /bridge or to websockify, or plain TCP to
// the upstream server directly (the ceiling), and measures one thing per run:
//
//   down  N bytes from the upstream to this client      result: seconds, MiB/s
//   up    N bytes from this client to the upstream      result: seconds, MiB/s
//   ping  round trips of small echo messages            result: median, p99 in microseconds
//   hold  COUNT bridges opened, checked, then left idle until standard input closes
//   signin  prints the Cookie value of a new session (junction)
//
// Synchronous Beast on one thread: the tool is the same for every relay, so a ratio compares
// the relays, and native masking keeps the client from being the bottleneck. upstream.py
// defines the first bytes sent on each connection ('D'/'U' + 8-byte count, or 'E').
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

struct options {
  std::string mode;   // down | up | ping | hold
  std::string relay;  // junction | websockify | tcp
  std::uint16_t relay_port = 0;
  std::uint16_t upstream_port = 0;
  std::string user = "bench";
  std::string password;
  std::string cookie;  // "junction_session=…" from an earlier `signin`; else signs in itself
  std::uint64_t bytes = 256ull << 20;
  std::size_t frame = 64 << 10;  // bytes per outgoing WebSocket message (up)
  std::size_t count = 2000;      // round trips (ping) or bridges (hold)
  std::size_t warmup = 100;      // round trips not counted (ping)
  std::size_t size = 64;         // bytes per echo message (ping)
  std::size_t per_session = 8;   // bridges per signed-in session (hold, junction)
};

[[noreturn]] void usage() {
  std::cerr << "usage: bridge_load MODE --relay junction|websockify|tcp --relay-port P "
               "--upstream-port U [--password PW] [--user NAME] [--bytes N] [--frame N] "
               "[--count N] [--warmup N] [--size N] [--per-session N]\n"
               "MODE: down | up | ping | hold | signin (prints the Cookie value)\n"
               "--cookie COOKIE uses an earlier sign-in instead of signing in again\n";
  std::exit(2);
}

std::uint64_t number(std::string_view flag, const char* text) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') {
    std::cerr << "bridge_load: " << flag << " needs a number, got " << text << "\n";
    std::exit(2);
  }
  return v;
}

options parse(int argc, char** argv) {
  if (argc < 2) usage();
  options o;
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (a == "--relay") {
      o.relay = v;
    } else if (a == "--relay-port") {
      o.relay_port = static_cast<std::uint16_t>(number(a, v));
    } else if (a == "--upstream-port") {
      o.upstream_port = static_cast<std::uint16_t>(number(a, v));
    } else if (a == "--user") {
      o.user = v;
    } else if (a == "--cookie") {
      o.cookie = v;
    } else if (a == "--password") {
      o.password = v;
    } else if (a == "--bytes") {
      o.bytes = number(a, v);
    } else if (a == "--frame") {
      o.frame = number(a, v);
    } else if (a == "--count") {
      o.count = number(a, v);
    } else if (a == "--warmup") {
      o.warmup = number(a, v);
    } else if (a == "--size") {
      o.size = number(a, v);
    } else if (a == "--per-session") {
      o.per_session = number(a, v);
    } else {
      usage();
    }
  }
  if (o.relay != "junction" && o.relay != "websockify" && o.relay != "tcp") usage();
  if (o.mode != "down" && o.mode != "up" && o.mode != "ping" && o.mode != "hold" &&
      o.mode != "signin") {
    usage();
  }
  if (o.frame == 0 || o.size == 0 || o.per_session == 0) usage();
  return o;
}

tcp::endpoint loopback(std::uint16_t port) {
  return {asio::ip::make_address_v4("127.0.0.1"), port};
}

// POST /api/session; returns "junction_session=TOKEN" for the Cookie header.
std::string sign_in(asio::io_context& ioc, const options& o) {
  tcp::socket socket(ioc);
  socket.connect(loopback(o.relay_port));
  http::request<http::string_body> req{http::verb::post, "/api/session", 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(o.relay_port));
  req.set(http::field::content_type, "application/json");
  // The proxy refuses a state-changing request without the page's Origin.
  req.set(http::field::origin, "http://127.0.0.1:" + std::to_string(o.relay_port));
  req.set(http::field::user_agent, "bridge_load");
  req.body() = "{\"username\":\"" + o.user + "\",\"password\":\"" + o.password +
               "\",\"device_name\":\"bridge bench\"}";
  req.prepare_payload();
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  if (res.result() != http::status::ok) {
    throw std::runtime_error("sign-in answered " + std::to_string(res.result_int()) + ": " +
                             res.body());
  }
  const std::string cookie(res[http::field::set_cookie]);
  const auto semicolon = cookie.find(';');
  if (cookie.empty()) throw std::runtime_error("sign-in set no cookie");
  return cookie.substr(0, semicolon);
}

// One relayed byte stream: a WebSocket through a relay, or a plain TCP connection.
class channel {
 public:
  virtual ~channel() = default;
  virtual void send(const char* data, std::size_t n) = 0;  // one message (WebSocket)
  virtual std::size_t receive() = 0;                       // bytes of one read; 0 at the end
  const std::vector<char>& last() const { return last_; }

 protected:
  std::vector<char> last_;  // the bytes of the last receive (only kept when small)
};

class tcp_channel final : public channel {
 public:
  tcp_channel(asio::io_context& ioc, std::uint16_t port) : socket_(ioc), buf_(1 << 20) {
    socket_.connect(loopback(port));
    socket_.set_option(tcp::no_delay(true));
  }
  void send(const char* data, std::size_t n) override {
    asio::write(socket_, asio::buffer(data, n));
  }
  std::size_t receive() override {
    beast::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(buf_), ec);
    if (ec == asio::error::eof) return 0;
    if (ec) throw beast::system_error(ec);
    if (n <= 16) last_.assign(buf_.data(), buf_.data() + n);
    return n;
  }

 private:
  tcp::socket socket_;
  std::vector<char> buf_;
};

class ws_channel final : public channel {
 public:
  // junction: a cookie and the open frame; websockify: the target is fixed on its command line.
  ws_channel(asio::io_context& ioc, const options& o, const std::string& cookie) : ws_(ioc) {
    auto& socket = beast::get_lowest_layer(ws_);
    socket.connect(loopback(o.relay_port));
    socket.set_option(tcp::no_delay(true));
    const std::string host = "127.0.0.1:" + std::to_string(o.relay_port);
    const std::string origin = "http://" + host;
    ws_.set_option(
        websocket::stream_base::decorator([origin, cookie](websocket::request_type& req) {
          req.set(http::field::origin, origin);
          req.set(http::field::user_agent, "bridge_load");
          if (!cookie.empty()) req.set(http::field::cookie, cookie);
        }));
    ws_.auto_fragment(false);
    ws_.read_message_max(64ull << 20);
    // Beast masks a client's payload through this buffer: the default 4 KiB would cut every
    // frame into 4 KiB socket writes.
    ws_.write_buffer_bytes(std::max<std::size_t>(o.frame, 4096));
    const bool junction = o.relay == "junction";
    ws_.handshake(host, junction ? "/bridge" : "/");
    if (junction) {
      ws_.text(true);
      ws_.write(asio::buffer(R"({"op":"open","host":"127.0.0.1","port":)" +
                             std::to_string(o.upstream_port) + R"(,"tls":"none"})"));
      beast::flat_buffer answer;
      ws_.read(answer);
      const std::string text = beast::buffers_to_string(answer.data());
      if (!ws_.got_text() || text.find(R"("op":"opened")") == std::string::npos) {
        throw std::runtime_error("the bridge did not open: " + text);
      }
    }
    ws_.binary(true);
  }
  void send(const char* data, std::size_t n) override { ws_.write(asio::buffer(data, n)); }
  std::size_t receive() override {
    beast::error_code ec;
    buf_.consume(buf_.size());
    const std::size_t n = ws_.read(buf_, ec);
    if (ec == websocket::error::closed) return 0;
    if (ec) throw beast::system_error(ec);
    if (!ws_.got_binary()) {
      throw std::runtime_error("unexpected text frame: " + beast::buffers_to_string(buf_.data()));
    }
    if (n <= 16) {
      const auto d = buf_.cdata();
      last_.assign(static_cast<const char*>(d.data()), static_cast<const char*>(d.data()) + n);
    }
    return n;
  }

 private:
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buf_;
};

std::unique_ptr<channel> open_channel(asio::io_context& ioc, const options& o,
                                      const std::string& cookie) {
  if (o.relay == "tcp") return std::make_unique<tcp_channel>(ioc, o.upstream_port);
  return std::make_unique<ws_channel>(ioc, o, cookie);
}

std::string command(char op, std::uint64_t n) {
  std::string out(1, op);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out += static_cast<char>((n >> shift) & 0xff);
  }
  return out;
}

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

void print_rate(const options& o, double seconds, std::uint64_t messages) {
  std::printf("result mode=%s relay=%s bytes=%llu seconds=%.6f mib_per_s=%.1f messages=%llu\n",
              o.mode.c_str(), o.relay.c_str(), static_cast<unsigned long long>(o.bytes), seconds,
              static_cast<double>(o.bytes) / (1 << 20) / seconds,
              static_cast<unsigned long long>(messages));
}

void run_down(channel& c, const options& o) {
  const std::string go = command('D', o.bytes);
  const auto t0 = steady::now();
  c.send(go.data(), go.size());
  std::uint64_t got = 0;
  std::uint64_t reads = 0;  // WebSocket messages, or TCP reads
  while (got < o.bytes) {
    const std::size_t n = c.receive();
    if (n == 0) throw std::runtime_error("the stream ended after " + std::to_string(got));
    got += n;
    ++reads;
  }
  print_rate(o, seconds_since(t0), reads);
}

void run_up(channel& c, const options& o) {
  const std::string go = command('U', o.bytes);
  std::vector<char> payload(o.frame);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  const auto t0 = steady::now();
  c.send(go.data(), go.size());
  for (std::uint64_t left = o.bytes; left > 0;) {
    const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(left, o.frame));
    c.send(payload.data(), step);
    left -= step;
  }
  // The upstream answers 'K' once it has read every byte: the time is end to end.
  const std::size_t n = c.receive();
  if (n != 1 || c.last()[0] != 'K') throw std::runtime_error("no acknowledgement");
  print_rate(o, seconds_since(t0), (o.bytes + o.frame - 1) / o.frame);
}

void run_ping(channel& c, const options& o) {
  c.send("E", 1);
  std::vector<char> message(o.size, 'p');
  std::vector<double> micros;
  micros.reserve(o.count);
  for (std::size_t i = 0; i < o.warmup + o.count; ++i) {
    const auto t0 = steady::now();
    c.send(message.data(), message.size());
    std::size_t got = 0;
    while (got < message.size()) {
      const std::size_t n = c.receive();
      if (n == 0) throw std::runtime_error("the echo ended");
      got += n;
    }
    if (i >= o.warmup) micros.push_back(seconds_since(t0) * 1e6);
  }
  std::sort(micros.begin(), micros.end());
  const auto at = [&](double q) {
    auto index = static_cast<std::size_t>(q * static_cast<double>(micros.size()) + 0.999999);
    return micros[std::min(micros.size(), std::max<std::size_t>(index, 1)) - 1];
  };
  double sum = 0;
  for (double m : micros) sum += m;
  std::printf(
      "result mode=ping relay=%s count=%zu size=%zu median_us=%.1f p99_us=%.1f "
      "mean_us=%.1f max_us=%.1f\n",
      o.relay.c_str(), micros.size(), o.size, at(0.5), at(0.99),
      sum / static_cast<double>(micros.size()), micros.back());
}

// Signs in (junction), reports "signed-in", waits for a line on standard input, opens COUNT
// bridges each checked by one echo round trip, reports "ready", then waits for standard input
// to close. The two waits let the caller measure the relay's memory at each step.
void run_hold(asio::io_context& ioc, const options& o) {
  std::vector<std::string> cookies;
  const auto t_sign = steady::now();
  if (o.relay == "junction") {
    const std::size_t sessions = (o.count + o.per_session - 1) / o.per_session;
    for (std::size_t i = 0; i < sessions; ++i) cookies.push_back(sign_in(ioc, o));
  }
  std::printf("signed-in sessions=%zu seconds=%.2f\n", cookies.size(), seconds_since(t_sign));
  std::fflush(stdout);
  std::string line;
  std::getline(std::cin, line);

  std::vector<std::unique_ptr<channel>> open;
  open.reserve(o.count);
  const auto t0 = steady::now();
  for (std::size_t i = 0; i < o.count; ++i) {
    const std::string cookie = cookies.empty() ? std::string() : cookies[i / o.per_session];
    try {
      open.push_back(open_channel(ioc, o, cookie));
      open.back()->send("Ex", 2);
      if (open.back()->receive() != 1 || open.back()->last()[0] != 'x') {
        throw std::runtime_error("no echo");
      }
    } catch (const std::exception& e) {
      throw std::runtime_error("bridge " + std::to_string(i + 1) + " of " +
                               std::to_string(o.count) + ": " + e.what());
    }
  }
  std::printf("ready bridges=%zu seconds=%.2f\n", open.size(), seconds_since(t0));
  std::fflush(stdout);
  while (std::getline(std::cin, line)) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  try {
    asio::io_context ioc;
    if (o.mode == "hold") {
      run_hold(ioc, o);
      return 0;
    }
    if (o.mode == "signin") {
      std::printf("%s\n", sign_in(ioc, o).c_str());
      return 0;
    }
    // Signing in costs a password hash (about half a second of CPU): a caller that measures
    // the proxy's CPU time signs in once beforehand and passes --cookie.
    std::string cookie = o.cookie;
    if (o.relay == "junction" && cookie.empty()) cookie = sign_in(ioc, o);
    auto c = open_channel(ioc, o, cookie);
    if (o.mode == "down") {
      run_down(*c, o);
    } else if (o.mode == "up") {
      run_up(*c, o);
    } else {
      run_ping(*c, o);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bridge_load %s %s: %s\n", o.mode.c_str(), o.relay.c_str(), e.what());
    return 1;
  }
  return 0;
}
