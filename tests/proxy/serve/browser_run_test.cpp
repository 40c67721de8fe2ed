// The routes a browser's own retrieval run uses (task state, run records, batch appends),
// against the real scheduler (not started: no background runs), the real Maildir service and
// a real account store in a temporary folder. These prove what fakes cannot: that the state
// is the very row the scheduler's native runs use, and what lands on disk.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <ctime>
#include <stdexcept>

#include <mutex>

#include "serve/api.h"
#include "serve/maildir_service.h"
#include "serve/scheduler.h"
#include "serve_fakes.h"

namespace junction::serve {
namespace {

using nlohmann::json;
using testing::store_fixture;
namespace fs = std::filesystem;

class browser_run_test : public ::testing::Test {
 protected:
  browser_run_test() {
    config_.data_dir = fixture_.folder.path();
    tasks_ = std::make_unique<scheduler>(config_, fixture_.secrets, hub_);
    mailboxes_ = std::make_unique<maildir_service>(config_.data_dir);
    api_dependencies deps;
    deps.store = [this]() -> store::account_store& { return fixture_.store; };
    deps.events = &hub_;
    deps.tasks = tasks_.get();
    deps.mailboxes = mailboxes_.get();
    deps.clock = [] { return std::int64_t{1700000000}; };
    config_.public_origin = "http://junction.test";
    api_ = std::make_unique<api>(config_, deps);

    const json task = {{"type", "imap"},
                       {"server", "mail.example.com"},
                       {"username", "alice"},
                       {"password", "mail secret"}};
    store::account_document current;
    const auto saved = fixture_.store.save_account(
        fixture_.alice_id, 0, {{"retrieval_tasks", json::array({task})}}, &current);
    task_id_ = saved->document["retrieval_tasks"][0]["id"].get<std::string>();

    const http_response r = api_->handle(
        request("POST", "/api/session",
                json{{"username", "alice"}, {"password", store_fixture::alice_password}}.dump()));
    const std::string cookie(r.header("Set-Cookie").value_or(""));
    token_ = cookie.substr(cookie.find('=') + 1, 64);

    subscription_ = hub_.subscribe(fixture_.alice_id, [this](const json& event) {
      std::lock_guard lock(events_mutex_);
      events_.push_back(event);
    });
  }
  ~browser_run_test() override { hub_.unsubscribe(subscription_); }

  static http_request request(std::string method, std::string target, std::string body = {}) {
    http_request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.remote_address = "192.0.2.7";
    r.headers.push_back({"Host", "junction.test"});
    r.headers.push_back({"Origin", "http://junction.test"});  // the page's, as a browser sends
    return r;
  }
  http_response call(std::string method, std::string target, std::string body = {}) {
    http_request r = request(std::move(method), std::move(target), std::move(body));
    r.headers.push_back({"Cookie", "junction_session=" + token_});
    return api_->handle(r);
  }
  std::string task_path(const std::string& action) const {
    return "/api/tasks/" + task_id_ + "/" + action;
  }
  http_response lease(const std::string& owner) {
    return call("POST", task_path("lease"), json{{"owner", owner}, {"seconds", 60}}.dump());
  }
  // The row the scheduler's native runs read and write (retrieval_runner's task_key_for of
  // the id "u<user>-<task>" the scheduler gives the task).
  std::string native_state_key() const {
    return "task:u" + std::to_string(fixture_.alice_id) + "-" + task_id_;
  }

  // One batch record: its JSON line with "size" added, the message, the closing LF.
  static std::string record(json line, const std::string& message) {
    line["size"] = message.size();
    return line.dump() + "\n" + message + "\n";
  }
  http_response batch(const std::string& body) {
    http_request r = request("POST", "/api/mailbox/batch", body);
    r.headers.push_back({"Cookie", "junction_session=" + token_});
    r.headers.push_back({"Content-Type", "application/vnd.junction.batch"});
    return api_->handle(r);
  }
  fs::path mailbox() const {
    return maildir_service::user_dir(config_.data_dir, fixture_.alice_id) / "mailbox";
  }
  // Every message file in the mailbox (new/ and cur/ of every folder).
  std::vector<fs::path> stored_files() const {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(mailbox(), ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string parent = it->path().parent_path().filename().string();
      if (it->is_regular_file() && (parent == "new" || parent == "cur")) out.push_back(it->path());
    }
    return out;
  }

  store_fixture fixture_;
  serve_config config_;
  event_hub hub_;
  std::unique_ptr<scheduler> tasks_;
  std::unique_ptr<maildir_service> mailboxes_;
  std::unique_ptr<api> api_;
  std::string token_;
  std::string task_id_;
  std::uint64_t subscription_ = 0;
  std::mutex events_mutex_;
  std::vector<json> events_;
};

// ---- Task state -----------------------------------------------------------------------------

TEST_F(browser_run_test, state_round_trip_under_the_lease) {
  EXPECT_EQ(call("GET", task_path("state")).status, 204);
  EXPECT_EQ(call("GET", "/api/tasks/nope/state").status, 404);
  EXPECT_EQ(call("PUT", "/api/tasks/nope/state?owner=tab-1", "{}").status, 404);

  const std::string state = R"({"version":1,"folders":{"INBOX":{"uidvalidity":7,"seen":[1,2]}}})";
  const http_response unleased = call("PUT", task_path("state?owner=tab-1"), state);
  EXPECT_EQ(unleased.status, 409);
  EXPECT_EQ(json::parse(unleased.body)["code"], "not_leased");

  ASSERT_EQ(lease("tab-1").status, 200);
  EXPECT_EQ(call("PUT", task_path("state?owner=tab-2"), state).status, 409);
  EXPECT_EQ(call("GET", task_path("state")).status, 204);  // the refused write left nothing
  ASSERT_EQ(call("PUT", task_path("state?owner=tab-1"), state).status, 204);
  const http_response got = call("GET", task_path("state"));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body, state);
  EXPECT_EQ(got.header("Content-Type").value_or(""), "application/json");

  // Given back, the lease no longer lets tab-1 write.
  EXPECT_EQ(call("DELETE", task_path("lease?owner=tab-1")).status, 204);
  EXPECT_EQ(call("PUT", task_path("state?owner=tab-1"), "{}").status, 409);
  EXPECT_EQ(call("GET", task_path("state")).body, state);
}

TEST_F(browser_run_test, state_is_the_row_native_runs_use) {
  // Written by the API, read by the key the scheduler's runs use ...
  ASSERT_EQ(lease("tab-1").status, 200);
  ASSERT_EQ(call("PUT", task_path("state?owner=tab-1"), R"({"from":"browser"})").status, 204);
  EXPECT_EQ(fixture_.db.load_retrieval_state(native_state_key()).value_or(""),
            R"({"from":"browser"})");
  // ... and the other way round.
  fixture_.db.save_retrieval_state(native_state_key(), R"({"from":"native"})");
  EXPECT_EQ(call("GET", task_path("state")).body, R"({"from":"native"})");
}

TEST_F(browser_run_test, a_lease_taken_over_by_another_run_refuses_the_old_owner) {
  ASSERT_EQ(lease("tab-1").status, 200);
  // tab-1 went quiet, its lease expired and the scheduler took the task.
  fixture_.store.release_lease("user:" + std::to_string(fixture_.alice_id) + "/task:" + task_id_,
                               "browser:tab-1");
  ASSERT_TRUE(fixture_.store.acquire_lease(
      "user:" + std::to_string(fixture_.alice_id) + "/task:" + task_id_, "proxy:abc", 1700000000,
      120));
  EXPECT_EQ(call("PUT", task_path("state?owner=tab-1"), "{}").status, 409);
  EXPECT_FALSE(fixture_.db.load_retrieval_state(native_state_key()));
}

// ---- Runs -----------------------------------------------------------------------------------

TEST_F(browser_run_test, browser_run_is_recorded_shown_in_status_and_published) {
  ASSERT_EQ(lease("tab-1").status, 200);
  const json run = {
      {"owner", "tab-1"},
      {"started_at", 1700000100},
      {"finished_at", 1700000160},
      {"ok", true},
      {"failure", ""},
      {"message", ""},
      {"folders",
       json::array({{{"folder", "INBOX"}, {"new", 3}, {"already_had", 1}, {"deleted", 0}}})},
      {"check", false}};
  const http_response posted = call("POST", task_path("runs"), run.dump());
  ASSERT_EQ(posted.status, 201) << posted.body;
  const json recorded = json::parse(posted.body)["run"];
  EXPECT_EQ(recorded["trigger"], "browser");
  EXPECT_EQ(recorded["started_at"], 1700000100);
  EXPECT_EQ(recorded["folders"], run["folders"]);

  const http_response status = call("GET", task_path("status"));
  ASSERT_EQ(status.status, 200);
  const json last = json::parse(status.body)["last_run"];
  EXPECT_EQ(last, recorded);
  EXPECT_EQ(last["ok"], true);

  {
    std::lock_guard lock(events_mutex_);
    ASSERT_EQ(events_.size(), 1u);
    EXPECT_EQ(events_[0]["type"], "run_finished");
    EXPECT_EQ(events_[0]["task_id"], task_id_);
    EXPECT_EQ(events_[0]["run"], recorded);
  }

  // Another owner, a Test Connection result and an unknown task leave the history alone.
  json other = run;
  other["owner"] = "tab-2";
  other["started_at"] = 1700000200;
  other["finished_at"] = 1700000200;
  EXPECT_EQ(call("POST", task_path("runs"), other.dump()).status, 409);
  other["check"] = true;
  EXPECT_EQ(call("POST", task_path("runs"), other.dump()).status, 204);
  EXPECT_EQ(call("POST", "/api/tasks/nope/runs", run.dump()).status, 404);
  EXPECT_EQ(json::parse(call("GET", task_path("status")).body)["last_run"], recorded);
  std::lock_guard lock(events_mutex_);
  EXPECT_EQ(events_.size(), 1u);
}

// ---- Batch append ---------------------------------------------------------------------------

TEST_F(browser_run_test, batch_stores_records_in_their_folders_with_flags_and_dates) {
  const std::string a = "Subject: one\r\n\r\nfirst\r\n";
  const std::string b = "Subject: two\r\n\r\nsecond\nwith a bare LF and \"quotes\"\r\n";
  const std::string c = "Subject: three\r\n\r\n";
  const std::string body =
      record({{"folder", "INBOX"},
              {"key", "00000000000000000000000000000001"},
              {"flags", "\\Seen \\Flagged"},
              {"internal_date", 1600000000}},
             a) +
      record({{"folder", "Lists/Dev"},
              {"key", "00000000000000000000000000000002"},
              {"internal_date", 1500000000}},
             b) +
      record({{"folder", "Lists/Dev"}, {"key", "00000000000000000000000000000003"}}, c);
  const http_response r = batch(body);
  ASSERT_EQ(r.status, 200) << r.body;
  const json results = json::parse(r.body)["results"];
  ASSERT_EQ(results.size(), 3u);
  for (const auto& result : results) {
    EXPECT_EQ(result["already_had"], false) << result;
    EXPECT_TRUE(result["id"].is_string()) << result;
  }
  ASSERT_EQ(stored_files().size(), 3u);

  // Read back through the API: the right folder, bytes, flags and dates.
  EXPECT_EQ(
      call("GET", "/api/mailbox/messages/" + results[0]["id"].get<std::string>() + "/raw").body, a);
  EXPECT_EQ(
      call("GET", "/api/mailbox/messages/" + results[1]["id"].get<std::string>() + "/raw").body, b);
  const json inbox = json::parse(call("GET", "/api/mailbox/messages?folder=INBOX").body);
  ASSERT_EQ(inbox["total"], 1);
  EXPECT_EQ(inbox["messages"][0]["id"], results[0]["id"]);
  EXPECT_EQ(inbox["messages"][0]["flags"], json::array({"\\Flagged", "\\Seen"}));
  const json dev = json::parse(call("GET", "/api/mailbox/messages?folder=Lists%2FDev").body);
  ASSERT_EQ(dev["total"], 2);
  for (const auto& m : dev["messages"]) EXPECT_EQ(m["flags"], json::array());

  // The INTERNALDATE is the file's mtime; a record without one gets the request's time.
  std::map<std::string, std::int64_t> mtimes;
  for (const auto& file : stored_files()) {
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    const std::string name = file.filename().string();
    mtimes[name.substr(name.find(".J") + 2, 32)] = st.st_mtime;
  }
  EXPECT_EQ(mtimes["00000000000000000000000000000001"], 1600000000);
  EXPECT_EQ(mtimes["00000000000000000000000000000002"], 1500000000);
  EXPECT_EQ(mtimes["00000000000000000000000000000003"], 1700000000);
}

TEST_F(browser_run_test, repeated_batch_is_already_had_and_writes_nothing) {
  const std::string body =
      record({{"folder", "INBOX"}, {"key", "aaaaaaaaaaaaaaaa"}}, "Subject: a\r\n\r\na") +
      record({{"folder", "Work"}, {"key", "bbbbbbbbbbbbbbbb"}, {"flags", "\\Seen"}},
             "Subject: b\r\n\r\nb") +
      record({{"folder", "INBOX"}}, "Subject: keyless\r\n\r\nc");  // the content is the key
  const json first = json::parse(batch(body).body)["results"];
  ASSERT_EQ(first.size(), 3u);
  const auto files = stored_files();
  ASSERT_EQ(files.size(), 3u);

  const http_response again = batch(body);
  ASSERT_EQ(again.status, 200);
  const json second = json::parse(again.body)["results"];
  ASSERT_EQ(second.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(second[i]["already_had"], true) << i;
    EXPECT_EQ(second[i]["id"], first[i]["id"]) << i;
  }
  EXPECT_EQ(stored_files(), files);

  // The single append sees the batch's keys too: one idempotency, whichever route.
  http_request single = request("POST", "/api/mailbox/messages?folder=Work", "Subject: b\r\n\r\nb");
  single.headers.push_back({"Cookie", "junction_session=" + token_});
  single.headers.push_back({"X-Junction-Key", "BBBBBBBBBBBBBBBB"});
  const http_response one = api_->handle(single);
  ASSERT_EQ(one.status, 201) << one.body;
  EXPECT_EQ(json::parse(one.body)["already_had"], true);
  EXPECT_EQ(json::parse(one.body)["id"], first[1]["id"]);
  EXPECT_EQ(stored_files().size(), 3u);
}

TEST_F(browser_run_test, duplicate_key_within_one_batch_is_stored_once) {
  const std::string body =
      record({{"folder", "INBOX"}, {"key", "cccccccccccccccc"}}, "Subject: c\r\n\r\nfirst") +
      record({{"folder", "INBOX"}, {"key", "cccccccccccccccc"}}, "Subject: c\r\n\r\nsecond");
  const http_response r = batch(body);
  ASSERT_EQ(r.status, 200) << r.body;
  const json results = json::parse(r.body)["results"];
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0]["already_had"], false);
  EXPECT_EQ(results[1]["already_had"], true);
  EXPECT_EQ(results[1]["id"], results[0]["id"]);
  ASSERT_EQ(stored_files().size(), 1u);
  EXPECT_EQ(
      call("GET", "/api/mailbox/messages/" + results[0]["id"].get<std::string>() + "/raw").body,
      "Subject: c\r\n\r\nfirst");
}

TEST_F(browser_run_test, malformed_batch_is_400_and_stores_nothing) {
  const std::string good =
      record({{"folder", "INBOX"}, {"key", "dddddddddddddddd"}}, "Subject: d\r\n\r\nd");
  std::string too_many;
  for (int i = 0; i < 1001; ++i) {
    too_many += record({{"folder", "INBOX"}}, "Subject: " + std::to_string(i) + "\r\n\r\nx");
  }
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"empty", ""},
      {"size beyond the end", good + "{\"folder\":\"INBOX\",\"size\":100}\nSubject: x\r\n\r\nx\n"},
      {"size one short of the closing LF",
       good + "{\"folder\":\"INBOX\",\"size\":17}\nSubject: x\r\n\r\nxy"},
      {"no LF after the message", good + "{\"size\":3}\nabcX"},
      {"bad JSON line", good + "{\"folder\": \"INBOX\", size: 3}\nabc\n"},
      {"JSON line not an object", good + "[3]\nabc\n"},
      {"no size", good + "{\"folder\":\"INBOX\"}\nabc\n"},
      {"negative size", good + "{\"size\":-1}\nabc\n"},
      {"no line end", good + "{\"size\":3}"},
      {"line over 4 KiB",
       good + record({{"folder", "INBOX"}, {"pad", std::string(4100, 'p')}}, "x")},
      {"1001 records", too_many},
  };
  for (const auto& [what, body] : bodies) {
    const http_response r = batch(body);
    EXPECT_EQ(r.status, 400) << what << ": " << r.body;
    EXPECT_EQ(json::parse(r.body)["code"], "invalid") << what;
  }
  EXPECT_TRUE(stored_files().empty());

  // 1000 records is the limit, not beyond it.
  std::string thousand;
  for (int i = 0; i < 1000; ++i) {
    thousand += record({{"folder", "INBOX"}}, "Subject: " + std::to_string(i) + "\r\n\r\nx");
  }
  const http_response full = batch(thousand);
  ASSERT_EQ(full.status, 200) << full.body.substr(0, 200);
  EXPECT_EQ(json::parse(full.body)["results"].size(), 1000u);
  EXPECT_EQ(stored_files().size(), 1000u);
}

TEST_F(browser_run_test, bad_record_fails_alone) {
  const std::string body =
      record({{"folder", "INBOX"}, {"key", "eeeeeeeeeeeeeeee"}}, "Subject: e\r\n\r\ne") +
      record({{"folder", "a/../b"}, {"key", "ffffffffffffffff"}}, "Subject: f\r\n\r\nf") +
      record({{"folder", "INBOX"}, {"key", "not hex"}}, "Subject: g\r\n\r\ng") +
      record({{"folder", "INBOX"}, {"flags", "\\Bogus"}}, "Subject: h\r\n\r\nh") +
      record({{"folder", "INBOX"}, {"internal_date", -5}}, "Subject: i\r\n\r\ni") +
      record({{"folder", 7}}, "Subject: j\r\n\r\nj") + record({{"folder", "INBOX"}}, "") +
      record({{"folder", "Archive"}, {"key", "1111111111111111"}}, "Subject: k\r\n\r\nk");
  const http_response r = batch(body);
  ASSERT_EQ(r.status, 200) << r.body;
  const json results = json::parse(r.body)["results"];
  ASSERT_EQ(results.size(), 8u);
  EXPECT_EQ(results[0]["already_had"], false);
  EXPECT_EQ(results[1]["code"], "invalid_folder");
  EXPECT_TRUE(results[1]["error"].is_string());
  EXPECT_EQ(results[2]["code"], "invalid_key");
  EXPECT_EQ(results[3]["code"], "invalid_flags");
  EXPECT_EQ(results[4]["code"], "invalid_date");
  EXPECT_EQ(results[5]["code"], "invalid_folder");
  EXPECT_EQ(results[6]["code"], "invalid");
  EXPECT_EQ(results[7]["already_had"], false);
  EXPECT_EQ(stored_files().size(), 2u);
  const json folders = json::parse(call("GET", "/api/mailbox/folders").body);
  ASSERT_EQ(folders.size(), 2u);  // INBOX and Archive; nothing made for the refused folder
  EXPECT_EQ(folders[1]["name"], "Archive");
}

// A folder name the Maildir++ layout cannot hold (263 bytes, reviews/poc/longfolder.cpp) is
// the client's mistake, refused like any invalid name, not a store failure to retry.
TEST_F(browser_run_test, folder_name_too_long_for_the_mailbox_is_refused_alone) {
  std::string long_name;
  for (int i = 0; i < 12; ++i) {
    long_name += (i ? "/" : "") + std::string(
                                      "\xc3\x9c"
                                      "berpr\xc3\xbc"
                                      "fung-Projekt");
  }
  const std::string body =
      record({{"folder", long_name}, {"key", "abababababababab"}}, "Subject: l\r\n\r\nl") +
      record({{"folder", "INBOX"}, {"key", "cdcdcdcdcdcdcdcd"}}, "Subject: m\r\n\r\nm");
  const http_response r = batch(body);
  ASSERT_EQ(r.status, 200) << r.body;
  const json results = json::parse(r.body)["results"];
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0]["code"], "invalid") << results[0].dump();  // as before, not store_failed
  EXPECT_EQ(results[1]["already_had"], false);
  EXPECT_EQ(stored_files().size(), 1u);
}

TEST_F(browser_run_test, batch_needs_its_media_type_and_post) {
  const std::string body = record({{"folder", "INBOX"}}, "Subject: x\r\n\r\nx");
  http_request r = request("POST", "/api/mailbox/batch", body);
  r.headers.push_back({"Cookie", "junction_session=" + token_});
  EXPECT_EQ(api_->handle(r).status, 415);
  r.headers.push_back({"Content-Type", "application/json"});
  EXPECT_EQ(api_->handle(r).status, 415);
  r.headers.back().value = "Application/Vnd.Junction.Batch; charset=binary";
  EXPECT_EQ(api_->handle(r).status, 200);
  EXPECT_EQ(call("GET", "/api/mailbox/batch").status, 405);
}

// ---- Bounded runs (review F17) -----------------------------------------------------------------

// A POP3 "server" on 127.0.0.1 that accepts and says nothing until told to hang up, so that a
// native run stays in progress for as long as the test needs.
class silent_listener {
 public:
  silent_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("silent_listener: cannot listen");
    }
    port_ = ntohs(a.sin_port);
  }
  ~silent_listener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }
  // Waits for one connection (or gives up after `seconds`); returns its descriptor or -1.
  int accept_one(int seconds) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, seconds * 1000) != 1) return -1;
    return ::accept(fd_, nullptr, nullptr);
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST_F(browser_run_test, native_runs_are_bounded_per_user) {
  silent_listener server;
  serve_config config = config_;
  config.max_runs_per_user = 1;
  bridge::allow_rule rule;
  ASSERT_TRUE(bridge::parse_allow_rule("127.0.0.1:" + std::to_string(server.port()), rule));
  config.egress_exceptions.push_back(rule);
  const json pop3 = {{"type", "pop3"},       {"server", "127.0.0.1"}, {"port", server.port()},
                     {"encryption", "none"}, {"username", "alice"},   {"password", "mail secret"}};
  store::account_document current;
  const auto saved = fixture_.store.save_account(
      fixture_.alice_id, 1, {{"retrieval_tasks", json::array({pop3, pop3})}}, &current);
  ASSERT_TRUE(saved);
  const auto first = saved->document["retrieval_tasks"][0]["id"].get<std::string>();
  const auto second = saved->document["retrieval_tasks"][1]["id"].get<std::string>();

  scheduler runs(config, fixture_.secrets, hub_);
  ASSERT_EQ(runs.run_now(fixture_.alice_id, first), task_runner::start_result::started);
  const int connection = server.accept_one(30);
  ASSERT_GE(connection, 0) << "the first run never connected";
  // The first run waits for a greeting: the user's one place is taken.
  EXPECT_EQ(runs.run_now(fixture_.alice_id, second), task_runner::start_result::too_many_runs);
  // The refused run took no lease: another owner could take it.
  EXPECT_TRUE(
      fixture_.store.acquire_lease("user:" + std::to_string(fixture_.alice_id) + "/task:" + second,
                                   "browser:tab-9", std::time(nullptr), 60));
  ::close(connection);  // the first run ends (connection lost)
}

}  // namespace
}  // namespace junction::serve
