// The JS surface of the core (documented in wasm-core/bindings/README.md): what the browser app
// calls to validate tasks, run retrievals and read messages. Every exported function catches
// everything: an exception escaping into JS would arrive as a bare number.
#include <emscripten/bind.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bindings/js_interop.h"
#include "bindings/message_view_binding.h"
#include "bindings/retrieval_job_binding.h"
#include "bindings/smtp_bindings.h"
#include "jobs/retrieval_job.h"
#include "model/retrieval_task.h"

#ifndef JUNCTION_VERSION
#error "JUNCTION_VERSION must be defined by the build"
#endif

namespace junction::bindings {
namespace {

using emscripten::val;

std::string version() {
  return JUNCTION_VERSION;
}

// 0 when either name is unknown: there is no default port for a type or encryption that
// does not exist, and the form shows nothing rather than a wrong number.
int default_port(const val& type, const val& encryption) {
  try {
    std::string type_name, encryption_name;
    model::retrieval_task task;
    if (!copy_string(type, type_name) || !model::from_string(type_name, task.type)) return 0;
    if (!copy_string(encryption, encryption_name) ||
        !model::from_string(encryption_name, task.encryption)) {
      return 0;
    }
    task.port = 0;
    return task.effective_port();
  } catch (...) {
    return 0;
  }
}

// Every problem with a task in one answer, so the form can mark all its fields at once:
// the parse errors, plus the semantic ones of the rest of the task (each field that did not
// parse is left out, i.e. at its default, and not reported twice).
struct checked_task {
  std::optional<model::retrieval_task> task;
  std::vector<model::field_error> errors;
};

bool reported(const std::vector<model::field_error>& errors, std::string_view field) {
  for (const auto& error : errors) {
    if (error.field == field) return true;
  }
  return false;
}

checked_task check_task(const val& text) {
  checked_task out;
  std::string json;
  if (!copy_string(text, json)) {
    out.errors.push_back({std::string(), "the task must be JSON text"});
    return out;
  }
  model::parse_result parsed = model::parse_retrieval_task(json);
  if (parsed.ok()) {
    out.errors = model::validate(*parsed.task);
    if (out.errors.empty()) out.task = std::move(parsed.task);
    return out;
  }
  out.errors = std::move(parsed.errors);
  // A problem with the whole document (not JSON, too deep, too long): nothing more to say.
  if (reported(out.errors, "")) return out;
  // The text parsed before (parse_retrieval_task checked its size and depth), so this is
  // bounded; it cannot fail, but an exception here is caught by the caller anyway.
  nlohmann::json document = nlohmann::json::parse(json);
  for (const auto& error : out.errors) {
    const auto dot = error.field.find('.');
    if (dot == std::string::npos) {
      document.erase(error.field);
      continue;
    }
    auto parent = document.find(error.field.substr(0, dot));
    if (parent != document.end() && parent->is_object()) parent->erase(error.field.substr(dot + 1));
  }
  model::parse_result rest = model::parse_retrieval_task(document);
  if (!rest.ok()) return out;
  for (auto& error : model::validate(*rest.task)) {
    if (!reported(out.errors, error.field)) out.errors.push_back(std::move(error));
  }
  return out;
}

val validate_task(const val& text) {
  try {
    checked_task checked = check_task(text);
    val result = val::object();
    result.set("ok", checked.task.has_value());
    result.set("errors", to_js(checked.errors));
    result.set("task", checked.task ? model::to_json(*checked.task).dump() : std::string());
    return result;
  } catch (const std::exception& e) {
    val result = error_result(std::string("internal error: ") + e.what());
    result.set("task", std::string());
    return result;
  } catch (...) {
    val result = error_result("internal error");
    result.set("task", std::string());
    return result;
  }
}

val create_retrieval_job(const val& task_text, const val& task_key, const val& state_text,
                         const val& check_only) {
  try {
    checked_task checked = check_task(task_text);
    if (!checked.task) {
      val result = val::object();
      result.set("ok", false);
      result.set("errors", to_js(checked.errors));
      result.set("job", val::null());
      return result;
    }
    jobs::retrieval_options options;
    if (!copy_string(task_key, options.task_key) || options.task_key.empty()) {
      // The key names the task's source in every delivery key: without it, two tasks'
      // messages could be mistaken for each other.
      val result = error_result("taskKey must be a non-empty string");
      result.set("job", val::null());
      return result;
    }
    std::string state;
    if (!state_text.isUndefined() && !state_text.isNull() && !copy_string(state_text, state)) {
      val result = error_result("state must be the saved state document (text) or empty");
      result.set("job", val::null());
      return result;
    }
    options.check_only = check_only.isTrue();
    // Each commit is one HTTP round trip and one sync on the proxy, during which the job
    // reads nothing: the page commits in the largest batches the batch API takes.
    options.batch_messages = 1000;
    auto job = std::make_unique<retrieval_job_binding>(
        jobs::retrieval_job::create(*checked.task, std::move(options), state));
    val result = val::object();
    result.set("ok", true);
    result.set("errors", val::array());
    result.set("job", val(std::move(job)));
    return result;
  } catch (const std::exception& e) {
    val result = error_result(std::string("internal error: ") + e.what());
    result.set("job", val::null());
    return result;
  } catch (...) {
    val result = error_result("internal error");
    result.set("job", val::null());
    return result;
  }
}

}  // namespace
}  // namespace junction::bindings

EMSCRIPTEN_BINDINGS(junction_core) {
  using namespace junction::bindings;
  namespace em = emscripten;
  em::function("version", &version);
  em::function("defaultPort", &default_port);
  em::function("validateTask", &validate_task);
  em::function("createRetrievalJob", &create_retrieval_job);
  em::function("viewMessage", &view_message);
  em::function("defaultSmtpPort", &default_smtp_port);
  em::function("validateSmtpAccount", &validate_smtp_account);
  em::function("composeMessage", &compose_message);
  em::function("createSendJob", &create_send_job);
  em::class_<retrieval_job_binding>("RetrievalJob")
      .function("next", &retrieval_job_binding::next)
      .function("onConnected", &retrieval_job_binding::on_connected)
      .function("onTlsStarted", &retrieval_job_binding::on_tls_started)
      .function("onData", &retrieval_job_binding::on_data)
      .function("onEof", &retrieval_job_binding::on_eof)
      .function("onFailure", &retrieval_job_binding::on_failure)
      .function("onCommitted", &retrieval_on_committed)
      .function("onStateSaved", &retrieval_on_state_saved)
      .function("cancel", &retrieval_job_binding::cancel)
      .function("summary", &retrieval_summary);
  em::class_<send_job_binding>("SendJob")
      .function("next", &send_job_binding::next)
      .function("onConnected", &send_job_binding::on_connected)
      .function("onTlsStarted", &send_job_binding::on_tls_started)
      .function("onData", &send_job_binding::on_data)
      .function("onEof", &send_job_binding::on_eof)
      .function("onFailure", &send_job_binding::on_failure)
      .function("cancel", &send_job_binding::cancel)
      .function("summary", &send_summary);
}
