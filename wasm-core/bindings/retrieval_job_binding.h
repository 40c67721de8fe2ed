// RetrievalJob as JS sees it (documented in wasm-core/bindings/README.md): the calls every
// job has (effect_interop.h) plus the retrieval's own answers and summary.
#pragma once

#include <emscripten/val.h>

#include "bindings/effect_interop.h"
#include "jobs/retrieval_job.h"

namespace junction::bindings {

using retrieval_job_binding = job_binding<jobs::retrieval_job>;

// [{delivery, status: "stored"|"already_had"|"failed", error}]
void retrieval_on_committed(retrieval_job_binding& self, const emscripten::val& results);
void retrieval_on_state_saved(retrieval_job_binding& self);
emscripten::val retrieval_summary(const retrieval_job_binding& self);

}  // namespace junction::bindings
