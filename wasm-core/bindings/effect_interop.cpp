#include "bindings/effect_interop.h"

#include <emscripten/emscripten.h>

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

using emscripten::val;
using jobs::effect;

// The JS kinds array above lists the effect types in declaration order.
static_assert(static_cast<int>(effect::type::connect) == 0);
static_assert(static_cast<int>(effect::type::failed) == 13);

val effect_to_js(const effect& e) {
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
        failure_kind::mailbox, failure_kind::cancelled, failure_kind::rejected}) {
    if (jobs::to_string(kind) == name) {
      out = kind;
      return true;
    }
  }
  return false;
}

}  // namespace junction::bindings
