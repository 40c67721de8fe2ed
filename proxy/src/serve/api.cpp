#include "serve/api.h"

#include <algorithm>
#include <ctime>
#include <exception>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "crypto/secrets.h"
#include "mailbox/maildir.h"
#include "model/retrieval_task.h"
#include "model/smtp_account.h"
#include "serve/batch_codec.h"
#include "serve/http_util.h"
#include "store/account_store.h"

namespace junction::serve {

using nlohmann::json;

namespace {

constexpr std::string_view content_security_policy =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self' 'wasm-unsafe-eval'; frame-ancestors 'none'";

constexpr std::size_t max_user_agent_bytes = 512;
constexpr std::size_t max_device_name_bytes = 200;
constexpr std::size_t max_task_count = 1000;
constexpr std::size_t max_smtp_account_count = 1000;
constexpr std::size_t max_json_depth = 64;
constexpr std::size_t min_new_password_characters = 10;
constexpr std::int64_t device_touch_interval_seconds = 60;
// PUT /api/tasks/{id}/state: a state document lists the UIDs seen, so it outgrows the
// other JSON bodies.
constexpr std::size_t max_state_body = 16u << 20;
constexpr std::size_t max_lease_owner_bytes = 128;
// POST /api/tasks/{id}/runs
constexpr std::size_t max_run_message_bytes = 4096;
constexpr std::size_t max_run_failure_bytes = 64;
constexpr std::size_t max_run_folders = 10000;
constexpr std::int64_t max_timestamp = std::int64_t{1} << 40;
// POST /api/mailbox/batch
constexpr std::string_view batch_media_type = "application/vnd.junction.batch";

std::string dump(const json& value) {
  // Replace rather than throw on invalid UTF-8 (a subject line from a broken message).
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

http_response json_response(int status, const json& body) {
  http_response response;
  response.status = status;
  response.body = dump(body);
  response.set_header("Content-Type", "application/json");
  // The account document holds secrets: never in a cache.
  response.set_header("Cache-Control", "no-store");
  return response;
}

http_response empty_response(int status) {
  http_response response;
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  return response;
}

// The password hashing slots are all taken and enough callers wait already.
http_response busy_hashing() {
  http_response response =
      json_error(503, "busy", "the server is busy checking passwords; try again in a moment");
  response.set_header("Retry-After", "1");
  return response;
}

http_response invalid(std::string_view message) {
  return json_error(400, "invalid", message);
}

http_response password_change_required() {
  return json_error(403, "password_change_required",
                    "choose your own password first (POST /api/password)");
}

// The body as a JSON object, or the 400 response to give instead.
std::optional<json> parse_object(const http_request& request, http_response& error) {
  // nlohmann's reader stops at a raw NUL (never valid JSON) and would ignore what follows.
  if (request.body.find('\0') != std::string::npos) {
    error = invalid("the body is not valid JSON");
    return std::nullopt;
  }
  if (!json_depth_within(request.body, max_json_depth)) {
    error = invalid("the JSON body is nested too deeply");
    return std::nullopt;
  }
  json body = json::parse(request.body.begin(), request.body.end(), nullptr, false);
  if (body.is_discarded()) {
    error = invalid("the body is not valid JSON");
    return std::nullopt;
  }
  if (!body.is_object()) {
    error = invalid("the body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

// A string member of `body`; nullopt when absent or not a string.
std::optional<std::string> string_member(const json& body, const char* name) {
  const auto found = body.find(name);
  if (found == body.end() || !found->is_string()) return std::nullopt;
  return found->get<std::string>();
}

std::size_t count_code_points(std::string_view text) {
  std::size_t n = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xc0u) != 0x80u) ++n;
  }
  return n;
}

std::string session_cookie(const http_request& request, std::string_view token,
                           std::int64_t max_age) {
  std::string cookie = std::string(session_cookie_name) + "=" + std::string(token) +
                       "; Path=/; Max-Age=" + std::to_string(max_age) +
                       "; HttpOnly; SameSite=Strict";
  if (request.tls) cookie += "; Secure";
  return cookie;
}

// A task id as the store makes them; anything else cannot name a task.
bool is_url_safe_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '~' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string etag(std::int64_t revision) {
  return "\"" + std::to_string(revision) + "\"";
}

// One append's folder, key, flags and internal date, checked alike for the single append
// (query and X-Junction-* headers) and for each record of a batch (its JSON line). Absent
// values: the key is derived from the content, no flags, the date is now.
struct append_fields {
  std::string folder = "INBOX";
  std::optional<std::string> key;
  std::optional<std::string> flags;
  std::optional<std::string> internal_date;  // decimal seconds since 1970, as sent
};

struct append_problem {
  std::string code;
  std::string message;
};

// Where each value came from, for messages that name what the client sent.
struct append_field_names {
  std::string_view key, flags, internal_date;
};
constexpr append_field_names header_names{"X-Junction-Key", "X-Junction-Flags",
                                          "X-Junction-Internal-Date"};
constexpr append_field_names batch_names{"key", "flags", "internal_date"};

// Fills `out` (all but the message) or says what is wrong.
std::optional<append_problem> check_append(const append_fields& in, const append_field_names& names,
                                           std::int64_t now, mailbox_service::append_request& out) {
  if (const std::string problem = model::folder_path_problem(in.folder); !problem.empty()) {
    return append_problem{"invalid_folder", "folder: " + problem};
  }
  out.folder = in.folder;
  out.key.clear();
  if (in.key) {
    const std::string& key = *in.key;
    const bool ok = key.size() >= 16 && key.size() <= 64 &&
                    key.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    if (!ok)
      return append_problem{"invalid_key", std::string(names.key) + " must be 16 to 64 hex digits"};
    // Hex is case-blind; the Maildir file names hold lower case.
    out.key = ascii::lower(key);
  }
  out.flags = 0;
  if (in.flags) {
    const auto parsed = parse_flags(*in.flags);
    if (!parsed) {
      return append_problem{
          "invalid_flags", std::string(names.flags) + " takes \\Seen \\Answered \\Flagged \\Draft"};
    }
    out.flags = *parsed;
  }
  out.internal_date = now;
  if (in.internal_date) {
    const auto parsed = parse_number(*in.internal_date, max_timestamp);
    if (!parsed) {
      return append_problem{"invalid_date",
                            std::string(names.internal_date) + " must be seconds since 1970"};
    }
    out.internal_date = *parsed;
  }
  return std::nullopt;
}

// The append fields of a batch record's JSON line; a member of the wrong type is a problem of
// that field.
std::optional<append_problem> batch_fields(const json& header, append_fields& out) {
  const auto text = [&](const char* name, std::string_view code,
                        std::optional<std::string>& slot) -> std::optional<append_problem> {
    const auto found = header.find(name);
    if (found == header.end() || found->is_null()) return std::nullopt;
    if (!found->is_string()) {
      return append_problem{std::string(code), std::string(name) + " must be a string"};
    }
    slot = found->get<std::string>();
    return std::nullopt;
  };
  std::optional<std::string> folder;
  if (auto p = text("folder", "invalid_folder", folder)) return p;
  if (folder) out.folder = *folder;
  if (auto p = text("key", "invalid_key", out.key)) return p;
  if (auto p = text("flags", "invalid_flags", out.flags)) return p;
  if (const auto date = header.find("internal_date"); date != header.end() && !date->is_null()) {
    // The number's JSON text goes through the same check as the header's digits: negative,
    // fractional or quoted values fail it alike.
    out.internal_date = date->dump();
  }
  return std::nullopt;
}

// A non-negative whole number member, at most `max`.
std::optional<std::int64_t> count_member(const json& body, const char* name, std::int64_t max) {
  const auto found = body.find(name);
  if (found == body.end() || !found->is_number_unsigned()) return std::nullopt;
  const auto value = found->get<std::uint64_t>();
  if (value > static_cast<std::uint64_t>(max)) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

// POST /api/tasks/{id}/runs: the run in the form status() shows, or the 400 to give.
std::optional<json> check_browser_run(const json& body, http_response& error) {
  const auto started_at = count_member(body, "started_at", max_timestamp);
  const auto finished_at = count_member(body, "finished_at", max_timestamp);
  if (!started_at || !finished_at || *finished_at < *started_at) {
    error = invalid("started_at and finished_at must be seconds since 1970, finished_at last");
    return std::nullopt;
  }
  const auto ok = body.find("ok");
  if (ok == body.end() || !ok->is_boolean()) {
    error = invalid("ok must be true or false");
    return std::nullopt;
  }
  json run = {{"started_at", *started_at}, {"finished_at", *finished_at}, {"ok", ok->get<bool>()}};
  for (const auto& [name, max] :
       {std::pair<const char*, std::size_t>{"failure", max_run_failure_bytes},
        {"message", max_run_message_bytes}}) {
    const auto found = body.find(name);
    if (found == body.end() || found->is_null()) {
      run[name] = "";
      continue;
    }
    if (!found->is_string() || found->get_ref<const std::string&>().size() > max) {
      error = invalid(std::string(name) + " must be a string of at most " + std::to_string(max) +
                      " bytes");
      return std::nullopt;
    }
    run[name] = *found;
  }
  json folders = json::array();
  if (const auto given = body.find("folders"); given != body.end() && !given->is_null()) {
    if (!given->is_array() || given->size() > max_run_folders) {
      error = invalid("folders must be a list of at most " + std::to_string(max_run_folders) +
                      " folders");
      return std::nullopt;
    }
    for (const json& f : *given) {
      const auto name = f.is_object() ? string_member(f, "folder") : std::nullopt;
      const auto fresh = f.is_object() ? count_member(f, "new", max_timestamp) : std::nullopt;
      const auto had = f.is_object() ? count_member(f, "already_had", max_timestamp) : std::nullopt;
      const auto deleted = f.is_object() ? count_member(f, "deleted", max_timestamp) : std::nullopt;
      if (!name || name->size() > model::max_folder_path_bytes || !fresh || !had || !deleted) {
        error = invalid(
            "each folder must be {\"folder\": name, \"new\", \"already_had\", \"deleted\": "
            "counts}");
        return std::nullopt;
      }
      folders.push_back(
          {{"folder", *name}, {"new", *fresh}, {"already_had", *had}, {"deleted", *deleted}});
    }
  }
  run["folders"] = std::move(folders);
  return run;
}

const char* content_type_for(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".webmanifest") return "application/manifest+json";
  return nullptr;
}

bool is_within(const std::filesystem::path& root, const std::filesystem::path& candidate) {
  auto r = root.begin();
  auto c = candidate.begin();
  for (; r != root.end(); ++r, ++c) {
    if (c == candidate.end() || *r != *c) return false;
  }
  return true;
}

// One list of the account document (retrieval_tasks, smtp_accounts): each element parsed
// and validated through the model, then written back in its normal JSON form. `parse` gives
// {errors, optional model object}. An element with an id (saved before) may leave its
// password out: the store keeps the one it has, so validation does not ask for it.
template <class Parse>
void check_list(const json& body, const char* name, std::string_view what, std::size_t limit,
                bool required, Parse parse, json& out, json& errors) {
  const auto list = body.find(name);
  if (list == body.end() && !required) {
    out[name] = json::array();
    return;
  }
  if (list == body.end() || !list->is_array()) {
    errors.push_back({{"field", name}, {"message", "must be a list of " + std::string(what)}});
    return;
  }
  if (list->size() > limit) {
    errors.push_back(
        {{"field", name},
         {"message", "holds " + std::to_string(list->size()) + " " + std::string(what) +
                         ", the limit is " + std::to_string(limit)}});
    return;
  }
  json normal = json::array();
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string where = std::string(name) + "[" + std::to_string(i) + "]";
    const json& element = (*list)[i];
    const auto add = [&](const model::field_error& e) {
      errors.push_back(
          {{"field", e.field.empty() ? where : where + "." + e.field}, {"message", e.message}});
    };
    if (!element.is_object()) {
      add({"", "must be an object"});
      continue;
    }
    const auto id = element.find("id");
    const bool has_id =
        id != element.end() && id->is_string() && !id->get_ref<const std::string&>().empty();
    const bool keeps_password = has_id && !element.contains("password");
    std::vector<model::field_error> problems;
    std::optional<json> normalised = parse(element, keeps_password, problems);
    for (const auto& e : problems) add(e);
    if (normalised && problems.empty()) normal.push_back(std::move(*normalised));
  }
  out[name] = std::move(normal);
}

// Validation problems of a parsed element, without "password" when the store keeps it.
std::vector<model::field_error> without_kept_password(std::vector<model::field_error> problems,
                                                      bool keeps_password) {
  if (keeps_password) {
    std::erase_if(problems, [](const model::field_error& e) { return e.field == "password"; });
  }
  return problems;
}

// The account document for PUT: an object with "retrieval_tasks" (required) and
// "smtp_accounts" (optional: a client that does not know it yet saves without it), each
// element in its normal JSON form. Fills `errors` naming each field ("retrieval_tasks[2].port",
// "smtp_accounts[0].email").
json check_account_document(const json& body, json& errors) {
  json out = body;
  out.erase("revision");
  check_list(
      body, "retrieval_tasks", "tasks", max_task_count, true,
      [](const json& element, bool keeps_password,
         std::vector<model::field_error>& problems) -> std::optional<json> {
        const model::parse_result parsed = model::parse_retrieval_task(element);
        if (!parsed.ok()) {
          problems = parsed.errors;
          return std::nullopt;
        }
        problems = without_kept_password(model::validate(*parsed.task), keeps_password);
        json task = model::to_json(*parsed.task);
        if (keeps_password) task.erase("password");
        return task;
      },
      out, errors);
  check_list(
      body, "smtp_accounts", "SMTP accounts", max_smtp_account_count, false,
      [](const json& element, bool keeps_password,
         std::vector<model::field_error>& problems) -> std::optional<json> {
        const model::smtp_parse_result parsed = model::parse_smtp_account(element);
        if (!parsed.ok()) {
          problems = parsed.errors;
          return std::nullopt;
        }
        problems = without_kept_password(model::validate(*parsed.account), keeps_password);
        json account = model::to_json(*parsed.account);
        if (keeps_password) account.erase("password");
        return account;
      },
      out, errors);
  return out;
}

json message_json(const message_entry& m) {
  return {{"id", m.id},     {"from", m.from},           {"to", m.to},     {"subject", m.subject},
          {"date", m.date}, {"date_unix", m.date_unix}, {"size", m.size}, {"flags", m.flags}};
}

}  // namespace

http_response json_error(int status, std::string_view code, std::string_view message) {
  return json_response(status, {{"error", message}, {"code", code}});
}

void add_security_headers(http_response& response) {
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
  const auto type = response.header("Content-Type");
  if (type && type->substr(0, 9) == "text/html") {
    response.set_header("Content-Security-Policy", std::string(content_security_policy));
  }
}

struct api::context {
  const http_request& request;
  std::string_view path;   // the target up to '?', still %-encoded
  std::string_view query;  // after '?'
  std::int64_t now = 0;
  std::string token;  // the session cookie's token
  std::optional<store::session_info> session;
  store::account_store* store = nullptr;  // the calling thread's
};

api::api(const serve_config& config, api_dependencies deps)
    : config_(config),
      deps_(std::move(deps)),
      limiter_([&] {
        signin_limiter::settings s;
        s.failures_allowed = config.signin_failures_allowed;
        s.window_seconds = config.signin_window_seconds;
        return s;
      }()),
      // Waiting for a hash slot blocks a worker thread: hashes and waiters together leave at
      // least one worker for everything else (when there are two or more).
      hashing_(std::min(config.concurrent_password_hashes, std::max(1, config.worker_threads - 1)),
               std::max(0, config.worker_threads - config.concurrent_password_hashes - 1)) {
  if (!deps_.clock) deps_.clock = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
  std::error_code ec;
  if (!config_.web_root.empty()) {
    web_root_ = std::filesystem::canonical(config_.web_root, ec);
    if (ec) web_root_.clear();
  }
}

std::size_t api::body_limit(std::string_view method, std::string_view target) const {
  const std::string_view path = target.substr(0, target.find('?'));
  if (method == "POST" && (path == "/api/mailbox/messages" || path == "/api/mailbox/batch")) {
    return config_.max_message_body;
  }
  constexpr std::string_view tasks = "/api/tasks/";
  constexpr std::string_view state = "/state";
  if (method == "PUT" && path.size() > tasks.size() + state.size() &&
      path.substr(0, tasks.size()) == tasks && path.substr(path.size() - state.size()) == state) {
    return std::max(config_.max_json_body, max_state_body);
  }
  return config_.max_json_body;
}

http_response api::handle(const http_request& request) {
  http_response response;
  try {
    const std::string_view target = request.target;
    const std::size_t question = target.find('?');
    context c{
        request, target.substr(0, question),
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1)};
    c.now = deps_.clock();
    response = dispatch(c);
  } catch (const std::exception& e) {
    if (log) log(std::string("internal error: ") + e.what());
    response = json_error(500, "internal", "the server failed to handle the request");
  }
  add_security_headers(response);
  return response;
}

namespace {

// host = IP-literal / IPv4address / reg-name; authority = host [ ":" port ] (RFC 3986 3.2).
// Splits an authority into its host (lower-cased, without the brackets of an IPv6 literal)
// and its port (empty when absent). false when it does not have that shape.
bool split_authority(std::string_view authority, std::string& host, std::string& port) {
  if (authority.empty()) return false;
  std::string_view rest;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = ascii::lower(authority.substr(1, close - 1));
    rest = authority.substr(close + 1);
  } else {
    const std::size_t colon = authority.find(':');
    host = ascii::lower(authority.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (host.empty()) return false;
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return false;
    port = std::string(rest.substr(1));
    for (const char c : port) {
      if (c < '0' || c > '9') return false;
    }
  } else {
    port.clear();
  }
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                    c == ':' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool is_ip_literal(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return true;  // only IPv6 literals have one
  int dots = 0;
  for (const char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace

bool api::is_own_host(std::string_view host) const {
  if (!config_.public_origin.empty()) {
    std::string own, port;
    const std::string_view o = config_.public_origin;
    const std::size_t at = o.find("://");
    if (at != std::string_view::npos && split_authority(o.substr(at + 3), own, port) &&
        own == host) {
      return true;
    }
  }
  const std::string listen = ascii::lower(config_.listen_address);
  if (host == listen) return true;
  const bool loopback = listen.rfind("127.", 0) == 0 || listen == "::1";
  if (loopback) return host == "localhost" || host == "127.0.0.1" || host == "::1";
  const bool wildcard = listen == "0.0.0.0" || listen == "::";
  return wildcard && (host == "localhost" || is_ip_literal(host));
}

bool api::host_allowed(const http_request& request) const {
  const auto value = request.header("Host");
  std::string host, port;
  return value && split_authority(*value, host, port) && is_own_host(host);
}

bool api::is_own_origin(std::string_view origin) const {
  if (!config_.public_origin.empty() && ascii::equals_ignore_case(origin, config_.public_origin)) {
    return true;
  }
  const bool tls = !config_.tls_certificate.empty();
  const std::string_view scheme = tls ? "https://" : "http://";
  if (origin.size() <= scheme.size() ||
      !ascii::equals_ignore_case(origin.substr(0, scheme.size()), scheme)) {
    return false;
  }
  std::string host, port;
  if (!split_authority(origin.substr(scheme.size()), host, port)) return false;
  const std::string listen_port = std::to_string(config_.listen_port);
  const bool port_ok = port.empty() ? listen_port == (tls ? "443" : "80") : port == listen_port;
  return port_ok && is_own_host(host);
}

bool api::origin_allowed(const http_request& request) const {
  const auto origin = request.header("Origin");
  if (!origin) return false;
  if (is_own_origin(*origin)) return true;
  for (const std::string& allowed : config_.allowed_origins) {
    if (ascii::equals_ignore_case(*origin, allowed)) return true;
  }
  return false;
}

std::optional<http_response> api::check_host_and_origin(const http_request& r,
                                                        std::string_view path) const {
  if (!host_allowed(r)) {
    return json_error(421, "misdirected", "this server does not answer for that Host");
  }
  const bool is_api = path == "/api" || path.substr(0, 5) == "/api/";
  const bool changes_state = r.method != "GET" && r.method != "HEAD" && r.method != "OPTIONS";
  if ((is_api && changes_state) || path == "/bridge") {
    if (!r.header("Origin")) {
      return json_error(403, "origin_required", "this request needs an Origin header");
    }
    if (!origin_allowed(r)) {
      return json_error(403, "origin_refused", "requests from this Origin are not allowed");
    }
  }
  return std::nullopt;
}

api::admission api::admit(const http_request& head) {
  admission a;
  try {
    const std::string_view target = head.target;
    const std::string_view path = target.substr(0, target.find('?'));
    a.refusal = check_host_and_origin(head, path);
    if (!a.refusal) {
      const std::size_t route_limit = body_limit(head.method, head.target);
      const bool is_api = path == "/api" || path.substr(0, 5) == "/api/";
      const bool needs_session = is_api && !(path == "/api/session" && head.method == "POST");
      if (!needs_session) {
        a.body_limit = std::min(route_limit, config_.max_unauthenticated_body);
      } else {
        const std::string token = session_token(head);
        std::optional<store::session_info> session;
        if (!token.empty()) session = deps_.store().find_session(token, deps_.clock());
        if (session) {
          a.body_limit = route_limit;
        } else {
          a.refusal = json_error(401, "unauthenticated", "sign in first");
        }
      }
    }
  } catch (const std::exception& e) {
    if (log) log(std::string("internal error: ") + e.what());
    a.refusal = json_error(500, "internal", "the server failed to handle the request");
  }
  if (a.refusal) add_security_headers(*a.refusal);
  return a;
}

void api::touch_device(const store::session_info& session, const http_request& request) {
  const std::int64_t now = deps_.clock();
  {
    std::lock_guard lock(touched_mutex_);
    if (touched_.size() > 10000) touched_.clear();
    std::int64_t& last = touched_[session.device_id];
    if (last != 0 && now - last < device_touch_interval_seconds) return;
    last = now;
  }
  deps_.store().touch_device(session.device_id, request.remote_address, now);
}

http_response api::dispatch(context& c) {
  const http_request& r = c.request;
  if (auto refused = check_host_and_origin(r, c.path)) return std::move(*refused);
  const bool is_api = c.path == "/api" || c.path.substr(0, 5) == "/api/";
  if (c.path == "/bridge") return bridge(c);
  if (!is_api) return static_file(c);

  c.store = &deps_.store();
  if (c.path == "/api/session" && r.method == "POST") return sign_in(c);

  c.token = session_token(r);
  if (!c.token.empty()) c.session = c.store->find_session(c.token, c.now);
  if (!c.session) return json_error(401, "unauthenticated", "sign in first");
  touch_device(*c.session, r);

  const auto method_not_allowed = [] {
    return json_error(405, "method_not_allowed", "this method is not allowed here");
  };
  if (c.session->must_change_password) {
    const bool allowed =
        (c.path == "/api/session" && (r.method == "GET" || r.method == "DELETE")) ||
        (c.path == "/api/password" && r.method == "POST");
    if (!allowed) return password_change_required();
  }
  if (c.path == "/api/session") {
    if (r.method == "GET") return session_status(c);
    if (r.method == "DELETE") return sign_out(c);
    return method_not_allowed();
  }
  if (c.path == "/api/password") {
    return r.method == "POST" ? change_password(c) : method_not_allowed();
  }
  if (c.path == "/api/account") {
    if (r.method == "GET") return get_account(c);
    if (r.method == "PUT") return put_account(c);
    return method_not_allowed();
  }
  if (c.path.substr(0, 13) == "/api/account/") return account_secrets(c, c.path.substr(13));
  if (c.path == "/api/events") return r.method == "GET" ? events(c) : method_not_allowed();
  if (c.path.substr(0, 11) == "/api/tasks/") return task_route(c, c.path.substr(11));
  if (c.path.substr(0, 13) == "/api/mailbox/") return mailbox_route(c, c.path.substr(13));
  return json_error(404, "not_found", "no such API route");
}

http_response api::sign_in(context& c) {
  http_response error;
  const auto body = parse_object(c.request, error);
  if (!body) return error;
  const auto name = string_member(*body, "username");
  const auto password = string_member(*body, "password");
  if (!name || name->empty() || name->size() > model::max_username_bytes) {
    return invalid("username must be a non-empty string");
  }
  if (!password || password->size() > model::max_password_bytes) {
    return invalid("password must be a string of at most 1024 bytes");
  }
  std::string device_name = "Browser";
  if (body->contains("device_name")) {
    const auto given = string_member(*body, "device_name");
    if (!given || given->size() > max_device_name_bytes) {
      return invalid("device_name must be a string of at most 200 bytes");
    }
    if (!given->empty()) device_name = *given;
  }

  const std::string& address = c.request.remote_address;
  // Reserved before hashing: concurrent guesses count at once (a failure unless succeeded()).
  signin_limiter::attempt attempt = limiter_.begin(address, *name, c.now);
  if (const std::int64_t wait = attempt.retry_after(); wait > 0) {
    http_response response =
        json_error(429, "rate_limited", "too many failed sign-ins; try again later");
    response.set_header("Retry-After", std::to_string(wait));
    return response;
  }
  hash_gate::slot hashing = hashing_.acquire();
  if (!hashing) return busy_hashing();
  const auto user = c.store->check_password(*name, *password);
  hashing.release();
  if (!user) return json_error(401, "bad_credentials", "wrong user name or password");
  attempt.succeeded();

  std::string user_agent(c.request.header("User-Agent").value_or(""));
  if (user_agent.size() > max_user_agent_bytes) user_agent.resize(max_user_agent_bytes);
  const std::string device_id =
      c.store->register_device(user->id, device_name, user_agent, address, c.now);
  const std::string token =
      c.store->create_session(user->id, device_id, c.now, config_.session_lifetime_seconds);

  http_response response =
      json_response(200, {{"device_id", device_id},
                          {"user", user->name},
                          {"must_change_password", user->must_change_password}});
  response.set_header("Set-Cookie",
                      session_cookie(c.request, token, config_.session_lifetime_seconds));
  return response;
}

http_response api::session_status(context& c) {
  const auto user = c.store->find_user(c.session->user_name);
  return json_response(200, {{"user", c.session->user_name},
                             {"user_id", c.session->user_id},
                             {"device_id", c.session->device_id},
                             {"expires_at", c.session->expires_at},
                             {"must_change_password", user && user->must_change_password}});
}

http_response api::sign_out(context& c) {
  c.store->delete_session(c.token);
  http_response response = empty_response(204);
  std::string cookie =
      std::string(session_cookie_name) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict";
  if (c.request.tls) cookie += "; Secure";
  response.set_header("Set-Cookie", cookie);
  return response;
}

http_response api::change_password(context& c) {
  http_response error;
  const auto body = parse_object(c.request, error);
  if (!body) return error;
  const auto old_password = string_member(*body, "old");
  const auto new_password = string_member(*body, "new");
  if (!old_password || old_password->size() > model::max_password_bytes) {
    return invalid("old must be the current password");
  }
  if (!new_password || count_code_points(*new_password) < min_new_password_characters ||
      new_password->size() > model::max_password_bytes) {
    json errors = json::array();
    errors.push_back({{"field", "new"}, {"message", "must have at least 10 characters"}});
    return json_response(400, {{"error", "the new password must have at least 10 characters"},
                               {"code", "invalid"},
                               {"errors", std::move(errors)}});
  }
  const std::string& address = c.request.remote_address;
  const std::string& name = c.session->user_name;
  signin_limiter::attempt attempt = limiter_.begin(address, name, c.now);
  if (const std::int64_t wait = attempt.retry_after(); wait > 0) {
    http_response response =
        json_error(429, "rate_limited", "too many wrong passwords; try again later");
    response.set_header("Retry-After", std::to_string(wait));
    return response;
  }
  hash_gate::slot hashing = hashing_.acquire();
  if (!hashing) return busy_hashing();
  if (!c.store->check_password(name, *old_password)) {
    return json_error(403, "bad_credentials", "the current password is wrong");
  }
  attempt.succeeded();
  // The other sessions end; this one stays, so the page goes on without signing in again.
  c.store->set_password(name, *new_password, c.token);
  if (!config_.data_dir.empty() && ascii::equals_ignore_case(name, initial_user_name)) {
    std::error_code ec;
    std::filesystem::remove(config_.data_dir / initial_password_file, ec);
  }
  return empty_response(204);
}

http_response api::get_account(context& c) {
  const store::account_document account = c.store->load_account(c.session->user_id);
  http_response response = json_response(200, store::without_secrets(account.document));
  response.set_header("ETag", etag(account.revision));
  return response;
}

http_response api::put_account(context& c) {
  const auto if_match = c.request.header("If-Match");
  if (!if_match) {
    return json_error(428, "precondition_required",
                      "send If-Match with the revision the change is based on");
  }
  const auto expected = parse_revision(*if_match);
  if (!expected) return invalid("If-Match must be the revision number, e.g. \"3\"");
  http_response error;
  const auto body = parse_object(c.request, error);
  if (!body) return error;

  json errors = json::array();
  const json document = check_account_document(*body, errors);
  if (!errors.empty()) {
    const std::string first =
        errors[0]["field"].get<std::string>() + ": " + errors[0]["message"].get<std::string>();
    return json_response(400, {{"error", first}, {"code", "invalid"}, {"errors", errors}});
  }

  const std::int64_t user_id = c.session->user_id;
  store::account_document current;
  const auto saved = c.store->save_account(user_id, *expected, document, &current);
  if (!saved) {
    http_response response = json_response(412, store::without_secrets(current.document));
    response.set_header("ETag", etag(current.revision));
    return response;
  }
  if (deps_.events) {
    deps_.events->publish(user_id, {{"type", "account_changed"}, {"revision", saved->revision}});
  }
  if (deps_.tasks) deps_.tasks->account_changed(user_id);
  http_response response = json_response(200, store::without_secrets(saved->document));
  response.set_header("ETag", etag(saved->revision));
  return response;
}

std::int64_t api::secrets_read_wait(const std::string& token, std::int64_t now) {
  const std::string key = crypto::sha256_hex(token);
  std::lock_guard lock(secrets_reads_mutex_);
  if (secrets_reads_.size() > 10000) {
    std::erase_if(secrets_reads_, [now](const auto& entry) {
      return now - entry.second.window_start >= secrets_window_seconds;
    });
  }
  secrets_reads& reads = secrets_reads_[key];
  if (now - reads.window_start >= secrets_window_seconds || now < reads.window_start) {
    reads = secrets_reads{now, 0};
  }
  if (reads.count >= secrets_reads_per_window) {
    return std::max<std::int64_t>(1, reads.window_start + secrets_window_seconds - now);
  }
  ++reads.count;
  return 0;
}

// GET /api/account/{list}/{id}/secrets: the stored secrets of one task or SMTP account, for
// the run, Test Connection or send that needs them now.
http_response api::account_secrets(context& c, std::string_view rest) {
  const std::size_t slash = rest.find('/');
  const std::string_view list = rest.substr(0, slash);
  rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  const std::size_t second = rest.find('/');
  const std::string_view id = rest.substr(0, second);
  const std::string_view action =
      second == std::string_view::npos ? std::string_view() : rest.substr(second + 1);
  if (!store::account_store::is_id_list(list) || !is_url_safe_id(id) || action != "secrets") {
    return json_error(404, "not_found", "no such API route");
  }
  if (c.request.method != "GET") {
    return json_error(405, "method_not_allowed", "this method is not allowed here");
  }
  if (const std::int64_t wait = secrets_read_wait(c.token, c.now); wait > 0) {
    http_response response =
        json_error(429, "rate_limited", "too many reads of stored passwords; try again later");
    response.set_header("Retry-After", std::to_string(wait));
    return response;
  }
  auto secrets = c.store->element_secrets(c.session->user_id, list, id);
  if (!secrets) return json_error(404, "not_found", "no such item");
  http_response response = json_response(
      200,
      {{"list", std::string(list)}, {"id", std::string(id)}, {"secrets", std::move(*secrets)}});
  response.set_header("Pragma", "no-cache");
  return response;
}

// {id}/run, {id}/status, {id}/lease, {id}/state, {id}/runs
http_response api::task_route(context& c, std::string_view rest) {
  const std::size_t slash = rest.find('/');
  const std::string_view id = rest.substr(0, slash);
  const std::string_view action =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (!is_url_safe_id(id)) return json_error(404, "not_found", "no such task");
  if (!deps_.tasks) return json_error(503, "unavailable", "the scheduler is not running");
  const std::string task_id(id);
  const std::int64_t user_id = c.session->user_id;
  const std::string& method = c.request.method;
  const auto method_not_allowed = [] {
    return json_error(405, "method_not_allowed", "this method is not allowed here");
  };

  if (action == "run") {
    if (method != "POST") return method_not_allowed();
    switch (deps_.tasks->run_now(user_id, task_id)) {
      case task_runner::start_result::started:
        return json_response(202, {{"started", true}});
      case task_runner::start_result::already_running:
        return json_error(409, "already_running", "the task is running already");
      case task_runner::start_result::not_runnable:
        return json_error(409, "not_runnable", "the task cannot run (check its settings)");
      case task_runner::start_result::too_many_runs:
        return json_error(429, "too_many_runs",
                          "too many retrievals are running at once: try again when one ends");
      case task_runner::start_result::not_found:
        break;
    }
    return json_error(404, "not_found", "no such task");
  }
  if (action == "status") {
    if (method != "GET") return method_not_allowed();
    auto status = deps_.tasks->status(user_id, task_id);
    if (!status) return json_error(404, "not_found", "no such task");
    return json_response(200, *status);
  }
  if (action == "lease") {
    if (method == "POST") {
      http_response error;
      const auto body = parse_object(c.request, error);
      if (!body) return error;
      const auto owner = string_member(*body, "owner");
      if (!owner || owner->empty() || owner->size() > max_lease_owner_bytes) {
        return invalid("owner must be a non-empty string of at most 128 bytes");
      }
      const auto seconds = body->find("seconds");
      if (seconds == body->end() || !seconds->is_number_integer() || *seconds < 1 ||
          *seconds > 3600) {
        return invalid("seconds must be a whole number from 1 to 3600");
      }
      if (!deps_.tasks->take_lease(user_id, task_id, *owner, seconds->get<int>())) {
        return json_error(409, "leased", "another run of this task holds its lease");
      }
      return json_response(200, {{"taken", true}});
    }
    if (method == "DELETE") {
      const auto owner = query_parameter(c.query, "owner");
      if (!owner || owner->empty()) return invalid("give the lease's owner as ?owner=");
      deps_.tasks->release_lease(user_id, task_id, *owner);
      return empty_response(204);
    }
    return method_not_allowed();
  }
  const auto not_leased = [] {
    return json_error(409, "not_leased", "this run does not hold the task's lease");
  };
  if (action == "state") {
    if (method == "GET") {
      std::optional<std::string> state;
      if (!deps_.tasks->load_state(user_id, task_id, &state)) {
        return json_error(404, "not_found", "no such task");
      }
      if (!state) return empty_response(204);
      http_response response;
      response.body = std::move(*state);
      response.set_header("Content-Type", "application/json");
      response.set_header("Cache-Control", "no-store");
      return response;
    }
    if (method == "PUT") {
      const auto owner = query_parameter(c.query, "owner");
      if (!owner || owner->empty() || owner->size() > max_lease_owner_bytes) {
        return invalid("give the lease's owner as ?owner=");
      }
      // Stored as sent (the core reads it back), but it must be a JSON document.
      if (!json_depth_within(c.request.body, max_json_depth) ||
          !json::accept(c.request.body.begin(), c.request.body.end())) {
        return invalid("the state must be a JSON document");
      }
      switch (deps_.tasks->save_state(user_id, task_id, *owner, c.request.body)) {
        case task_runner::lease_result::done:
          return empty_response(204);
        case task_runner::lease_result::not_leased:
          return not_leased();
        case task_runner::lease_result::not_found:
          break;
      }
      return json_error(404, "not_found", "no such task");
    }
    return method_not_allowed();
  }
  if (action == "runs") {
    if (method != "POST") return method_not_allowed();
    http_response error;
    const auto body = parse_object(c.request, error);
    if (!body) return error;
    const auto run = check_browser_run(*body, error);
    if (!run) return error;
    // A Test Connection result: the task did not run, and the form may test a task that is
    // not saved (so has no lease). Nothing to record.
    if (const auto check = body->find("check"); check != body->end() && *check == true) {
      return empty_response(204);
    }
    const auto owner = string_member(*body, "owner");
    if (!owner || owner->empty() || owner->size() > max_lease_owner_bytes) {
      return invalid("owner must be the lease's owner");
    }
    json recorded;
    switch (deps_.tasks->record_browser_run(user_id, task_id, *owner, *run, &recorded)) {
      case task_runner::lease_result::done:
        return json_response(201, {{"run", std::move(recorded)}});
      case task_runner::lease_result::not_leased:
        return not_leased();
      case task_runner::lease_result::not_found:
        break;
    }
    return json_error(404, "not_found", "no such task");
  }
  return json_error(404, "not_found", "no such API route");
}

// folders, messages, messages/{id}/raw, batch
http_response api::mailbox_route(context& c, std::string_view rest) {
  if (!deps_.mailboxes) return json_error(503, "unavailable", "the mailbox is not available");
  mailbox_service& mailboxes = *deps_.mailboxes;
  const std::int64_t user_id = c.session->user_id;
  const std::string& method = c.request.method;
  const auto method_not_allowed = [] {
    return json_error(405, "method_not_allowed", "this method is not allowed here");
  };

  if (rest == "folders") {
    if (method != "GET") return method_not_allowed();
    return json_response(200, mailboxes.folders(user_id));
  }
  if (rest == "messages") {
    const auto given = query_parameter(c.query, "folder");
    const std::string folder = given ? *given : "INBOX";
    if (const std::string problem = model::folder_path_problem(folder); !problem.empty()) {
      return json_error(400, "invalid_folder", "folder: " + problem);
    }
    if (method == "GET") {
      std::int64_t page = 0;
      if (const auto text = query_parameter(c.query, "page")) {
        const auto parsed = parse_number(*text, 1000000);
        if (!parsed) return invalid("page must be a whole number from 0");
        page = *parsed;
      }
      std::uint64_t total = 0;
      const auto list =
          mailboxes.messages(user_id, folder, static_cast<int>(page), page_size, &total);
      if (!list) return json_error(404, "unknown_folder", "no such folder: " + folder);
      json messages = json::array();
      for (const message_entry& m : *list) messages.push_back(message_json(m));
      return json_response(200, {{"folder", folder},
                                 {"page", page},
                                 {"page_size", page_size},
                                 {"total", total},
                                 {"messages", std::move(messages)}});
    }
    if (method == "POST") {
      append_fields fields;
      fields.folder = folder;
      const auto header = [&](std::string_view name) -> std::optional<std::string> {
        if (const auto value = c.request.header(name)) return std::string(*value);
        return std::nullopt;
      };
      fields.key = header(header_names.key);
      fields.flags = header(header_names.flags);
      fields.internal_date = header(header_names.internal_date);
      mailbox_service::append_request checked;
      if (const auto problem = check_append(fields, header_names, c.now, checked)) {
        return json_error(400, problem->code, problem->message);
      }
      if (c.request.body.empty()) return invalid("the body must be the message");
      bool already_had = false;
      std::string id;
      try {
        id = mailboxes.append(user_id, checked.folder, c.request.body, checked.key, checked.flags,
                              checked.internal_date, &already_had);
      } catch (const std::invalid_argument& e) {
        return invalid(e.what());
      }
      return json_response(201, {{"id", id}, {"already_had", already_had}});
    }
    return method_not_allowed();
  }
  if (rest == "batch") {
    if (method != "POST") return method_not_allowed();
    return append_batch(c);
  }
  constexpr std::string_view prefix = "messages/";
  constexpr std::string_view suffix = "/raw";
  if (rest.size() > prefix.size() + suffix.size() && rest.substr(0, prefix.size()) == prefix &&
      rest.substr(rest.size() - suffix.size()) == suffix) {
    if (method != "GET") return method_not_allowed();
    const std::string_view id =
        rest.substr(prefix.size(), rest.size() - prefix.size() - suffix.size());
    if (!is_url_safe_id(id)) return json_error(404, "not_found", "no such message");
    auto raw = mailboxes.raw(user_id, std::string(id));
    if (!raw) return json_error(404, "not_found", "no such message");
    http_response response;
    response.body = std::move(*raw);
    response.set_header("Content-Type", "message/rfc822");
    response.set_header("Cache-Control", "no-store");
    return response;
  }
  return json_error(404, "not_found", "no such API route");
}

// POST /api/mailbox/batch: the framing is checked whole first (400 and nothing stored when
// it is wrong); then each record's fields, a bad one failing alone; then the good ones are
// stored with one group commit, and only then does the answer go out.
http_response api::append_batch(context& c) {
  const auto type = c.request.header("Content-Type");
  if (!type || !ascii::equals_ignore_case(type->substr(0, type->find(';')), batch_media_type)) {
    return json_error(415, "unsupported_media_type",
                      "send the batch as " + std::string(batch_media_type));
  }
  std::string problem;
  const auto records = parse_batch(c.request.body, problem);
  if (!records) return invalid(problem);

  json results = json::array();
  std::vector<mailbox_service::append_request> requests;
  std::vector<std::size_t> result_of;  // request → its slot in `results`
  requests.reserve(records->size());
  for (const batch_record& record : *records) {
    append_fields fields;
    mailbox_service::append_request request;
    auto error = batch_fields(record.header, fields);
    if (!error) error = check_append(fields, batch_names, c.now, request);
    if (!error && record.message.empty()) error = append_problem{"invalid", "the message is empty"};
    if (error) {
      results.push_back({{"error", error->message}, {"code", error->code}});
      continue;
    }
    request.message = record.message;
    result_of.push_back(results.size());
    results.push_back(nullptr);
    requests.push_back(std::move(request));
  }
  if (!requests.empty()) {
    const auto stored = deps_.mailboxes->append_batch(c.session->user_id, requests);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      json& slot = results[result_of[i]];
      if (i >= stored.size()) {
        slot = {{"error", "no result"}, {"code", "store_failed"}};
      } else if (!stored[i].code.empty()) {
        slot = {{"error", stored[i].error}, {"code", stored[i].code}};
      } else {
        slot = {{"id", stored[i].id}, {"already_had", stored[i].already_had}};
      }
    }
  }
  return json_response(200, {{"results", std::move(results)}});
}

http_response api::events(context& c) {
  if (!deps_.events) return json_error(503, "unavailable", "events are not available");
  http_response response;
  response.kind = response_kind::event_stream;
  response.user_id = c.session->user_id;
  response.set_header("Content-Type", "text/event-stream");
  response.set_header("Cache-Control", "no-cache");
  return response;
}

http_response api::bridge(context& c) {
  const http_request& r = c.request;
  if (!r.header("Origin")) {
    return json_error(403, "origin_required", "the bridge needs an Origin header");
  }
  if (!origin_allowed(r)) {
    return json_error(403, "origin_refused", "requests from this Origin are not allowed");
  }
  c.store = &deps_.store();
  c.token = session_token(r);
  if (!c.token.empty()) c.session = c.store->find_session(c.token, c.now);
  if (!c.session) return json_error(401, "unauthenticated", "sign in first");
  touch_device(*c.session, r);
  if (c.session->must_change_password) return password_change_required();
  if (r.method != "GET" || !r.websocket_upgrade) {
    http_response response =
        json_error(426, "upgrade_required", "the bridge speaks WebSocket only");
    response.set_header("Upgrade", "websocket");
    return response;
  }
  http_response response;
  response.kind = response_kind::bridge;
  response.user_id = c.session->user_id;
  response.session_id = crypto::sha256_hex(c.token);
  return response;
}

http_response api::static_file(context& c) {
  const http_request& r = c.request;
  if (r.method != "GET" && r.method != "HEAD") {
    http_response response =
        json_error(405, "method_not_allowed", "this method is not allowed here");
    response.set_header("Allow", "GET, HEAD");
    return response;
  }
  const auto not_found = [] { return json_error(404, "not_found", "no such file"); };
  if (web_root_.empty() || c.path.empty() || c.path.front() != '/') return not_found();
  const auto decoded = percent_decode(c.path, false);
  if (!decoded) return json_error(400, "invalid", "the path is not validly %-encoded");

  // Each segment must name an entry of the web root as it is: no "..", no hidden files, no
  // byte that means something else to the file system.
  std::filesystem::path relative;
  std::string_view rest = *decoded;
  rest.remove_prefix(1);
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (segment.empty()) continue;
    if (segment.front() == '.' || segment.find('\0') != std::string_view::npos ||
        segment.find('\\') != std::string_view::npos) {
      return not_found();
    }
    relative /= std::filesystem::path(std::string(segment));
  }
  if (decoded->back() == '/') relative /= "index.html";

  std::error_code ec;
  const std::filesystem::path file = std::filesystem::canonical(web_root_ / relative, ec);
  // canonical() resolves symbolic links, so a link pointing outside the root is refused here.
  if (ec || !is_within(web_root_, file)) return not_found();
  if (!std::filesystem::is_regular_file(file, ec)) return not_found();
  const char* type = content_type_for(file);
  if (!type) return not_found();
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) return not_found();

  http_response response;
  response.file = file;
  response.file_size = size;
  response.set_header("Content-Type", type);
  response.set_header("Cache-Control", "no-cache");
  return response;
}

}  // namespace junction::serve
