#include "serve/scheduler.h"

#include <algorithm>
#include <ctime>

#include "model/retrieval_task.h"
#include "retrieval_runner.h"
#include "serve/maildir_service.h"
#include "store/account_store.h"

namespace junction::serve {
namespace {

std::int64_t now_seconds() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

const nlohmann::json* find_task(const nlohmann::json& document, const std::string& task_id) {
  auto tasks = document.find("retrieval_tasks");
  if (tasks == document.end() || !tasks->is_array()) return nullptr;
  for (const auto& t : *tasks) {
    if (t.is_object() && t.value("id", "") == task_id) return &t;
  }
  return nullptr;
}

nlohmann::json run_to_json(const store::run_record& r) {
  return {{"started_at", r.started_at}, {"finished_at", r.finished_at}, {"ok", r.ok},
          {"failure", r.failure},       {"message", r.message},         {"folders", r.folders},
          {"trigger", r.trigger}};
}

// The lease key of a task: one per user and task, whoever runs it.
std::string lease_key(std::int64_t user_id, const std::string& task_id) {
  return "user:" + std::to_string(user_id) + "/task:" + task_id;
}

// Task ids are unique per user only: a native run gets this id, which names the task's state
// and delivery keys in the store.
std::string store_task_id(std::int64_t user_id, const std::string& task_id) {
  return "u" + std::to_string(user_id) + "-" + task_id;
}

// The retrieval_state key of a task, the very one a native run uses (task_key_for).
std::string state_key(std::int64_t user_id, const std::string& task_id) {
  model::retrieval_task task;
  task.id = store_task_id(user_id, task_id);
  return proxy::task_key_for(task);
}

// A browser's lease owner as take_lease stores it.
std::string browser_owner(const std::string& owner) {
  return "browser:" + owner;
}

}  // namespace

native_lease::native_lease(std::filesystem::path database_file, const crypto::secret_box& secrets,
                           std::string key, std::string owner, std::int64_t expires_at, timing t)
    : database_file_(std::move(database_file)),
      secrets_(secrets),
      key_(std::move(key)),
      owner_(std::move(owner)),
      timing_(std::move(t)),
      expires_at_(expires_at) {
  thread_ = std::thread([this] { renew_loop(); });
}

native_lease::~native_lease() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::int64_t native_lease::now() const {
  return timing_.clock ? timing_.clock() : now_seconds();
}

bool native_lease::held() const {
  const std::int64_t reserve = std::max(1, timing_.lease_seconds / 4);
  return !lost_.load() && now() + reserve < expires_at_.load();
}

bool native_lease::held_in(store::database& db) const {
  if (lost_.load()) return false;
  return store::account_store(db, secrets_).holds_lease(key_, owner_);
}

void native_lease::renew_loop() {
  std::unique_ptr<store::database> db;
  std::unique_lock lock(mutex_);
  while (!lost_.load()) {
    if (wake_.wait_for(lock, timing_.renew_every, [this] { return stopping_; })) return;
    lock.unlock();
    try {
      if (!db) db = std::make_unique<store::database>(database_file_);
      const std::int64_t t = now();
      if (store::account_store(*db, secrets_).renew_lease(key_, owner_, t, timing_.lease_seconds)) {
        expires_at_ = t + timing_.lease_seconds;
      } else {
        lost_ = true;  // someone else holds it now: never ours again in this run
      }
    } catch (const std::exception& e) {
      // Tried again at the next tick; held() counts down meanwhile.
      std::fprintf(stderr, "scheduler: renewing the lease %s failed: %s\n", key_.c_str(), e.what());
      db.reset();
    }
    lock.lock();
  }
}

scheduler::scheduler(serve_config config, const crypto::secret_box& secrets, event_hub& events)
    : config_(std::move(config)),
      secrets_(secrets),
      events_(events),
      owner_("proxy:" + crypto::random_hex(8)),
      random_(std::random_device{}()) {}

scheduler::~scheduler() {
  stop();
}

void scheduler::start() {
  stopping_ = false;
  {
    // One proxy serves a data folder: leases held by an earlier proxy process (killed in the
    // middle of a run) are stale. Browsers' leases stay.
    store::database db(config_.data_dir / "junction.db");
    store::account_store accounts(db, secrets_);
    accounts.release_leases_of_owners("proxy:");
  }
  loop_thread_ = std::thread([this] { loop(); });
}

void scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_.exchange(true) && !loop_thread_.joinable()) return;
  }
  wake_.notify_all();
  if (loop_thread_.joinable()) loop_thread_.join();
  std::vector<worker> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& w : workers) {
    if (w.thread.joinable()) w.thread.join();
  }
}

void scheduler::reap_finished_workers() {
  std::vector<worker> finished;
  {
    std::lock_guard lock(mutex_);
    auto it = std::partition(workers_.begin(), workers_.end(),
                             [](const worker& w) { return !w.done->load(); });
    std::move(it, workers_.end(), std::back_inserter(finished));
    workers_.erase(it, workers_.end());
  }
  for (auto& w : finished) w.thread.join();
}

std::int64_t scheduler::interval_seconds(int interval_minutes) const {
  if (config_.scheduler_interval_override_seconds > 0) {
    return config_.scheduler_interval_override_seconds;
  }
  return std::max<std::int64_t>(60, std::int64_t{interval_minutes} * 60);
}

std::int64_t scheduler::jitter(std::int64_t span) {
  if (span <= 0) return 0;
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(random_() % static_cast<std::uint64_t>(span + 1));
}

void scheduler::account_changed(std::int64_t user_id) {
  {
    std::lock_guard lock(mutex_);
    resync_users_.push_back(user_id);
  }
  wake_.notify_all();
}

// Brings the schedule in line with the user's account document: automatic tasks get an entry
// (a new one runs soon, with jitter so many tasks do not start together), others lose theirs.
void scheduler::resync(std::int64_t user_id, std::int64_t now) {
  store::database db(config_.data_dir / "junction.db");
  store::account_store accounts(db, secrets_);
  const auto account = accounts.load_account(user_id);
  std::vector<std::string> automatic;
  if (auto tasks = account.document.find("retrieval_tasks");
      tasks != account.document.end() && tasks->is_array()) {
    for (const auto& t : *tasks) {
      if (!t.is_object() || !t.contains("id")) continue;
      const std::string id = t.value("id", "");
      if (t.value("method", "manual") == "automatic") {
        automatic.push_back(id);
        if (!accounts.schedule(user_id, id)) {
          accounts.set_schedule({user_id, id, now + jitter(5), 0});
        }
      } else {
        accounts.remove_schedule(user_id, id);
      }
    }
  }
  for (const auto& entry : accounts.due(now + 100LL * 365 * 24 * 3600)) {
    if (entry.user_id == user_id &&
        std::find(automatic.begin(), automatic.end(), entry.task_id) == automatic.end()) {
      accounts.remove_schedule(user_id, entry.task_id);
    }
  }
}

void scheduler::loop() {
  while (!stopping_) {
    reap_finished_workers();
    const auto now = now_seconds();
    std::vector<std::int64_t> users;
    bool all = false;
    {
      std::lock_guard lock(mutex_);
      users.swap(resync_users_);
      all = resync_all_;
      resync_all_ = false;
    }
    try {
      if (all) {
        store::database db(config_.data_dir / "junction.db");
        store::account_store accounts(db, secrets_);
        for (const auto& u : accounts.users()) users.push_back(u.id);
      }
      for (auto u : users) resync(u, now);
      std::vector<store::schedule_entry> due;
      {
        store::database db(config_.data_dir / "junction.db");
        store::account_store accounts(db, secrets_);
        due = accounts.due(now);
      }
      for (const auto& entry : due) launch(entry.user_id, entry.task_id, "schedule");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "scheduler: %s\n", e.what());
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::seconds(1),
                   [this] { return stopping_.load() || !resync_users_.empty(); });
  }
}

task_runner::start_result scheduler::run_now(std::int64_t user_id, const std::string& task_id) {
  if (stopping_) return start_result::not_runnable;
  {
    store::database db(config_.data_dir / "junction.db");
    store::account_store accounts(db, secrets_);
    if (!find_task(accounts.load_account(user_id).document, task_id)) {
      return start_result::not_found;
    }
  }
  return launch(user_id, task_id, "manual");
}

bool scheduler::too_many_runs(std::int64_t user_id) const {
  std::size_t mine = 0;
  for (const auto& [ref, run] : running_) mine += ref.first == user_id ? 1 : 0;
  return mine >= static_cast<std::size_t>(std::max(1, config_.max_runs_per_user)) ||
         running_.size() >= static_cast<std::size_t>(std::max(1, config_.max_runs_total));
}

task_runner::start_result scheduler::refuse_busy(std::int64_t user_id, const std::string& task_id,
                                                 bool lease_taken) {
  // Bounded threads (review F17): a scheduled run looks again in a little while.
  store::database db(config_.data_dir / "junction.db");
  store::account_store accounts(db, secrets_);
  if (lease_taken) accounts.release_lease(lease_key(user_id, task_id), owner_);
  if (auto entry = accounts.schedule(user_id, task_id)) {
    entry->next_run_at = now_seconds() + 30;
    accounts.set_schedule(*entry);
  }
  return start_result::too_many_runs;
}

task_runner::start_result scheduler::launch(std::int64_t user_id, const std::string& task_id,
                                            const std::string& trigger) {
  bool busy = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return start_result::not_runnable;
    if (running_.count({user_id, task_id}) > 0) return start_result::already_running;
    if (too_many_runs(user_id)) busy = true;
  }
  if (busy) return refuse_busy(user_id, task_id, false);
  // The lease is taken before anything is promised: a run that a browser holds is
  // "already running" for the person asking, and a scheduled one looks again later.
  {
    store::database db(config_.data_dir / "junction.db");
    store::account_store accounts(db, secrets_);
    const auto now = now_seconds();
    if (!accounts.acquire_lease(lease_key(user_id, task_id), owner_, now, lease_seconds)) {
      if (auto entry = accounts.schedule(user_id, task_id)) {
        entry->next_run_at = now + 30;
        accounts.set_schedule(*entry);
      }
      return start_result::already_running;
    }
  }
  std::lock_guard lock(mutex_);
  if (stopping_ || running_.count({user_id, task_id}) > 0) {
    // Lost a race with another launch of the same task in this process: it has the lease.
    return stopping_ ? start_result::not_runnable : start_result::already_running;
  }
  // Another launch filled the last place meanwhile: the lease goes back untouched.
  if (too_many_runs(user_id)) return refuse_busy(user_id, task_id, true);
  running_[{user_id, task_id}] = running{nullptr, trigger};
  auto done = std::make_shared<std::atomic<bool>>(false);
  workers_.push_back(worker{std::thread([this, user_id, task_id, trigger, done] {
                              run(user_id, task_id, trigger);
                              *done = true;
                            }),
                            done});
  return start_result::started;
}

void scheduler::run(std::int64_t user_id, std::string task_id, std::string trigger) {
  const std::string key = lease_key(user_id, task_id);
  try {
    store::database db(config_.data_dir / "junction.db");
    store::account_store accounts(db, secrets_);
    auto now = now_seconds();  // launch() took the lease for this run at about this time
    const auto account = accounts.load_account(user_id);
    const nlohmann::json* task_json = find_task(account.document, task_id);
    store::run_record record;
    record.task_id = task_id;
    record.trigger = trigger;
    record.started_at = now;
    bool automatic = false;
    int interval_minutes = 10;
    bool cancelled = false;
    if (!task_json) {
      record.ok = false;
      record.failure = "config";
      record.message = "the task no longer exists";
    } else {
      auto parsed = model::parse_retrieval_task(*task_json);
      if (parsed.ok()) {
        automatic = parsed.task->method == model::retrieval_method::automatic;
        interval_minutes = parsed.task->interval_minutes;
      }
      if (!parsed.ok()) {
        record.failure = "config";
        record.message = parsed.errors.empty() ? "invalid task" : to_string(parsed.errors.front());
      } else if (!accounts.renew_lease(key, owner_, now, lease_seconds)) {
        // Renewed here so that its end is known exactly (launch() took it a moment ago).
        record.failure = "cancelled";
        record.message = "not started: the run lost its lease on the task before it began";
        cancelled = true;
      } else {
        auto task = *parsed.task;
        // The store's state and delivery keys are per user and task.
        task.id = store_task_id(user_id, task_id);
        events_.publish(user_id,
                        {{"type", "run_started"}, {"task_id", task_id}, {"trigger", trigger}});
        proxy::run_options options;
        options.data_dir = config_.data_dir;
        options.database_file = config_.data_dir / "junction.db";
        options.mailbox_dir = maildir_service::user_dir(config_.data_dir, user_id) / "mailbox";
        options.cancel = &stopping_;
        native_lease::timing timing;
        timing.lease_seconds = lease_seconds;
        timing.renew_every = renew_every;
        native_lease lease(config_.data_dir / "junction.db", secrets_, key, owner_,
                           now + lease_seconds, timing);
        options.lease = &lease;
        const auto egress = make_egress_policy(config_);  // the bridge's, from the same config
        options.egress = &egress;
        options.on_progress = [&](std::string_view folder, std::uint64_t done,
                                  std::uint64_t total) {
          nlohmann::json event = {{"type", "progress"},
                                  {"task_id", task_id},
                                  {"folder", std::string(folder)},
                                  {"done", done},
                                  {"total", total}};
          {
            std::lock_guard lock(mutex_);
            running_[{user_id, task_id}].progress = event;
          }
          events_.publish(user_id, event);
        };
        const auto summary = proxy::run_retrieval(task, options);
        record.ok = summary.ok;
        record.failure = summary.ok ? "" : std::string(jobs::to_string(summary.failure));
        record.message = summary.message;
        cancelled = summary.failure == jobs::failure_kind::cancelled;
        for (const auto& f : summary.folders) {
          record.folders.push_back({{"folder", f.folder},
                                    {"new", f.new_messages},
                                    {"already_had", f.already_had},
                                    {"deleted", f.deleted}});
        }
      }
    }
    record.finished_at = now_seconds();
    accounts.record_run(user_id, record);
    // The next automatic run: the interval on success, doubling back-off on failure (capped
    // at an hour, or the interval when that is longer).
    auto entry = accounts.schedule(user_id, task_id);
    if (automatic) {
      store::schedule_entry next = entry.value_or(store::schedule_entry{user_id, task_id, 0, 0});
      const std::int64_t interval = interval_seconds(interval_minutes);
      if (record.ok || cancelled) {
        next.consecutive_failures = record.ok ? 0 : next.consecutive_failures;
        next.next_run_at = record.finished_at + interval + jitter(interval / 20);
      } else {
        next.consecutive_failures = std::min(next.consecutive_failures + 1, 30);
        const std::int64_t cap = std::max<std::int64_t>(3600, interval);
        std::int64_t delay = interval;
        for (int i = 0; i < next.consecutive_failures && delay < cap; ++i) delay *= 2;
        next.next_run_at = record.finished_at + std::min(delay, cap);
      }
      accounts.set_schedule(next);
    } else if (entry) {
      accounts.remove_schedule(user_id, task_id);
    }
    accounts.release_lease(key, owner_);
    events_.publish(user_id,
                    {{"type", "run_finished"}, {"task_id", task_id}, {"run", run_to_json(record)}});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scheduler: run of task %s failed: %s\n", task_id.c_str(), e.what());
    try {
      store::database db(config_.data_dir / "junction.db");
      store::account_store(db, secrets_).release_lease(key, owner_);
    } catch (const std::exception&) {
      // The lease expires by itself.
    }
  }
  std::lock_guard lock(mutex_);
  running_.erase({user_id, task_id});
}

std::optional<nlohmann::json> scheduler::status(std::int64_t user_id, const std::string& task_id) {
  store::database db(config_.data_dir / "junction.db");
  store::account_store accounts(db, secrets_);
  if (!find_task(accounts.load_account(user_id).document, task_id)) return std::nullopt;
  nlohmann::json out = {{"task_id", task_id}};
  auto runs = accounts.runs(user_id, task_id, 1);
  out["last_run"] = runs.empty() ? nlohmann::json(nullptr) : run_to_json(runs.front());
  auto entry = accounts.schedule(user_id, task_id);
  out["next_run_at"] = entry ? nlohmann::json(entry->next_run_at) : nlohmann::json(nullptr);
  out["consecutive_failures"] = entry ? entry->consecutive_failures : 0;
  std::lock_guard lock(mutex_);
  auto it = running_.find({user_id, task_id});
  out["running"] = it != running_.end();
  out["progress"] = it != running_.end() ? it->second.progress : nlohmann::json(nullptr);
  return out;
}

bool scheduler::take_lease(std::int64_t user_id, const std::string& task_id,
                           const std::string& owner, int seconds) {
  store::database db(config_.data_dir / "junction.db");
  store::account_store accounts(db, secrets_);
  seconds = std::clamp(seconds, 10, 600);
  return accounts.acquire_lease(lease_key(user_id, task_id), browser_owner(owner), now_seconds(),
                                seconds);
}

void scheduler::release_lease(std::int64_t user_id, const std::string& task_id,
                              const std::string& owner) {
  store::database db(config_.data_dir / "junction.db");
  store::account_store accounts(db, secrets_);
  accounts.release_lease(lease_key(user_id, task_id), browser_owner(owner));
}

bool scheduler::load_state(std::int64_t user_id, const std::string& task_id,
                           std::optional<std::string>* state) {
  store::database db(config_.data_dir / "junction.db");
  store::account_store accounts(db, secrets_);
  if (!find_task(accounts.load_account(user_id).document, task_id)) return false;
  *state = db.load_retrieval_state(state_key(user_id, task_id));
  return true;
}

task_runner::lease_result scheduler::save_state(std::int64_t user_id, const std::string& task_id,
                                                const std::string& owner, std::string_view state) {
  store::database db(config_.data_dir / "junction.db");
  store::account_store accounts(db, secrets_);
  if (!find_task(accounts.load_account(user_id).document, task_id)) {
    return lease_result::not_found;
  }
  // BEGIN IMMEDIATE: no other run can take the lease between the check and the write.
  store::database::transaction transaction(db);
  if (!accounts.holds_lease(lease_key(user_id, task_id), browser_owner(owner))) {
    return lease_result::not_leased;
  }
  db.save_retrieval_state(state_key(user_id, task_id), state);
  transaction.commit();
  return lease_result::done;
}

task_runner::lease_result scheduler::record_browser_run(std::int64_t user_id,
                                                        const std::string& task_id,
                                                        const std::string& owner,
                                                        const nlohmann::json& run,
                                                        nlohmann::json* recorded) {
  store::database db(config_.data_dir / "junction.db");
  store::account_store accounts(db, secrets_);
  if (!find_task(accounts.load_account(user_id).document, task_id)) {
    return lease_result::not_found;
  }
  store::run_record record;
  record.task_id = task_id;
  record.trigger = "browser";
  record.started_at = run.value("started_at", std::int64_t{0});
  record.finished_at = run.value("finished_at", std::int64_t{0});
  record.ok = run.value("ok", false);
  record.failure = record.ok ? "" : run.value("failure", "");
  record.message = run.value("message", "");
  record.folders = run.value("folders", nlohmann::json::array());
  // Not one transaction with the check (record_run has its own): a run that loses its lease
  // in between did run, so its record is still true history; the state is what must not be
  // overwritten, and save_state checks atomically.
  if (!accounts.holds_lease(lease_key(user_id, task_id), browser_owner(owner))) {
    return lease_result::not_leased;
  }
  accounts.record_run(user_id, record);
  nlohmann::json out = run_to_json(record);
  events_.publish(user_id, {{"type", "run_finished"}, {"task_id", task_id}, {"run", out}});
  if (recorded) *recorded = std::move(out);
  return lease_result::done;
}

}  // namespace junction::serve
