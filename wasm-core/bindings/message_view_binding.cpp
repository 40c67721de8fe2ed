#include "bindings/message_view_binding.h"

#include <exception>
#include <string>

#include "bindings/js_interop.h"
#include "mime/message_view.h"

namespace junction::bindings {

using emscripten::val;

namespace {

// Every field present even on failure, so the page can render a result without checks.
val empty_view(const std::string& error) {
  val out = val::object();
  out.set("ok", false);
  out.set("error", error);
  out.set("headers", val::array());
  for (const char* field : {"from", "to", "cc", "subject", "text"}) out.set(field, std::string());
  out.set("date", val::null());
  out.set("text_truncated", false);
  out.set("text_from_html", false);
  out.set("attachments", val::array());
  return out;
}

}  // namespace

val view_message(const val& raw) {
  try {
    std::string bytes;
    if (!copy_bytes(raw, bytes)) return empty_view("viewMessage needs a Uint8Array");
    const mime::message_view_result result = mime::view_message(bytes);
    if (!result.ok) return empty_view(result.error.empty() ? "unreadable message" : result.error);
    const mime::message_view& view = result.view;
    val out = val::object();
    out.set("ok", true);
    out.set("error", std::string());
    val headers = val::array();
    for (const auto& [name, value] : view.headers) {
      val header = val::object();
      header.set("name", name);
      header.set("value", value);
      headers.call<void>("push", header);
    }
    out.set("headers", headers);
    out.set("from", view.from);
    out.set("to", view.to);
    out.set("cc", view.cc);
    out.set("subject", view.subject);
    if (view.date) {
      out.set("date", static_cast<double>(*view.date));
    } else {
      out.set("date", val::null());
    }
    out.set("text", view.text);
    out.set("text_truncated", view.text_truncated);
    out.set("text_from_html", view.text_from_html);
    val attachments = val::array();
    for (const auto& a : view.attachments) {
      val item = val::object();
      item.set("filename", a.filename);
      item.set("content_type", a.content_type);
      item.set("size", static_cast<double>(a.size));
      attachments.call<void>("push", item);
    }
    out.set("attachments", attachments);
    return out;
  } catch (const std::exception& e) {
    return empty_view(std::string("internal error: ") + e.what());
  } catch (...) {
    return empty_view("internal error");
  }
}

}  // namespace junction::bindings
