// junction_bridge_client: the browser's part of a retrieval, done natively for the tests of
// `junction-proxy serve`. It signs in like the web app, opens one WebSocket to /bridge and
// drives wasm-core's retrieval job through it (shared/bridge/PROTOCOL.md), storing each
// message with the append API (POST /api/mailbox/messages) as the page does.
//
//   junction_bridge_client --url http://127.0.0.1:PORT --user U --password P --task TASK.json
//                          [--origin ORIGIN] [--state FILE] [--task-key NAME] [--no-cookie]
//   junction_bridge_client --url ... --user U --password P --probe HOST:PORT[:tls]
//
// --origin sets the Origin of the /bridge upgrade only; "" sends none there. --probe opens the
// bridge to HOST:PORT (IPv6 in brackets; ":tls" for implicit TLS), prints the "opened" frame, and
// ends.
//
// Exit status: 0 done (or opened), 1 the run failed, 2 usage, 3 the bridge answered with an
// error frame to "open" (stderr: "bridge error CODE: message"), 4 an HTTP step was refused
// (sign-in, the WebSocket upgrade, the append API: "http STATUS" on stdout for --probe).
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "jobs/retrieval_job.h"
#include "model/retrieval_task.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using junction::jobs::effect;
using junction::jobs::failure_kind;
using nlohmann::json;

constexpr const char* usage_text =
    "usage: junction_bridge_client --url http://HOST:PORT --user U --password P\n"
    "         (--task TASK.json [--state FILE] [--task-key NAME] | --probe HOST:PORT[:tls])\n"
    "         [--origin ORIGIN] [--no-cookie]\n";

// Writes bigger than this go out as several binary frames (the proxy caps a frame at 1 MiB).
constexpr std::size_t max_outgoing_frame = 256 * 1024;

struct exit_with : std::runtime_error {
  int status;
  exit_with(int s, const std::string& message) : std::runtime_error(message), status(s) {}
};

struct arguments {
  std::string url;
  std::string user, password;
  std::string task_file, state_file, task_key;
  std::optional<std::string> origin;  // nullopt: the url's origin; "": none
  std::string probe;
  bool no_cookie = false;
};

struct endpoint {
  std::string host;  // as in the url (brackets kept for IPv6)
  std::string port;
  std::string origin;
};

endpoint parse_url(const std::string& url) {
  constexpr std::string_view scheme = "http://";
  if (url.rfind(scheme, 0) != 0) throw exit_with(2, "--url must start with http://");
  std::string rest = url.substr(scheme.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon + 1 == rest.size() || rest.back() == ']') {
    throw exit_with(2, "--url needs an explicit port, e.g. http://127.0.0.1:8080");
  }
  endpoint e;
  e.host = rest.substr(0, colon);
  e.port = rest.substr(colon + 1);
  e.origin = "http://" + rest;
  return e;
}

// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"   (RFC 3986 section 2.3)
std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw exit_with(2, "cannot read " + path + ": " + std::strerror(errno));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Write to FILE.tmp, fsync, rename: a kill leaves the old state or the new one.
void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("cannot rename " + tmp + ": " + std::strerror(errno));
  }
}

// The web app's HTTP side: sign-in (keeps the cookie) and the append API over one keep-alive
// connection, reopened when the server closed it.
class api_client {
 public:
  api_client(endpoint where, std::optional<std::string> origin)
      : where_(std::move(where)), origin_(std::move(origin)) {}

  http::response<http::string_body> request(http::verb method, const std::string& target,
                                            std::string body,
                                            const std::map<std::string, std::string>& headers) {
    for (int attempt = 0;; ++attempt) {
      try {
        if (!stream_) open();
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, host_header());
        req.set(http::field::user_agent, "junction_bridge_client");
        req.set(http::field::origin, where_.origin);
        if (!cookie_.empty()) req.set(http::field::cookie, cookie_);
        for (const auto& [name, value] : headers) req.set(name, value);
        req.body() = body;  // a copy: a retry sends it again
        req.prepare_payload();
        req.keep_alive(true);
        http::write(*stream_, req);
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(64u << 20);
        http::read(*stream_, buffer, parser);
        auto res = parser.release();
        if (!res.keep_alive()) stream_.reset();
        return res;
      } catch (const beast::system_error& e) {
        stream_.reset();
        // A keep-alive connection the server closed meanwhile: once more on a fresh one
        // (safe: the appends are idempotent by their key).
        if (attempt >= 1) throw std::runtime_error("HTTP " + target + ": " + e.code().message());
      }
    }
  }

  void sign_in(const std::string& user, const std::string& password) {
    const json body = {{"username", user}, {"password", password}, {"device_name", "bridge test"}};
    auto res = request(http::verb::post, "/api/session", body.dump(),
                       {{"Content-Type", "application/json"}});
    if (res.result_int() != 200) {
      throw exit_with(
          4, "sign-in refused: HTTP " + std::to_string(res.result_int()) + " " + res.body());
    }
    for (const auto& field : res) {
      if (field.name() != http::field::set_cookie) continue;
      const std::string value(field.value());
      cookie_ = value.substr(0, value.find(';'));
    }
    if (cookie_.empty()) throw exit_with(4, "sign-in gave no session cookie");
  }

  const std::string& cookie() const { return cookie_; }
  std::string host_header() const { return where_.host + ":" + where_.port; }
  // The Origin of the WebSocket upgrade: the url's unless --origin overrides it (the sign-in
  // and the API always send the url's, as the page would).
  std::optional<std::string> bridge_origin() const {
    if (!origin_) return where_.origin;
    if (origin_->empty()) return std::nullopt;
    return origin_;
  }

 private:
  void open() {
    tcp::resolver resolver(io_);
    std::string host = where_.host;
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    stream_.emplace(io_);
    stream_->connect(resolver.resolve(host, where_.port));
  }

  asio::io_context io_;
  endpoint where_;
  std::optional<std::string> origin_;
  std::optional<beast::tcp_stream> stream_;
  std::string cookie_;
};

// One WebSocket to /bridge.
class bridge_socket {
 public:
  explicit bridge_socket(asio::io_context& io) : ws_(io) {}

  // Throws exit_with(4) when the upgrade is refused.
  void connect(const endpoint& where, const api_client& api) {
    tcp::resolver resolver(ws_.get_executor());
    std::string host = where.host;
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    beast::get_lowest_layer(ws_).connect(resolver.resolve(host, where.port));
    const auto origin = api.bridge_origin();
    const std::string cookie = api.cookie();
    ws_.set_option(websocket::stream_base::decorator([origin, cookie](websocket::request_type& r) {
      r.set(http::field::user_agent, "junction_bridge_client");
      if (origin) r.set(http::field::origin, *origin);
      if (!cookie.empty()) r.set(http::field::cookie, cookie);
      r.set(http::field::sec_websocket_protocol, "junction-bridge.v1");
    }));
    websocket::response_type res;
    beast::error_code ec;
    ws_.handshake(res, api.host_header(), "/bridge", ec);
    if (ec) {
      throw exit_with(4, "upgrade refused: HTTP " + std::to_string(res.result_int()) + " (" +
                             ec.message() + ")");
    }
    if (res[http::field::sec_websocket_protocol] != "junction-bridge.v1") {
      throw exit_with(4, "the proxy did not echo the subprotocol junction-bridge.v1");
    }
    ws_.read_message_max(8u << 20);
  }

  void send_text(const json& j) {
    ws_.text(true);
    ws_.write(asio::buffer(j.dump()));
  }

  void send_binary(std::string_view bytes) {
    ws_.binary(true);
    while (!bytes.empty()) {
      const std::size_t n = std::min(bytes.size(), max_outgoing_frame);
      ws_.write(asio::buffer(bytes.data(), n));
      bytes.remove_prefix(n);
    }
  }

  struct frame {
    enum class kind { binary, text, closed, broken } type = kind::broken;
    std::string bytes;  // binary payload, text, or the reason for broken
  };

  frame read() {
    frame f;
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws_.read(buffer, ec);
    if (ec == websocket::error::closed) {
      f.type = frame::kind::closed;
      return f;
    }
    if (ec) {
      f.bytes = ec.message();
      return f;
    }
    f.type = ws_.got_text() ? frame::kind::text : frame::kind::binary;
    f.bytes = beast::buffers_to_string(buffer.data());
    return f;
  }

  void close() {
    beast::error_code ec;
    if (ws_.is_open()) ws_.close(websocket::close_code::normal, ec);
  }

 private:
  websocket::stream<beast::tcp_stream> ws_;
};

failure_kind failure_for_code(const std::string& code) {
  if (code == "dns") return failure_kind::dns;
  if (code == "refused" || code == "egress_denied") return failure_kind::refused;
  if (code == "timeout") return failure_kind::timeout;
  if (code == "tls_handshake") return failure_kind::tls;
  if (code == "tls_verify") return failure_kind::certificate;
  if (code == "upstream_closed" || code == "limit") return failure_kind::connection;
  return failure_kind::protocol;
}

// A text frame from the proxy: its JSON, or a JSON error of our own when it is not JSON.
json parse_text(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return {{"op", "error"}, {"code", "bad_frame"}, {"message", "not a JSON object: " + text}};
  }
  return j;
}

std::string op_of(const json& j) {
  return j.value("op", std::string());
}

std::string error_line(const json& j) {
  return j.value("code", std::string("?")) + ": " + j.value("message", std::string());
}

// Opens the bridge to host:port; returns the "opened" frame. Throws exit_with(3) on an error
// frame.
json open_upstream(bridge_socket& ws, const std::string& host, std::uint16_t port, bool tls,
                   const std::string& pin) {
  json open = {{"op", "open"}, {"host", host}, {"port", port}, {"tls", tls ? "implicit" : "none"}};
  if (!pin.empty()) open["pin_sha256"] = pin;
  ws.send_text(open);
  const auto f = ws.read();
  if (f.type == bridge_socket::frame::kind::text) {
    json j = parse_text(f.bytes);
    if (op_of(j) == "opened") return j;
    std::cout << j.dump() << "\n";
    throw exit_with(3, "bridge error " + error_line(j));
  }
  if (f.type == bridge_socket::frame::kind::closed) {
    throw exit_with(3, "bridge error closed: the proxy closed the bridge without an answer");
  }
  throw exit_with(
      3, "bridge error unexpected: " + std::string(f.type == bridge_socket::frame::kind::binary
                                                       ? "binary frame before opened"
                                                       : f.bytes));
}

int run_probe(const arguments& args, const endpoint& where, api_client& api) {
  // HOST:PORT[:tls], HOST may be [v6]
  std::string text = args.probe;
  bool tls = false;
  if (text.size() > 4 && text.substr(text.size() - 4) == ":tls") {
    tls = true;
    text.resize(text.size() - 4);
  }
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw exit_with(2, "--probe needs HOST:PORT[:tls]");
  const std::string host = text.substr(0, colon);
  const int port = std::stoi(text.substr(colon + 1));
  asio::io_context io;
  bridge_socket ws(io);
  try {
    ws.connect(where, api);
  } catch (const exit_with& e) {
    const std::string m = e.what();
    const auto at = m.find("HTTP ");
    std::cout << "http " << (at == std::string::npos ? m : m.substr(at + 5, 3)) << "\n";
    throw;
  }
  const json opened = open_upstream(ws, host, static_cast<std::uint16_t>(port), tls, "");
  std::cout << opened.dump() << "\n";
  ws.close();
  return 0;
}

struct pending_delivery {
  std::string folder;
  std::string bytes;
  std::string key;
  unsigned flags = 0;
  std::int64_t internal_date = 0;
  bool ended = false;
};

std::string flags_header(unsigned flags) {
  namespace f = junction::jobs::message_flags;
  std::string out;
  const auto add = [&](const char* name) {
    if (!out.empty()) out += ' ';
    out += name;
  };
  if (flags & f::seen) add("\\Seen");
  if (flags & f::answered) add("\\Answered");
  if (flags & f::flagged) add("\\Flagged");
  if (flags & f::draft) add("\\Draft");
  return out;
}

int run_task(const arguments& args, const endpoint& where, api_client& api) {
  const std::string text = read_file(args.task_file);
  auto parsed = junction::model::parse_retrieval_task(text);
  std::vector<junction::model::field_error> problems = parsed.errors;
  if (parsed.ok()) problems = junction::model::validate(*parsed.task);
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "error (config): " << to_string(p) << "\n";
    return 2;
  }
  const junction::model::retrieval_task& task = *parsed.task;

  std::string state;
  if (!args.state_file.empty() && ::access(args.state_file.c_str(), F_OK) == 0) {
    state = read_file(args.state_file);
  }
  junction::jobs::retrieval_options options;
  std::string key = args.task_key;
  if (key.empty()) key = task.id;
  if (key.empty()) {
    key = args.task_file.substr(args.task_file.rfind('/') + 1);
    key = key.substr(0, key.rfind('.'));
  }
  options.task_key = "task:" + key;
  auto job = junction::jobs::retrieval_job::create(task, options, state);

  asio::io_context io;
  std::optional<bridge_socket> ws;
  std::string outgoing;
  std::map<std::uint64_t, pending_delivery> deliveries;
  std::vector<std::uint64_t> ended_order;

  const auto flush = [&] {
    if (!outgoing.empty()) {
      ws->send_binary(outgoing);
      outgoing.clear();
    }
  };

  for (;;) {
    const effect e = job->next();
    try {
      switch (e.kind) {
        case effect::type::connect: {
          ws.emplace(io);
          ws->connect(where, api);
          const json opened =
              open_upstream(*ws, std::string(e.host), e.port,
                            e.tls == junction::jobs::tls_mode::implicit, task.pinned_cert_sha256);
          std::cerr << "opened " << opened.dump() << "\n";
          job->on_connected();
          break;
        }
        case effect::type::send:
          outgoing.append(e.bytes);
          break;
        case effect::type::receive: {
          flush();
          const auto f = ws->read();
          if (f.type == bridge_socket::frame::kind::binary) {
            job->on_data(f.bytes);
          } else if (f.type == bridge_socket::frame::kind::closed) {
            job->on_eof();
          } else if (f.type == bridge_socket::frame::kind::text) {
            const json j = parse_text(f.bytes);
            std::cerr << "bridge error " << error_line(j) << "\n";
            job->on_failure(failure_for_code(j.value("code", std::string())),
                            "bridge: " + error_line(j));
          } else {
            job->on_failure(failure_kind::connection, "bridge: " + f.bytes);
          }
          break;
        }
        case effect::type::start_tls: {
          if (!outgoing.empty()) {
            job->on_failure(failure_kind::protocol, "internal: data queued before STARTTLS");
            break;
          }
          ws->send_text({{"op", "starttls"}});
          const auto f = ws->read();
          const json j = f.type == bridge_socket::frame::kind::text ? parse_text(f.bytes) : json();
          if (op_of(j) == "tls") {
            std::cerr << "tls " << j.dump() << "\n";
            job->on_tls_started();
          } else if (j.is_object()) {
            std::cerr << "bridge error " << error_line(j) << "\n";
            job->on_failure(failure_for_code(j.value("code", std::string())),
                            "bridge: " + error_line(j));
          } else {
            job->on_failure(failure_kind::protocol, "bridge: no answer to starttls");
          }
          break;
        }
        case effect::type::deliver_begin:
          deliveries[e.delivery] = pending_delivery{std::string(e.folder), {}, {}, 0, 0, false};
          break;
        case effect::type::deliver_data:
          deliveries.at(e.delivery).bytes.append(e.bytes);
          break;
        case effect::type::deliver_end: {
          auto& d = deliveries.at(e.delivery);
          d.key = std::string(e.key);
          d.flags = e.flags;
          d.internal_date = e.internal_date;
          d.ended = true;
          ended_order.push_back(e.delivery);
          break;
        }
        case effect::type::deliver_abort:
          deliveries.erase(e.delivery);
          break;
        case effect::type::commit: {
          std::vector<junction::jobs::delivery_result> results;
          for (const std::uint64_t id : ended_order) {
            const auto it = deliveries.find(id);
            if (it == deliveries.end()) continue;
            pending_delivery& d = it->second;
            junction::jobs::delivery_result r;
            r.delivery = id;
            std::map<std::string, std::string> headers = {
                {"Content-Type", "message/rfc822"},
                {"X-Junction-Key", d.key},
                {"X-Junction-Internal-Date", std::to_string(d.internal_date)}};
            if (d.flags != 0) headers["X-Junction-Flags"] = flags_header(d.flags);
            try {
              auto res = api.request(http::verb::post,
                                     "/api/mailbox/messages?folder=" + percent_encode(d.folder),
                                     std::move(d.bytes), headers);
              if (res.result_int() == 201) {
                const json body = json::parse(res.body(), nullptr, false);
                r.status = body.is_object() && body.value("already_had", false)
                               ? junction::jobs::delivery_status::already_had
                               : junction::jobs::delivery_status::stored;
              } else {
                r.error = "append: HTTP " + std::to_string(res.result_int()) + " " + res.body();
                std::cerr << r.error << "\n";
              }
            } catch (const std::exception& ex) {
              r.error = std::string("append: ") + ex.what();
            }
            results.push_back(std::move(r));
            deliveries.erase(it);
          }
          ended_order.clear();
          job->on_committed(results);
          break;
        }
        case effect::type::save_state:
          if (!args.state_file.empty()) write_file_atomically(args.state_file, e.bytes);
          job->on_state_saved();
          break;
        case effect::type::progress:
          std::cerr << "progress " << e.folder << ": " << e.done_count << " of " << e.total << "\n";
          break;
        case effect::type::close:
          if (ws) {
            try {
              flush();  // best effort: a final QUIT/LOGOUT
            } catch (const std::exception&) {
            }
            ws->close();
          }
          break;
        case effect::type::done:
        case effect::type::failed: {
          if (ws) ws->close();
          const auto& summary = job->summary();
          std::uint64_t total_new = 0, total_had = 0, total_deleted = 0;
          for (const auto& f : summary.folders) {
            std::cout << f.folder << ": " << f.new_messages << " new, " << f.already_had
                      << " already had, " << f.deleted << " deleted from server\n";
            total_new += f.new_messages;
            total_had += f.already_had;
            total_deleted += f.deleted;
          }
          std::cout << "total: " << total_new << " new, " << total_had << " already had, "
                    << total_deleted << " deleted from server\n";
          if (!summary.ok) {
            std::cerr << "error (" << junction::jobs::to_string(summary.failure)
                      << "): " << summary.message << "\n";
            return 1;
          }
          return 0;
        }
      }
    } catch (const exit_with&) {
      throw;
    } catch (const beast::system_error& ex) {
      job->on_failure(failure_kind::connection, std::string("bridge: ") + ex.code().message());
    } catch (const std::exception& ex) {
      job->on_failure(failure_kind::mailbox, ex.what());
    }
  }
}

int parse_arguments(int argc, char** argv, arguments& out) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-cookie") {
      out.no_cookie = true;
      continue;
    }
    if (a == "--help") {
      std::cout << usage_text;
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << a << " needs a value\n" << usage_text;
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--url") {
      out.url = v;
    } else if (a == "--user") {
      out.user = v;
    } else if (a == "--password") {
      out.password = v;
    } else if (a == "--task") {
      out.task_file = v;
    } else if (a == "--state") {
      out.state_file = v;
    } else if (a == "--task-key") {
      out.task_key = v;
    } else if (a == "--origin") {
      out.origin = v;
    } else if (a == "--probe") {
      out.probe = v;
    } else {
      std::cerr << "unknown argument " << a << "\n" << usage_text;
      return 2;
    }
  }
  if (out.url.empty() || out.task_file.empty() == out.probe.empty() ||
      (!out.no_cookie && (out.user.empty() || out.password.empty()))) {
    std::cerr << usage_text;
    return 2;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  arguments args;
  if (const int rc = parse_arguments(argc, argv, args); rc >= 0) return rc;
  try {
    const endpoint where = parse_url(args.url);
    api_client api(where, args.origin);
    if (!args.no_cookie) api.sign_in(args.user, args.password);
    if (!args.probe.empty()) return run_probe(args, where, api);
    return run_task(args, where, api);
  } catch (const exit_with& e) {
    std::cerr << e.what() << "\n";
    return e.status;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
