#include "bindings/retrieval_job_binding.h"

#include <cstdint>
#include <exception>
#include <utility>
#include <vector>

#include <emscripten/emscripten.h>

#include "bindings/js_interop.h"

// One object per effect, built in a single call into JS: setting thirteen properties through
// embind would cost thirteen boundary crossings per effect, and a retrieval makes several
// effects per message. Strings are decoded only when present, short ASCII ones (folder, key)
// without TextDecoder; 64-bit counts arrive as doubles (exact up to 2^53, far beyond any
// message count or delivery id). The kind names and the decoder are made once, on first use.
// The body is JS: C++ formatting would split its operators (>>>= into >> >=).
// clang-format off
EM_JS(emscripten::EM_VAL, junction_effect_object,
      (int kind, const char* host, std::size_t host_size, int port, int tls, const char* bytes,
       std::size_t bytes_size, int bytes_are_state, double delivery, const char* folder,
       std::size_t folder_size, const char* key, std::size_t key_size, double flags,
       double internal_date, double done, double total),
      {
        var self = junction_effect_object;
        if (!self.kinds) {
          self.kinds = [
            "connect", "send", "receive", "start_tls", "deliver_begin", "deliver_data",
            "deliver_end", "deliver_abort", "commit", "save_state", "progress", "close", "done",
            "failed"
          ];
          self.text = function(ptr, size) {
            ptr >>>= 0;
            size >>>= 0;
            if (size === 0) return "";
            if (size > 96) return UTF8ToString(ptr, size);
            var s = "";
            for (var i = 0; i < size; ++i) {
              var c = HEAPU8[ptr + i];
              if (c >= 128) return UTF8ToString(ptr, size);
              s += String.fromCharCode(c);
            }
            return s;
          };
        }
        var kinds = self.kinds;
        var text = self.text;
        var data;
        var state = "";
        if (bytes_are_state) {
          state = text(bytes, bytes_size);
          data = new Uint8Array(0);
        } else {
          bytes >>>= 0;
          data = HEAPU8.slice(bytes, bytes + (bytes_size >>> 0));
        }
        return Emval.toHandle({
          kind : kinds[kind],
          host : text(host, host_size),
          port : port,
          tls : tls ? "implicit" : "none",
          bytes : data,
          state : state,
          delivery : delivery,
          folder : text(folder, folder_size),
          key : text(key, key_size),
          flags : flags,
          internalDate : internal_date,
          done : done,
          total : total
        });
      });
// clang-format on

namespace junction::bindings {
namespace {

using emscripten::val;
using jobs::effect;

// The JS kinds array above lists the effect types in declaration order.
static_assert(static_cast<int>(effect::type::connect) == 0);
static_assert(static_cast<int>(effect::type::failed) == 13);

val to_js(const effect& e) {
  const bool state = e.kind == effect::type::save_state;
  return val::take_ownership(junction_effect_object(
      static_cast<int>(e.kind), e.host.data(), e.host.size(), e.port,
      e.tls == jobs::tls_mode::implicit ? 1 : 0, e.bytes.data(), e.bytes.size(), state ? 1 : 0,
      static_cast<double>(e.delivery), e.folder.data(), e.folder.size(), e.key.data(), e.key.size(),
      static_cast<double>(e.flags), static_cast<double>(e.internal_date),
      static_cast<double>(e.done_count), static_cast<double>(e.total)));
}

bool failure_kind_from(std::string_view name, jobs::failure_kind& out) {
  using jobs::failure_kind;
  for (const auto kind :
       {failure_kind::config, failure_kind::dns, failure_kind::refused, failure_kind::timeout,
        failure_kind::tls, failure_kind::certificate, failure_kind::encryption_required,
        failure_kind::login, failure_kind::protocol, failure_kind::connection,
        failure_kind::mailbox, failure_kind::cancelled}) {
    if (jobs::to_string(kind) == name) {
      out = kind;
      return true;
    }
  }
  return false;
}

// A JS number that is a whole, non-negative delivery id.
bool delivery_id(const val& value, std::uint64_t& out) {
  if (!value.isNumber()) return false;
  const double number = value.as<double>();
  if (!(number >= 0 && number <= 9007199254740992.0)) return false;
  out = static_cast<std::uint64_t>(number);
  return static_cast<double>(out) == number;
}

}  // namespace

retrieval_job_binding::retrieval_job_binding(std::unique_ptr<jobs::retrieval_job> job)
    : job_(std::move(job)) {}

template <class Call>
void retrieval_job_binding::guarded(const char* what, Call&& call) {
  if (!broken_.empty()) return;
  try {
    call();
  } catch (const std::exception& e) {
    break_run(std::string(what) + ": " + e.what());
  } catch (...) {
    break_run(std::string(what) + ": unknown error");
  }
}

void retrieval_job_binding::break_run(std::string message) {
  // Never empty, so a broken run stays broken.
  broken_ = "internal error in " + std::move(message);
}

val retrieval_job_binding::next() {
  if (broken_.empty()) {
    try {
      return to_js(job_->next());
    } catch (const std::exception& e) {
      break_run(std::string("next: ") + e.what());
    } catch (...) {
      break_run("next: unknown error");
    }
  }
  effect failed;
  failed.kind = effect::type::failed;
  try {
    return to_js(failed);
  } catch (...) {
    // Not even an effect object could be made (out of memory): a bare kind is all there is.
    val fallback = val::object();
    fallback.set("kind", std::string("failed"));
    return fallback;
  }
}

void retrieval_job_binding::on_connected() {
  guarded("onConnected", [&] { job_->on_connected(); });
}

void retrieval_job_binding::on_tls_started() {
  guarded("onTlsStarted", [&] { job_->on_tls_started(); });
}

void retrieval_job_binding::on_data(const val& bytes) {
  guarded("onData", [&] {
    if (!copy_bytes(bytes, input_)) {
      job_->on_failure(jobs::failure_kind::protocol,
                       "internal: onData needs a Uint8Array of the bytes received");
      return;
    }
    job_->on_data(input_);
  });
}

void retrieval_job_binding::on_eof() {
  guarded("onEof", [&] { job_->on_eof(); });
}

void retrieval_job_binding::on_failure(const val& kind, const val& message) {
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

void retrieval_job_binding::on_committed(const val& results) {
  guarded("onCommitted", [&] {
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
    job_->on_committed(parsed);
  });
}

void retrieval_job_binding::on_state_saved() {
  guarded("onStateSaved", [&] { job_->on_state_saved(); });
}

void retrieval_job_binding::cancel() {
  guarded("cancel", [&] { job_->cancel(); });
}

val retrieval_job_binding::summary() const {
  val out = val::object();
  try {
    const jobs::run_summary& s = job_->summary();
    const bool broken = !broken_.empty();
    out.set("ok", s.ok && !broken);
    out.set("failure",
            std::string(jobs::to_string(broken ? jobs::failure_kind::protocol : s.failure)));
    out.set("message", broken ? broken_ : s.message);
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
