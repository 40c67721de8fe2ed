// The proxy's driver for retrieval jobs: carries out the effects of wasm-core's job with a
// mail_connection, the account's Maildir and the state database. Used by the CLI and (later)
// the scheduler.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>

#include "jobs/effects.h"
#include "model/retrieval_task.h"

namespace junction::store {
class database;
}

namespace junction::bridge {
class egress_policy;
}

namespace junction::proxy {

// A run's claim to its task: the scheduler's lease, so that one task never runs twice at once.
// When a run has one, it stops before each step that cannot be undone once the claim is gone
// — a write to the server (it may carry a POP3 DELE, or the QUIT that applies one, or an IMAP
// expunge), a commit into the mailbox, a state save — and fails as cancelled, with a message
// that says the lease was lost.
class lease_guard {
 public:
  virtual ~lease_guard() = default;
  // Whether the claim is surely still held now. Cheap: called before every write.
  virtual bool held() const = 0;
  // Called inside the state save's write transaction on `db` (BEGIN IMMEDIATE, so no one can
  // take the lease before the save commits): whether the lease row still names this run.
  virtual bool held_in(store::database& db) const = 0;
};

struct run_options {
  std::filesystem::path data_dir;       // DATA: mailbox/ and junction.db live here, unless
  std::filesystem::path mailbox_dir;    // ...this is set (serve: DATA/users/<id>/mailbox)
  std::filesystem::path database_file;  // ...or this (serve: DATA/junction.db)
  bool check_only = false;              // Test Connection
  std::function<void(std::string_view folder, std::uint64_t done, std::uint64_t total)> on_progress;
  const std::atomic<bool>* cancel = nullptr;  // set to stop at the next safe point
  const lease_guard* lease = nullptr;         // none for the CLI
  // Where the run may connect: `serve` passes its egress policy for every run it makes for a
  // signed-in user (scheduled, Retrieve Now, Test Connection); null (the CLI) allows any
  // address. Must outlive the run.
  const bridge::egress_policy* egress = nullptr;
};

// The key that names a task's source in its state and delivery keys: the store's id, or for
// a task file without one, a digest of the account (type, server name, user name; not the
// port or the encryption, which may change without the mailbox changing).
std::string task_key_for(const model::retrieval_task& task);

jobs::run_summary run_retrieval(const model::retrieval_task& task, const run_options& options);

}  // namespace junction::proxy
