#include "model/smtp_account.h"

#include <array>
#include <utility>

#include "model/json_fields.h"

namespace junction::model {

using nlohmann::json;
using namespace fields;

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

const char* const port_message = "must be a whole number from 1 to 65535";

smtp_parse_result failure(std::vector<field_error> errors) {
  smtp_parse_result result;
  result.errors = std::move(errors);
  return result;
}

}  // namespace

std::string to_string(smtp_encryption value) {
  return name_of(encryption_names, value);
}

bool from_string(std::string_view text, smtp_encryption& out) {
  return value_of(encryption_names, text, out);
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
    field_reader fields(document, "", errors);
    fields.read_string("id", account.id);
    fields.read_string("display_name", account.display_name);
    fields.read_string("server", account.server);
    // Unlike retrieval tasks, 0 does not stand for a default here: the default is 25 and a
    // stored account always carries its port.
    fields.read_number("port", account.port, 1, 65535, port_message);
    fields.read_enum("encryption", account.encryption, encryption_names);
    fields.read_string("email", account.email);
    fields.read_bool("auth", account.auth);
    fields.read_string("username", account.username);
    fields.read_string("password", account.password);
    fields.read_string("pinned_cert_sha256", account.pinned_cert_sha256);
    fields.keep_unknown(account_keys, account.extra);
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
  json document;
  std::vector<field_error> errors = parse_text(json_text, limits, document);
  if (!errors.empty()) return failure(std::move(errors));
  return parse_smtp_account(document, limits);
}

json to_json(const smtp_account& account, bool include_secrets) {
  json out = json::object();
  // Unknown keys first, and never one that shares a known field's name: an "extra" password
  // must not appear when secrets are left out.
  if (account.extra.is_object()) {
    for (const auto& [key, value] : account.extra.items()) {
      if (!is_known(account_keys, key)) out[key] = value;
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
