// RetrievalJob as JS sees it (documented in wasm-core/bindings/README.md): a retrieval_job whose
// effects come out as plain objects and whose answers go in as JS values. Nothing thrown
// inside ever reaches JS: a C++ exception marks the run failed with an internal error, which
// next() and summary() then report like any other failure.
#pragma once

#include <memory>
#include <string>

#include <emscripten/val.h>

#include "jobs/retrieval_job.h"

namespace junction::bindings {

class retrieval_job_binding {
 public:
  explicit retrieval_job_binding(std::unique_ptr<jobs::retrieval_job> job);

  // {kind, host, port, tls, bytes, state, delivery, folder, key, flags, internalDate, done,
  // total}: every field is present on every effect, so each object has the same shape.
  emscripten::val next();
  void on_connected();
  void on_tls_started();
  void on_data(const emscripten::val& bytes);
  void on_eof();
  void on_failure(const emscripten::val& kind, const emscripten::val& message);
  // [{delivery, status: "stored"|"already_had"|"failed", error}]
  void on_committed(const emscripten::val& results);
  void on_state_saved();
  void cancel();
  emscripten::val summary() const;

 private:
  template <class Call>
  void guarded(const char* what, Call&& call);
  void break_run(std::string message);

  std::unique_ptr<jobs::retrieval_job> job_;
  std::string input_;   // on_data's bytes, reused so steady-state reads do not allocate
  std::string broken_;  // why the run stopped on an internal error; empty while healthy
};

}  // namespace junction::bindings
