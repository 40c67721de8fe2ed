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
  enum class start_result { started, already_running, not_found, not_runnable };
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
};

}  // namespace junction::serve
