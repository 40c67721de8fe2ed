#include "bindings/retrieval_job_binding.h"

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "bindings/js_interop.h"

namespace junction::bindings {
namespace {

using emscripten::val;

// A JS number that is a whole, non-negative delivery id.
bool delivery_id(const val& value, std::uint64_t& out) {
  if (!value.isNumber()) return false;
  const double number = value.as<double>();
  if (!(number >= 0 && number <= 9007199254740992.0)) return false;
  out = static_cast<std::uint64_t>(number);
  return static_cast<double>(out) == number;
}

}  // namespace

void retrieval_on_committed(retrieval_job_binding& self, const val& results) {
  self.guarded("onCommitted", [&] {
    std::vector<jobs::delivery_result> parsed;
    if (results.isArray()) {
      const auto count = results["length"].as<unsigned>();
      parsed.reserve(count);
      for (unsigned i = 0; i < count; ++i) {
        const val item = results[i];
        if (item.typeOf().as<std::string>() != "object" || item.isNull()) continue;
        jobs::delivery_result r;
        if (!delivery_id(item["delivery"], r.delivery)) continue;
        std::string status;
        copy_string(item["status"], status);
        if (status == "stored") {
          r.status = jobs::delivery_status::stored;
        } else if (status == "already_had") {
          r.status = jobs::delivery_status::already_had;
        } else {
          // Anything but a clear success is a failure: a message is never counted as stored
          // (and deleted at the source) on a malformed answer.
          r.status = jobs::delivery_status::failed;
          copy_string(item["error"], r.error);
          if (r.error.empty()) {
            r.error = status == "failed" ? "no reason given" : "unknown status \"" + status + "\"";
          }
        }
        parsed.push_back(std::move(r));
      }
    }
    self.job().on_committed(parsed);
  });
}

void retrieval_on_state_saved(retrieval_job_binding& self) {
  self.guarded("onStateSaved", [&] { self.job().on_state_saved(); });
}

val retrieval_summary(const retrieval_job_binding& self) {
  val out = val::object();
  try {
    const jobs::run_summary& s = self.job().summary();
    const bool broken = !self.broken().empty();
    out.set("ok", s.ok && !broken);
    out.set("failure",
            std::string(jobs::to_string(broken ? jobs::failure_kind::protocol : s.failure)));
    out.set("message", broken ? self.broken() : s.message);
    val folders = val::array();
    for (const auto& f : s.folders) {
      val item = val::object();
      item.set("folder", f.folder);
      item.set("new_messages", static_cast<double>(f.new_messages));
      item.set("already_had", static_cast<double>(f.already_had));
      item.set("deleted", static_cast<double>(f.deleted));
      folders.call<void>("push", item);
    }
    out.set("folders", folders);
    out.set("server_greeting", s.server_greeting);
    out.set("total_messages", static_cast<double>(s.total_messages));
    out.set("total_folders", static_cast<double>(s.total_folders));
  } catch (const std::exception& e) {
    out.set("ok", false);
    out.set("failure", std::string("protocol"));
    out.set("message", std::string("internal error in summary: ") + e.what());
  } catch (...) {
    out.set("ok", false);
    out.set("failure", std::string("protocol"));
    out.set("message", std::string("internal error in summary"));
  }
  return out;
}

}  // namespace junction::bindings
