// The proxy's SQLite database (DATA/junction.db): WAL, full synchronous commits, versioned
// schema migrations. Migration 1 holds the per-task retrieval state; migrations 2 and up
// hold the account store (users, sessions, devices, the account document, run history,
// the schedule and leases; see kMigrations in database.cpp and store/account_store.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;

namespace junction::store {

class database {
 public:
  // Opens (creating) the database and applies pending migrations. Throws std::runtime_error
  // with SQLite's message when that fails.
  explicit database(const std::filesystem::path& file);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  int schema_version() const;
  // The version a database has once every migration this build knows is applied.
  static int latest_schema_version();

  // BEGIN IMMEDIATE (takes the write lock up front, so a read-check-write sequence inside
  // cannot lose to another writer); rolled back unless commit() was called. Not nestable.
  class transaction {
   public:
    explicit transaction(database& db);
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    void commit();

   private:
    database& db_;
    bool done_ = false;
  };

  // The state document a task's last run saved.
  std::optional<std::string> load_retrieval_state(std::string_view task_key);
  // Durable when it returns (synchronous=FULL in WAL mode).
  void save_retrieval_state(std::string_view task_key, std::string_view state);

  sqlite3* handle() { return db_; }

 private:
  void exec(const char* sql);
  void migrate();
  sqlite3* db_ = nullptr;
};

}  // namespace junction::store
