// What the HTTP API calls into, without knowing how it is done: the scheduler (runs and
// status), the event hub (progress for SSE), and each user's mailbox. Beast-free.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace junction::serve {

// Events for GET /api/events, per user. Thread-safe.
class event_hub {
 public:
  using listener = std::function<void(const nlohmann::json& event)>;
  // The listener is called from any thread and must not block (queue and return).
  std::uint64_t subscribe(std::int64_t user_id, listener l);
  void unsubscribe(std::uint64_t token);
  // {"type": "progress"|"run_started"|"run_finished"|"account_changed", ...}
  void publish(std::int64_t user_id, const nlohmann::json& event);

 private:
  struct impl;
  std::shared_ptr<impl> impl_ = make();
  static std::shared_ptr<impl> make();
};

// Runs of retrieval tasks: the scheduler's automatic runs and "Retrieve Messages Now".
class task_runner {
 public:
  virtual ~task_runner() = default;
  // too_many_runs: the user (or the whole server) has as many native runs going as allowed.
  enum class start_result { started, already_running, not_found, not_runnable, too_many_runs };
  // Starts a native run in the background now (lease permitting).
  virtual start_result run_now(std::int64_t user_id, const std::string& task_id) = 0;
  // {"task_id", "running": bool, "last_run": {started_at, finished_at, ok, failure, message,
  //  folders: [...]}|null, "next_run_at": seconds|null, "consecutive_failures": n,
  //  "progress": {"folder","done","total"}|null}; nullopt when the task does not exist.
  virtual std::optional<nlohmann::json> status(std::int64_t user_id,
                                               const std::string& task_id) = 0;
  // The account document changed (tasks added, removed, made automatic): reschedule.
  virtual void account_changed(std::int64_t user_id) = 0;
  // A browser runs the task itself: take the task's lease for `seconds` (true if taken),
  // renew it, give it back. Keeps scheduled and browser runs from overlapping.
  virtual bool take_lease(std::int64_t user_id, const std::string& task_id,
                          const std::string& owner, int seconds) = 0;
  virtual void release_lease(std::int64_t user_id, const std::string& task_id,
                             const std::string& owner) = 0;

  // A browser's own run of a task (the routes under /api/tasks/{id}/ in README.md). The state
  // document is the one the scheduler's native runs load and save (key "task:u<user id>-<task
  // id>"), so a task runs on from where the last run stopped, whoever ran it.
  enum class lease_result { done, not_found, not_leased };
  // The task's saved state, nullopt when no run saved one yet. false when the task does not
  // exist.
  virtual bool load_state(std::int64_t user_id, const std::string& task_id,
                          std::optional<std::string>* state) = 0;
  // Saves the state only while `owner` (the name it gave take_lease) holds the task's lease;
  // the check and the write are one transaction, so a run that lost its lease never
  // overwrites the state of the run that took it. Durable when it returns `done`.
  virtual lease_result save_state(std::int64_t user_id, const std::string& task_id,
                                  const std::string& owner, std::string_view state) = 0;
  // Records a finished browser run (trigger "browser") while `owner` holds the lease, and
  // publishes run_finished. `run` is {started_at, finished_at, ok, failure, message, folders}
  // as checked by the API; on `done`, *recorded is the run as status() shows it.
  virtual lease_result record_browser_run(std::int64_t user_id, const std::string& task_id,
                                          const std::string& owner, const nlohmann::json& run,
                                          nlohmann::json* recorded) = 0;
};

struct message_entry {
  std::string id;  // unique in the user's mailbox, URL-safe ([A-Za-z0-9._~-])
  std::string folder;
  std::string from, to, subject, date;
  std::int64_t date_unix = 0;  // from Date:, else the file's mtime
  std::uint64_t size = 0;
  std::vector<std::string> flags;  // "\\Seen", "\\Answered", "\\Flagged", "\\Draft"
};

// A user's mailbox, read and appended through the API. Thread-safe.
class mailbox_service {
 public:
  virtual ~mailbox_service() = default;
  // [{"name": "INBOX", "total": n, "unseen": n}, ...] — folder paths as '/'-separated UTF-8.
  virtual nlohmann::json folders(std::int64_t user_id) = 0;
  // Newest first, `page_size` per page (page 0 first). nullopt when the folder does not exist.
  virtual std::optional<std::vector<message_entry>> messages(std::int64_t user_id,
                                                             const std::string& folder, int page,
                                                             int page_size,
                                                             std::uint64_t* total) = 0;
  // The raw message by its id (ids are unique within a user's mailbox and URL-safe);
  // nullopt when missing.
  virtual std::optional<std::string> raw(std::int64_t user_id, const std::string& id) = 0;
  // Stores a message durably (fsync) before returning its id. `key`, when given, makes the
  // append idempotent (the browser's delivery key): the same key again returns the existing
  // id with *already_had = true. Throws std::invalid_argument for a bad folder or message.
  virtual std::string append(std::int64_t user_id, const std::string& folder,
                             std::string_view message, std::string_view key, unsigned flags,
                             std::int64_t internal_date, bool* already_had) = 0;

  struct append_request {
    std::string folder;        // checked by the caller (model::folder_path_problem)
    std::string_view message;  // must stay valid during append_batch
    std::string key;           // lower-case hex, or empty for the content's own key
    unsigned flags = 0;        // mailbox::message_flag bits
    std::int64_t internal_date = 0;
  };
  struct append_result {
    std::string id;  // set when stored or already there
    bool already_had = false;
    std::string code;   // set when not stored: "invalid" or "store_failed"
    std::string error;  // human message for `code`
  };
  // Many appends made durable together: ONE group commit (a single syncfs) for the whole
  // batch, and it returns only after it, one result per request in order. Idempotent per key
  // exactly like append(): a key already in the folder, or earlier in the same batch, is not
  // written again and answers already_had with the existing id. A request that cannot be
  // stored fails alone.
  virtual std::vector<append_result> append_batch(std::int64_t user_id,
                                                  const std::vector<append_request>& requests) = 0;
};

}  // namespace junction::serve
