// The API's routes, called without a socket: a request in, a response out, against a real
// account store in a temporary folder and fakes of the scheduler and the mailbox.
#include "serve/api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "serve_fakes.h"

namespace junction::serve {
namespace {

using nlohmann::json;
using testing::fake_mailbox;
using testing::fake_tasks;
using testing::store_fixture;

constexpr const char* own_origin = "http://junction.test";

class api_test : public ::testing::Test {
 protected:
  api_test() {
    config_.web_root = fixture_.folder.path() / "web";
    std::filesystem::create_directories(config_.web_root / "app");
    write(config_.web_root / "index.html", "<!doctype html><title>Junction</title>");
    write(config_.web_root / "app" / "main.js", "console.log(1);");
    write(config_.web_root / "app" / "a b.mjs", "export {};");
    write(config_.web_root / "core.wasm", std::string("\0asm", 4));
    write(config_.web_root / "notes.txt", "not served");
    write(config_.web_root / ".hidden.js", "secret");
    write(fixture_.folder.path() / "outside.js", "outside");
    std::filesystem::create_symlink(fixture_.folder.path() / "outside.js",
                                    config_.web_root / "link.js");
    config_.allowed_origins = {"https://app.example.org"};
    config_.public_origin = own_origin;
    make_api();
  }

  static void write(const std::filesystem::path& file, const std::string& text) {
    std::ofstream(file, std::ios::binary) << text;
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

  static http_request request(std::string method, std::string target, std::string body = {}) {
    http_request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.remote_address = "192.0.2.7";
    r.headers.push_back({"Host", "junction.test"});
    r.headers.push_back({"User-Agent", "TestBrowser/1.0"});
    // As a browser does: a state-changing request carries the page's Origin.
    if (r.method != "GET" && r.method != "HEAD" && r.method != "OPTIONS") {
      r.headers.push_back({"Origin", own_origin});
    }
    return r;
  }

  static void set_origin(http_request& r, std::string origin) {
    std::erase_if(r.headers, [](const http_header& h) { return h.name == "Origin"; });
    r.headers.push_back({"Origin", std::move(origin)});
  }

  http_request authed(std::string method, std::string target, std::string body = {}) {
    http_request r = request(std::move(method), std::move(target), std::move(body));
    r.headers.push_back({"Cookie", "theme=dark; junction_session=" + token_});
    return r;
  }

  http_response sign_in(const std::string& user, const std::string& password) {
    return api_->handle(request(
        "POST", "/api/session",
        json{{"username", user}, {"password", password}, {"device_name", "Laptop"}}.dump()));
  }

  // Signs alice in and keeps the session token.
  void sign_in_alice() {
    const http_response r = sign_in("alice", store_fixture::alice_password);
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string cookie(r.header("Set-Cookie").value_or(""));
    const std::size_t eq = cookie.find('=');
    token_ = cookie.substr(eq + 1, 64);
  }

  static json body_of(const http_response& r) { return json::parse(r.body); }

  static json valid_task() {
    return {{"type", "imap"},
            {"server", "mail.example.com"},
            {"username", "alice"},
            {"password", "mail secret"}};
  }

  static json valid_smtp_account() {
    return {{"display_name", "Alice Example"}, {"server", "smtp.example.com"}, {"port", 587},
            {"encryption", "starttls"},        {"email", "alice@example.com"}, {"auth", true},
            {"password", "smtp secret"}};
  }

  // GET /api/account/{list}/{id}/secrets with the current session.
  http_response secrets_of(const std::string& list, const std::string& id) {
    return api_->handle(authed("GET", "/api/account/" + list + "/" + id + "/secrets"));
  }
  // The stored password as the secrets route gives it; "(none)" when none is stored.
  std::string stored_password(const std::string& list, const std::string& id) {
    const http_response r = secrets_of(list, id);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return "(error)";
    return body_of(r)["secrets"].value("password", "(none)");
  }

  http_response put_account(const json& document, std::optional<std::string> if_match) {
    http_request r = authed("PUT", "/api/account", document.dump());
    if (if_match) r.headers.push_back({"If-Match", *if_match});
    return api_->handle(r);
  }

  store_fixture fixture_;
  serve_config config_;
  event_hub hub_;
  fake_tasks tasks_;
  fake_mailbox mailbox_;
  std::int64_t now_ = 1700000000;
  std::unique_ptr<api> api_;
  std::string token_;
};

// ---- Sign-in --------------------------------------------------------------------------------

TEST_F(api_test, sign_in_sets_an_http_only_strict_cookie_and_registers_the_device) {
  const http_response r = sign_in("alice", store_fixture::alice_password);
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = body_of(r);
  EXPECT_EQ(body["user"], "alice");
  EXPECT_EQ(body["must_change_password"], false);
  ASSERT_TRUE(body["device_id"].is_string());

  const std::string cookie(r.header("Set-Cookie").value_or(""));
  EXPECT_TRUE(std::regex_match(
      cookie, std::regex("junction_session=[0-9a-f]{64}; Path=/; Max-Age=[0-9]+; HttpOnly; "
                         "SameSite=Strict")))
      << cookie;

  const auto devices = fixture_.store.devices(fixture_.alice_id);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].id, body["device_id"]);
  EXPECT_EQ(devices[0].name, "Laptop");
  EXPECT_EQ(devices[0].user_agent, "TestBrowser/1.0");
  EXPECT_EQ(devices[0].address, "192.0.2.7");
}

TEST_F(api_test, cookie_is_secure_over_tls) {
  http_request r =
      request("POST", "/api/session",
              json{{"username", "alice"}, {"password", store_fixture::alice_password}}.dump());
  r.tls = true;
  const http_response response = api_->handle(r);
  ASSERT_EQ(response.status, 200);
  EXPECT_NE(std::string(response.header("Set-Cookie").value_or("")).find("; Secure"),
            std::string::npos);
}

TEST_F(api_test, wrong_password_and_unknown_user_get_the_same_401) {
  const http_response wrong = sign_in("alice", "not the password");
  const http_response unknown = sign_in("mallory", "not the password");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  EXPECT_EQ(body_of(wrong)["code"], "bad_credentials");
  EXPECT_FALSE(wrong.header("Set-Cookie"));
}

TEST_F(api_test, repeated_failures_are_rate_limited_until_the_window_passes) {
  for (int i = 0; i < config_.signin_failures_allowed; ++i) {
    EXPECT_EQ(sign_in("Alice", "guess " + std::to_string(i)).status, 401);
  }
  // Even the right password waits now, under any case of the name.
  const http_response limited = sign_in("alice", store_fixture::alice_password);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(body_of(limited)["code"], "rate_limited");
  const int retry_after = std::stoi(std::string(limited.header("Retry-After").value_or("0")));
  EXPECT_GT(retry_after, 0);
  EXPECT_LE(retry_after, config_.signin_window_seconds);

  now_ += retry_after;
  EXPECT_EQ(sign_in("alice", store_fixture::alice_password).status, 200);
}

TEST_F(api_test, one_address_guessing_many_user_names_is_rate_limited_too) {
  const int overall = config_.signin_failures_allowed * 4;
  for (int i = 0; i < overall; ++i) {
    EXPECT_EQ(sign_in("user" + std::to_string(i), "guess").status, 401);
  }
  EXPECT_EQ(sign_in("alice", store_fixture::alice_password).status, 429);
}

TEST_F(api_test, malformed_sign_in_bodies_are_400) {
  EXPECT_EQ(api_->handle(request("POST", "/api/session", "{not json")).status, 400);
  EXPECT_EQ(api_->handle(request("POST", "/api/session", "[1,2]")).status, 400);
  EXPECT_EQ(
      api_->handle(request("POST", "/api/session", R"({"username": 5, "password": "x"})")).status,
      400);
  EXPECT_EQ(api_->handle(request("POST", "/api/session", std::string(5000, '[') + "]")).status,
            400);
}

TEST_F(api_test, session_status_and_sign_out) {
  sign_in_alice();
  const http_response who = api_->handle(authed("GET", "/api/session"));
  ASSERT_EQ(who.status, 200);
  EXPECT_EQ(body_of(who)["user"], "alice");
  // The browser's delivery keys name the user by id, as the scheduler's runs do.
  EXPECT_EQ(body_of(who)["user_id"], fixture_.alice_id);

  const http_response out = api_->handle(authed("DELETE", "/api/session"));
  EXPECT_EQ(out.status, 204);
  EXPECT_NE(std::string(out.header("Set-Cookie").value_or("")).find("Max-Age=0"),
            std::string::npos);
  EXPECT_EQ(api_->handle(authed("GET", "/api/session")).status, 401);
}

TEST_F(api_test, every_api_route_needs_a_session) {
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/api/session"},
      {"DELETE", "/api/session"},
      {"POST", "/api/password"},
      {"GET", "/api/account"},
      {"PUT", "/api/account"},
      {"POST", "/api/tasks/t1/run"},
      {"GET", "/api/tasks/t1/status"},
      {"POST", "/api/tasks/t1/lease"},
      {"DELETE", "/api/tasks/t1/lease?owner=x"},
      {"GET", "/api/tasks/t1/state"},
      {"PUT", "/api/tasks/t1/state?owner=x"},
      {"POST", "/api/tasks/t1/runs"},
      {"POST", "/api/mailbox/batch"},
      {"GET", "/api/events"},
      {"GET", "/api/mailbox/folders"},
      {"GET", "/api/mailbox/messages?folder=INBOX"},
      {"GET", "/api/mailbox/messages/m1/raw"},
      {"POST", "/api/mailbox/messages?folder=INBOX"},
      {"GET", "/api/nothing-here"},
  };
  for (const auto& [method, target] : routes) {
    http_request r = request(method, target, "{}");
    const http_response none = api_->handle(r);
    EXPECT_EQ(none.status, 401) << method << " " << target;
    EXPECT_EQ(body_of(none)["code"], "unauthenticated");
    r.headers.push_back({"Cookie", "junction_session=" + std::string(64, 'a')});
    EXPECT_EQ(api_->handle(r).status, 401) << method << " " << target << " with a made-up token";
  }
  EXPECT_TRUE(mailbox_.appends.empty());
  EXPECT_EQ(tasks_.account_changes, 0);
}

TEST_F(api_test, expired_session_is_refused) {
  sign_in_alice();
  now_ += config_.session_lifetime_seconds + 1;
  EXPECT_EQ(api_->handle(authed("GET", "/api/account")).status, 401);
}

TEST_F(api_test, foreign_origin_is_refused_for_changes_and_sign_in) {
  sign_in_alice();
  http_request login =
      request("POST", "/api/session",
              json{{"username", "alice"}, {"password", store_fixture::alice_password}}.dump());
  set_origin(login, "https://evil.example");
  const http_response refused = api_->handle(login);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(body_of(refused)["code"], "origin_refused");

  http_request put = authed("PUT", "/api/account", R"({"retrieval_tasks": []})");
  put.headers.push_back({"If-Match", "0"});
  set_origin(put, "null");
  EXPECT_EQ(api_->handle(put).status, 403);
  EXPECT_EQ(fixture_.store.load_account(fixture_.alice_id).revision, 0);

  // The server's own origin and the configured ones are fine; so is a read from anywhere.
  put.headers.back().value = own_origin;
  EXPECT_EQ(api_->handle(put).status, 200);
  http_request run = authed("POST", "/api/tasks/t1/run");
  set_origin(run, "https://app.example.org");
  EXPECT_EQ(api_->handle(run).status, 404);
  http_request read = authed("GET", "/api/account");
  set_origin(read, "https://evil.example");
  EXPECT_EQ(api_->handle(read).status, 200);
}

TEST_F(api_test, change_password_checks_the_old_one_and_the_length) {
  sign_in_alice();
  http_response short_one =
      api_->handle(authed("POST", "/api/password",
                          json{{"old", store_fixture::alice_password}, {"new", "short"}}.dump()));
  EXPECT_EQ(short_one.status, 400);
  EXPECT_EQ(body_of(short_one)["errors"][0]["field"], "new");

  EXPECT_EQ(api_->handle(authed("POST", "/api/password",
                                json{{"old", "wrong"}, {"new", "a much longer one"}}.dump()))
                .status,
            403);
  EXPECT_EQ(
      api_
          ->handle(authed(
              "POST", "/api/password",
              json{{"old", store_fixture::alice_password}, {"new", "a much longer one"}}.dump()))
          .status,
      204);
  EXPECT_EQ(sign_in("alice", store_fixture::alice_password).status, 401);
  EXPECT_EQ(sign_in("alice", "a much longer one").status, 200);
}

// ---- The account document -------------------------------------------------------------------

TEST_F(api_test, account_starts_at_revision_0_with_its_etag) {
  sign_in_alice();
  const http_response r = api_->handle(authed("GET", "/api/account"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("ETag").value_or(""), "\"0\"");
  EXPECT_EQ(body_of(r)["revision"], 0);
  EXPECT_EQ(body_of(r)["retrieval_tasks"], json::array());
  EXPECT_EQ(r.header("Cache-Control").value_or(""), "no-store");
}

TEST_F(api_test, put_without_if_match_is_428) {
  sign_in_alice();
  const http_response r = put_account({{"retrieval_tasks", json::array()}}, std::nullopt);
  EXPECT_EQ(r.status, 428);
  EXPECT_EQ(body_of(r)["code"], "precondition_required");
}

TEST_F(api_test, a_body_with_a_nul_byte_is_refused_not_cut_short) {
  // nlohmann's reader takes a raw NUL as the end of the input: without the check, the tasks
  // after it would be accepted unread.
  sign_in_alice();
  using namespace std::string_literals;
  http_request r = authed("PUT", "/api/account", "{\"retrieval_tasks\": []}\0junk"s);
  r.headers.push_back({"If-Match", "0"});
  const http_response answer = api_->handle(r);
  EXPECT_EQ(answer.status, 400) << answer.body;
}

TEST_F(api_test, put_saves_publishes_and_reschedules) {
  sign_in_alice();
  std::vector<json> events;
  std::mutex mutex;
  const auto token = hub_.subscribe(fixture_.alice_id, [&](const json& e) {
    std::lock_guard lock(mutex);
    events.push_back(e);
  });

  const http_response r = put_account({{"retrieval_tasks", json::array({valid_task()})}}, "\"0\"");
  hub_.unsubscribe(token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("ETag").value_or(""), "\"1\"");
  const json body = body_of(r);
  EXPECT_EQ(body["revision"], 1);
  ASSERT_EQ(body["retrieval_tasks"].size(), 1u);
  EXPECT_FALSE(body["retrieval_tasks"][0].value("id", "").empty());
  // Stored, but the answer shows only that it is; the secrets route gives it.
  EXPECT_FALSE(body["retrieval_tasks"][0].contains("password"));
  EXPECT_EQ(body["retrieval_tasks"][0]["password_set"], true);
  EXPECT_EQ(stored_password("retrieval_tasks", body["retrieval_tasks"][0]["id"].get<std::string>()),
            "mail secret");

  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], (json{{"type", "account_changed"}, {"revision", 1}}));
  EXPECT_EQ(tasks_.account_changes, 1);
  EXPECT_EQ(tasks_.last_user, fixture_.alice_id);
}

TEST_F(api_test, stale_revision_is_412_with_the_current_document) {
  sign_in_alice();
  ASSERT_EQ(put_account({{"retrieval_tasks", json::array({valid_task()})}}, "0").status, 200);
  const http_response stale = put_account({{"retrieval_tasks", json::array()}}, "\"0\"");
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(stale.header("ETag").value_or(""), "\"1\"");
  EXPECT_EQ(body_of(stale)["revision"], 1);
  EXPECT_EQ(body_of(stale)["retrieval_tasks"].size(), 1u);
  EXPECT_EQ(tasks_.account_changes, 1);
}

TEST_F(api_test, invalid_task_is_400_naming_the_field) {
  sign_in_alice();
  json bad = valid_task();
  bad["port"] = 70000;
  const http_response r = put_account({{"retrieval_tasks", json::array({valid_task(), bad})}}, "0");
  ASSERT_EQ(r.status, 400);
  const json body = body_of(r);
  EXPECT_EQ(body["code"], "invalid");
  ASSERT_FALSE(body["errors"].empty());
  EXPECT_EQ(body["errors"][0]["field"], "retrieval_tasks[1].port");
  EXPECT_EQ(fixture_.store.load_account(fixture_.alice_id).revision, 0);

  json no_server = valid_task();
  no_server.erase("server");
  EXPECT_EQ(body_of(put_account({{"retrieval_tasks", json::array({no_server})}},
                                "0"))["errors"][0]["field"],
            "retrieval_tasks[0].server");
  EXPECT_EQ(body_of(put_account({{"retrieval_tasks", "none"}}, "0"))["errors"][0]["field"],
            "retrieval_tasks");
  EXPECT_EQ(
      body_of(put_account({{"retrieval_tasks", json::array({42})}}, "0"))["errors"][0]["field"],
      "retrieval_tasks[0]");
  EXPECT_EQ(put_account({{"retrieval_tasks", json::array()}}, "three").status, 400);
}

TEST_F(api_test, saved_task_may_leave_out_its_password_but_a_new_one_may_not) {
  sign_in_alice();
  const json saved = body_of(put_account({{"retrieval_tasks", json::array({valid_task()})}}, "0"));
  json task = saved["retrieval_tasks"][0];
  task.erase("password");
  task["interval_minutes"] = 30;
  const http_response r = put_account({{"retrieval_tasks", json::array({task})}}, "1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["retrieval_tasks"][0]["password_set"], true);
  EXPECT_EQ(stored_password("retrieval_tasks", task["id"].get<std::string>()), "mail secret");
  EXPECT_EQ(body_of(r)["retrieval_tasks"][0]["interval_minutes"], 30);

  json fresh = valid_task();
  fresh.erase("password");
  const http_response refused = put_account({{"retrieval_tasks", json::array({fresh})}}, "2");
  ASSERT_EQ(refused.status, 400);
  EXPECT_EQ(body_of(refused)["errors"][0]["field"], "retrieval_tasks[0].password");
}

TEST_F(api_test, smtp_accounts_are_saved_normalised_with_ids_and_listed) {
  sign_in_alice();
  json minimal = {
      {"server", "smtp.example.org"}, {"email", "alice@example.org"}, {"password", "other secret"}};
  const http_response r =
      put_account({{"retrieval_tasks", json::array()},
                   {"smtp_accounts", json::array({valid_smtp_account(), minimal})}},
                  "0");
  ASSERT_EQ(r.status, 200) << r.body;
  const json accounts = body_of(r)["smtp_accounts"];
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_EQ(accounts[0]["server"], "smtp.example.com");
  EXPECT_EQ(accounts[0]["encryption"], "starttls");
  EXPECT_FALSE(accounts[0].contains("password"));
  EXPECT_EQ(accounts[0]["password_set"], true);
  EXPECT_EQ(stored_password("smtp_accounts", accounts[0]["id"].get<std::string>()), "smtp secret");
  EXPECT_EQ(accounts[0]["id"].get<std::string>().substr(0, 1), "s");
  EXPECT_NE(accounts[0]["id"], accounts[1]["id"]);
  // Defaults filled in by the model: port 25, no encryption, authentication on.
  EXPECT_EQ(accounts[1]["port"], 25);
  EXPECT_EQ(accounts[1]["encryption"], "none");
  EXPECT_EQ(accounts[1]["auth"], true);
  EXPECT_EQ(body_of(api_->handle(authed("GET", "/api/account")))["smtp_accounts"], accounts);

  // A client that does not know the list yet saves without it: the list is emptied, as any
  // list left out of a whole-document write would be (the document is replaced, not merged).
  const http_response old_client = put_account({{"retrieval_tasks", json::array()}}, "1");
  ASSERT_EQ(old_client.status, 200) << old_client.body;
  EXPECT_EQ(body_of(old_client)["smtp_accounts"], json::array());
}

TEST_F(api_test, invalid_smtp_account_is_400_naming_the_field) {
  sign_in_alice();
  const auto first_field = [&](const json& account) {
    const http_response r = put_account(
        {{"retrieval_tasks", json::array()}, {"smtp_accounts", json::array({account})}}, "0");
    EXPECT_EQ(r.status, 400) << account;
    const json body = body_of(r);
    EXPECT_EQ(body["code"], "invalid");
    return body["errors"].empty() ? std::string() : body["errors"][0]["field"].get<std::string>();
  };
  json bad = valid_smtp_account();
  bad["port"] = 70000;
  EXPECT_EQ(first_field(bad), "smtp_accounts[0].port");
  bad["port"] = 0;
  EXPECT_EQ(first_field(bad), "smtp_accounts[0].port");
  bad = valid_smtp_account();
  bad["email"] = "not an address";
  EXPECT_EQ(first_field(bad), "smtp_accounts[0].email");
  bad = valid_smtp_account();
  bad["encryption"] = "tls";
  EXPECT_EQ(first_field(bad), "smtp_accounts[0].encryption");
  bad = valid_smtp_account();
  bad.erase("server");
  EXPECT_EQ(first_field(bad), "smtp_accounts[0].server");
  bad = valid_smtp_account();
  bad.erase("password");  // a new account with authentication needs one
  EXPECT_EQ(first_field(bad), "smtp_accounts[0].password");
  EXPECT_EQ(first_field(json::array()), "smtp_accounts[0]");

  // The second element is named by its index; a valid first one does not hide it.
  json second = valid_smtp_account();
  second["auth"] = "yes";
  const http_response r =
      put_account({{"retrieval_tasks", json::array()},
                   {"smtp_accounts", json::array({valid_smtp_account(), second})}},
                  "0");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(body_of(r)["errors"][0]["field"], "smtp_accounts[1].auth");

  const http_response not_a_list =
      put_account({{"retrieval_tasks", json::array()}, {"smtp_accounts", "none"}}, "0");
  ASSERT_EQ(not_a_list.status, 400);
  EXPECT_EQ(body_of(not_a_list)["errors"][0]["field"], "smtp_accounts");
  EXPECT_EQ(fixture_.store.load_account(fixture_.alice_id).revision, 0);

  // Without authentication no password is needed.
  json open_relay = valid_smtp_account();
  open_relay.erase("password");
  open_relay["auth"] = false;
  const http_response ok = put_account(
      {{"retrieval_tasks", json::array()}, {"smtp_accounts", json::array({open_relay})}}, "0");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST_F(api_test, saved_smtp_account_may_leave_out_its_password_but_a_new_one_may_not) {
  sign_in_alice();
  const json saved = body_of(put_account(
      {{"retrieval_tasks", json::array()}, {"smtp_accounts", json::array({valid_smtp_account()})}},
      "0"));
  json account = saved["smtp_accounts"][0];
  account.erase("password");
  // (A changed port or encryption would drop the stored password: see
  // changing_where_a_password_goes_drops_it_unless_a_new_one_comes.)
  account["display_name"] = "Alice at work";
  const http_response r = put_account(
      {{"retrieval_tasks", json::array()}, {"smtp_accounts", json::array({account})}}, "1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["smtp_accounts"][0]["password_set"], true);
  EXPECT_EQ(stored_password("smtp_accounts", account["id"].get<std::string>()), "smtp secret");
  EXPECT_EQ(body_of(r)["smtp_accounts"][0]["display_name"], "Alice at work");
  EXPECT_EQ(body_of(r)["smtp_accounts"][0]["id"], account["id"]);

  json fresh = valid_smtp_account();
  fresh.erase("password");
  const http_response refused = put_account(
      {{"retrieval_tasks", json::array()}, {"smtp_accounts", json::array({fresh})}}, "2");
  ASSERT_EQ(refused.status, 400);
  EXPECT_EQ(body_of(refused)["errors"][0]["field"], "smtp_accounts[0].password");
}

// ---- Secrets ----------------------------------------------------------------------------------

TEST_F(api_test, no_answer_about_the_account_carries_a_password) {
  sign_in_alice();
  const json document = {{"retrieval_tasks", json::array({valid_task()})},
                         {"smtp_accounts", json::array({valid_smtp_account()})}};
  const http_response put = put_account(document, "0");
  ASSERT_EQ(put.status, 200) << put.body;
  const http_response get = api_->handle(authed("GET", "/api/account"));
  ASSERT_EQ(get.status, 200);
  const http_response stale = put_account(document, "0");
  ASSERT_EQ(stale.status, 412);
  for (const http_response* r : {&put, &get, &stale}) {
    EXPECT_EQ(r->body.find("mail secret"), std::string::npos) << r->body;
    EXPECT_EQ(r->body.find("smtp secret"), std::string::npos) << r->body;
    const json body = body_of(*r);
    EXPECT_FALSE(body["retrieval_tasks"][0].contains("password"));
    EXPECT_EQ(body["retrieval_tasks"][0]["password_set"], true);
    EXPECT_FALSE(body["smtp_accounts"][0].contains("password"));
    EXPECT_EQ(body["smtp_accounts"][0]["password_set"], true);
  }
  // The page writes the document back as it got it, marker and all: the passwords stay.
  const http_response again = put_account(body_of(get), "1");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(stored_password("retrieval_tasks",
                            body_of(get)["retrieval_tasks"][0]["id"].get<std::string>()),
            "mail secret");
  EXPECT_EQ(
      stored_password("smtp_accounts", body_of(get)["smtp_accounts"][0]["id"].get<std::string>()),
      "smtp secret");
  // The marker is the store's: it is not kept as a field of the task.
  const auto stored = fixture_.store.load_account(fixture_.alice_id).document;
  EXPECT_FALSE(stored["retrieval_tasks"][0].contains("password_set"));
}

TEST_F(api_test, secrets_route_gives_the_owner_the_stored_password_uncached) {
  sign_in_alice();
  const json saved = body_of(put_account({{"retrieval_tasks", json::array({valid_task()})},
                                          {"smtp_accounts", json::array({valid_smtp_account()})}},
                                         "0"));
  const std::string task_id = saved["retrieval_tasks"][0]["id"];
  const std::string account_id = saved["smtp_accounts"][0]["id"];

  const http_response r = secrets_of("retrieval_tasks", task_id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r), (json{{"list", "retrieval_tasks"},
                              {"id", task_id},
                              {"secrets", {{"password", "mail secret"}}}}));
  EXPECT_EQ(r.header("Cache-Control").value_or(""), "no-store");
  EXPECT_EQ(body_of(secrets_of("smtp_accounts", account_id))["secrets"]["password"], "smtp secret");

  EXPECT_EQ(secrets_of("retrieval_tasks", "t-no-such").status, 404);
  EXPECT_EQ(secrets_of("smtp_accounts", task_id).status, 404);  // the id of another list
  EXPECT_EQ(secrets_of("devices", task_id).status, 404);
  EXPECT_EQ(api_->handle(authed("GET", "/api/account/retrieval_tasks/" + task_id)).status, 404);
  EXPECT_EQ(
      api_->handle(authed("PUT", "/api/account/retrieval_tasks/" + task_id + "/secrets")).status,
      405);
  const http_response anonymous =
      api_->handle(request("GET", "/api/account/retrieval_tasks/" + task_id + "/secrets"));
  EXPECT_EQ(anonymous.status, 401);

  // Another user cannot read it.
  fixture_.store.add_user("bob", "bob's long password");
  const http_response bob = sign_in("bob", "bob's long password");
  ASSERT_EQ(bob.status, 200);
  token_ = std::string(bob.header("Set-Cookie").value_or("")).substr(17, 64);
  EXPECT_EQ(secrets_of("retrieval_tasks", task_id).status, 404);
}

TEST_F(api_test, secrets_route_is_rate_limited_per_session) {
  sign_in_alice();
  const json saved = body_of(put_account({{"retrieval_tasks", json::array({valid_task()})}}, "0"));
  const std::string id = saved["retrieval_tasks"][0]["id"];
  for (int i = 0; i < secrets_reads_per_window; ++i) {
    ASSERT_EQ(secrets_of("retrieval_tasks", id).status, 200) << "read " << i;
  }
  const http_response limited = secrets_of("retrieval_tasks", id);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(body_of(limited)["code"], "rate_limited");
  EXPECT_EQ(limited.body.find("mail secret"), std::string::npos);
  EXPECT_FALSE(std::string(limited.header("Retry-After").value_or("")).empty());
  // Per session: another sign-in of the same user is not held up.
  const std::string first = token_;
  sign_in_alice();
  EXPECT_EQ(secrets_of("retrieval_tasks", id).status, 200);
  // And the first session reads again once the window has passed.
  token_ = first;
  EXPECT_EQ(secrets_of("retrieval_tasks", id).status, 429);
  now_ += secrets_window_seconds;
  EXPECT_EQ(secrets_of("retrieval_tasks", id).status, 200);
}

TEST_F(api_test, changing_where_a_password_goes_drops_it_unless_a_new_one_comes) {
  sign_in_alice();
  json task = valid_task();
  task["port"] = 993;
  task["encryption"] = "ssl";
  std::int64_t revision = 0;
  const auto save = [&](const json& t) {
    const http_response r =
        put_account({{"retrieval_tasks", json::array({t})}}, std::to_string(revision));
    EXPECT_EQ(r.status, 200) << r.body;
    revision = body_of(r)["revision"];
    return body_of(r)["retrieval_tasks"][0];
  };
  task = save(task);
  const std::string id = task["id"];
  const std::vector<std::pair<std::string, json>> changes = {{"server", "attacker.example"},
                                                             {"port", 143},
                                                             {"username", "mallory"},
                                                             {"encryption", "none"},
                                                             {"type", "pop3"}};
  for (const auto& [field, value] : changes) {
    json changed = task;
    changed.erase("password_set");
    changed[field] = value;
    if (field == "type") changed["port"] = 993;
    const json after = save(changed);
    EXPECT_FALSE(after.contains("password_set")) << field;
    EXPECT_EQ(stored_password("retrieval_tasks", id), "(none)") << field << " changed";
    // The same write with a new password keeps that one.
    changed = task;
    changed[field] = value;
    if (field == "type") changed["port"] = 993;
    changed["password"] = "new for " + field;
    EXPECT_EQ(save(changed)["password_set"], true) << field;
    EXPECT_EQ(stored_password("retrieval_tasks", id), "new for " + field);
    // Back where it was, with the original password, for the next field.
    changed = task;
    changed["password"] = "mail secret";
    save(changed);
  }
  // Anything else (the interval, the folder) keeps the stored password.
  json other = task;
  other["interval_minutes"] = 60;
  other["destination_folder"] = "Elsewhere";
  EXPECT_EQ(save(other)["password_set"], true);
  EXPECT_EQ(stored_password("retrieval_tasks", id), "mail secret");

  // SMTP accounts alike.
  json account = valid_smtp_account();
  http_response r =
      put_account({{"retrieval_tasks", json::array()}, {"smtp_accounts", json::array({account})}},
                  std::to_string(revision));
  ASSERT_EQ(r.status, 200) << r.body;
  account = body_of(r)["smtp_accounts"][0];
  revision = body_of(r)["revision"];
  account["server"] = "attacker.example";
  r = put_account({{"retrieval_tasks", json::array()}, {"smtp_accounts", json::array({account})}},
                  std::to_string(revision));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(body_of(r)["smtp_accounts"][0].contains("password_set"));
  EXPECT_EQ(stored_password("smtp_accounts", account["id"].get<std::string>()), "(none)");
}

TEST_F(api_test, changing_the_password_ends_the_other_sessions_only) {
  sign_in_alice();
  const std::string other = token_;
  sign_in_alice();
  const std::string current = token_;
  ASSERT_NE(other, current);
  const http_response changed = api_->handle(
      authed("POST", "/api/password",
             json{{"old", store_fixture::alice_password}, {"new", "a much longer one"}}.dump()));
  ASSERT_EQ(changed.status, 204) << changed.body;
  EXPECT_EQ(api_->handle(authed("GET", "/api/account")).status, 200);
  token_ = other;
  EXPECT_EQ(api_->handle(authed("GET", "/api/account")).status, 401);
}

TEST_F(api_test, the_server_enforces_choosing_your_own_password) {
  config_.data_dir = fixture_.folder.path();
  make_api();
  const std::filesystem::path file = config_.data_dir / initial_password_file;
  write(file, "one-time-pw\n");
  fixture_.store.add_user("admin", "one-time-pw", /*must_change_password=*/true);
  const http_response in = sign_in("admin", "one-time-pw");
  ASSERT_EQ(in.status, 200);
  EXPECT_EQ(body_of(in)["must_change_password"], true);
  token_ = std::string(in.header("Set-Cookie").value_or("")).substr(17, 64);

  const std::vector<std::pair<std::string, std::string>> refused = {
      {"GET", "/api/account"},
      {"PUT", "/api/account"},
      {"GET", "/api/account/retrieval_tasks/t1/secrets"},
      {"POST", "/api/tasks/t1/run"},
      {"GET", "/api/tasks/t1/status"},
      {"GET", "/api/events"},
      {"GET", "/api/mailbox/folders"},
      {"POST", "/api/mailbox/messages?folder=INBOX"},
      {"PUT", "/api/session"},
      {"GET", "/api/password"},
      {"GET", "/api/nothing-here"},
  };
  for (const auto& [method, target] : refused) {
    http_request r = authed(method, target, "{}");
    r.headers.push_back({"If-Match", "0"});
    const http_response answer = api_->handle(r);
    EXPECT_EQ(answer.status, 403) << method << " " << target;
    EXPECT_EQ(body_of(answer)["code"], "password_change_required") << method << " " << target;
  }
  http_request bridge = authed("GET", "/bridge");
  bridge.websocket_upgrade = true;
  bridge.headers.push_back({"Origin", own_origin});
  EXPECT_EQ(api_->handle(bridge).status, 403);
  EXPECT_EQ(api_->handle(bridge).kind, response_kind::message);
  EXPECT_TRUE(mailbox_.appends.empty());
  EXPECT_EQ(tasks_.account_changes, 0);

  const http_response who = api_->handle(authed("GET", "/api/session"));
  EXPECT_EQ(who.status, 200);
  EXPECT_EQ(body_of(who)["must_change_password"], true);
  EXPECT_TRUE(std::filesystem::exists(file));
  ASSERT_EQ(api_->handle(authed("POST", "/api/password",
                                json{{"old", "one-time-pw"}, {"new", "my own password"}}.dump()))
                .status,
            204);
  EXPECT_FALSE(std::filesystem::exists(file)) << "the one-time password's file is removed";
  EXPECT_EQ(api_->handle(authed("GET", "/api/account")).status, 200);
  EXPECT_EQ(api_->handle(bridge).kind, response_kind::bridge);
  EXPECT_EQ(api_->handle(authed("DELETE", "/api/session")).status, 204);
}

// ---- Tasks ----------------------------------------------------------------------------------

TEST_F(api_test, run_now_answers_started_already_running_or_not_found) {
  sign_in_alice();
  tasks_.results["t1"] = task_runner::start_result::started;
  tasks_.results["t2"] = task_runner::start_result::already_running;
  const http_response started = api_->handle(authed("POST", "/api/tasks/t1/run"));
  EXPECT_EQ(started.status, 202);
  EXPECT_EQ(body_of(started)["started"], true);
  EXPECT_EQ(tasks_.last_user, fixture_.alice_id);
  const http_response busy = api_->handle(authed("POST", "/api/tasks/t2/run"));
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(body_of(busy)["code"], "already_running");
  EXPECT_EQ(api_->handle(authed("POST", "/api/tasks/t3/run")).status, 404);
  EXPECT_EQ(api_->handle(authed("POST", "/api/tasks/..%2f/run")).status, 404);
  EXPECT_EQ(api_->handle(authed("GET", "/api/tasks/t1/run")).status, 405);
}

TEST_F(api_test, task_status_comes_from_the_runner) {
  sign_in_alice();
  tasks_.statuses["t1"] = {{"task_id", "t1"}, {"running", false}, {"consecutive_failures", 2}};
  const http_response r = api_->handle(authed("GET", "/api/tasks/t1/status"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), tasks_.statuses["t1"]);
  EXPECT_EQ(api_->handle(authed("GET", "/api/tasks/t9/status")).status, 404);
}

TEST_F(api_test, lease_is_taken_refused_to_another_owner_and_released) {
  sign_in_alice();
  const auto lease = [&](const std::string& owner, int seconds) {
    return api_->handle(
        authed("POST", "/api/tasks/t1/lease", json{{"owner", owner}, {"seconds", seconds}}.dump()));
  };
  EXPECT_EQ(lease("tab-1", 60).status, 200);
  const http_response taken = lease("tab-2", 60);
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(lease("tab-1", 0).status, 400);
  EXPECT_EQ(api_->handle(authed("DELETE", "/api/tasks/t1/lease?owner=tab-1")).status, 204);
  EXPECT_EQ(tasks_.released, std::vector<std::string>{"t1/tab-1"});
  EXPECT_EQ(lease("tab-2", 60).status, 200);
  EXPECT_EQ(api_->handle(authed("DELETE", "/api/tasks/t1/lease")).status, 400);
}

// ---- Mailbox --------------------------------------------------------------------------------

TEST_F(api_test, folders_and_message_pages) {
  sign_in_alice();
  const http_response folders = api_->handle(authed("GET", "/api/mailbox/folders"));
  ASSERT_EQ(folders.status, 200);
  EXPECT_EQ(body_of(folders)[0]["name"], "INBOX");

  const http_response page =
      api_->handle(authed("GET", "/api/mailbox/messages?folder=INBOX&page=2"));
  ASSERT_EQ(page.status, 200);
  const json body = body_of(page);
  EXPECT_EQ(body["folder"], "INBOX");
  EXPECT_EQ(body["page"], 2);
  EXPECT_EQ(body["total"], 120);
  ASSERT_EQ(body["messages"].size(), 20u);
  const json& first = body["messages"][0];
  EXPECT_EQ(first["id"], "m100");
  EXPECT_EQ(first["subject"], "Message 100");
  EXPECT_EQ(first["flags"], json::array({"\\Seen"}));
  for (const char* key : {"from", "to", "date", "date_unix", "size"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }

  const http_response unknown = api_->handle(authed("GET", "/api/mailbox/messages?folder=Nope"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(body_of(unknown)["code"], "unknown_folder");
  EXPECT_EQ(api_->handle(authed("GET", "/api/mailbox/messages?folder=a%2F..%2Fb")).status, 400);
  EXPECT_EQ(api_->handle(authed("GET", "/api/mailbox/messages?folder=INBOX&page=-1")).status, 400);
}

TEST_F(api_test, raw_message_is_message_rfc822) {
  sign_in_alice();
  const http_response r = api_->handle(authed("GET", "/api/mailbox/messages/m1/raw"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type").value_or(""), "message/rfc822");
  EXPECT_EQ(r.body, "Subject: Message 1\r\n\r\nHello\r\n");
  EXPECT_EQ(api_->handle(authed("GET", "/api/mailbox/messages/m2/raw")).status, 404);
}

TEST_F(api_test, append_passes_key_flags_and_date_and_answers_201) {
  sign_in_alice();
  http_request r =
      authed("POST", "/api/mailbox/messages?folder=Lists%2FDev", "Subject: hi\r\n\r\nbody\r\n");
  r.headers.push_back({"X-Junction-Key", "0123456789abcdef0123"});
  r.headers.push_back({"X-Junction-Flags", "\\Seen \\Flagged"});
  r.headers.push_back({"X-Junction-Internal-Date", "1600000000"});
  const http_response first = api_->handle(r);
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(body_of(first)["already_had"], false);
  EXPECT_FALSE(body_of(first)["id"].get<std::string>().empty());
  ASSERT_EQ(mailbox_.appends.size(), 1u);
  EXPECT_EQ(mailbox_.appends[0].folder, "Lists/Dev");
  EXPECT_EQ(mailbox_.appends[0].key, "0123456789abcdef0123");
  EXPECT_EQ(mailbox_.appends[0].flags, 1u | 4u);
  EXPECT_EQ(mailbox_.appends[0].internal_date, 1600000000);
  EXPECT_EQ(body_of(api_->handle(r))["already_had"], true);
}

TEST_F(api_test, append_refuses_bad_keys_folders_flags_and_messages) {
  sign_in_alice();
  const auto append = [&](const std::string& target, const std::string& key,
                          const std::string& body = "Subject: x\r\n\r\nx") {
    http_request r = authed("POST", target, body);
    if (!key.empty()) r.headers.push_back({"X-Junction-Key", key});
    return api_->handle(r);
  };
  EXPECT_EQ(append("/api/mailbox/messages?folder=INBOX", "short").status, 400);
  EXPECT_EQ(append("/api/mailbox/messages?folder=INBOX", std::string(65, 'a')).status, 400);
  EXPECT_EQ(append("/api/mailbox/messages?folder=INBOX", std::string(16, 'g')).status, 400);
  EXPECT_EQ(append("/api/mailbox/messages?folder=..", "").status, 400);
  EXPECT_EQ(append("/api/mailbox/messages?folder=INBOX", "", "no separator").status, 400);
  EXPECT_EQ(append("/api/mailbox/messages?folder=INBOX", "", "").status, 400);
  http_request flags = authed("POST", "/api/mailbox/messages?folder=INBOX", "Subject: x\r\n\r\nx");
  flags.headers.push_back({"X-Junction-Flags", "\\Bogus"});
  EXPECT_EQ(api_->handle(flags).status, 400);
  EXPECT_TRUE(mailbox_.appends.empty());
}

TEST_F(api_test, body_limit_depends_on_the_route) {
  EXPECT_EQ(api_->body_limit("POST", "/api/mailbox/messages?folder=INBOX"),
            config_.max_message_body);
  EXPECT_EQ(api_->body_limit("PUT", "/api/account"), config_.max_json_body);
  EXPECT_EQ(api_->body_limit("POST", "/api/session"), config_.max_json_body);
  EXPECT_EQ(api_->body_limit("POST", "/api/mailbox/batch"), config_.max_message_body);
  EXPECT_GE(config_.max_message_body, std::size_t{64} << 20);
  EXPECT_EQ(api_->body_limit("PUT", "/api/tasks/t1/state?owner=x"), std::size_t{16} << 20);
  EXPECT_EQ(api_->body_limit("GET", "/api/tasks/t1/state"), config_.max_json_body);
  EXPECT_EQ(api_->body_limit("POST", "/api/tasks/t1/runs"), config_.max_json_body);
}

TEST_F(api_test, batch_hands_every_valid_record_to_one_append_batch_call) {
  sign_in_alice();
  std::string body;
  const auto add = [&](const json& line, const std::string& message) {
    json l = line;
    l["size"] = message.size();
    body += l.dump() + "\n" + message + "\n";
  };
  add({{"folder", "INBOX"}, {"key", "00000000000000AA"}, {"flags", "\\Seen"}},
      "Subject: a\r\n\r\na");
  add({{"folder", "Lists/Dev"}, {"internal_date", 1600000000}}, "Subject: b\r\n\r\nb");
  add({{"folder", "INBOX"}, {"flags", "\\Bogus"}}, "Subject: c\r\n\r\nc");
  http_request r = authed("POST", "/api/mailbox/batch", body);
  r.headers.push_back({"Content-Type", "application/vnd.junction.batch"});
  const http_response answer = api_->handle(r);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(mailbox_.batches, 1);
  ASSERT_EQ(mailbox_.appends.size(), 2u);
  EXPECT_EQ(mailbox_.appends[0].key, "00000000000000aa");  // hex keys are stored lower-case
  EXPECT_EQ(mailbox_.appends[0].flags, 1u);
  EXPECT_EQ(mailbox_.appends[0].internal_date, now_);
  EXPECT_EQ(mailbox_.appends[1].folder, "Lists/Dev");
  EXPECT_EQ(mailbox_.appends[1].internal_date, 1600000000);
  const json results = body_of(answer)["results"];
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["id"], "new1");
  EXPECT_EQ(results[1]["id"], "new2");
  EXPECT_EQ(results[2]["code"], "invalid_flags");

  // The fake refuses a message without a header/body separator: that record alone fails.
  body.clear();
  add({}, "no separator");
  add({}, "Subject: d\r\n\r\nd");
  r.body = body;
  const json second = body_of(api_->handle(r))["results"];
  EXPECT_EQ(second[0]["code"], "invalid");
  EXPECT_EQ(second[1]["id"], "new3");
  EXPECT_EQ(mailbox_.appends[2].folder, "INBOX");  // no folder: INBOX, like the single append
}

TEST_F(api_test, state_and_runs_need_the_lease_and_an_existing_task) {
  sign_in_alice();
  tasks_.statuses["t1"] = {{"task_id", "t1"}};
  EXPECT_EQ(api_->handle(authed("GET", "/api/tasks/t1/state")).status, 204);
  EXPECT_EQ(api_->handle(authed("GET", "/api/tasks/t9/state")).status, 404);
  const http_response refused =
      api_->handle(authed("PUT", "/api/tasks/t1/state?owner=tab-1", R"({"v":1})"));
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(body_of(refused)["code"], "not_leased");
  tasks_.leases["t1"] = "tab-1";
  EXPECT_EQ(api_->handle(authed("PUT", "/api/tasks/t1/state", R"({"v":1})")).status, 400);
  EXPECT_EQ(api_->handle(authed("PUT", "/api/tasks/t1/state?owner=tab-1", "{not json")).status,
            400);
  EXPECT_EQ(api_->handle(authed("PUT", "/api/tasks/t1/state?owner=tab-1", R"({"v":1})")).status,
            204);
  const http_response got = api_->handle(authed("GET", "/api/tasks/t1/state"));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, R"({"v":1})");
  EXPECT_EQ(got.header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(api_->handle(authed("DELETE", "/api/tasks/t1/state")).status, 405);

  const json run = {{"owner", "tab-1"}, {"started_at", 100}, {"finished_at", 160},
                    {"ok", false},      {"failure", "dns"},  {"message", "no such host"}};
  const http_response posted = api_->handle(authed("POST", "/api/tasks/t1/runs", run.dump()));
  ASSERT_EQ(posted.status, 201) << posted.body;
  EXPECT_EQ(body_of(posted)["run"]["trigger"], "browser");
  EXPECT_EQ(body_of(posted)["run"]["folders"], json::array());
  json other = run;
  other["owner"] = "tab-2";
  EXPECT_EQ(api_->handle(authed("POST", "/api/tasks/t1/runs", other.dump())).status, 409);
  // Test Connection results are not runs: nothing recorded, no lease needed.
  other["check"] = true;
  EXPECT_EQ(api_->handle(authed("POST", "/api/tasks/t1/runs", other.dump())).status, 204);
  EXPECT_EQ(tasks_.browser_runs.size(), 1u);
  json backwards = run;
  backwards["finished_at"] = 99;
  EXPECT_EQ(api_->handle(authed("POST", "/api/tasks/t1/runs", backwards.dump())).status, 400);
  json bad_folder = run;
  bad_folder["folders"] = json::array({{{"folder", "INBOX"}, {"new", -1}}});
  EXPECT_EQ(api_->handle(authed("POST", "/api/tasks/t1/runs", bad_folder.dump())).status, 400);
  EXPECT_EQ(api_->handle(authed("POST", "/api/tasks/t9/runs", run.dump())).status, 404);
  EXPECT_EQ(tasks_.browser_runs.size(), 1u);
}

// ---- Event stream and bridge ----------------------------------------------------------------

TEST_F(api_test, events_route_hands_over_the_users_stream) {
  sign_in_alice();
  const http_response r = api_->handle(authed("GET", "/api/events"));
  EXPECT_EQ(r.kind, response_kind::event_stream);
  EXPECT_EQ(r.user_id, fixture_.alice_id);
  EXPECT_EQ(r.header("Content-Type").value_or(""), "text/event-stream");
  EXPECT_EQ(r.header("Cache-Control").value_or(""), "no-cache");
}

TEST_F(api_test, bridge_needs_an_allowed_origin_a_session_and_an_upgrade) {
  http_request r = request("GET", "/bridge");
  r.websocket_upgrade = true;
  const http_response no_origin = api_->handle(r);
  EXPECT_EQ(no_origin.status, 403);
  EXPECT_EQ(no_origin.kind, response_kind::message);

  set_origin(r, "https://evil.example");
  EXPECT_EQ(api_->handle(r).status, 403);
  r.headers.back().value = own_origin;
  const http_response no_session = api_->handle(r);
  EXPECT_EQ(no_session.status, 401);
  EXPECT_EQ(no_session.kind, response_kind::message);

  sign_in_alice();
  r.headers.push_back({"Cookie", "junction_session=" + token_});
  const http_response ok = api_->handle(r);
  EXPECT_EQ(ok.kind, response_kind::bridge);
  EXPECT_EQ(ok.session_id, crypto::sha256_hex(token_));
  EXPECT_EQ(ok.user_id, fixture_.alice_id);

  r.websocket_upgrade = false;
  EXPECT_EQ(api_->handle(r).status, 426);
}

// ---- Static files and the rest --------------------------------------------------------------

TEST_F(api_test, static_files_with_their_types_and_security_headers) {
  const http_response index = api_->handle(request("GET", "/"));
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.file, std::filesystem::canonical(config_.web_root / "index.html"));
  EXPECT_EQ(index.header("Content-Type").value_or(""), "text/html; charset=utf-8");
  EXPECT_NE(std::string(index.header("Content-Security-Policy").value_or(""))
                .find("script-src 'self' 'wasm-unsafe-eval'"),
            std::string::npos);
  EXPECT_EQ(index.header("X-Content-Type-Options").value_or(""), "nosniff");
  EXPECT_EQ(index.header("Referrer-Policy").value_or(""), "no-referrer");

  const http_response js = api_->handle(request("GET", "/app/main.js?v=3"));
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.header("Content-Type").value_or(""), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.file_size, 15u);
  EXPECT_FALSE(js.header("Content-Security-Policy"));

  EXPECT_EQ(api_->handle(request("GET", "/core.wasm")).header("Content-Type").value_or(""),
            "application/wasm");
  EXPECT_EQ(api_->handle(request("GET", "/app/a%20b.mjs")).status, 200);
  EXPECT_EQ(api_->handle(request("HEAD", "/app/main.js")).status, 200);
}

TEST_F(api_test, static_paths_cannot_leave_the_web_root) {
  for (const char* target : {"/../outside.js", "/app/../../outside.js", "/%2e%2e/outside.js",
                             "/app/%2E%2E%2F%2E%2E%2Foutside.js", "/link.js", "/.hidden.js",
                             "/notes.txt", "/missing.js", "/app", "/app/", "/index.html%00.js"}) {
    const http_response r = api_->handle(request("GET", target));
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_TRUE(r.file.empty()) << target;
  }
  EXPECT_EQ(api_->handle(request("GET", "/%zz")).status, 400);
  EXPECT_EQ(api_->handle(request("POST", "/index.html")).status, 405);
}

TEST_F(api_test, unknown_api_route_is_json_404_with_security_headers) {
  sign_in_alice();
  const http_response r = api_->handle(authed("GET", "/api/unknown"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_of(r)["code"], "not_found");
  EXPECT_EQ(r.header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(r.header("X-Content-Type-Options").value_or(""), "nosniff");
}

}  // namespace
}  // namespace junction::serve
