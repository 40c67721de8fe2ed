// The server over real sockets on 127.0.0.1: sign in with a Beast client, read the account,
// receive a published event over SSE, fetch a static file, pipelined requests, limits, and a
// clean stop with a stream still open.
#include "serve/http_server.h"

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "serve_fakes.h"

namespace junction::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

class http_server_test : public ::testing::Test {
 protected:
  http_server_test() : stores_(fixture_.folder.path() / "junction.db", fixture_.secrets) {
    config_.listen_address = "127.0.0.1";
    config_.listen_port = 0;
    config_.threads = 2;
    config_.max_json_body = 4096;
    config_.web_root = fixture_.folder.path() / "web";
    std::filesystem::create_directories(config_.web_root);
    std::ofstream(config_.web_root / "index.html") << "<!doctype html><p>Junction</p>";
    std::ofstream(config_.web_root / "app.js") << "export const answer = 42;\n";

    server_services services;
    services.store = [this]() -> store::account_store& { return stores_.get(); };
    services.events = &hub_;
    services.tasks = &tasks_;
    services.mailboxes = &mailbox_;
    services.log = [this](const std::string& line) {
      std::lock_guard lock(log_mutex_);
      log_.push_back(line);
    };
    server_ = std::make_unique<http_server>(config_, services);
    running_ = std::async(std::launch::async, [this] { server_->run(); });
  }

  ~http_server_test() override {
    server_->stop(std::chrono::seconds(2));
    running_.wait();
  }

  tcp::socket connect() {
    tcp::socket socket(ioc_);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    return socket;
  }

  http::response<http::string_body> exchange(http::request<http::string_body> req) {
    beast::tcp_stream stream(connect());
    stream.expires_after(std::chrono::seconds(20));
    req.set(http::field::host, "127.0.0.1");
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return res;
  }

  std::string sign_in() {
    http::request<http::string_body> req{http::verb::post, "/api/session", 11};
    req.set(http::field::content_type, "application/json");
    req.body() = json{
        {"username", "alice"},
        {"password", testing::store_fixture::alice_password},
        {"device_name",
         "test"}}.dump();
    const auto res = exchange(req);
    EXPECT_EQ(res.result_int(), 200) << res.body();
    const std::string cookie(res[http::field::set_cookie]);
    return cookie.substr(0, cookie.find(';'));
  }

  testing::store_fixture fixture_;
  store_per_thread stores_;
  serve_config config_;
  event_hub hub_;
  testing::fake_tasks tasks_;
  testing::fake_mailbox mailbox_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
  std::unique_ptr<http_server> server_;
  std::future<void> running_;
  net::io_context ioc_;
};

TEST_F(http_server_test, signs_in_reads_the_account_streams_an_event_and_stops_cleanly) {
  const std::string cookie = sign_in();
  ASSERT_EQ(cookie.size(), std::string("junction_session=").size() + 64);

  http::request<http::string_body> account{http::verb::get, "/api/account", 11};
  account.set(http::field::cookie, cookie);
  const auto res = exchange(account);
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::etag], "\"0\"");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(json::parse(res.body())["revision"], 0);

  // The event stream: the header first, then each published event as it happens.
  tcp::socket events = connect();
  net::write(
      events,
      net::buffer("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + cookie + "\r\n\r\n"));
  std::string received;
  auto buffer = net::dynamic_buffer(received);
  std::size_t n = net::read_until(events, buffer, "\r\n\r\n");
  const std::string header = received.substr(0, n);
  buffer.consume(n);
  EXPECT_EQ(header.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(header.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(header.find("Cache-Control: no-cache"), std::string::npos);

  hub_.publish(fixture_.alice_id, {{"type", "run_started"}, {"task_id", "t1"}});
  n = net::read_until(events, buffer, "\n\n");
  EXPECT_EQ(received.substr(0, n),
            "event: run_started\ndata: {\"task_id\":\"t1\",\"type\":\"run_started\"}\n\n");
  buffer.consume(n);

  // A static file while the stream stays open.
  http::request<http::string_body> file{http::verb::get, "/app.js", 11};
  const auto js = exchange(file);
  EXPECT_EQ(js.result_int(), 200);
  EXPECT_EQ(js.body(), "export const answer = 42;\n");
  EXPECT_EQ(js[http::field::content_type], "text/javascript; charset=utf-8");

  // stop() ends the stream and run() returns.
  const auto stopping_at = std::chrono::steady_clock::now();
  server_->stop(std::chrono::seconds(5));
  ASSERT_EQ(running_.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - stopping_at, std::chrono::seconds(5));
  boost::system::error_code ec;
  net::read(events, buffer, ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();

  // One line per request, without the cookie.
  std::lock_guard lock(log_mutex_);
  bool logged = false;
  for (const std::string& line : log_) {
    EXPECT_EQ(line.find(cookie.substr(17)), std::string::npos) << line;
    if (line.rfind("GET /api/account 200 ", 0) == 0) logged = true;
  }
  EXPECT_TRUE(logged);
}

TEST_F(http_server_test, pipelined_requests_are_answered_in_order) {
  tcp::socket socket = connect();
  net::write(socket,
             net::buffer(std::string("GET /app.js HTTP/1.1\r\nHost: h\r\n\r\n"
                                     "GET /missing.js HTTP/1.1\r\nHost: h\r\n\r\n"
                                     "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")));
  beast::flat_buffer buffer;
  http::response<http::string_body> first, second, third;
  http::read(socket, buffer, first);
  http::read(socket, buffer, second);
  http::read(socket, buffer, third);
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(first.body(), "export const answer = 42;\n");
  EXPECT_EQ(second.result_int(), 404);
  EXPECT_EQ(third.result_int(), 200);
  EXPECT_EQ(third.body(), "<!doctype html><p>Junction</p>");
  EXPECT_NE(third["Content-Security-Policy"].find("frame-ancestors 'none'"),
            beast::string_view::npos);
}

TEST_F(http_server_test, oversized_body_is_413_and_bridge_without_session_is_401) {
  http::request<http::string_body> big{http::verb::post, "/api/session", 11};
  big.body() = std::string(config_.max_json_body + 1, 'x');
  const auto too_large = exchange(big);
  EXPECT_EQ(too_large.result_int(), 413);
  EXPECT_EQ(json::parse(too_large.body())["code"], "too_large");

  http::request<http::string_body> upgrade{http::verb::get, "/bridge", 11};
  upgrade.set(http::field::connection, "Upgrade");
  upgrade.set(http::field::upgrade, "websocket");
  upgrade.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  upgrade.set(http::field::sec_websocket_version, "13");
  upgrade.set(http::field::origin, "http://127.0.0.1");
  const auto refused = exchange(upgrade);
  EXPECT_EQ(refused.result_int(), 401);
  EXPECT_EQ(json::parse(refused.body())["code"], "unauthenticated");
}

}  // namespace
}  // namespace junction::serve
