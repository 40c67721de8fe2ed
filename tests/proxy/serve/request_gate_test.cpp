// The checks in front of every route (review F3, F9, F10): Host names this server, Origin is
// required on state-changing requests and compared with an own origin taken from the
// configuration, api::admit decides on the session before a body is read, and sign-in
// guesses spread over many addresses stop at the per-user limit while the real user keeps a
// reserve from a network it signed in from before.
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>

#include "serve/api.h"
#include "serve_fakes.h"

namespace junction::serve {
namespace {

using nlohmann::json;

class request_gate_test : public ::testing::Test {
 protected:
  request_gate_test() {
    config_.listen_address = "127.0.0.1";
    config_.listen_port = 8080;
    make_api();
  }

  void make_api() {
    api_dependencies deps;
    deps.store = [this]() -> store::account_store& { return fixture_.store; };
    deps.events = &hub_;
    deps.tasks = &tasks_;
    deps.mailboxes = &mailbox_;
    deps.clock = [this] { return now_; };
    api_ = std::make_unique<api>(config_, deps);
  }

  static http_request request(std::string method, std::string target, std::string host,
                              std::optional<std::string> origin, std::string body = {}) {
    http_request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.remote_address = "192.0.2.7";
    if (!host.empty()) r.headers.push_back({"Host", std::move(host)});
    if (origin) r.headers.push_back({"Origin", std::move(*origin)});
    return r;
  }

  http_response sign_in(const std::string& user, const std::string& password,
                        const std::string& address = "192.0.2.7") {
    http_request r = request("POST", "/api/session", "127.0.0.1:8080", "http://127.0.0.1:8080",
                             json{{"username", user}, {"password", password}}.dump());
    r.remote_address = address;
    return api_->handle(r);
  }

  static std::string code_of(const http_response& r) {
    const json body = json::parse(r.body, nullptr, false);
    return body.is_object() ? body.value("code", "") : "";
  }

  testing::store_fixture fixture_;
  serve_config config_;
  event_hub hub_;
  testing::fake_tasks tasks_;
  testing::fake_mailbox mailbox_;
  std::int64_t now_ = 1'700'000'000;
  std::unique_ptr<api> api_;
};

TEST_F(request_gate_test, a_foreign_host_is_refused_and_the_loopback_names_are_accepted) {
  for (const char* host : {"evil.example", "evil.example:8080", "127.0.0.1.evil.example", "",
                           "10.0.0.1:8080", "[::1"}) {
    const http_response r = api_->handle(request("GET", "/api/account", host, std::nullopt));
    EXPECT_EQ(r.status, 421) << host;
    EXPECT_EQ(code_of(r), "misdirected") << host;
    EXPECT_EQ(api_->admit(request("POST", "/api/session", host, "http://127.0.0.1:8080"))
                  .refusal.value_or(http_response{})
                  .status,
              421)
        << host;
  }
  for (const char* host :
       {"127.0.0.1:8080", "localhost:8080", "LOCALHOST", "[::1]:8080", "127.0.0.1"}) {
    EXPECT_EQ(api_->handle(request("GET", "/api/account", host, std::nullopt)).status, 401) << host;
  }
}

TEST_F(request_gate_test, a_state_changing_request_without_origin_is_refused) {
  const http_response no_origin = api_->handle(request(
      "POST", "/api/session", "127.0.0.1:8080", std::nullopt,
      json{{"username", "alice"}, {"password", testing::store_fixture::alice_password}}.dump()));
  EXPECT_EQ(no_origin.status, 403);
  EXPECT_EQ(code_of(no_origin), "origin_required");
  EXPECT_EQ(api_->handle(request("DELETE", "/api/session", "localhost:8080", std::nullopt)).status,
            403);
  EXPECT_EQ(api_->admit(request("POST", "/api/mailbox/batch", "localhost:8080", std::nullopt))
                .refusal.value_or(http_response{})
                .status,
            403);
  // Reads need none; the page's own origin signs in.
  EXPECT_EQ(api_->handle(request("GET", "/api/account", "localhost:8080", std::nullopt)).status,
            401);
  EXPECT_EQ(sign_in("alice", testing::store_fixture::alice_password).status, 200);
}

TEST_F(request_gate_test, the_own_origin_comes_from_the_configuration_not_from_host) {
  const auto status_with = [&](const std::string& host, const std::string& origin) {
    return api_
        ->handle(request(
            "POST", "/api/session", host, origin,
            json{{"username", "alice"}, {"password", testing::store_fixture::alice_password}}
                .dump()))
        .status;
  };
  EXPECT_EQ(status_with("localhost:8080", "http://localhost:8080"), 200);
  EXPECT_EQ(status_with("localhost:8080", "http://127.0.0.1:8080"), 200);
  EXPECT_EQ(status_with("127.0.0.1:8080", "http://[::1]:8080"), 200);
  // Another port, another scheme, another name: not this server's page.
  EXPECT_EQ(status_with("localhost:8080", "http://localhost:9999"), 403);
  EXPECT_EQ(status_with("localhost:8080", "https://localhost:8080"), 403);
  EXPECT_EQ(status_with("localhost:8080", "http://evil.example:8080"), 403);

  // A public origin: its host is accepted in Host and it is the own origin; the listen
  // address's names still are too.
  config_.public_origin = "https://mail.example.org";
  make_api();
  EXPECT_EQ(status_with("mail.example.org", "https://mail.example.org"), 200);
  EXPECT_EQ(status_with("mail.example.org", "http://mail.example.org"), 403);
  EXPECT_EQ(status_with("other.example.org", "https://mail.example.org"), 421);

  // A wildcard listen address: IP literals and localhost, never a name.
  config_.public_origin.clear();
  config_.listen_address = "0.0.0.0";
  make_api();
  EXPECT_EQ(status_with("192.0.2.1:8080", "http://192.0.2.1:8080"), 200);
  EXPECT_EQ(status_with("rebind.evil.example:8080", "http://rebind.evil.example:8080"), 421);
}

TEST_F(request_gate_test, admit_checks_the_session_before_any_body_and_keeps_strangers_small) {
  config_.max_message_body = 64 << 20;
  config_.max_unauthenticated_body = 16 << 10;
  make_api();
  const auto head = [](std::string method, std::string target) {
    return request(std::move(method), std::move(target), "127.0.0.1:8080", "http://127.0.0.1:8080");
  };
  const api::admission stranger = api_->admit(head("POST", "/api/mailbox/batch"));
  ASSERT_TRUE(stranger.refusal);
  EXPECT_EQ(stranger.refusal->status, 401);
  EXPECT_EQ(stranger.refusal->header("X-Content-Type-Options").value_or(""), "nosniff");

  const api::admission signing_in = api_->admit(head("POST", "/api/session"));
  EXPECT_FALSE(signing_in.refusal);
  EXPECT_EQ(signing_in.body_limit, 16u << 10);
  EXPECT_EQ(api_->admit(head("POST", "/index.html")).body_limit, 16u << 10);

  const http_response signed_in = sign_in("alice", testing::store_fixture::alice_password);
  ASSERT_EQ(signed_in.status, 200);
  const std::string cookie(signed_in.header("Set-Cookie").value_or(""));
  http_request batch = head("POST", "/api/mailbox/batch");
  batch.headers.push_back({"Cookie", cookie.substr(0, cookie.find(';'))});
  const api::admission member = api_->admit(batch);
  EXPECT_FALSE(member.refusal);
  EXPECT_EQ(member.body_limit, std::size_t{64} << 20);
}

TEST_F(request_gate_test, guesses_from_many_addresses_stop_but_the_real_user_keeps_a_reserve) {
  // alice signs in once from her own address: that network is hers now.
  ASSERT_EQ(sign_in("alice", testing::store_fixture::alice_password, "198.51.100.20").status, 200);
  // Wrong passwords from many addresses, each below its own limits.
  int refused = 0;
  for (int i = 0; i < 60; ++i) {
    const http_response r = sign_in("alice", "wrong", "203.0.113." + std::to_string(i));
    if (r.status == 429) ++refused;
  }
  // 5 allowed per pair, 20 per user over all addresses: the rest are refused unhashed.
  EXPECT_EQ(refused, 40);
  EXPECT_EQ(sign_in("alice", testing::store_fixture::alice_password, "203.0.113.200").status, 429);
  // From her own network alice still gets in.
  EXPECT_EQ(sign_in("alice", testing::store_fixture::alice_password, "198.51.100.20").status, 200);
  // Another user is not affected.
  EXPECT_EQ(sign_in("bob", "whatever", "203.0.113.201").status, 401);
}

TEST_F(request_gate_test, an_ipv6_slash_64_counts_as_one_address) {
  int refused = 0;
  for (int i = 0; i < 200; ++i) {
    char address[64];
    std::snprintf(address, sizeof address, "2001:db8:1:2::%x", i + 1);
    if (sign_in("user" + std::to_string(i), "wrong", address).status == 429) ++refused;
  }
  // 5 * 16 failures per /64 within the window.
  EXPECT_EQ(refused, 200 - 80);
  EXPECT_EQ(sign_in("alice", testing::store_fixture::alice_password, "2001:db8:1:2:ffff::1").status,
            429);
  EXPECT_EQ(sign_in("alice", testing::store_fixture::alice_password, "2001:db8:1:3::1").status,
            200);
}

}  // namespace
}  // namespace junction::serve
