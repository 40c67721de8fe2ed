#include "retrieval_runner.h"

#include <cctype>
#include <exception>
#include <memory>
#include <optional>
#include <unordered_map>

#include "common/digest.h"
#include "jobs/retrieval_job.h"
#include "mailbox/maildir.h"
#include "net/mail_connection.h"
#include "store/database.h"

namespace junction::proxy {

using jobs::effect;
using jobs::failure_kind;

namespace {

// The run's message when its lease is gone: another run of the task may be under way.
constexpr const char* lease_lost_message =
    "stopped: the run lost its lease on the task (another run may have taken it over); "
    "nothing more was stored, saved or deleted";

}  // namespace

std::string task_key_for(const model::retrieval_task& task) {
  if (!task.id.empty()) return "task:" + task.id;
  // The account, not the route to it: a task whose port or encryption changes (995 instead
  // of 110, or through a relay) must keep its state, or every message would come again.
  std::string server = task.server;
  for (auto& c : server) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string identity = model::to_string(task.type) + "\x1f" + server + "\x1f" + task.username;
  return "file:" + sha256_hex(identity).substr(0, 24);
}

jobs::run_summary run_retrieval(const model::retrieval_task& task, const run_options& options) {
  jobs::run_summary failed_early;
  failed_early.failure = failure_kind::mailbox;

  std::unique_ptr<store::database> db;
  std::unique_ptr<mailbox::maildir> box;
  const std::string task_key = task_key_for(task);
  std::string state;
  if (!options.check_only) {
    try {
      if (!options.data_dir.empty()) std::filesystem::create_directories(options.data_dir);
      db = std::make_unique<store::database>(
          options.database_file.empty() ? options.data_dir / "junction.db" : options.database_file);
      auto mailbox_dir =
          options.mailbox_dir.empty() ? options.data_dir / "mailbox" : options.mailbox_dir;
      std::filesystem::create_directories(mailbox_dir.parent_path());
      box = std::make_unique<mailbox::maildir>(mailbox_dir);
      state = db->load_retrieval_state(task_key).value_or("");
    } catch (const std::exception& e) {
      failed_early.message = std::string("cannot open the data folder: ") + e.what();
      return failed_early;
    }
  }

  jobs::retrieval_options job_options;
  job_options.task_key = task_key;
  job_options.check_only = options.check_only;
  auto job = jobs::retrieval_job::create(task, job_options, state);

  net::mail_connection::options conn_options;
  conn_options.pinned_cert_sha256 = task.pinned_cert_sha256;
  conn_options.egress = options.egress;
  // The model accepts either case; OpenSSL's digest is printed in lower case.
  for (auto& c : conn_options.pinned_cert_sha256) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  net::mail_connection conn(conn_options);

  std::string outgoing;
  std::string incoming;
  std::unordered_map<std::uint64_t, std::uint64_t> to_maildir;  // job delivery -> maildir's
  bool cancel_sent = false;
  bool lease_lost = false;

  // Before a step that cannot be undone: false (and the run is failing) when the lease is
  // gone. What the job queued for the server is dropped unsent: a POP3 server applies the
  // DELEs of a session only at its QUIT, so a session cut here deletes nothing.
  auto lose_lease = [&] {
    lease_lost = true;
    outgoing.clear();
    job->on_failure(failure_kind::cancelled, lease_lost_message);
  };
  auto still_leased = [&] {
    if (lease_lost) return false;
    if (!options.lease || options.lease->held()) return true;
    lose_lease();
    return false;
  };

  auto abort_open = [&] {
    for (const auto& [job_id, md_id] : to_maildir) {
      try {
        box->abort(md_id);
      } catch (...) {
      }
    }
    to_maildir.clear();
  };

  for (;;) {
    if (!cancel_sent && options.cancel && options.cancel->load()) {
      job->cancel();
      cancel_sent = true;
    }
    effect e = job->next();
    try {
      switch (e.kind) {
        case effect::type::connect:
          if (auto err = conn.connect(std::string(e.host), e.port, e.tls)) {
            job->on_failure(err.kind, err.message);
          } else {
            job->on_connected();
          }
          break;
        case effect::type::send:
          outgoing.append(e.bytes);
          break;
        case effect::type::receive: {
          if (!outgoing.empty()) {
            if (!still_leased()) break;
            auto err = conn.write(outgoing);
            outgoing.clear();
            if (err) {
              job->on_failure(err.kind, err.message);
              break;
            }
          }
          if (auto err = conn.read_some(incoming)) {
            job->on_failure(err.kind, err.message);
          } else if (incoming.empty()) {
            job->on_eof();
          } else {
            job->on_data(incoming);
          }
          break;
        }
        case effect::type::start_tls:
          if (!outgoing.empty()) {
            // The engines never pipeline past STARTTLS; anything here would be sent in clear.
            job->on_failure(failure_kind::protocol, "internal: data queued before STARTTLS");
            break;
          }
          if (auto err = conn.start_tls()) {
            job->on_failure(err.kind, err.message);
          } else {
            job->on_tls_started();
          }
          break;
        case effect::type::deliver_begin:
          to_maildir[e.delivery] = box->begin(e.folder);
          break;
        case effect::type::deliver_data:
          box->write(to_maildir.at(e.delivery), e.bytes);
          break;
        case effect::type::deliver_end:
          box->end(to_maildir.at(e.delivery), e.key, e.flags, e.internal_date);
          break;
        case effect::type::deliver_abort:
          box->abort(to_maildir.at(e.delivery));
          to_maildir.erase(e.delivery);
          break;
        case effect::type::commit: {
          if (!still_leased()) break;
          std::unordered_map<std::uint64_t, std::uint64_t> from_maildir;
          for (const auto& [job_id, md_id] : to_maildir) from_maildir[md_id] = job_id;
          std::vector<jobs::delivery_result> results;
          for (const auto& r : box->commit()) {
            auto it = from_maildir.find(r.delivery);
            if (it == from_maildir.end()) continue;
            jobs::delivery_result out;
            out.delivery = it->second;
            out.status = r.status == mailbox::commit_status::stored ? jobs::delivery_status::stored
                         : r.status == mailbox::commit_status::already_had
                             ? jobs::delivery_status::already_had
                             : jobs::delivery_status::failed;
            out.error = r.error;
            results.push_back(std::move(out));
            to_maildir.erase(it->second);
          }
          job->on_committed(results);
          break;
        }
        case effect::type::save_state: {
          if (!still_leased()) break;
          if (options.lease) {
            // The check and the write in one transaction: the lease cannot change hands
            // between them (as for the browser's PUT of the state).
            store::database::transaction transaction(*db);
            if (!options.lease->held_in(*db)) {
              lose_lease();
              break;
            }
            db->save_retrieval_state(task_key, e.bytes);
            transaction.commit();
          } else {
            db->save_retrieval_state(task_key, e.bytes);
          }
          job->on_state_saved();
          break;
        }
        case effect::type::progress:
          if (options.on_progress) options.on_progress(e.folder, e.done_count, e.total);
          break;
        case effect::type::close:
          if (!outgoing.empty() && !lease_lost && (!options.lease || options.lease->held())) {
            conn.write(outgoing);  // best effort: a final LOGOUT/QUIT already answered
          }
          outgoing.clear();
          conn.close();
          break;
        case effect::type::done:
        case effect::type::failed:
          if (box) abort_open();
          return job->summary();
      }
    } catch (const std::exception& ex) {
      // A mailbox or database failure: stop the run; nothing uncommitted counts.
      job->on_failure(failure_kind::mailbox, ex.what());
    }
  }
}

}  // namespace junction::proxy
