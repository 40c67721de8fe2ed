#include "model/smtp_account.h"

#include <array>
#include <cmath>
#include <limits>
#include <utility>

namespace junction::model {

using nlohmann::json;

namespace {

constexpr std::array<std::pair<smtp_encryption, std::string_view>, 3> encryption_names{{
    {smtp_encryption::none, "none"},
    {smtp_encryption::starttls, "starttls"},
    {smtp_encryption::ssl, "ssl"},
}};

// The JSON names of the fields; everything else is kept in `extra`.
constexpr std::array<std::string_view, 10> account_keys{
    "id",    "display_name", "server",   "port",     "encryption",
    "email", "auth",         "username", "password", "pinned_cert_sha256"};

bool is_known(std::string_view key) {
  for (const std::string_view known : account_keys) {
    if (known == key) return true;
  }
  return false;
}

std::string encryption_message() {
  std::string message = "must be one of ";
  for (std::size_t i = 0; i < encryption_names.size(); ++i) {
    if (i > 0) message += ", ";
    message += encryption_names[i].second;
  }
  return message;
}

// True when `document` nests deeper than max_depth (a scalar or empty container is depth 1).
// Iterative: hostile nesting must not exhaust the stack, least of all WASM's small one.
bool nests_deeper_than(const json& document, std::size_t max_depth) {
  std::vector<std::pair<const json*, std::size_t>> pending{{&document, 1}};
  while (!pending.empty()) {
    const auto [value, depth] = pending.back();
    pending.pop_back();
    if (depth > max_depth) return true;
    if (value->is_structured()) {
      for (const json& child : *value) pending.emplace_back(&child, depth + 1);
    }
  }
  return false;
}

// A whole number, as JSON Schema's "integer" defines it: 587 and 587.0 both count.
std::optional<std::int64_t> whole_number(const json& value) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(number);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    const double number = value.get<double>();
    // Also false for NaN. The bound keeps the conversion below defined.
    if (!(number >= -1e15 && number <= 1e15) || std::trunc(number) != number) return std::nullopt;
    return static_cast<std::int64_t>(number);
  }
  return std::nullopt;
}

const char* const port_message = "must be a whole number from 1 to 65535";

// "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
std::string without_exception_tag(std::string_view what) {
  if (!what.empty() && what.front() == '[') {
    const std::size_t end = what.find("] ");
    if (end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return std::string(what);
}

smtp_parse_result failure(std::vector<field_error> errors) {
  smtp_parse_result result;
  result.errors = std::move(errors);
  return result;
}

// Reads the fields of the account object, one error per field with the wrong type. Each
// reader leaves `out` unchanged (its default) when the key is absent or wrong.
class field_reader {
 public:
  field_reader(const json& object, std::vector<field_error>& errors)
      : object_(object), errors_(errors) {}

  void read_string(std::string_view key, std::string& out) {
    const json* value = find(key);
    if (value == nullptr) return;
    if (!value->is_string()) return fail(key, "must be a string");
    out = value->get<std::string>();
  }

  void read_bool(std::string_view key, bool& out) {
    const json* value = find(key);
    if (value == nullptr) return;
    if (!value->is_boolean()) return fail(key, "must be true or false");
    out = value->get<bool>();
  }

  void read_port(std::string_view key, std::uint16_t& out) {
    const json* value = find(key);
    if (value == nullptr) return;
    // Unlike retrieval tasks, 0 does not stand for a default here: the default is 25 and a
    // stored account always carries its port.
    const std::optional<std::int64_t> number = whole_number(*value);
    if (!number || *number < 1 || *number > 65535) return fail(key, port_message);
    out = static_cast<std::uint16_t>(*number);
  }

  void read_encryption(std::string_view key, smtp_encryption& out) {
    const json* value = find(key);
    if (value == nullptr) return;
    if (!value->is_string() || !from_string(value->get_ref<const std::string&>(), out)) {
      fail(key, encryption_message());
    }
  }

  void keep_unknown(json& extra) {
    for (const auto& [key, value] : object_.items()) {
      if (!is_known(key)) extra[key] = value;
    }
  }

 private:
  const json* find(std::string_view key) const {
    const auto found = object_.find(key);
    return found == object_.end() ? nullptr : &*found;
  }

  void fail(std::string_view key, std::string message) {
    errors_.push_back({std::string(key), std::move(message)});
  }

  const json& object_;
  std::vector<field_error>& errors_;
};

// Shared by username and password: both go into AUTH exchanges, base64-encoded, but a
// server's LOGIN prompts and logs are line based, so line breaks and NUL are refused.
void check_credential(std::string_view field, std::string_view value, std::size_t max_bytes,
                      bool required, std::vector<field_error>& errors) {
  const auto fail = [&](std::string message) {
    errors.push_back({std::string(field), std::move(message)});
  };
  if (value.empty()) {
    if (required) fail("is required");
    return;
  }
  if (value.size() > max_bytes) {
    return fail("is " + std::to_string(value.size()) + " bytes long, the limit is " +
                std::to_string(max_bytes));
  }
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return fail("must not contain line breaks or NUL characters");
  }
  std::string problem = utf8_problem(value);
  if (!problem.empty()) fail(std::move(problem));
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

std::string to_string(smtp_encryption value) {
  for (const auto& [candidate, name] : encryption_names) {
    if (candidate == value) return std::string(name);
  }
  return "unknown";
}

bool from_string(std::string_view text, smtp_encryption& out) {
  for (const auto& [value, name] : encryption_names) {
    if (name == text) {
      out = value;
      return true;
    }
  }
  return false;
}

std::uint16_t default_smtp_port(smtp_encryption encryption) {
  switch (encryption) {
    case smtp_encryption::starttls:
      return 587;
    case smtp_encryption::ssl:
      return 465;
    case smtp_encryption::none:
      break;
  }
  return 25;
}

std::string smtp_account::effective_username() const {
  return username.empty() ? email : username;
}

bool smtp_account::operator==(const smtp_account& other) const {
  return id == other.id && display_name == other.display_name && server == other.server &&
         port == other.port && encryption == other.encryption && email == other.email &&
         auth == other.auth && username == other.username && password == other.password &&
         pinned_cert_sha256 == other.pinned_cert_sha256 && extra == other.extra;
}

smtp_parse_result parse_smtp_account(const json& document, const parse_limits& limits) {
  try {
    if (!document.is_object()) return failure({{"", "must be a JSON object"}});
    if (nests_deeper_than(document, limits.max_depth)) {
      return failure({{"", "nesting deeper than " + std::to_string(limits.max_depth) + " levels"}});
    }
    std::vector<field_error> errors;
    smtp_account account;
    field_reader fields(document, errors);
    fields.read_string("id", account.id);
    fields.read_string("display_name", account.display_name);
    fields.read_string("server", account.server);
    fields.read_port("port", account.port);
    fields.read_encryption("encryption", account.encryption);
    fields.read_string("email", account.email);
    fields.read_bool("auth", account.auth);
    fields.read_string("username", account.username);
    fields.read_string("password", account.password);
    fields.read_string("pinned_cert_sha256", account.pinned_cert_sha256);
    fields.keep_unknown(account.extra);
    if (!errors.empty()) return failure(std::move(errors));
    smtp_parse_result result;
    result.account = std::move(account);
    return result;
  } catch (const json::exception& error) {
    // Not expected: every access above checks the type first.
    return failure({{"", without_exception_tag(error.what())}});
  }
}

smtp_parse_result parse_smtp_account(std::string_view json_text, const parse_limits& limits) {
  if (json_text.size() > limits.max_text_bytes) {
    return failure({{"", "JSON text is " + std::to_string(json_text.size()) +
                             " bytes, the limit is " + std::to_string(limits.max_text_bytes)}});
  }
  bool too_deep = false;
  // The callback's depth counts the containers already open, so the top object starts at 0.
  // Refusing a container that is too deep keeps it out of memory while the parser goes on.
  const auto limit_depth = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        static_cast<std::size_t>(depth) >= limits.max_depth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  json document;
  try {
    document = json::parse(json_text.begin(), json_text.end(), limit_depth);
  } catch (const json::exception& error) {
    return failure({{"", without_exception_tag(error.what())}});
  }
  if (too_deep) {
    return failure({{"", "nesting deeper than " + std::to_string(limits.max_depth) + " levels"}});
  }
  return parse_smtp_account(document, limits);
}

json to_json(const smtp_account& account, bool include_secrets) {
  json out = json::object();
  // Unknown keys first, and never one that shares a known field's name: an "extra" password
  // must not appear when secrets are left out.
  if (account.extra.is_object()) {
    for (const auto& [key, value] : account.extra.items()) {
      if (!is_known(key)) out[key] = value;
    }
  }
  if (!account.id.empty()) out["id"] = account.id;
  out["display_name"] = account.display_name;
  out["server"] = account.server;
  out["port"] = account.port;
  out["encryption"] = to_string(account.encryption);
  out["email"] = account.email;
  out["auth"] = account.auth;
  out["username"] = account.username;
  if (include_secrets) out["password"] = account.password;
  if (!account.pinned_cert_sha256.empty()) out["pinned_cert_sha256"] = account.pinned_cert_sha256;
  return out;
}

std::vector<field_error> validate(const smtp_account& account) {
  std::vector<field_error> errors;
  const auto fail = [&](std::string field, std::string message) {
    errors.push_back({std::move(field), std::move(message)});
  };

  if (account.display_name.size() > max_display_name_bytes) {
    fail("display_name", "is " + std::to_string(account.display_name.size()) +
                             " bytes long, the limit is " + std::to_string(max_display_name_bytes));
  } else if (std::string problem = utf8_problem(account.display_name); !problem.empty()) {
    fail("display_name", std::move(problem));
  } else {
    // Control characters (CR, LF above all) would break the From header it goes into.
    std::uint32_t code_point = 0;
    for (std::size_t pos = 0; pos < account.display_name.size();) {
      pos += detail::decode_utf8(account.display_name, pos, code_point);
      if (detail::is_control(code_point)) {
        fail("display_name", "must not contain control characters or line breaks");
        break;
      }
    }
  }
  if (std::string problem = host_problem(account.server); !problem.empty()) {
    fail("server", std::move(problem));
  }
  // Parse refuses 0; a program building the struct by hand may still leave it there.
  if (account.port == 0) fail("port", port_message);
  if (std::string problem = email_address_problem(account.email); !problem.empty()) {
    fail("email", std::move(problem));
  }
  // Without auth the credentials are ignored, but still checked when given, so that a value
  // that could never work does not lie in the store until auth is switched on.
  check_credential("username", account.username, max_username_bytes, false, errors);
  check_credential("password", account.password, max_password_bytes, account.auth, errors);
  const std::string& pin = account.pinned_cert_sha256;
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
