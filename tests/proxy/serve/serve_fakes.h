// Small stand-ins for the scheduler and the mailbox, and a real account store in a temporary
// folder, for the tests of the API and the server.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/secrets.h"
#include "serve/services.h"
#include "store/account_store.h"
#include "store/database.h"

namespace junction::serve::testing {

class temp_folder {
 public:
  temp_folder() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "junction-serve-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_folder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A database with one user, alice, whose password is `alice_password`.
struct store_fixture {
  static constexpr const char* alice_password = "correct horse battery";

  store_fixture()
      : secrets(crypto::secret_box::open_or_create(folder.path() / "secret.key")),
        db(folder.path() / "junction.db"),
        // A low scrypt cost keeps the suite fast.
        store(db, secrets, crypto::scrypt_cost{10, 8, 1}) {
    alice_id = store.add_user("alice", alice_password);
  }

  temp_folder folder;
  crypto::secret_box secrets;
  store::database db;
  store::account_store store;
  std::int64_t alice_id = 0;
};

class fake_tasks : public task_runner {
 public:
  std::map<std::string, start_result> results;  // by task id; not_found otherwise
  std::map<std::string, nlohmann::json> statuses;
  std::map<std::string, std::string> leases;  // task id → owner
  std::vector<std::string> released;
  std::atomic<int> account_changes{0};
  std::int64_t last_user = 0;

  start_result run_now(std::int64_t user_id, const std::string& task_id) override {
    last_user = user_id;
    const auto found = results.find(task_id);
    return found == results.end() ? start_result::not_found : found->second;
  }
  std::optional<nlohmann::json> status(std::int64_t user_id, const std::string& task_id) override {
    last_user = user_id;
    const auto found = statuses.find(task_id);
    if (found == statuses.end()) return std::nullopt;
    return found->second;
  }
  void account_changed(std::int64_t user_id) override {
    last_user = user_id;
    ++account_changes;
  }
  bool take_lease(std::int64_t, const std::string& task_id, const std::string& owner,
                  int) override {
    const auto found = leases.find(task_id);
    if (found != leases.end() && found->second != owner) return false;
    leases[task_id] = owner;
    return true;
  }
  void release_lease(std::int64_t, const std::string& task_id, const std::string& owner) override {
    released.push_back(task_id + "/" + owner);
    if (leases[task_id] == owner) leases.erase(task_id);
  }
  // Tasks that exist for the state and run routes: those with a status.
  std::map<std::string, std::string> states;
  std::vector<nlohmann::json> browser_runs;
  bool load_state(std::int64_t, const std::string& task_id,
                  std::optional<std::string>* state) override {
    if (statuses.count(task_id) == 0) return false;
    const auto found = states.find(task_id);
    *state = found == states.end() ? std::nullopt : std::optional<std::string>(found->second);
    return true;
  }
  lease_result save_state(std::int64_t, const std::string& task_id, const std::string& owner,
                          std::string_view state) override {
    if (statuses.count(task_id) == 0) return lease_result::not_found;
    const auto found = leases.find(task_id);
    if (found == leases.end() || found->second != owner) return lease_result::not_leased;
    states[task_id] = std::string(state);
    return lease_result::done;
  }
  lease_result record_browser_run(std::int64_t, const std::string& task_id,
                                  const std::string& owner, const nlohmann::json& run,
                                  nlohmann::json* recorded) override {
    if (statuses.count(task_id) == 0) return lease_result::not_found;
    const auto found = leases.find(task_id);
    if (found == leases.end() || found->second != owner) return lease_result::not_leased;
    browser_runs.push_back(run);
    *recorded = run;
    (*recorded)["trigger"] = "browser";
    return lease_result::done;
  }
};

// INBOX holds `inbox_size` messages named m0, m1, ...; nothing else exists.
class fake_mailbox : public mailbox_service {
 public:
  int inbox_size = 120;
  struct appended {
    std::string folder, message, key;
    unsigned flags = 0;
    std::int64_t internal_date = 0;
  };
  std::vector<appended> appends;
  std::mutex mutex;

  nlohmann::json folders(std::int64_t) override {
    return nlohmann::json::array({{{"name", "INBOX"}, {"total", inbox_size}, {"unseen", 3}}});
  }
  std::optional<std::vector<message_entry>> messages(std::int64_t, const std::string& folder,
                                                     int page, int page_size,
                                                     std::uint64_t* total) override {
    if (folder != "INBOX") return std::nullopt;
    *total = static_cast<std::uint64_t>(inbox_size);
    std::vector<message_entry> out;
    for (int i = page * page_size; i < inbox_size && i < (page + 1) * page_size; ++i) {
      message_entry m;
      m.id = "m" + std::to_string(i);
      m.folder = folder;
      m.from = "bob@example.com";
      m.subject = "Message " + std::to_string(i);
      m.size = 100;
      m.flags = {"\\Seen"};
      out.push_back(m);
    }
    return out;
  }
  std::optional<std::string> raw(std::int64_t, const std::string& id) override {
    if (id != "m1") return std::nullopt;
    return std::string("Subject: Message 1\r\n\r\nHello\r\n");
  }
  std::string append(std::int64_t, const std::string& folder, std::string_view message,
                     std::string_view key, unsigned flags, std::int64_t internal_date,
                     bool* already_had) override {
    if (message.find("\r\n\r\n") == std::string_view::npos) {
      throw std::invalid_argument("the message has no header/body separator");
    }
    std::lock_guard lock(mutex);
    *already_had = false;
    for (const auto& a : appends) {
      if (!key.empty() && a.key == key) *already_had = true;
    }
    appends.push_back({folder, std::string(message), std::string(key), flags, internal_date});
    return "new" + std::to_string(appends.size());
  }
  int batches = 0;
  std::vector<append_result> append_batch(std::int64_t user_id,
                                          const std::vector<append_request>& requests) override {
    ++batches;
    std::vector<append_result> out;
    for (const auto& r : requests) {
      append_result result;
      try {
        result.id = append(user_id, r.folder, r.message, r.key, r.flags, r.internal_date,
                           &result.already_had);
      } catch (const std::invalid_argument& e) {
        result.code = "invalid";
        result.error = e.what();
      }
      out.push_back(std::move(result));
    }
    return out;
  }
};

}  // namespace junction::serve::testing
