// Native retrieval runs (retrieval_runner) against the job tests' POP3 server, served on
// 127.0.0.1, with the scheduler's lease and a real store in a temporary folder: what a run
// does when its lease is lost (F12), and what it does with a state document a browser wrote
// (F11).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "../../unit/jobs/fake_imap_server.h"
#include "../../unit/jobs/fake_pop3_server.h"
#include "retrieval_runner.h"
#include "serve/maildir_service.h"
#include "serve/scheduler.h"
#include "serve_fakes.h"

namespace junction::serve {
namespace {

using nlohmann::json;
using testing::store_fixture;
namespace fs = std::filesystem;

// An in-memory server of the job tests (POP3 or IMAP) on a loopback socket, one connection
// at a time. `on_command` runs on the server's thread after a command line arrived and before
// its answer is sent, so whatever it changes happens before the client can take its next
// step.
template <class Server>
class loopback_server {
 public:
  Server server;
  std::function<void(const std::string& line)> on_command;

  loopback_server() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 4) != 0) {
      throw std::runtime_error("cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~loopback_server() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    if (thread_.joinable()) thread_.join();
  }
  void start() {
    thread_ = std::thread([this] { serve(); });
  }
  std::uint16_t port() const { return port_; }
  std::size_t count(std::string_view verb) {
    std::lock_guard lock(mutex_);
    return server.count(verb);
  }
  std::vector<jobs::testing::pop3_message> maildrop() {
    std::lock_guard lock(mutex_);
    return server.maildrop;
  }

 private:
  void serve() {
    for (;;) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::unique_lock lock(mutex_);
      server.connect();
      bool open = send_all(fd, server.to_client(0));
      std::size_t handled = server.commands.size();
      char chunk[65536];
      while (open && !server.at_eof()) {
        lock.unlock();
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        lock.lock();
        if (n <= 0) break;
        server.receive(std::string_view(chunk, static_cast<std::size_t>(n)));
        for (; handled < server.commands.size(); ++handled) {
          if (on_command) on_command(server.commands[handled].line);
        }
        open = send_all(fd, server.to_client(0));
      }
      server.disconnect();
      ::close(fd);
    }
  }
  static bool send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
};

using loopback_pop3 = loopback_server<jobs::testing::fake_pop3_server>;

std::string message_text(int n) {
  return "From: sender@example.org\r\nSubject: message " + std::to_string(n) + "\r\n\r\nbody " +
         std::to_string(n) + "\r\n";
}

model::retrieval_task pop3_task(std::uint16_t port, std::string id) {
  model::retrieval_task task;
  task.id = std::move(id);
  task.type = model::retrieval_type::pop3;
  task.server = "127.0.0.1";
  task.port = port;
  task.username = "alice";
  task.password = "secret";
  task.encryption = model::encryption::none;
  task.leave_on_server = false;
  return task;
}

// Every message file in a maildir folder (new/ and cur/), by content.
std::vector<std::string> stored_messages(const fs::path& folder) {
  std::vector<std::string> out;
  for (const char* sub : {"new", "cur"}) {
    std::error_code ec;
    for (fs::directory_iterator it(folder / sub, ec), end; !ec && it != end; it.increment(ec)) {
      std::ifstream in(it->path(), std::ios::binary);
      out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  return out;
}

// The lease row's expiry, straight from the table (the store has no reader for it).
std::int64_t lease_expiry(store::database& db, const std::string& key) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db.handle(), "SELECT expires_at FROM leases WHERE task_key = ?1", -1,
                         &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error("prepare failed");
  }
  sqlite3_bind_text(stmt, 1, key.c_str(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  const std::int64_t expiry = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  return expiry;
}

// ---- F12: a run that loses its lease stops before its next irreversible step --------------

class native_lease_test : public ::testing::Test {
 protected:
  native_lease_test() {
    for (int i = 1; i <= 3; ++i) {
      pop3.server.maildrop.push_back({"uid-" + std::to_string(i), message_text(i)});
    }
    options.data_dir = fixture.folder.path();
    options.database_file = fixture.folder.path() / "junction.db";
    options.mailbox_dir = fixture.folder.path() / "mailbox";
    EXPECT_TRUE(fixture.store.acquire_lease(key, owner, 1000, 120));
  }

  native_lease::timing timing(std::chrono::milliseconds renew_every) {
    native_lease::timing t;
    t.lease_seconds = 120;
    t.renew_every = renew_every;
    t.clock = [this] { return clock.load(); };
    return t;
  }

  // Another owner takes the lease, from the server's thread (its own connection).
  void take_over(std::int64_t at, bool release_first) {
    store::database db(fixture.folder.path() / "junction.db");
    store::account_store other(db, fixture.secrets);
    if (release_first) other.release_lease(key, owner);
    took_over = other.acquire_lease(key, "browser:other-tab", at, 60);
  }

  std::optional<std::string> saved_state() {
    return fixture.db.load_retrieval_state(proxy::task_key_for(task));
  }

  store_fixture fixture;
  loopback_pop3 pop3;
  const std::string key = "user:1/task:t1";
  const std::string owner = "proxy:test";
  std::atomic<std::int64_t> clock{1000};
  std::atomic<bool> took_over{false};
  model::retrieval_task task = pop3_task(pop3.port(), "u1-t1");
  proxy::run_options options;
};

// The lease expires during a long RETR and another run takes it: nothing is committed, saved
// or deleted after that, and the POP3 session is not ended with QUIT (which would apply DELEs).
TEST_F(native_lease_test, a_lease_lost_mid_run_stops_before_commit_state_save_and_dele) {
  pop3.on_command = [this](const std::string& line) {
    if (line == "RETR 2") {
      clock = 1200;  // past the lease's end: the renewals stopped (say, the database was busy)
      take_over(1200, false);
    }
  };
  pop3.start();
  native_lease lease(options.database_file, fixture.secrets, key, owner, 1120,
                     timing(std::chrono::hours(1)));
  options.lease = &lease;
  const auto summary = proxy::run_retrieval(task, options);

  EXPECT_TRUE(took_over.load());
  EXPECT_FALSE(summary.ok);
  EXPECT_EQ(summary.failure, jobs::failure_kind::cancelled);
  EXPECT_NE(summary.message.find("lost its lease"), std::string::npos) << summary.message;
  EXPECT_EQ(pop3.count("DELE"), 0u);
  EXPECT_EQ(pop3.count("QUIT"), 0u);
  EXPECT_EQ(pop3.maildrop().size(), 3u);
  EXPECT_FALSE(saved_state().has_value());
  EXPECT_TRUE(stored_messages(options.mailbox_dir).empty());
  EXPECT_TRUE(fs::is_empty(options.mailbox_dir / "tmp"));
}

// The lease changes hands before the renewal timer notices: the state save, which checks the
// lease in its own transaction, refuses, and no DELE follows. The messages committed before
// stay stored (nothing lost; the next run finds them already had).
TEST_F(native_lease_test, a_lease_taken_over_before_the_state_save_stops_the_save_and_dele) {
  pop3.on_command = [this](const std::string& line) {
    if (line == "RETR 3") take_over(1000, true);
  };
  pop3.start();
  native_lease lease(options.database_file, fixture.secrets, key, owner, 1120,
                     timing(std::chrono::hours(1)));
  options.lease = &lease;
  const auto summary = proxy::run_retrieval(task, options);

  EXPECT_TRUE(took_over.load());
  EXPECT_FALSE(summary.ok);
  EXPECT_EQ(summary.failure, jobs::failure_kind::cancelled);
  EXPECT_NE(summary.message.find("lost its lease"), std::string::npos) << summary.message;
  EXPECT_EQ(pop3.count("DELE"), 0u);
  EXPECT_EQ(pop3.count("QUIT"), 0u);
  EXPECT_EQ(pop3.maildrop().size(), 3u);
  EXPECT_FALSE(saved_state().has_value());
  EXPECT_EQ(stored_messages(options.mailbox_dir).size(), 3u);
}

// Without a lost lease the same run deletes what it stored: the two tests above fail for the
// lease, not for the setup.
TEST_F(native_lease_test, a_run_that_keeps_its_lease_stores_saves_and_deletes) {
  pop3.start();
  native_lease lease(options.database_file, fixture.secrets, key, owner, 1120,
                     timing(std::chrono::hours(1)));
  options.lease = &lease;
  const auto summary = proxy::run_retrieval(task, options);
  EXPECT_TRUE(summary.ok) << summary.message;
  EXPECT_EQ(pop3.count("DELE"), 3u);
  EXPECT_TRUE(pop3.maildrop().empty());
  EXPECT_TRUE(saved_state().has_value());
  EXPECT_EQ(stored_messages(options.mailbox_dir).size(), 3u);
}

// The lease is renewed on a timer, not only on progress, and a renewal that finds another
// owner ends the claim at once.
TEST_F(native_lease_test, the_lease_is_renewed_on_a_timer_and_a_lost_renewal_is_noticed) {
  native_lease lease(options.database_file, fixture.secrets, key, owner, 1120,
                     timing(std::chrono::milliseconds(10)));
  clock = 1100;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (lease_expiry(fixture.db, key) != 1220 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(lease_expiry(fixture.db, key), 1220);
  clock = 1150;  // past the first expiry (1120): still held thanks to the renewal
  EXPECT_TRUE(lease.held());
  EXPECT_FALSE(fixture.store.acquire_lease(key, "browser:other-tab", 1150, 60));

  // Someone else holds it (as after an expiry the timer missed).
  fixture.store.release_lease(key, owner);
  ASSERT_TRUE(fixture.store.acquire_lease(key, "browser:other-tab", 1150, 60));
  while (lease.held() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(lease.held());
  EXPECT_FALSE(lease.held_in(fixture.db));
  // The renewal did not take the lease back.
  EXPECT_TRUE(fixture.store.holds_lease(key, "browser:other-tab"));
}

// ---- F11: a state document written through the API never makes a native run delete mail
// the mailbox does not hold. NEEDS the core fix (wasm-core/jobs, helper "core-safety"): before
// it, the native POP3 run DELEs every UIDL of the forged `seen` list without downloading it.

TEST(native_run_with_browser_state, a_forged_seen_list_never_deletes_unstored_mail) {
  store_fixture fixture;
  serve_config config;
  config.data_dir = fixture.folder.path();
  event_hub hub;
  scheduler tasks(config, fixture.secrets, hub);  // not started: no background runs

  loopback_pop3 pop3;
  for (int i = 1; i <= 3; ++i) {
    pop3.server.maildrop.push_back({"uid-" + std::to_string(i), message_text(i)});
  }
  const json task_json = {{"type", "pop3"},          {"server", "127.0.0.1"},
                          {"port", pop3.port()},     {"encryption", "none"},
                          {"username", "alice"},     {"password", "secret"},
                          {"leave_on_server", false}};
  store::account_document current;
  const auto saved = fixture.store.save_account(
      fixture.alice_id, 0, {{"retrieval_tasks", json::array({task_json})}}, &current);
  ASSERT_TRUE(saved.has_value());
  const std::string task_id = saved->document["retrieval_tasks"][0]["id"].get<std::string>();

  // What PUT /api/tasks/{id}/state stores for the lease holder: "uid-1" and "uid-2" are
  // claimed as retrieved, but the mailbox holds neither.
  ASSERT_TRUE(tasks.take_lease(fixture.alice_id, task_id, "tab-1", 60));
  const json forged = {{"version", 1}, {"protocol", "pop3"}, {"seen", {"uid-1", "uid-2"}}};
  ASSERT_EQ(tasks.save_state(fixture.alice_id, task_id, "tab-1", forged.dump()),
            task_runner::lease_result::done);
  tasks.release_lease(fixture.alice_id, task_id, "tab-1");

  // The native run the scheduler would start, on the same state row and mailbox.
  const fs::path mailbox = maildir_service::user_dir(config.data_dir, fixture.alice_id) / "mailbox";
  std::vector<std::string> deleted_unstored;
  pop3.server.on_dele = [&](const jobs::testing::pop3_message& m) {
    const auto stored = stored_messages(mailbox);
    if (std::find(stored.begin(), stored.end(), m.content) == stored.end()) {
      deleted_unstored.push_back(m.uidl);
    }
  };
  pop3.start();
  proxy::run_options options;
  options.data_dir = config.data_dir;
  options.database_file = config.data_dir / "junction.db";
  options.mailbox_dir = mailbox;
  const auto summary = proxy::run_retrieval(
      pop3_task(pop3.port(), "u" + std::to_string(fixture.alice_id) + "-" + task_id), options);

  EXPECT_TRUE(deleted_unstored.empty())
      << "DELE of a message the mailbox does not hold: " << deleted_unstored.front();
  // Whatever left the server is in the mailbox.
  const auto stored = stored_messages(mailbox);
  const auto left = pop3.maildrop();
  for (int i = 1; i <= 3; ++i) {
    const bool on_server = std::any_of(
        left.begin(), left.end(),
        [&](const jobs::testing::pop3_message& m) { return m.content == message_text(i); });
    const bool in_mailbox =
        std::find(stored.begin(), stored.end(), message_text(i)) != stored.end();
    EXPECT_TRUE(on_server || in_mailbox)
        << "message " << i << " is lost (" << summary.message << ")";
  }
}

// ---- F7: a folder name the mailbox cannot hold -------------------------------------------

// reviews/poc/longfolder.cpp through the driver: 12 levels of a 19-character non-ASCII name
// ("Überprüfung-Projekt", 263 bytes as UTF-8, more on disk). maildir::begin threw
// std::invalid_argument and the driver ended the run on it. Now the delivery fails with a reason
// and the job hears a failed delivery result; what it does then (fail the run, or map or skip the
// folder) is the core's decision (helper core-safety), so both outcomes are accepted here, and the
// folder before it is kept.
TEST(native_run_folder_names, a_folder_the_mailbox_cannot_hold_is_a_failed_delivery) {
  store_fixture fixture;
  loopback_server<jobs::testing::fake_imap_server> imap;
  std::string long_name;
  for (int i = 0; i < 12; ++i) {
    long_name += (i ? "/" : "") + std::string("&ANw-berpr&APw-fung-Projekt");  // modified UTF-7
  }
  imap.server.add_folder("INBOX");
  imap.server.append("INBOX", message_text(1));
  imap.server.add_folder(long_name);
  imap.server.append(long_name, message_text(2));
  imap.start();

  model::retrieval_task task = pop3_task(imap.port(), "u1-imap");
  task.type = model::retrieval_type::imap;
  proxy::run_options options;
  options.data_dir = fixture.folder.path();
  options.database_file = fixture.folder.path() / "junction.db";
  options.mailbox_dir = fixture.folder.path() / "mailbox";
  const auto summary = proxy::run_retrieval(task, options);
  EXPECT_TRUE(summary.ok || summary.message.find("could not store a message: maildir: cannot "
                                                 "store folder") != std::string::npos)
      << summary.message;
  // One clean line, whatever the name holds.
  EXPECT_EQ(summary.message.find_first_of("\r\n"), std::string::npos) << summary.message;
  const auto inbox = stored_messages(options.mailbox_dir);
  EXPECT_NE(std::find(inbox.begin(), inbox.end(), message_text(1)), inbox.end());
}

}  // namespace
}  // namespace junction::serve
