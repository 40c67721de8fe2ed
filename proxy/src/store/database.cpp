#include "store/database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <iterator>
#include <stdexcept>

namespace junction::store {
namespace {

// Each entry moves the schema from version i to i+1. Append only; never edit a shipped step.
constexpr const char* kMigrations[] = {
    // 1: per-task retrieval state (seen UIDLs, IMAP folder UIDs and fingerprints).
    "CREATE TABLE retrieval_state ("
    "  task_key TEXT PRIMARY KEY,"
    "  state TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");",

    // 2: users who sign in. Names compare case-insensitively (COLLATE NOCASE folds ASCII
    // letters only), so "Alice" and "alice" are one account. password_hash is
    // crypto::hash_password's "$scrypt$..." string; must_change_password marks the
    // one-time password printed at first start.
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  password_hash TEXT NOT NULL,"
    "  must_change_password INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER))"
    ");",

    // 3: devices, one per browser (or client) that signed in: the base for Synchronized
    // Devices. id is 128 random bits in hex; address is where it was last seen from.
    "CREATE TABLE devices ("
    "  id TEXT PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  user_agent TEXT NOT NULL,"
    "  address TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL"
    ");"
    "CREATE INDEX devices_by_user ON devices(user_id);",

    // 4: sessions, keyed by the SHA-256 (hex) of the token: the token itself is never
    // stored, so a copy of the database signs nobody in. device_id is NULL for a session
    // without a device (CLI); deleting a device ends its sessions.
    "CREATE TABLE sessions ("
    "  token_sha256 TEXT PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  device_id TEXT REFERENCES devices(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX sessions_by_device ON sessions(device_id);"
    "CREATE INDEX sessions_by_expiry ON sessions(expires_at);",

    // 5: each user's account document (retrieval tasks, later SMTP accounts, providers,
    // migrations) as JSON text, with its revision for optimistic concurrency. Secrets in
    // it are sealed ("v1:..." AES-256-GCM strings bound to their place in the document).
    // No row means revision 0 and an empty document.
    "CREATE TABLE account_documents ("
    "  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
    "  revision INTEGER NOT NULL,"
    "  document TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER))"
    ");",

    // 6: run history, the last 100 runs per task (older rows are deleted when a run is
    // recorded). folders is a JSON array of per-folder counts; failure is the failure kind
    // as text, empty for a successful run.
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  task_id TEXT NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER NOT NULL,"
    "  ok INTEGER NOT NULL,"
    "  failure TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  folders TEXT NOT NULL,"
    "  triggered_by TEXT NOT NULL"
    ");"
    "CREATE INDEX runs_by_task ON runs(user_id, task_id, started_at, id);",

    // 7: the schedule, one row per automatic task; survives restarts. consecutive_failures
    // drives the back-off.
    "CREATE TABLE schedule ("
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  task_id TEXT NOT NULL,"
    "  next_run_at INTEGER NOT NULL,"
    "  consecutive_failures INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (user_id, task_id)"
    ");"
    "CREATE INDEX schedule_by_time ON schedule(next_run_at);",

    // 8: leases, so one run of a task happens at a time whoever starts it. A row is held by
    // owner until expires_at; an expired row may be taken over. task_key is the caller's
    // name for the task (not tied to a user row: the CLI runs task files too).
    "CREATE TABLE leases ("
    "  task_key TEXT PRIMARY KEY,"
    "  owner TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ");",
};

struct statement {
  sqlite3_stmt* stmt = nullptr;
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("database: ") + sqlite3_errmsg(db));
    }
  }
  ~statement() { sqlite3_finalize(stmt); }
  void bind(int i, std::string_view text) {
    // A null data pointer (an empty string_view) would bind SQL NULL, not "".
    sqlite3_bind_text(stmt, i, text.data() != nullptr ? text.data() : "",
                      static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
};

}  // namespace

namespace {

// The database holds password hashes, device and address history and run messages: only
// its owner may read it. A new file is made 0600 before SQLite opens it (SQLite gives the
// -wal and -shm files the mode of the database file); an existing file, or one left by an
// older version under a wider umask, loses its group and other bits. Best effort: a file
// this process does not own keeps its mode (SQLite still opens it if it may).
void restrict_mode(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;  // SQLite reports why it cannot open the file
  ::fchmod(fd, 0600);
  ::close(fd);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::filesystem::path side = file.string() + suffix;
    struct stat st {};
    if (::lstat(side.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
      ::chmod(side.c_str(), 0600);
    }
  }
}

}  // namespace

database::database(const std::filesystem::path& file) {
  restrict_mode(file);
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open " + file.string() + ": " + message);
  }
  // The destructor does not run when the constructor throws: close the handle here.
  try {
    sqlite3_busy_timeout(db_, 10000);
    exec("PRAGMA journal_mode=WAL");
    // FULL: a commit is on disk when it returns; the retrieval's "nothing doubled" needs it.
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

database::~database() {
  sqlite3_close(db_);
}

void database::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error("database: " + message);
  }
}

int database::schema_version() const {
  statement s(db_, "PRAGMA user_version");
  sqlite3_step(s.stmt);
  return sqlite3_column_int(s.stmt, 0);
}

int database::latest_schema_version() {
  return static_cast<int>(std::size(kMigrations));
}

database::transaction::transaction(database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

database::transaction::~transaction() {
  if (!done_) sqlite3_exec(db_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void database::transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

void database::migrate() {
  const int target = static_cast<int>(std::size(kMigrations));
  exec("BEGIN IMMEDIATE");
  try {
    int version = schema_version();
    if (version > target) {
      throw std::runtime_error("database: schema version " + std::to_string(version) +
                               " is newer than this junction-proxy (" + std::to_string(target) +
                               ")");
    }
    for (int v = version; v < target; ++v) {
      exec(kMigrations[v]);
      exec(("PRAGMA user_version=" + std::to_string(v + 1)).c_str());
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::optional<std::string> database::load_retrieval_state(std::string_view task_key) {
  statement s(db_, "SELECT state FROM retrieval_state WHERE task_key = ?1");
  s.bind(1, task_key);
  if (sqlite3_step(s.stmt) != SQLITE_ROW) return std::nullopt;
  auto text = reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 0));
  return std::string(text ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(s.stmt, 0)));
}

void database::save_retrieval_state(std::string_view task_key, std::string_view state) {
  statement s(db_,
              "INSERT INTO retrieval_state(task_key, state, updated_at) VALUES(?1, ?2, ?3) "
              "ON CONFLICT(task_key) DO UPDATE SET state = excluded.state, "
              "updated_at = excluded.updated_at");
  s.bind(1, task_key);
  s.bind(2, state);
  sqlite3_bind_int64(s.stmt, 3, static_cast<sqlite3_int64>(std::time(nullptr)));
  if (sqlite3_step(s.stmt) != SQLITE_DONE) {
    throw std::runtime_error(std::string("database: ") + sqlite3_errmsg(db_));
  }
}

}  // namespace junction::store
