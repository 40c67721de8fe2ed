#include "store/database.h"

#include <sqlite3.h>

#include <ctime>
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
    sqlite3_bind_text(stmt, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
};

}  // namespace

database::database(const std::filesystem::path& file) {
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open " + file.string() + ": " + message);
  }
  sqlite3_busy_timeout(db_, 10000);
  exec("PRAGMA journal_mode=WAL");
  // FULL: a commit is on disk when it returns; the retrieval's "nothing doubled" needs it.
  exec("PRAGMA synchronous=FULL");
  exec("PRAGMA foreign_keys=ON");
  migrate();
}

database::~database() { sqlite3_close(db_); }

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
