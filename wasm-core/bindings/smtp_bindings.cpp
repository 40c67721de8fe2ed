#include "bindings/smtp_bindings.h"

#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bindings/js_interop.h"
#include "mime/compose.h"
#include "model/smtp_account.h"

namespace junction::bindings {
namespace {

using emscripten::val;

// {ok, errors, <extra>: null} for a failed call that would have returned `extra`.
val failed(std::string_view message, const char* extra) {
  val result = error_result(message);
  result.set(extra, val::null());
  return result;
}

struct checked_account {
  std::optional<model::smtp_account> account;
  std::vector<model::field_error> errors;
};

checked_account check_account(const val& text) {
  checked_account out;
  std::string json;
  if (!copy_string(text, json)) {
    out.errors.push_back({std::string(), "the account must be JSON text"});
    return out;
  }
  model::smtp_parse_result parsed = model::parse_smtp_account(json);
  if (!parsed.ok()) {
    out.errors = std::move(parsed.errors);
    return out;
  }
  out.errors = model::validate(*parsed.account);
  if (out.errors.empty()) out.account = std::move(parsed.account);
  return out;
}

// A member of `object` that must be a string when present.
std::string string_member(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) throw std::invalid_argument(std::string(name) + " must be text");
  return it->get<std::string>();
}

mime::mailbox_address address_of(const nlohmann::json& value, const char* field) {
  if (!value.is_object()) {
    throw std::invalid_argument(std::string(field) + ": each address is {name, email}");
  }
  return {string_member(value, "name"), string_member(value, "email")};
}

std::vector<mime::mailbox_address> addresses_of(const nlohmann::json& input, const char* field) {
  std::vector<mime::mailbox_address> out;
  const auto it = input.find(field);
  if (it == input.end() || it->is_null()) return out;
  if (!it->is_array()) throw std::invalid_argument(std::string(field) + " must be a list");
  for (const auto& value : *it) out.push_back(address_of(value, field));
  return out;
}

std::int64_t integer_member(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return 0;
  if (!it->is_number_integer()) {
    throw std::invalid_argument(std::string(name) + " must be a whole number");
  }
  return it->get<std::int64_t>();
}

// Reads the JS array of {filename, content_type, data: Uint8Array}.
std::vector<mime::attachment> attachments_of(const val& list) {
  std::vector<mime::attachment> out;
  if (list.isUndefined() || list.isNull()) return out;
  if (!list.isArray()) throw std::invalid_argument("attachments must be a list");
  const auto count = list["length"].as<unsigned>();
  for (unsigned i = 0; i < count; ++i) {
    const val item = list[i];
    mime::attachment a;
    if (item.typeOf().as<std::string>() != "object" || item.isNull() ||
        !copy_string(item["filename"], a.filename) || !copy_bytes(item["data"], a.data)) {
      throw std::invalid_argument("attachments[" + std::to_string(i) +
                                  "] must be {filename, content_type, data: Uint8Array}");
    }
    copy_string(item["content_type"], a.content_type);
    out.push_back(std::move(a));
  }
  return out;
}

// Reads the JS array of {envelope_from, recipients, data, needs_smtputf8, eight_bit}.
std::vector<jobs::outgoing_message> messages_of(const val& list) {
  std::vector<jobs::outgoing_message> out;
  if (list.isUndefined() || list.isNull()) return out;
  if (!list.isArray()) throw std::invalid_argument("messages must be a list");
  const auto count = list["length"].as<unsigned>();
  for (unsigned i = 0; i < count; ++i) {
    const val item = list[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (item.typeOf().as<std::string>() != "object" || item.isNull()) {
      throw std::invalid_argument(where + " must be an object");
    }
    jobs::outgoing_message m;
    copy_string(item["envelope_from"], m.envelope_from);
    if (!copy_bytes(item["data"], m.data)) {
      throw std::invalid_argument(where + ".data must be the message as a Uint8Array");
    }
    const val recipients = item["recipients"];
    if (!recipients.isArray()) throw std::invalid_argument(where + ".recipients must be a list");
    const auto n = recipients["length"].as<unsigned>();
    for (unsigned r = 0; r < n; ++r) {
      std::string address;
      if (!copy_string(recipients[r], address)) {
        throw std::invalid_argument(where + ".recipients must be addresses");
      }
      m.recipients.push_back(std::move(address));
    }
    m.needs_smtputf8 = item["needs_smtputf8"].isTrue();
    m.eight_bit = item["eight_bit"].isTrue();
    out.push_back(std::move(m));
  }
  return out;
}

val reply_fields(val object, int code, const std::string& enhanced, const std::string& text) {
  object.set("code", code);
  object.set("enhanced_code", enhanced);
  object.set("text", text);
  return object;
}

}  // namespace

int default_smtp_port(const val& encryption) {
  try {
    std::string name;
    model::smtp_encryption parsed;
    if (!copy_string(encryption, name) || !model::from_string(name, parsed)) return 0;
    return model::default_smtp_port(parsed);
  } catch (...) {
    return 0;
  }
}

val validate_smtp_account(const val& text) {
  try {
    checked_account checked = check_account(text);
    val result = val::object();
    result.set("ok", checked.account.has_value());
    result.set("errors", to_js(checked.errors));
    result.set("account",
               checked.account ? model::to_json(*checked.account).dump() : std::string());
    return result;
  } catch (const std::exception& e) {
    val result = error_result(std::string("internal error: ") + e.what());
    result.set("account", std::string());
    return result;
  } catch (...) {
    val result = error_result("internal error");
    result.set("account", std::string());
    return result;
  }
}

val compose_message(const val& input_text, const val& attachments) {
  try {
    std::string text;
    if (!copy_string(input_text, text)) return failed("the input must be JSON text", "message");
    const nlohmann::json input = nlohmann::json::parse(text, nullptr, false);
    if (!input.is_object()) return failed("the input must be a JSON object", "message");
    mime::compose_input in;
    try {
      const auto from = input.find("from");
      if (from == input.end()) throw std::invalid_argument("from: missing");
      in.from = address_of(*from, "from");
      in.to = addresses_of(input, "to");
      in.cc = addresses_of(input, "cc");
      in.bcc = addresses_of(input, "bcc");
      in.subject = string_member(input, "subject");
      in.text = string_member(input, "text");
      in.html = string_member(input, "html");
      in.date = integer_member(input, "date");
      in.utc_offset_minutes = static_cast<int>(integer_member(input, "utc_offset_minutes"));
      in.unique = string_member(input, "unique");
      in.in_reply_to = string_member(input, "in_reply_to");
      in.references = string_member(input, "references");
      in.attachments = attachments_of(attachments);
    } catch (const std::invalid_argument& e) {
      return failed(e.what(), "message");
    }
    const mime::compose_result composed = mime::compose(in);
    if (!composed.ok) {
      val result = val::object();
      result.set("ok", false);
      result.set("error", composed.error);
      result.set("message", val::null());
      return result;
    }
    val result = val::object();
    result.set("ok", true);
    result.set("error", std::string());
    result.set("message", to_uint8array(composed.message));
    result.set("message_id", composed.message_id);
    val recipients = val::array();
    for (const auto& r : composed.recipients) recipients.call<void>("push", r);
    result.set("recipients", recipients);
    result.set("needs_smtputf8", composed.needs_smtputf8);
    result.set("eight_bit", composed.eight_bit);
    return result;
  } catch (const std::exception& e) {
    return failed(std::string("internal error: ") + e.what(), "message");
  } catch (...) {
    return failed("internal error", "message");
  }
}

val create_send_job(const val& account_text, const val& messages, const val& check_only) {
  try {
    checked_account checked = check_account(account_text);
    if (!checked.account) {
      val result = val::object();
      result.set("ok", false);
      result.set("errors", to_js(checked.errors));
      result.set("job", val::null());
      return result;
    }
    std::vector<jobs::outgoing_message> outgoing;
    try {
      outgoing = messages_of(messages);
    } catch (const std::invalid_argument& e) {
      return failed(e.what(), "job");
    }
    jobs::send_options options;
    options.check_only = check_only.isTrue();
    auto job = std::make_unique<send_job_binding>(
        jobs::send_job::create(*checked.account, std::move(outgoing), std::move(options)));
    val result = val::object();
    result.set("ok", true);
    result.set("errors", val::array());
    result.set("job", val(std::move(job)));
    return result;
  } catch (const std::exception& e) {
    return failed(std::string("internal error: ") + e.what(), "job");
  } catch (...) {
    return failed("internal error", "job");
  }
}

val send_summary(const send_job_binding& self) {
  val out = val::object();
  try {
    const jobs::send_summary& s = self.job().summary();
    const bool broken = !self.broken().empty();
    out.set("ok", s.ok && !broken);
    out.set("failure",
            std::string(jobs::to_string(broken ? jobs::failure_kind::protocol : s.failure)));
    out.set("message", broken ? self.broken() : s.message);
    out.set("server_greeting", s.server_greeting);
    val messages = val::array();
    for (const auto& m : s.messages) {
      val item = reply_fields(val::object(), m.code, m.enhanced_code, m.text);
      item.set("accepted", m.accepted);
      val recipients = val::array();
      for (const auto& r : m.recipients) {
        val entry = reply_fields(val::object(), r.code, r.enhanced_code, r.text);
        entry.set("address", r.address);
        entry.set("accepted", r.accepted);
        recipients.call<void>("push", entry);
      }
      item.set("recipients", recipients);
      messages.call<void>("push", item);
    }
    out.set("messages", messages);
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
