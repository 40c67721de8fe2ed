// What every job binding shares (RetrievalJob, SendJob): effects as plain JS objects made
// in one call into JS, failure kinds by name, and a guard so that no C++ exception ever
// reaches JS — an exception marks the run failed with an internal error, which next() and
// summary() then report like any other failure.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <emscripten/val.h>

#include "bindings/js_interop.h"
#include "jobs/effects.h"

namespace junction::bindings {

// {kind, host, port, tls, bytes, state, delivery, folder, key, flags, internalDate, done,
// total}: every field is present on every effect, so each object has the same shape.
emscripten::val effect_to_js(const jobs::effect& e);

// The failure kind named `name` (jobs::to_string); false for an unknown name.
bool failure_kind_from(std::string_view name, jobs::failure_kind& out);

// A job (jobs::retrieval_job, jobs::send_job) as JS drives it: the calls every job has.
template <class Job>
class job_binding {
 public:
  explicit job_binding(std::unique_ptr<Job> job) : job_(std::move(job)) {}

  emscripten::val next() {
    if (broken_.empty()) {
      try {
        return effect_to_js(job_->next());
      } catch (const std::exception& e) {
        break_run(std::string("next: ") + e.what());
      } catch (...) {
        break_run("next: unknown error");
      }
    }
    jobs::effect failed;
    failed.kind = jobs::effect::type::failed;
    try {
      return effect_to_js(failed);
    } catch (...) {
      // Not even an effect object could be made (out of memory): a bare kind is all there is.
      emscripten::val fallback = emscripten::val::object();
      fallback.set("kind", std::string("failed"));
      return fallback;
    }
  }

  void on_connected() {
    guarded("onConnected", [&] { job_->on_connected(); });
  }
  void on_tls_started() {
    guarded("onTlsStarted", [&] { job_->on_tls_started(); });
  }
  void on_data(const emscripten::val& bytes) {
    guarded("onData", [&] {
      if (!copy_bytes(bytes, input_)) {
        job_->on_failure(jobs::failure_kind::protocol,
                         "internal: onData needs a Uint8Array of the bytes received");
        return;
      }
      job_->on_data(input_);
    });
  }
  void on_eof() {
    guarded("onEof", [&] { job_->on_eof(); });
  }
  void on_failure(const emscripten::val& kind, const emscripten::val& message) {
    guarded("onFailure", [&] {
      std::string name, text;
      copy_string(kind, name);
      copy_string(message, text);
      jobs::failure_kind parsed = jobs::failure_kind::connection;
      if (!failure_kind_from(name, parsed)) {
        // An unknown kind still ends the step that failed; say what the driver sent.
        text = (name.empty() ? std::string("connection failure") : name) +
               (text.empty() ? std::string() : ": " + text);
      }
      if (text.empty()) text = "no reason given";
      job_->on_failure(parsed, std::move(text));
    });
  }
  void cancel() {
    guarded("cancel", [&] { job_->cancel(); });
  }

  // Runs `call`; an exception breaks the run instead of escaping.
  template <class Call>
  void guarded(const char* what, Call&& call) {
    if (!broken_.empty()) return;
    try {
      call();
    } catch (const std::exception& e) {
      break_run(std::string(what) + ": " + e.what());
    } catch (...) {
      break_run(std::string(what) + ": unknown error");
    }
  }

  Job& job() { return *job_; }
  const Job& job() const { return *job_; }
  // Why the run stopped on an internal error; empty while healthy.
  const std::string& broken() const { return broken_; }

 private:
  void break_run(std::string message) {
    // Never empty, so a broken run stays broken.
    broken_ = "internal error in " + std::move(message);
  }

  std::unique_ptr<Job> job_;
  std::string input_;  // on_data's bytes, reused so steady-state reads do not allocate
  std::string broken_;
};

}  // namespace junction::bindings
