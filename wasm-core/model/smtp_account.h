// An SMTP account of SMTP Accounts: the server a person sends through as one of their other
// addresses. Its JSON form is a contract shared by the CLI, the HTTP API and the web app
// (shared/schemas/smtp_account.schema.json describes it):
//   {"display_name": "Jane Doe", "server": "smtp.example.com", "port": 587,
//    "encryption": "starttls", "email": "jdoe@example.com", "auth": true,
//    "username": "jdoe@example.com", "password": "…"}
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/retrieval_task.h"  // parse_limits, max_username_bytes, max_password_bytes
#include "model/validation.h"

namespace junction::model {

// none: plain text; starttls: upgrade with STARTTLS (RFC 3207); ssl: TLS from the first byte
// (RFC 8314). JSON "none" | "starttls" | "ssl".
enum class smtp_encryption { none, starttls, ssl };

std::string to_string(smtp_encryption value);
// Exact, case-sensitive names; false (and `out` unchanged) for any other text.
bool from_string(std::string_view text, smtp_encryption& out);

// The usual port for an encryption: none 25, starttls 587 (submission, RFC 6409), ssl 465
// (submissions, RFC 8314). The model's default stays 25 whatever the encryption (the issue's
// seed); the web form proposes these when the user picks an encryption.
std::uint16_t default_smtp_port(smtp_encryption encryption);

struct smtp_account {
  // Assigned by the account store; empty in an account file written for the CLI.
  std::string id;
  // The display name of From ("Jane Doe"); may be empty. UTF-8.
  std::string display_name;
  std::string server;
  std::uint16_t port = 25;
  smtp_encryption encryption = smtp_encryption::none;
  // The From address and envelope sender: local@domain, UTF-8 allowed (the message then needs
  // SMTPUTF8). See email_address_problem() in model/validation.h.
  std::string email;
  // Authenticate (RFC 4954) before sending.
  bool auth = true;
  // Empty means the email address: see effective_username().
  std::string username;
  std::string password;
  // SHA-256 of a server certificate the user chose to trust, 64 hex digits; empty when the
  // normal certificate checks apply (as retrieval tasks).
  std::string pinned_cert_sha256;
  // Top-level JSON keys this version does not know, written back as they came (forward
  // compatibility). Always an object.
  nlohmann::json extra = nlohmann::json::object();

  // username, or email when username is empty.
  std::string effective_username() const;

  bool operator==(const smtp_account& other) const;
};

// Exactly one of: `account` set and `errors` empty, or `account` empty and at least one error.
struct smtp_parse_result {
  std::optional<smtp_account> account;
  std::vector<field_error> errors;

  bool ok() const { return account.has_value(); }
};

// Reads the JSON form. Omitted fields take their defaults; unknown keys go to `extra`. Checks
// JSON types, enum names and the port range (1 to 65535), reporting every problem with its
// field. Semantic checks are validate()'s job. Never throws except std::bad_alloc.
smtp_parse_result parse_smtp_account(const nlohmann::json& document,
                                     const parse_limits& limits = {});
// As above from JSON text; text that is not JSON gives one error with an empty field.
smtp_parse_result parse_smtp_account(std::string_view json_text, const parse_limits& limits = {});
// Without these, a std::string or a literal would be ambiguous between the two above.
inline smtp_parse_result parse_smtp_account(const std::string& json_text,
                                            const parse_limits& limits = {}) {
  return parse_smtp_account(std::string_view(json_text), limits);
}
inline smtp_parse_result parse_smtp_account(const char* json_text,
                                            const parse_limits& limits = {}) {
  return parse_smtp_account(std::string_view(json_text), limits);
}

// Semantic checks, one error per problem, each naming its JSON field: "server", "port" (0),
// "email", "display_name", "username", "password" (required only when auth is true),
// "pinned_cert_sha256". Empty means valid.
std::vector<field_error> validate(const smtp_account& account);

// The JSON form of the issue: display_name, server, port, encryption, email, auth, username,
// password (only when include_secrets), plus "id" and "pinned_cert_sha256" when not empty.
// "username" is written as stored (empty stays empty: it keeps following the email address).
// Unknown keys from `extra` are written back unless a known field has the same name.
// parse_smtp_account(to_json(a)) gives back a.
nlohmann::json to_json(const smtp_account& account, bool include_secrets = true);

// Longest display name accepted, in bytes of UTF-8.
inline constexpr std::size_t max_display_name_bytes = 256;

}  // namespace junction::model
