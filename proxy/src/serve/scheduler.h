// The scheduler: runs each automatic retrieval task natively every interval (default 10
// minutes) with a little jitter, and "Retrieve Messages Now" on request. One run of a task at
// a time, whoever starts it (a lease per task in the store); failures back off, doubling,
// capped at one hour; the schedule is in the store, so it survives restarts. A kill -9 in
// the middle of a run loses and duplicates nothing: the job only records what is durable,
// and the lease expires by itself.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "crypto/secrets.h"
#include "retrieval_runner.h"
#include "serve/config.h"
#include "serve/services.h"

namespace junction::serve {

// The lease of one native run, taken by the caller: renewed on a timer for as long as the
// object lives (a long message or a long rescan reports no progress for minutes), and the
// run's guard. held() turns false for good when a renewal finds the lease in another
// owner's hands, and also while no renewal has succeeded for so long that the lease may
// have expired (the database was busy, the timer stalled): a quarter of the lease is kept
// in reserve for the step that follows the check.
class native_lease final : public proxy::lease_guard {
 public:
  struct timing {
    int lease_seconds = 120;
    std::chrono::milliseconds renew_every{30'000};
    std::function<std::int64_t()> clock;  // seconds since 1970; the system clock when empty
  };
  // `expires_at`: when the lease the caller took runs out.
  native_lease(std::filesystem::path database_file, const crypto::secret_box& secrets,
               std::string key, std::string owner, std::int64_t expires_at, timing t);
  ~native_lease() override;
  native_lease(const native_lease&) = delete;
  native_lease& operator=(const native_lease&) = delete;

  bool held() const override;
  bool held_in(store::database& db) const override;

 private:
  void renew_loop();
  std::int64_t now() const;

  std::filesystem::path database_file_;
  const crypto::secret_box& secrets_;
  std::string key_;
  std::string owner_;
  timing timing_;
  std::atomic<std::int64_t> expires_at_;
  std::atomic<bool> lost_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

class scheduler final : public task_runner {
 public:
  scheduler(serve_config config, const crypto::secret_box& secrets, event_hub& events);
  ~scheduler() override;

  void start();
  // Asks running tasks to stop at a safe point and waits for them.
  void stop();

  start_result run_now(std::int64_t user_id, const std::string& task_id) override;
  std::optional<nlohmann::json> status(std::int64_t user_id, const std::string& task_id) override;
  void account_changed(std::int64_t user_id) override;
  bool take_lease(std::int64_t user_id, const std::string& task_id, const std::string& owner,
                  int seconds) override;
  void release_lease(std::int64_t user_id, const std::string& task_id,
                     const std::string& owner) override;
  bool load_state(std::int64_t user_id, const std::string& task_id,
                  std::optional<std::string>* state) override;
  lease_result save_state(std::int64_t user_id, const std::string& task_id,
                          const std::string& owner, std::string_view state) override;
  lease_result record_browser_run(std::int64_t user_id, const std::string& task_id,
                                  const std::string& owner, const nlohmann::json& run,
                                  nlohmann::json* recorded) override;

  static constexpr int lease_seconds = 120;
  // The lease of a native run is renewed this often, whatever the run is doing.
  static constexpr std::chrono::seconds renew_every{lease_seconds / 4};

 private:
  struct running {
    nlohmann::json progress;  // null until the first progress
    std::string trigger;
  };
  using task_ref = std::pair<std::int64_t, std::string>;

  void loop();
  void resync(std::int64_t user_id, std::int64_t now);
  start_result launch(std::int64_t user_id, const std::string& task_id, const std::string& trigger);
  // Whether the user, or the server, has as many runs going as allowed. Needs mutex_.
  bool too_many_runs(std::int64_t user_id) const;
  // A launch refused by too_many_runs(): gives back the lease when it was taken, and moves a
  // scheduled run 30 s on.
  start_result refuse_busy(std::int64_t user_id, const std::string& task_id, bool lease_taken);
  void run(std::int64_t user_id, std::string task_id, std::string trigger);
  std::int64_t interval_seconds(int interval_minutes) const;
  std::int64_t jitter(std::int64_t span);

  serve_config config_;
  const crypto::secret_box& secrets_;
  event_hub& events_;
  std::string owner_;  // lease owner name of this process

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<task_ref, running> running_;
  std::vector<std::int64_t> resync_users_;
  bool resync_all_ = true;
  struct worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  void reap_finished_workers();
  std::vector<worker> workers_;
  std::thread loop_thread_;
  std::atomic<bool> stopping_{false};
  std::mt19937_64 random_;
};

}  // namespace junction::serve
