#include "store/account_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <limits>
#include <set>
#include <stdexcept>
#include <utility>

namespace junction::store {
namespace {

using nlohmann::json;

// Runs kept per task; older rows go when a run is recorded.
constexpr int kRunsPerTask = 100;
constexpr std::size_t kMaxUserName = 256;

// One prepared statement; throws std::runtime_error with SQLite's message on failure.
class query {
 public:
  query(database& db, const char* sql) : db_(db.handle()) {
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail();
  }
  ~query() { sqlite3_finalize(stmt_); }
  query(const query&) = delete;
  query& operator=(const query&) = delete;

  query& bind(int i, std::string_view text) {
    // A null data pointer would bind SQL NULL instead of the empty string.
    sqlite3_bind_text(stmt_, i, text.data() != nullptr ? text.data() : "",
                      static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  query& bind(int i, std::int64_t value) {
    sqlite3_bind_int64(stmt_, i, static_cast<sqlite3_int64>(value));
    return *this;
  }
  query& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }

  // true for a row, false when done.
  bool step() {
    const int rc = step_code();
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail();
  }
  // The raw result code, for callers that treat a constraint violation as an answer.
  int step_code() { return sqlite3_step(stmt_); }
  void run() {
    while (step()) {
    }
  }

  std::string text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (p == nullptr) return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

  [[noreturn]] void fail() const {
    throw std::runtime_error(std::string("database: ") + sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

std::int64_t add_saturating(std::int64_t now, std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (now > std::numeric_limits<std::int64_t>::max() - seconds) {
    return std::numeric_limits<std::int64_t>::max();
  }
  return now + seconds;
}

void check_user_name(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("user name is empty");
  if (name.size() > kMaxUserName) {
    throw std::invalid_argument("user name is longer than " + std::to_string(kMaxUserName) +
                                " bytes");
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) throw std::invalid_argument("user name has a control character");
  }
}

// A syntactically valid hash at `cost` that matches no password: checking a name that does
// not exist costs as much as checking a wrong password, so timing does not tell which user
// names exist. (All-zero salt and hash; scrypt never yields an all-zero key in practice.)
std::string dummy_hash(const crypto::scrypt_cost& cost) {
  return "$scrypt$ln=" + std::to_string(cost.log2_n) + ",r=" + std::to_string(cost.r) +
         ",p=" + std::to_string(cost.p) + "$AAAAAAAAAAAAAAAAAAAAAA==$" + std::string(43, 'A') + "=";
}

// ---- Secrets inside the account document -------------------------------------------------
//
// Every key named like a secret, anywhere in the document, holds a sealed string at rest.
// The seal's context is the value's place: "user:<id>/<top-level key>/<element id>/<key>"
// for objects in a top-level array (retrieval_tasks, smtp_accounts, later others), where the
// element id is its "id" (or "#<index>" when it has none), then the path of keys below it;
// "user:<id>/<key>/..." elsewhere. Path segments are escaped as in JSON Pointer (RFC 6901
// §3: "~" as "~0", "/" as "~1") so two places never share a context.

constexpr std::array<std::string_view, 4> kSecretKeys = {"password", "access_token",
                                                         "refresh_token", "client_secret"};
constexpr const char* kUnreadable = "secret_unreadable";
constexpr const char* kTasks = "retrieval_tasks";
constexpr const char* kSmtpAccounts = "smtp_accounts";

bool is_secret_key(std::string_view key) {
  for (auto k : kSecretKeys) {
    if (k == key) return true;
  }
  return false;
}

std::string segment(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// f(container, key, context, owner): `owner` is the object a reader of the document would
// blame (the task), `container` the object that holds the key.
template <class F>
void visit_secrets(json& node, const std::string& path, json* owner, F& f) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string child = path + "/" + segment(it.key());
      if (is_secret_key(it.key())) {
        f(node, it.key(), child, owner != nullptr ? *owner : node);
      } else {
        visit_secrets(*it, child, owner, f);
      }
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      visit_secrets(node[i], path + "/" + std::to_string(i), owner, f);
    }
  }
}

std::string element_segment(const json& element, std::size_t index) {
  const auto id = element.find("id");
  if (id != element.end() && id->is_string() && !id->get_ref<const std::string&>().empty()) {
    return segment(id->get_ref<const std::string&>());
  }
  return "#" + std::to_string(index);
}

template <class F>
void visit_document(json& doc, std::int64_t user_id, F& f) {
  const std::string root = "user:" + std::to_string(user_id);
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string path = root + "/" + segment(it.key());
    if (is_secret_key(it.key())) {
      f(doc, it.key(), path, doc);
    } else if (it->is_array()) {
      for (std::size_t i = 0; i < it->size(); ++i) {
        json& element = (*it)[i];
        if (element.is_object()) {
          visit_secrets(element, path + "/" + element_segment(element, i), &element, f);
        } else {
          visit_secrets(element, path + "/" + std::to_string(i), nullptr, f);
        }
      }
    } else {
      visit_secrets(*it, path, nullptr, f);
    }
  }
}

// Opens every sealed value in place. A value that does not open (another key, moved from
// elsewhere, altered) is removed and its owner marked "secret_unreadable": the user is asked
// to enter it again instead of the load failing.
void open_secrets(json& doc, std::int64_t user_id, const crypto::secret_box& box) {
  std::vector<std::pair<json*, std::string>> unreadable;
  auto f = [&](json& container, const std::string& key, const std::string& context, json& owner) {
    json& value = container[key];
    if (value.is_string()) {
      if (auto opened = box.open(value.get_ref<const std::string&>(), context)) {
        value = std::move(*opened);
        return;
      }
    }
    unreadable.emplace_back(&container, key);
    owner[kUnreadable] = true;
  };
  visit_document(doc, user_id, f);
  // Erased afterwards: erasing while iterating would invalidate the iterator.
  for (auto& [container, key] : unreadable) container->erase(key);
}

// Seals every secret given in clear. null stays null for now (it means "keep the stored
// one"); any other non-string value is refused rather than stored in clear.
void seal_secrets(json& doc, std::int64_t user_id, const crypto::secret_box& box) {
  auto f = [&](json& container, const std::string& key, const std::string& context, json&) {
    json& value = container[key];
    if (value.is_null()) return;
    if (!value.is_string()) {
      throw std::invalid_argument("account: " + context.substr(context.find('/') + 1) +
                                  " must be a string");
    }
    value = box.seal(value.get_ref<const std::string&>(), context);
  };
  visit_document(doc, user_id, f);
}

// Copies the stored (sealed) secrets of `old` into `fresh` where `fresh` leaves them absent
// or null. Objects are matched by key; elements of top-level arrays by their "id", by the
// caller. The context of a copied value is unchanged because its place is the same.
void keep_secrets(json& fresh, const json& old) {
  for (auto it = old.begin(); it != old.end(); ++it) {
    if (is_secret_key(it.key())) {
      if (!it->is_string()) continue;
      auto target = fresh.find(it.key());
      if (target == fresh.end() || target->is_null()) fresh[it.key()] = *it;
    } else if (it->is_object()) {
      auto target = fresh.find(it.key());
      if (target != fresh.end() && target->is_object()) keep_secrets(*target, *it);
    }
  }
}

// The top-level lists whose elements the store gives ids to (a retrieval task "t…", an SMTP
// account "s…"). The ids name the places of their secrets (the seal's context) and let a
// written element without a password keep the stored one, so every list with secrets
// inside its elements belongs here.
//
// `bound_to` are the fields of an element that say where its secrets are sent: a stored
// password goes only to the place it was given for. When one of them changes (or appears, or
// goes) the stored secrets of the element are dropped unless the same write gives new ones;
// otherwise a stolen session could point a task at its own server, or downgrade its
// encryption, and have the proxy send the password there.
struct id_list {
  const char* key;
  const char* id_prefix;
  std::array<std::string_view, 6> bound_to;  // empty entries are unused
};
constexpr std::array<id_list, 2> kIdLists = {{
    {kTasks, "t", {"type", "server", "port", "username", "encryption", "pinned_cert_sha256"}},
    {kSmtpAccounts, "s", {"server", "port", "username", "encryption", "pinned_cert_sha256", ""}},
}};

bool same_place(std::string_view list, const json& fresh, const json& old) {
  for (const id_list& binding : kIdLists) {
    if (binding.key != list) continue;
    for (std::string_view field : binding.bound_to) {
      if (field.empty()) continue;
      const std::string key(field);
      const auto a = fresh.find(key);
      const auto b = old.find(key);
      const bool in_a = a != fresh.end() && !a->is_null();
      const bool in_b = b != old.end() && !b->is_null();
      if (in_a != in_b || (in_a && *a != *b)) return false;
    }
  }
  return true;
}

void keep_stored_secrets(json& fresh, const json& old) {
  if (!old.is_object()) return;
  keep_secrets(fresh, old);  // top-level secrets and objects
  for (auto it = old.begin(); it != old.end(); ++it) {
    if (!it->is_array()) continue;
    auto target = fresh.find(it.key());
    if (target == fresh.end() || !target->is_array()) continue;
    for (json& element : *target) {
      if (!element.is_object()) continue;
      const auto id = element.find("id");
      if (id == element.end() || !id->is_string()) continue;
      for (const json& before : *it) {
        if (!before.is_object()) continue;
        const auto old_id = before.find("id");
        if (old_id != before.end() && *old_id == *id) {
          if (same_place(it.key(), element, before)) keep_secrets(element, before);
          break;
        }
      }
    }
  }
}

// Secret keys still null after keep_stored_secrets had nothing stored: drop them.
void drop_null_secrets(json& doc, std::int64_t user_id) {
  std::vector<std::pair<json*, std::string>> nulls;
  auto f = [&](json& container, const std::string& key, const std::string&, json&) {
    if (container[key].is_null()) nulls.emplace_back(&container, key);
  };
  visit_document(doc, user_id, f);
  for (auto& [container, key] : nulls) container->erase(key);
}

// Checks the shape of one id list and gives every element without an id a fresh one.
void assign_ids(json& doc, const id_list& list) {
  const std::string name = list.key;
  if (!doc.contains(name) || doc[name].is_null()) doc[name] = json::array();
  json& elements = doc[name];
  if (!elements.is_array()) throw std::invalid_argument("account: " + name + " is not a list");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const json& element = elements[i];
    const std::string where = "account: " + name + "[" + std::to_string(i) + "]";
    if (!element.is_object()) throw std::invalid_argument(where + " is not an object");
    const auto id = element.find("id");
    if (id == element.end() || id->is_null() ||
        (id->is_string() && id->get_ref<const std::string&>().empty())) {
      continue;
    }
    if (!id->is_string()) throw std::invalid_argument(where + ".id is not a string");
    if (!ids.insert(id->get<std::string>()).second) {
      throw std::invalid_argument(where + ".id \"" + id->get<std::string>() + "\" is used twice");
    }
  }
  for (json& element : elements) {
    const auto id = element.find("id");
    if (id != element.end() && id->is_string() && !id->get_ref<const std::string&>().empty()) {
      continue;
    }
    std::string fresh;
    do {
      fresh = list.id_prefix + crypto::random_hex(8);
    } while (!ids.insert(fresh).second);
    element["id"] = fresh;
  }
}

constexpr std::string_view kSetSuffix = "_set";

// "password_set" for "password": the marker without_secrets puts where a secret was.
bool is_secret_marker(std::string_view key) {
  if (key.size() <= kSetSuffix.size() || key.substr(key.size() - kSetSuffix.size()) != kSetSuffix) {
    return false;
  }
  return is_secret_key(key.substr(0, key.size() - kSetSuffix.size()));
}

// Removes the secret markers anywhere below `node`.
void erase_secret_markers(json& node) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end();) {
      if (is_secret_marker(it.key())) {
        it = node.erase(it);
      } else {
        erase_secret_markers(*it);
        ++it;
      }
    }
  } else if (node.is_array()) {
    for (json& element : node) erase_secret_markers(element);
  }
}

// Replaces every secret below `node` by its marker.
void redact(json& node) {
  if (node.is_object()) {
    std::vector<std::string> secrets;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (is_secret_key(it.key())) {
        secrets.push_back(it.key());
      } else {
        redact(*it);
      }
    }
    for (const std::string& key : secrets) {
      const bool stored = node[key].is_string();
      node.erase(key);
      if (stored) node[key + std::string(kSetSuffix)] = true;
    }
  } else if (node.is_array()) {
    for (json& element : node) redact(element);
  }
}

// Checks the shape save_account relies on and gives every element of an id list an id. The
// derived fields "revision", "secret_unreadable" and the secret markers ("password_set")
// are the store's to set, never the client's.
json normalise(const json& document) {
  if (!document.is_object()) throw std::invalid_argument("account: the document is not an object");
  json doc = document;
  doc.erase("revision");
  doc.erase(kUnreadable);
  erase_secret_markers(doc);
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (!it->is_array()) continue;
    for (json& element : *it) {
      if (element.is_object()) element.erase(kUnreadable);
    }
  }
  for (const id_list& list : kIdLists) assign_ids(doc, list);
  return doc;
}

// Every id list is present in a document handed out, empty when never written.
void add_missing_lists(json& doc) {
  for (const id_list& list : kIdLists) {
    if (!doc.contains(list.key)) doc[list.key] = json::array();
  }
}

json empty_document() {
  json doc = {{"revision", 0}};
  add_missing_lists(doc);
  return doc;
}

// The stored text → the document as the owner sees it.
json open_document(std::string_view text, std::int64_t revision, std::int64_t user_id,
                   const crypto::secret_box& box) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    throw std::runtime_error("database: the account document of user " + std::to_string(user_id) +
                             " is not a JSON object");
  }
  open_secrets(doc, user_id, box);
  add_missing_lists(doc);
  doc["revision"] = revision;
  return doc;
}

user read_user(const query& q) {
  return user{q.integer(0), q.text(1), q.integer(2) != 0};
}

run_record read_run(const query& q) {
  run_record r;
  r.id = q.integer(0);
  r.task_id = q.text(1);
  r.started_at = q.integer(2);
  r.finished_at = q.integer(3);
  r.ok = q.integer(4) != 0;
  r.failure = q.text(5);
  r.message = q.text(6);
  r.folders = json::parse(q.text(7), nullptr, /*allow_exceptions=*/false);
  if (!r.folders.is_array()) r.folders = json::array();
  r.trigger = q.text(8);
  return r;
}

schedule_entry read_schedule(const query& q) {
  return schedule_entry{q.integer(0), q.text(1), q.integer(2), static_cast<int>(q.integer(3))};
}

}  // namespace

account_store::account_store(database& db, const crypto::secret_box& secrets,
                             crypto::scrypt_cost password_cost)
    : db_(db),
      secrets_(secrets),
      password_cost_(password_cost),
      dummy_hash_(dummy_hash(password_cost)) {}

// ---- Users ----------------------------------------------------------------------------------

std::int64_t account_store::add_user(std::string_view name, std::string_view password,
                                     bool must_change_password) {
  check_user_name(name);
  // Hashed before the write lock is taken: scrypt takes a fraction of a second.
  const std::string hash = crypto::hash_password(password, password_cost_);
  query q(db_, "INSERT INTO users(name, password_hash, must_change_password) VALUES(?1, ?2, ?3)");
  q.bind(1, name).bind(2, hash).bind(3, std::int64_t{must_change_password ? 1 : 0});
  const int rc = q.step_code();
  if (rc == SQLITE_CONSTRAINT) {
    throw std::invalid_argument("user \"" + std::string(name) + "\" exists");
  }
  if (rc != SQLITE_DONE) q.fail();
  return sqlite3_last_insert_rowid(db_.handle());
}

bool account_store::set_password(std::string_view name, std::string_view password,
                                 std::string_view keep_session) {
  const std::string hash = crypto::hash_password(password, password_cost_);
  database::transaction t(db_);
  query q(db_, "UPDATE users SET password_hash = ?2, must_change_password = 0 WHERE name = ?1");
  q.bind(1, name).bind(2, hash).run();
  if (sqlite3_changes(db_.handle()) == 0) return false;
  // Whoever held another session (a stolen cookie, a forgotten browser) must sign in again
  // with the new password.
  query(db_,
        "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1) "
        "AND token_sha256 <> ?2")
      .bind(1, name)
      .bind(2, keep_session.empty() ? std::string() : crypto::sha256_hex(keep_session))
      .run();
  t.commit();
  return true;
}

std::optional<user> account_store::find_user(std::string_view name) {
  query q(db_, "SELECT id, name, must_change_password FROM users WHERE name = ?1");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return read_user(q);
}

std::optional<user> account_store::check_password(std::string_view name,
                                                  std::string_view password) {
  std::optional<user> found;
  std::string hash = dummy_hash_;
  {
    query q(db_, "SELECT id, name, must_change_password, password_hash FROM users WHERE name = ?1");
    q.bind(1, name);
    if (q.step()) {
      found = read_user(q);
      hash = q.text(3);
    }
  }
  const bool ok = crypto::verify_password(password, hash);
  if (!found || !ok) return std::nullopt;
  return found;
}

std::int64_t account_store::user_count() {
  query q(db_, "SELECT count(*) FROM users");
  q.step();
  return q.integer(0);
}

std::vector<user> account_store::users() {
  query q(db_, "SELECT id, name, must_change_password FROM users ORDER BY id");
  std::vector<user> out;
  while (q.step()) out.push_back(read_user(q));
  return out;
}

// ---- Sessions -------------------------------------------------------------------------------

std::string account_store::create_session(std::int64_t user_id, std::string_view device_id,
                                          std::int64_t now, std::int64_t lifetime_seconds) {
  const std::string token = crypto::random_hex(32);
  database::transaction t(db_);
  // Expired sessions are useless; sweeping them here keeps the table small without a timer.
  query(db_, "DELETE FROM sessions WHERE expires_at <= ?1").bind(1, now).run();
  query q(db_,
          "INSERT INTO sessions(token_sha256, user_id, device_id, created_at, expires_at) "
          "VALUES(?1, ?2, ?3, ?4, ?5)");
  q.bind(1, crypto::sha256_hex(token)).bind(2, user_id);
  if (device_id.empty()) {
    q.bind_null(3);
  } else {
    q.bind(3, device_id);
  }
  q.bind(4, now).bind(5, add_saturating(now, lifetime_seconds)).run();
  t.commit();
  return token;
}

std::optional<session_info> account_store::find_session(std::string_view token, std::int64_t now) {
  // Looked up by digest: the comparison an attacker could time is on a hash they cannot
  // steer, so no constant-time compare is needed here.
  query q(db_,
          "SELECT s.user_id, u.name, s.device_id, s.expires_at, u.must_change_password "
          "FROM sessions s JOIN users u ON u.id = s.user_id "
          "WHERE s.token_sha256 = ?1 AND s.expires_at > ?2");
  q.bind(1, crypto::sha256_hex(token)).bind(2, now);
  if (!q.step()) return std::nullopt;
  return session_info{q.integer(0), q.text(1), q.text(2), q.integer(3), q.integer(4) != 0};
}

void account_store::delete_session(std::string_view token) {
  query(db_, "DELETE FROM sessions WHERE token_sha256 = ?1")
      .bind(1, crypto::sha256_hex(token))
      .run();
}

void account_store::delete_sessions_of_device(std::string_view device_id) {
  query(db_, "DELETE FROM sessions WHERE device_id = ?1").bind(1, device_id).run();
}

// ---- Devices --------------------------------------------------------------------------------

std::string account_store::register_device(std::int64_t user_id, std::string_view name,
                                           std::string_view user_agent, std::string_view address,
                                           std::int64_t now) {
  const std::string id = crypto::random_hex(16);
  query(db_,
        "INSERT INTO devices(id, user_id, name, user_agent, address, first_seen, last_seen) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)")
      .bind(1, id)
      .bind(2, user_id)
      .bind(3, name)
      .bind(4, user_agent)
      .bind(5, address)
      .bind(6, now)
      .run();
  return id;
}

void account_store::touch_device(std::string_view device_id, std::string_view address,
                                 std::int64_t now) {
  query(db_, "UPDATE devices SET address = ?2, last_seen = max(last_seen, ?3) WHERE id = ?1")
      .bind(1, device_id)
      .bind(2, address)
      .bind(3, now)
      .run();
}

std::vector<device> account_store::devices(std::int64_t user_id) {
  query q(db_,
          "SELECT id, user_id, name, user_agent, address, first_seen, last_seen FROM devices "
          "WHERE user_id = ?1 ORDER BY last_seen DESC, id");
  q.bind(1, user_id);
  std::vector<device> out;
  while (q.step()) {
    out.push_back(device{q.text(0), q.integer(1), q.text(2), q.text(3), q.text(4), q.integer(5),
                         q.integer(6)});
  }
  return out;
}

// ---- The account document -------------------------------------------------------------------

account_document account_store::load_account(std::int64_t user_id) {
  query q(db_, "SELECT revision, document FROM account_documents WHERE user_id = ?1");
  q.bind(1, user_id);
  if (!q.step()) return account_document{0, empty_document()};
  const std::int64_t revision = q.integer(0);
  return account_document{revision, open_document(q.text(1), revision, user_id, secrets_)};
}

std::optional<account_document> account_store::save_account(std::int64_t user_id,
                                                            std::int64_t expected_revision,
                                                            const json& document,
                                                            account_document* current) {
  json doc = normalise(document);
  // Sealing (AES-GCM, fast) happens before the lock too; only the merge needs the old row.
  seal_secrets(doc, user_id, secrets_);

  database::transaction t(db_);
  std::int64_t revision = 0;
  std::string stored;
  {
    query q(db_, "SELECT revision, document FROM account_documents WHERE user_id = ?1");
    q.bind(1, user_id);
    if (q.step()) {
      revision = q.integer(0);
      stored = q.text(1);
    }
  }
  if (revision != expected_revision) {
    if (current != nullptr) {
      *current =
          revision == 0 && stored.empty()
              ? account_document{0, empty_document()}
              : account_document{revision, open_document(stored, revision, user_id, secrets_)};
    }
    return std::nullopt;  // the transaction rolls back: nothing was written
  }
  if (!stored.empty()) {
    keep_stored_secrets(doc, json::parse(stored, nullptr, /*allow_exceptions=*/false));
  }
  drop_null_secrets(doc, user_id);

  const std::int64_t next = revision + 1;
  const std::string text = doc.dump();
  query(db_,
        "INSERT INTO account_documents(user_id, revision, document, updated_at) "
        "VALUES(?1, ?2, ?3, CAST(strftime('%s','now') AS INTEGER)) "
        "ON CONFLICT(user_id) DO UPDATE SET revision = excluded.revision, "
        "document = excluded.document, updated_at = excluded.updated_at")
      .bind(1, user_id)
      .bind(2, next)
      .bind(3, text)
      .run();
  t.commit();
  return account_document{next, open_document(text, next, user_id, secrets_)};
}

bool account_store::is_id_list(std::string_view name) {
  return std::any_of(kIdLists.begin(), kIdLists.end(),
                     [name](const id_list& list) { return list.key == name; });
}

std::optional<json> account_store::element_secrets(std::int64_t user_id, std::string_view list,
                                                   std::string_view id) {
  if (!is_id_list(list)) return std::nullopt;
  const account_document account = load_account(user_id);
  const auto elements = account.document.find(std::string(list));
  if (elements == account.document.end() || !elements->is_array()) return std::nullopt;
  for (const json& element : *elements) {
    if (!element.is_object()) continue;
    const auto element_id = element.find("id");
    if (element_id == element.end() || !element_id->is_string() ||
        element_id->get_ref<const std::string&>() != id) {
      continue;
    }
    json secrets = json::object();
    for (auto it = element.begin(); it != element.end(); ++it) {
      if (is_secret_key(it.key()) && it->is_string()) secrets[it.key()] = *it;
    }
    return secrets;
  }
  return std::nullopt;
}

// ---- Run history ----------------------------------------------------------------------------

std::int64_t account_store::record_run(std::int64_t user_id, const run_record& run) {
  database::transaction t(db_);
  query(db_,
        "INSERT INTO runs(user_id, task_id, started_at, finished_at, ok, failure, message, "
        "folders, triggered_by) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
      .bind(1, user_id)
      .bind(2, run.task_id)
      .bind(3, run.started_at)
      .bind(4, run.finished_at)
      .bind(5, std::int64_t{run.ok ? 1 : 0})
      .bind(6, run.failure)
      .bind(7, run.message)
      .bind(8, run.folders.is_array() ? run.folders.dump() : std::string("[]"))
      .bind(9, run.trigger)
      .run();
  const std::int64_t id = sqlite3_last_insert_rowid(db_.handle());
  query(db_,
        "DELETE FROM runs WHERE user_id = ?1 AND task_id = ?2 AND id NOT IN ("
        "  SELECT id FROM runs WHERE user_id = ?1 AND task_id = ?2 "
        "  ORDER BY started_at DESC, id DESC LIMIT ?3)")
      .bind(1, user_id)
      .bind(2, run.task_id)
      .bind(3, std::int64_t{kRunsPerTask})
      .run();
  t.commit();
  return id;
}

std::vector<run_record> account_store::runs(std::int64_t user_id, std::string_view task_id,
                                            int limit) {
  std::vector<run_record> out;
  if (limit <= 0) return out;
  query q(db_,
          "SELECT id, task_id, started_at, finished_at, ok, failure, message, folders, "
          "triggered_by FROM runs WHERE user_id = ?1 AND task_id = ?2 "
          "ORDER BY started_at DESC, id DESC LIMIT ?3");
  q.bind(1, user_id).bind(2, task_id).bind(3, std::int64_t{limit});
  while (q.step()) out.push_back(read_run(q));
  return out;
}

// ---- Schedule -------------------------------------------------------------------------------

void account_store::set_schedule(const schedule_entry& entry) {
  query(db_,
        "INSERT INTO schedule(user_id, task_id, next_run_at, consecutive_failures) "
        "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(user_id, task_id) DO UPDATE SET "
        "next_run_at = excluded.next_run_at, "
        "consecutive_failures = excluded.consecutive_failures")
      .bind(1, entry.user_id)
      .bind(2, entry.task_id)
      .bind(3, entry.next_run_at)
      .bind(4, std::int64_t{entry.consecutive_failures})
      .run();
}

std::optional<schedule_entry> account_store::schedule(std::int64_t user_id,
                                                      std::string_view task_id) {
  query q(db_,
          "SELECT user_id, task_id, next_run_at, consecutive_failures FROM schedule "
          "WHERE user_id = ?1 AND task_id = ?2");
  q.bind(1, user_id).bind(2, task_id);
  if (!q.step()) return std::nullopt;
  return read_schedule(q);
}

std::vector<schedule_entry> account_store::due(std::int64_t now) {
  query q(db_,
          "SELECT user_id, task_id, next_run_at, consecutive_failures FROM schedule "
          "WHERE next_run_at <= ?1 ORDER BY next_run_at, user_id, task_id");
  q.bind(1, now);
  std::vector<schedule_entry> out;
  while (q.step()) out.push_back(read_schedule(q));
  return out;
}

void account_store::remove_schedule(std::int64_t user_id, std::string_view task_id) {
  query(db_, "DELETE FROM schedule WHERE user_id = ?1 AND task_id = ?2")
      .bind(1, user_id)
      .bind(2, task_id)
      .run();
}

// ---- Leases ---------------------------------------------------------------------------------

bool account_store::acquire_lease(std::string_view task_key, std::string_view owner,
                                  std::int64_t now, std::int64_t ttl_seconds) {
  // One statement, so the check and the take are atomic without an explicit transaction.
  query(db_,
        "INSERT INTO leases(task_key, owner, expires_at) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(task_key) DO UPDATE SET owner = excluded.owner, "
        "expires_at = excluded.expires_at "
        "WHERE leases.expires_at <= ?4 OR leases.owner = excluded.owner")
      .bind(1, task_key)
      .bind(2, owner)
      .bind(3, add_saturating(now, ttl_seconds))
      .bind(4, now)
      .run();
  return sqlite3_changes(db_.handle()) > 0;
}

bool account_store::renew_lease(std::string_view task_key, std::string_view owner, std::int64_t now,
                                std::int64_t ttl_seconds) {
  // Still ours even past expiry if nobody took it meanwhile: then nobody ran the task.
  query(db_, "UPDATE leases SET expires_at = ?3 WHERE task_key = ?1 AND owner = ?2")
      .bind(1, task_key)
      .bind(2, owner)
      .bind(3, add_saturating(now, ttl_seconds))
      .run();
  return sqlite3_changes(db_.handle()) > 0;
}

void account_store::release_lease(std::string_view task_key, std::string_view owner) {
  query(db_, "DELETE FROM leases WHERE task_key = ?1 AND owner = ?2")
      .bind(1, task_key)
      .bind(2, owner)
      .run();
}

bool account_store::holds_lease(std::string_view task_key, std::string_view owner) {
  query q(db_, "SELECT 1 FROM leases WHERE task_key = ?1 AND owner = ?2");
  q.bind(1, task_key).bind(2, owner);
  return q.step();
}

int account_store::release_leases_of_owners(std::string_view owner_prefix) {
  // LIKE treats '%' and '_' as wildcards: compare the prefix exactly instead.
  query(db_, "DELETE FROM leases WHERE substr(owner, 1, length(?1)) = ?1")
      .bind(1, owner_prefix)
      .run();
  return sqlite3_changes(db_.handle());
}

json without_secrets(const json& document) {
  json copy = document;
  redact(copy);
  return copy;
}

}  // namespace junction::store
