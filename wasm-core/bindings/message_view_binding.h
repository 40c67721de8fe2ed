// core.viewMessage: the message view of wasm-core/mime/message_view.h as a JS object.
#pragma once

#include <emscripten/val.h>

namespace junction::bindings {

// {ok, error, headers: [{name, value}], from, to, cc, subject, date (unix seconds or null),
// text, text_truncated, text_from_html, attachments: [{filename, content_type, size}]}
emscripten::val view_message(const emscripten::val& raw);

}  // namespace junction::bindings
