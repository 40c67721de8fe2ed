// The "tests" driver: carries out a retrieval job's effects against an in-memory server,
// mailbox and state store, the way proxy/src/retrieval_runner.cpp does against the network
// and the disk. It can "crash" at a chosen effect (kill -9: the effect and everything after
// it never happen, uncommitted deliveries are lost, the saved state and committed messages
// stay) so a test can start a new job from the saved state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fake_mailbox.h"
#include "fake_server.h"
#include "jobs/retrieval_job.h"
#include "model/retrieval_task.h"

namespace junction::jobs::testing {

struct drive_options {
  // Index (from 0) of the effect at which the process dies; never when npos.
  std::size_t crash_at = std::numeric_limits<std::size_t>::max();
  // Bytes handed to on_data() at most per receive (0: everything the server has queued).
  std::size_t chunk = 0;
  // A runaway job (a loop that never ends) fails the test instead of hanging it.
  std::size_t max_effects = 200000;
};

struct drive_result {
  run_summary summary;
  bool crashed = false;
  bool finished = false;  // done or failed was reached
  std::size_t effects = 0;
  std::vector<std::string> trace;  // effects ("E: ...") and server commands ("C: ...")
  std::vector<std::string> violations;
  std::vector<std::string> saved_states;  // every save_state document, in order
  std::vector<effect::type> kinds;
};

inline const char* effect_name(effect::type t) {
  switch (t) {
    case effect::type::connect:
      return "connect";
    case effect::type::send:
      return "send";
    case effect::type::receive:
      return "receive";
    case effect::type::start_tls:
      return "start_tls";
    case effect::type::deliver_begin:
      return "deliver_begin";
    case effect::type::deliver_data:
      return "deliver_data";
    case effect::type::deliver_end:
      return "deliver_end";
    case effect::type::deliver_abort:
      return "deliver_abort";
    case effect::type::commit:
      return "commit";
    case effect::type::save_state:
      return "save_state";
    case effect::type::progress:
      return "progress";
    case effect::type::close:
      return "close";
    case effect::type::done:
      return "done";
    case effect::type::failed:
      return "failed";
  }
  return "?";
}

inline drive_result drive(const model::retrieval_task& task, const retrieval_options& options,
                          fake_server& server, fake_mailbox& mailbox, fake_state_store& store,
                          const drive_options& how = {}) {
  drive_result result;
  server.trace = &result.trace;
  auto job = retrieval_job::create(task, options, store.load(options.task_key));
  std::string outgoing;
  std::map<std::uint64_t, std::uint64_t> to_mailbox;  // job delivery -> mailbox delivery
  bool connected = false;

  auto finish = [&] {
    for (const auto& [job_id, box_id] : to_mailbox) mailbox.abort(box_id);
    to_mailbox.clear();
    if (connected) server.disconnect();
    server.trace = nullptr;
  };

  for (std::size_t i = 0;; ++i) {
    if (i >= how.max_effects) {
      result.violations.push_back("more than " + std::to_string(how.max_effects) + " effects");
      finish();
      return result;
    }
    effect e = job->next();
    result.effects = i + 1;
    if (i == how.crash_at) {
      result.crashed = true;
      result.trace.push_back("E: crash before " + std::string(effect_name(e.kind)));
      mailbox.crash();
      to_mailbox.clear();
      if (connected) server.disconnect();
      server.trace = nullptr;
      return result;
    }
    result.kinds.push_back(e.kind);
    switch (e.kind) {
      case effect::type::connect:
        result.trace.push_back("E: connect " + std::string(e.host) + ":" + std::to_string(e.port) +
                               (e.tls == tls_mode::implicit ? " tls" : ""));
        if (connected) result.violations.push_back("connect while connected");
        server.connect();
        connected = true;
        job->on_connected();
        break;
      case effect::type::send:
        if (!connected) result.violations.push_back("send without a connection");
        outgoing.append(e.bytes);
        break;
      case effect::type::receive: {
        if (!outgoing.empty()) {
          server.receive(outgoing);
          outgoing.clear();
        }
        std::string bytes = server.to_client(how.chunk);
        if (!bytes.empty()) {
          job->on_data(bytes);
        } else if (server.at_eof()) {
          job->on_eof();
        } else {
          // The client waits for an answer to nothing: in real life a timeout.
          result.trace.push_back("E: receive with nothing to read");
          job->on_failure(failure_kind::timeout, "the server did not answer");
        }
        break;
      }
      case effect::type::start_tls:
        result.trace.push_back("E: start_tls");
        if (!outgoing.empty()) {
          result.violations.push_back("bytes queued before STARTTLS: " + outgoing);
          job->on_failure(failure_kind::protocol, "internal: data queued before STARTTLS");
          break;
        }
        server.start_tls();
        job->on_tls_started();
        break;
      case effect::type::deliver_begin:
        if (to_mailbox.count(e.delivery)) result.violations.push_back("delivery id reused");
        to_mailbox[e.delivery] = mailbox.begin(e.folder);
        break;
      case effect::type::deliver_data:
        if (!to_mailbox.count(e.delivery)) {
          result.violations.push_back("data for an unknown delivery");
          break;
        }
        mailbox.write(to_mailbox[e.delivery], e.bytes);
        break;
      case effect::type::deliver_end:
        result.trace.push_back("E: deliver_end " + std::string(e.key));
        if (!to_mailbox.count(e.delivery)) {
          result.violations.push_back("end of an unknown delivery");
          break;
        }
        mailbox.end(to_mailbox[e.delivery], e.key, e.flags, e.internal_date);
        break;
      case effect::type::deliver_abort:
        result.trace.push_back("E: deliver_abort");
        if (!to_mailbox.count(e.delivery)) {
          result.violations.push_back("abort of an unknown delivery");
          break;
        }
        mailbox.abort(to_mailbox[e.delivery]);
        to_mailbox.erase(e.delivery);
        break;
      case effect::type::commit: {
        result.trace.push_back("E: commit");
        std::map<std::uint64_t, std::uint64_t> from_mailbox;
        for (const auto& [job_id, box_id] : to_mailbox) from_mailbox[box_id] = job_id;
        std::vector<delivery_result> results;
        for (const auto& [box_id, status] : mailbox.commit()) {
          auto it = from_mailbox.find(box_id);
          if (it == from_mailbox.end()) continue;
          results.push_back(
              {it->second, status, status == delivery_status::failed ? "disk full" : ""});
          to_mailbox.erase(it->second);
        }
        job->on_committed(results);
        result.trace.push_back("E: committed " + std::to_string(results.size()));
        break;
      }
      case effect::type::save_state:
        result.trace.push_back("E: save_state");
        store.save(options.task_key, e.bytes);
        result.saved_states.emplace_back(e.bytes);
        job->on_state_saved();
        result.trace.push_back("E: state_saved");
        break;
      case effect::type::progress:
        if (e.total != 0 && e.done_count > e.total) {
          result.violations.push_back("progress " + std::to_string(e.done_count) + "/" +
                                      std::to_string(e.total));
        }
        break;
      case effect::type::close:
        result.trace.push_back("E: close");
        if (connected && !outgoing.empty()) server.receive(outgoing);
        outgoing.clear();
        if (connected) server.disconnect();
        connected = false;
        break;
      case effect::type::done:
      case effect::type::failed:
        result.trace.push_back(std::string("E: ") + effect_name(e.kind));
        result.finished = true;
        result.summary = job->summary();
        finish();
        return result;
    }
  }
}

}  // namespace junction::jobs::testing
