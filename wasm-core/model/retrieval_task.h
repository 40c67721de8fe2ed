// The retrieval task of Email Retrieval: one POP3 or IMAP account whose mail is pulled into the
// user's mailbox, by hand or every few minutes. Its JSON form is a contract shared by the CLI,
// the HTTP API and the web app (shared/schemas/retrieval_task.schema.json describes it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/validation.h"

namespace junction::model {

enum class retrieval_type { pop3, imap };
// none: plain text; starttls: upgrade after STLS/STARTTLS; ssl: TLS from the first byte.
enum class encryption { none, starttls, ssl };
// automatic: the scheduler runs the task every interval_minutes; manual: only when asked.
enum class retrieval_method { manual, automatic };
// Where IMAP folders of the source land: at the top of the mailbox, or under one parent folder.
enum class folder_transfer_mode { root, subfolder };

// In retrieval_task the members `encryption` and `folder_transfer` are named as in JSON and
// hide these type names inside the struct: write model::encryption there.

// Names as written in JSON ("pop3", "starttls", …).
std::string to_string(retrieval_type value);
std::string to_string(encryption value);
std::string to_string(retrieval_method value);
std::string to_string(folder_transfer_mode value);

// Inverse of to_string: exact, case-sensitive names. Return false and leave `out` unchanged
// for any other text.
bool from_string(std::string_view text, retrieval_type& out);
bool from_string(std::string_view text, encryption& out);
bool from_string(std::string_view text, retrieval_method& out);
bool from_string(std::string_view text, folder_transfer_mode& out);

// IMAP only.
struct folder_transfer {
  folder_transfer_mode mode = folder_transfer_mode::root;
  // The mailbox folder that receives the source's folders when mode is subfolder, e.g.
  // "External/Work"; ignored for root.
  std::string parent;
  // Keys of the JSON "folder_transfer" object this version does not know, written back as they
  // came (forward compatibility). Always a JSON object.
  nlohmann::json extra = nlohmann::json::object();

  bool operator==(const folder_transfer& other) const;
};

struct retrieval_task {
  // Assigned by the account store; empty in a task file written for the CLI.
  std::string id;
  retrieval_type type = retrieval_type::pop3;
  std::string server;
  // 0 means the default for the type and encryption: see effective_port().
  std::uint16_t port = 0;
  std::string username;
  std::string password;
  // Implicit TLS unless the user says otherwise (RFC 8314 section 3).
  model::encryption encryption = model::encryption::ssl;
  retrieval_method method = retrieval_method::manual;
  // Only used when method is automatic, but always range-checked.
  int interval_minutes = 10;
  // POP3 only: the mailbox folder that receives the messages.
  std::string destination_folder = "INBOX";
  // POP3 only: log in with APOP (RFC 1939 section 7) instead of USER/PASS.
  bool apop = false;
  // POP3 only: keep messages on the server after download; by default they are deleted once
  // stored (only ever after the mailbox confirmed the message is on disk).
  bool leave_on_server = false;
  // Stored only: the user's filter rules are applied to retrieved mail by a later stage.
  bool filtering = false;
  // IMAP only.
  model::folder_transfer folder_transfer;
  // SHA-256 of a server certificate the user chose to trust (a self-signed server), as 64 hex
  // digits; empty when the normal certificate checks apply.
  std::string pinned_cert_sha256;
  // Top-level JSON keys this version does not know, written back as they came (forward
  // compatibility: an older proxy must not erase what a newer web app stored). Always an object.
  nlohmann::json extra = nlohmann::json::object();

  // port, or the well-known port: 995 (POP3S), 110 (POP3), 993 (IMAPS), 143 (IMAP).
  std::uint16_t effective_port() const;

  bool operator==(const retrieval_task& other) const;
};

// Bounds for untrusted JSON text (API bodies, task files). A task is a few hundred bytes; the
// bounds leave room for fields added later and stop memory and stack abuse.
struct parse_limits {
  std::size_t max_text_bytes = 256 * 1024;
  // Nesting depth of the document (the task object itself is depth 1). Also applies to the
  // values kept in `extra`, which are later copied, compared and written recursively.
  std::size_t max_depth = 32;
};

// Exactly one of: `task` set and `errors` empty, or `task` empty and at least one error.
struct parse_result {
  std::optional<retrieval_task> task;
  std::vector<field_error> errors;

  bool ok() const { return task.has_value(); }
};

// Reads the JSON form. Omitted fields take their defaults; unknown keys go to `extra`. Checks
// JSON types, enum names and numeric ranges that the C++ types cannot hold (port), and reports
// every such problem, each naming its field. The semantic checks are validate()'s job: a task
// that parses may still be invalid (e.g. no server). Never throws except std::bad_alloc.
parse_result parse_retrieval_task(const nlohmann::json& document, const parse_limits& limits = {});
// As above from JSON text; text that is not JSON gives one error with an empty field and the
// parser's message.
parse_result parse_retrieval_task(std::string_view json_text, const parse_limits& limits = {});
// Text too: without these, a std::string or a literal would convert to nlohmann::json and to
// std::string_view equally well, and the call would be ambiguous.
inline parse_result parse_retrieval_task(const std::string& json_text,
                                         const parse_limits& limits = {}) {
  return parse_retrieval_task(std::string_view(json_text), limits);
}
inline parse_result parse_retrieval_task(const char* json_text, const parse_limits& limits = {}) {
  return parse_retrieval_task(std::string_view(json_text), limits);
}

// The JSON form. Every field is written except: "id" when empty, "port" when 0 (the default),
// "pinned_cert_sha256" when empty, and "password" when include_secrets is false (for listings
// and logs). Unknown keys from `extra` are written back unless a known field has the same name.
// parse_retrieval_task(to_json(t)) gives back t.
nlohmann::json to_json(const retrieval_task& task, bool include_secrets = true);

// Semantic checks, one error per problem, each naming its field. Fields that only matter for
// the other task type (destination_folder and leave_on_server for IMAP, folder_transfer for
// POP3) are not checked, except that apop on an IMAP task is an error. Empty means valid.
std::vector<field_error> validate(const retrieval_task& task);

// Longest username and password accepted, in bytes.
inline constexpr std::size_t max_username_bytes = 256;
inline constexpr std::size_t max_password_bytes = 1024;
inline constexpr int min_interval_minutes = 1;
inline constexpr int max_interval_minutes = 7 * 24 * 60;

}  // namespace junction::model
