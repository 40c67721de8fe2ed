// The proxy's SQLite database (DATA/junction.db): WAL, full synchronous commits, versioned
// schema migrations. This first version holds the per-task retrieval state; the account
// store (users, sessions, devices, the account document) is added by later migrations.
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
