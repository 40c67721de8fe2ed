// The account store on top of store::database (migrations 2 and up): users, sessions,
// devices, each user's account document with its revision, run history, and the schedule
// with per-task leases. Secrets inside the account document (task and SMTP account
// passwords, later tokens) are sealed with crypto::secret_box before they reach the database
// and opened on read.
//
// Thread safety: one account_store per thread, each over its own database connection
// (SQLite serialises writers; WAL lets readers go on). Times are seconds since 1970 (UTC)
// passed in by the caller, so tests control the clock.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secrets.h"
#include "store/database.h"

namespace junction::store {

struct user {
  std::int64_t id = 0;
  std::string name;
  bool must_change_password = false;  // the one-time password made at first start
};

struct session_info {
  std::int64_t user_id = 0;
  std::string user_name;
  std::string device_id;
  std::int64_t expires_at = 0;
  bool must_change_password = false;  // of the user, as find_user reports it
};

struct device {
  std::string id;  // random, 128-bit hex
  std::int64_t user_id = 0;
  std::string name;
  std::string user_agent;
  std::string address;  // last seen from
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;
};

struct account_document {
  std::int64_t revision = 0;
  // {"revision": N, "retrieval_tasks": [{"id": "...", ...task fields...}],
  //  "smtp_accounts": [{"id": "...", ...account fields...}], ...} with secrets in clear
  // (opened). "revision" inside equals `revision`; both lists are always present.
  nlohmann::json document;
};

struct run_record {
  std::int64_t id = 0;
  std::string task_id;
  std::int64_t started_at = 0;
  std::int64_t finished_at = 0;
  bool ok = false;
  std::string failure;  // failure_kind as text, empty when ok
  std::string message;
  nlohmann::json folders = nlohmann::json::array();  // [{"folder","new","already_had","deleted"}]
  std::string trigger;                               // "schedule", "manual", "browser"
};

struct schedule_entry {
  std::int64_t user_id = 0;
  std::string task_id;
  std::int64_t next_run_at = 0;
  int consecutive_failures = 0;
};

class account_store {
 public:
  // `password_cost` is the scrypt cost for passwords hashed from now on (stored hashes carry
  // their own); tests lower it to stay fast.
  account_store(database& db, const crypto::secret_box& secrets,
                crypto::scrypt_cost password_cost = {});

  // Users. add_user throws std::invalid_argument if the name exists or is empty.
  std::int64_t add_user(std::string_view name, std::string_view password,
                        bool must_change_password = false);
  // Sets the password (and clears must_change_password) and ends every session of the user
  // but the one whose token is `keep_session` (the session that asked for the change; empty
  // from the command line, which ends them all). false when there is no such user.
  bool set_password(std::string_view name, std::string_view password,
                    std::string_view keep_session = {});
  std::optional<user> find_user(std::string_view name);
  std::optional<user> check_password(std::string_view name, std::string_view password);
  std::int64_t user_count();
  std::vector<user> users();

  // Sessions: the token is returned once and stored only as its SHA-256.
  std::string create_session(std::int64_t user_id, std::string_view device_id, std::int64_t now,
                             std::int64_t lifetime_seconds);
  // Valid, unexpired session; slides nothing (fixed lifetime).
  std::optional<session_info> find_session(std::string_view token, std::int64_t now);
  void delete_session(std::string_view token);
  void delete_sessions_of_device(std::string_view device_id);

  // Devices (the base for Synchronized Devices).
  std::string register_device(std::int64_t user_id, std::string_view name,
                              std::string_view user_agent, std::string_view address,
                              std::int64_t now);
  void touch_device(std::string_view device_id, std::string_view address, std::int64_t now);
  std::vector<device> devices(std::int64_t user_id);

  // The account document. load_account returns revision 0 and an empty document
  // {"revision":0,"retrieval_tasks":[],"smtp_accounts":[]} for a user who never saved one.
  account_document load_account(std::int64_t user_id);
  // Writes `document` if `expected_revision` is the current one: tasks and SMTP accounts
  // without "id" get a fresh one ("t…", "s…"); one whose "password" is absent (or null)
  // keeps the stored password of the element with the same id in the same list, unless the
  // element now names another place to log in to (see kSecretBindings in the .cpp: a task's
  // type, server, port, username, encryption or pinned certificate; the same for an SMTP
  // account): then the stored secrets are dropped, so that a changed task never sends the
  // old password anywhere new. Secrets are sealed. Markers such as "password_set" (see
  // without_secrets) are the store's to set and are dropped from what is written. Throws
  // std::invalid_argument when a list is not a list of objects or an id is used twice in one list.
  // Returns the stored document (new revision), or, when the revision is stale, nullopt and
  // `current` holds the current document.
  std::optional<account_document> save_account(std::int64_t user_id, std::int64_t expected_revision,
                                               const nlohmann::json& document,
                                               account_document* current);

  // Whether `name` is a top-level list whose elements have ids (and may hold secrets):
  // "retrieval_tasks", "smtp_accounts".
  static bool is_id_list(std::string_view name);
  // The opened secrets of one element of a top-level list (e.g. "retrieval_tasks", "t…"):
  // {"password": "..."} with only the secrets that are stored (an empty object when none
  // is, or when the stored one cannot be opened). nullopt when there is no such element
  // (or `list` is not an id list).
  std::optional<nlohmann::json> element_secrets(std::int64_t user_id, std::string_view list,
                                                std::string_view id);

  // Run history, newest first.
  std::int64_t record_run(std::int64_t user_id, const run_record& run);
  std::vector<run_record> runs(std::int64_t user_id, std::string_view task_id, int limit);

  // Schedule: one row per automatic task.
  void set_schedule(const schedule_entry& entry);
  std::optional<schedule_entry> schedule(std::int64_t user_id, std::string_view task_id);
  std::vector<schedule_entry> due(std::int64_t now);
  void remove_schedule(std::int64_t user_id, std::string_view task_id);

  // Leases: one run of a task at a time, whoever runs it (the scheduler, a manual run, a
  // browser). A lease is taken if free or expired; renewing needs the same owner.
  bool acquire_lease(std::string_view task_key, std::string_view owner, std::int64_t now,
                     std::int64_t ttl_seconds);
  bool renew_lease(std::string_view task_key, std::string_view owner, std::int64_t now,
                   std::int64_t ttl_seconds);
  void release_lease(std::string_view task_key, std::string_view owner);
  // Whether `owner` holds the lease: its row names the owner, expired or not (like
  // renew_lease: past expiry it is still the owner's until someone else takes it, and then
  // nobody else ran the task). Inside a database::transaction, a write that follows is
  // atomic with this check.
  bool holds_lease(std::string_view task_key, std::string_view owner);
  // Drops every lease whose owner starts with the prefix (a proxy starting up clears what a
  // previous process of its own left behind, e.g. after kill -9). Returns how many.
  int release_leases_of_owners(std::string_view owner_prefix);

 private:
  database& db_;
  const crypto::secret_box& secrets_;
  crypto::scrypt_cost password_cost_;
  // A hash at password_cost_ that matches no password (see check_password).
  std::string dummy_hash_;
};

// The account document as the page may see it: every secret field (password, tokens) is
// removed and "<field>_set": true put beside where it was, e.g. a task with a stored
// password has "password_set": true and no "password". Written back, the marker is ignored
// and the missing password keeps the stored one.
nlohmann::json without_secrets(const nlohmann::json& document);

}  // namespace junction::store
