#include "model/retrieval_task.h"

#include <array>
#include <limits>
#include <utility>

#include "model/json_fields.h"

namespace junction::model {

using nlohmann::json;
using namespace fields;

namespace {

constexpr std::array<std::pair<retrieval_type, std::string_view>, 2> retrieval_type_names{{
    {retrieval_type::pop3, "pop3"},
    {retrieval_type::imap, "imap"},
}};
constexpr std::array<std::pair<encryption, std::string_view>, 3> encryption_names{{
    {encryption::none, "none"},
    {encryption::starttls, "starttls"},
    {encryption::ssl, "ssl"},
}};
constexpr std::array<std::pair<retrieval_method, std::string_view>, 2> retrieval_method_names{{
    {retrieval_method::manual, "manual"},
    {retrieval_method::automatic, "automatic"},
}};
constexpr std::array<std::pair<folder_transfer_mode, std::string_view>, 2> transfer_mode_names{{
    {folder_transfer_mode::root, "root"},
    {folder_transfer_mode::subfolder, "subfolder"},
}};

// The JSON names of the fields; everything else is kept in `extra`.
constexpr std::array<std::string_view, 15> task_keys{"id",
                                                     "type",
                                                     "server",
                                                     "port",
                                                     "username",
                                                     "password",
                                                     "encryption",
                                                     "method",
                                                     "interval_minutes",
                                                     "destination_folder",
                                                     "apop",
                                                     "leave_on_server",
                                                     "filtering",
                                                     "folder_transfer",
                                                     "pinned_cert_sha256"};
constexpr std::array<std::string_view, 2> transfer_keys{"mode", "parent"};

const std::string& port_message() {
  static const std::string message = "must be a whole number from 1 to 65535";
  return message;
}

std::string interval_message() {
  return "must be a whole number from " + std::to_string(min_interval_minutes) + " to " +
         std::to_string(max_interval_minutes);
}

parse_result failure(std::vector<field_error> errors) {
  parse_result result;
  result.errors = std::move(errors);
  return result;
}

}  // namespace

std::string to_string(retrieval_type value) {
  return name_of(retrieval_type_names, value);
}
std::string to_string(encryption value) {
  return name_of(encryption_names, value);
}
std::string to_string(retrieval_method value) {
  return name_of(retrieval_method_names, value);
}
std::string to_string(folder_transfer_mode value) {
  return name_of(transfer_mode_names, value);
}

bool from_string(std::string_view text, retrieval_type& out) {
  return value_of(retrieval_type_names, text, out);
}
bool from_string(std::string_view text, encryption& out) {
  return value_of(encryption_names, text, out);
}
bool from_string(std::string_view text, retrieval_method& out) {
  return value_of(retrieval_method_names, text, out);
}
bool from_string(std::string_view text, folder_transfer_mode& out) {
  return value_of(transfer_mode_names, text, out);
}

bool folder_transfer::operator==(const folder_transfer& other) const {
  return mode == other.mode && parent == other.parent && extra == other.extra;
}

std::uint16_t retrieval_task::effective_port() const {
  if (port != 0) return port;
  const bool implicit_tls = encryption == model::encryption::ssl;
  if (type == retrieval_type::pop3) return implicit_tls ? 995 : 110;
  return implicit_tls ? 993 : 143;
}

bool retrieval_task::operator==(const retrieval_task& other) const {
  return id == other.id && type == other.type && server == other.server && port == other.port &&
         username == other.username && password == other.password &&
         encryption == other.encryption && method == other.method &&
         interval_minutes == other.interval_minutes &&
         destination_folder == other.destination_folder && apop == other.apop &&
         leave_on_server == other.leave_on_server && filtering == other.filtering &&
         folder_transfer == other.folder_transfer &&
         pinned_cert_sha256 == other.pinned_cert_sha256 && extra == other.extra;
}

parse_result parse_retrieval_task(const json& document, const parse_limits& limits) {
  try {
    if (!document.is_object()) return failure({{"", "must be a JSON object"}});
    if (nests_deeper_than(document, limits.max_depth)) {
      return failure({{"", "nesting deeper than " + std::to_string(limits.max_depth) + " levels"}});
    }
    std::vector<field_error> errors;
    retrieval_task task;
    field_reader fields(document, "", errors);
    fields.read_string("id", task.id);
    fields.read_enum("type", task.type, retrieval_type_names);
    fields.read_string("server", task.server);
    fields.read_number("port", task.port, 0, 65535, port_message());
    fields.read_string("username", task.username);
    fields.read_string("password", task.password);
    fields.read_enum("encryption", task.encryption, encryption_names);
    fields.read_enum("method", task.method, retrieval_method_names);
    fields.read_number("interval_minutes", task.interval_minutes, std::numeric_limits<int>::min(),
                       std::numeric_limits<int>::max(), interval_message());
    fields.read_string("destination_folder", task.destination_folder);
    fields.read_bool("apop", task.apop);
    fields.read_bool("leave_on_server", task.leave_on_server);
    fields.read_bool("filtering", task.filtering);
    if (const json* transfer = fields.read_object("folder_transfer")) {
      field_reader transfer_fields(*transfer, "folder_transfer.", errors);
      transfer_fields.read_enum("mode", task.folder_transfer.mode, transfer_mode_names);
      transfer_fields.read_string("parent", task.folder_transfer.parent);
      transfer_fields.keep_unknown(transfer_keys, task.folder_transfer.extra);
    }
    fields.read_string("pinned_cert_sha256", task.pinned_cert_sha256);
    fields.keep_unknown(task_keys, task.extra);
    if (!errors.empty()) return failure(std::move(errors));
    parse_result result;
    result.task = std::move(task);
    return result;
  } catch (const json::exception& error) {
    // Not expected: every access above checks the type first.
    return failure({{"", without_exception_tag(error.what())}});
  }
}

parse_result parse_retrieval_task(std::string_view json_text, const parse_limits& limits) {
  json document;
  std::vector<field_error> errors = parse_text(json_text, limits, document);
  if (!errors.empty()) return failure(std::move(errors));
  return parse_retrieval_task(document, limits);
}

json to_json(const retrieval_task& task, bool include_secrets) {
  json out = json::object();
  // Unknown keys first, and never one that shares a known field's name: an "extra" password
  // must not appear when secrets are left out, nor an "extra" port stand in for the default.
  if (task.extra.is_object()) {
    for (const auto& [key, value] : task.extra.items()) {
      if (!is_known(task_keys, key)) out[key] = value;
    }
  }
  if (!task.id.empty()) out["id"] = task.id;
  out["type"] = to_string(task.type);
  out["server"] = task.server;
  if (task.port != 0) out["port"] = task.port;
  out["username"] = task.username;
  if (include_secrets) out["password"] = task.password;
  out["encryption"] = to_string(task.encryption);
  out["method"] = to_string(task.method);
  out["interval_minutes"] = task.interval_minutes;
  out["destination_folder"] = task.destination_folder;
  out["apop"] = task.apop;
  out["leave_on_server"] = task.leave_on_server;
  out["filtering"] = task.filtering;
  json transfer = json::object();
  if (task.folder_transfer.extra.is_object()) {
    for (const auto& [key, value] : task.folder_transfer.extra.items()) {
      if (!is_known(transfer_keys, key)) transfer[key] = value;
    }
  }
  transfer["mode"] = to_string(task.folder_transfer.mode);
  transfer["parent"] = task.folder_transfer.parent;
  out["folder_transfer"] = std::move(transfer);
  if (!task.pinned_cert_sha256.empty()) out["pinned_cert_sha256"] = task.pinned_cert_sha256;
  return out;
}

std::vector<field_error> validate(const retrieval_task& task) {
  std::vector<field_error> errors;
  const auto fail = [&](std::string field, std::string message) {
    errors.push_back({std::move(field), std::move(message)});
  };

  if (std::string problem = host_problem(task.server); !problem.empty()) {
    fail("server", std::move(problem));
  }
  // port: every std::uint16_t is valid, 0 meaning the default (parse refuses the rest).
  check_credential("username", task.username, max_username_bytes, true, errors);
  check_credential("password", task.password, max_password_bytes, true, errors);
  if (task.interval_minutes < min_interval_minutes ||
      task.interval_minutes > max_interval_minutes) {
    fail("interval_minutes", interval_message());
  }
  if (task.type == retrieval_type::pop3) {
    if (std::string problem = folder_path_problem(task.destination_folder); !problem.empty()) {
      fail("destination_folder", std::move(problem));
    }
  } else {
    if (task.apop) fail("apop", "only for POP3 tasks");
    if (task.folder_transfer.mode == folder_transfer_mode::subfolder) {
      if (task.folder_transfer.parent.empty()) {
        fail("folder_transfer.parent", "is required when mode is subfolder");
      } else if (std::string problem = folder_path_problem(task.folder_transfer.parent);
                 !problem.empty()) {
        fail("folder_transfer.parent", std::move(problem));
      }
    }
  }
  const std::string& pin = task.pinned_cert_sha256;
  if (!pin.empty()) {
    bool all_hex = true;
    for (const char c : pin) all_hex = all_hex && is_hex_digit(c);
    if (pin.find(':') != std::string::npos) {
      fail("pinned_cert_sha256", "must be 64 hex digits without ':' separators");
    } else if (pin.size() != 64 || !all_hex) {
      fail("pinned_cert_sha256", "must be 64 hex digits (a SHA-256 fingerprint) or empty");
    }
  }
  return errors;
}

}  // namespace junction::model
