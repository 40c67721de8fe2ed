#include "bindings/js_interop.h"

#include <emscripten/emscripten.h>

// These run inside the module's JS scope, where HEAPU8 is always the current view of wasm
// memory (it is replaced when memory grows) and Emval maps handles to values.
// The bodies are JS: C++ formatting would split its operators (>>>= into >> >=).
// clang-format off

// `slice` copies: the array must not alias wasm memory, which the next call may reuse or move.
EM_JS(emscripten::EM_VAL, junction_uint8array_from_memory, (const char* data, std::size_t size), {
  data >>>= 0;
  size >>>= 0;
  return Emval.toHandle(HEAPU8.slice(data, data + size));
});

// The number of bytes a Uint8Array, other typed array, DataView or ArrayBuffer holds; -1 for
// any other value.
EM_JS(double, junction_byte_length, (emscripten::EM_VAL handle), {
  var v = Emval.toValue(handle);
  if (v instanceof Uint8Array) return v.length;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v.byteLength;
  return -1;
});

// Those bytes, copied to `out` in one call.
EM_JS(void, junction_copy_into_memory, (emscripten::EM_VAL handle, char* out), {
  var v = Emval.toValue(handle);
  if (!(v instanceof Uint8Array)) {
    v = (v instanceof ArrayBuffer) ? new Uint8Array(v)
                                   : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  HEAPU8.set(v, out >>> 0);
});

// clang-format on

namespace junction::bindings {

using emscripten::val;

val to_uint8array(std::string_view bytes) {
  return val::take_ownership(junction_uint8array_from_memory(bytes.data(), bytes.size()));
}

bool copy_bytes(const val& value, std::string& out) {
  out.clear();
  const double length = junction_byte_length(value.as_handle());
  if (length < 0) return false;
  // resize() value-initialises; the copy below overwrites every byte, but the cost of the
  // fill is one memset, small next to the copy itself.
  out.resize(static_cast<std::size_t>(length));
  if (!out.empty()) junction_copy_into_memory(value.as_handle(), out.data());
  return true;
}

bool copy_string(const val& value, std::string& out) {
  out.clear();
  if (!value.isString()) return false;
  out = value.as<std::string>();
  return true;
}

val to_js(const std::vector<model::field_error>& errors) {
  val list = val::array();
  for (const auto& error : errors) {
    val item = val::object();
    item.set("field", error.field);
    item.set("message", error.message);
    list.call<void>("push", item);
  }
  return list;
}

val error_result(std::string_view message) {
  val result = val::object();
  result.set("ok", false);
  result.set("errors", to_js({{std::string(), std::string(message)}}));
  return result;
}

}  // namespace junction::bindings
