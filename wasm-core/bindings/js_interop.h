// Moving data across the WASM boundary in bulk: one copy per byte string each way, never a
// per-byte or per-field embind call on a hot path (a retrieval hands every message through
// here, so this is what the browser's throughput depends on).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <emscripten/val.h>

#include "model/validation.h"

namespace junction::bindings {

// A new Uint8Array holding a copy of `bytes` (safe to keep after wasm memory grows).
emscripten::val to_uint8array(std::string_view bytes);

// Replaces `out` with the bytes of a Uint8Array, another typed array or DataView (its
// viewed bytes), or an ArrayBuffer. False, leaving `out` empty, for any other value.
bool copy_bytes(const emscripten::val& value, std::string& out);

// The text of a JS string as UTF-8; false (and `out` empty) when `value` is not a string.
bool copy_string(const emscripten::val& value, std::string& out);

// [{field, message}, ...]
emscripten::val to_js(const std::vector<model::field_error>& errors);

// {ok: false, errors: [{field: "", message}]} plus `extra` fields set by the caller: the
// shape every exported function answers with when something went wrong.
emscripten::val error_result(std::string_view message);

}  // namespace junction::bindings
