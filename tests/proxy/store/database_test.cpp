#include "store/database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <stdexcept>
#include <string>

#include "store_test_support.h"

namespace junction::store {
namespace {

using testing::temp_dir;

// Runs one statement on a raw connection, as an older junction-proxy (or an admin) would.
void raw_exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

bool has_table(database& db, const char* name) {
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db.handle(), "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", -1,
                     &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
  const bool found = sqlite3_step(stmt) == SQLITE_ROW;
  sqlite3_finalize(stmt);
  return found;
}

TEST(database, fresh_database_gets_every_migration_and_reopening_changes_nothing) {
  temp_dir dir;
  const auto file = dir.path() / "junction.db";
  ASSERT_GE(database::latest_schema_version(), 8);
  {
    database db(file);
    EXPECT_EQ(db.schema_version(), database::latest_schema_version());
    for (const char* table : {"retrieval_state", "users", "devices", "sessions",
                              "account_documents", "runs", "schedule", "leases"}) {
      EXPECT_TRUE(has_table(db, table)) << table;
    }
    db.save_retrieval_state("pop3:alice@example.org", R"({"seen":["a"]})");
  }
  database again(file);
  EXPECT_EQ(again.schema_version(), database::latest_schema_version());
  EXPECT_EQ(again.load_retrieval_state("pop3:alice@example.org"), R"({"seen":["a"]})");
}

int mode_of(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

TEST(database, files_are_readable_by_the_owner_only_whatever_the_umask) {
  temp_dir dir;
  const auto file = dir.path() / "junction.db";
  const mode_t old_umask = ::umask(022);
  {
    database db(file);
    db.save_retrieval_state("k", "{}");
    EXPECT_EQ(mode_of(file), 0600);
    EXPECT_EQ(mode_of(file.string() + "-wal"), 0600);
    EXPECT_EQ(mode_of(file.string() + "-shm"), 0600);
  }
  // A database an older version left readable by everyone is narrowed when opened.
  const auto old_file = dir.path() / "old.db";
  {
    database db(old_file);
    db.save_retrieval_state("k", "{}");
  }
  ::chmod(old_file.c_str(), 0644);
  {
    database db(old_file);
    EXPECT_EQ(mode_of(old_file), 0600);
    EXPECT_EQ(db.load_retrieval_state("k"), "{}");
  }
  ::umask(old_umask);
}

TEST(database, version_1_database_upgrades_and_keeps_its_retrieval_state) {
  temp_dir dir;
  const auto file = dir.path() / "junction.db";
  {
    // Exactly what the first release created.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &raw), SQLITE_OK);
    raw_exec(raw, "PRAGMA journal_mode=WAL");
    raw_exec(raw,
             "CREATE TABLE retrieval_state (task_key TEXT PRIMARY KEY, state TEXT NOT NULL,"
             " updated_at INTEGER NOT NULL)");
    raw_exec(raw,
             "INSERT INTO retrieval_state VALUES('imap:bob@example.org', '{\"uids\":[1,2,3]}', 5),"
             " ('pop3:carol@example.org', '{\"seen\":[]}', 6)");
    raw_exec(raw, "PRAGMA user_version=1");
    sqlite3_close(raw);
  }
  database db(file);
  EXPECT_EQ(db.schema_version(), database::latest_schema_version());
  EXPECT_EQ(db.load_retrieval_state("imap:bob@example.org"), R"({"uids":[1,2,3]})");
  EXPECT_EQ(db.load_retrieval_state("pop3:carol@example.org"), R"({"seen":[]})");
  EXPECT_TRUE(has_table(db, "users"));
  EXPECT_TRUE(has_table(db, "leases"));
}

TEST(database, newer_schema_is_refused_untouched) {
  temp_dir dir;
  const auto file = dir.path() / "junction.db";
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &raw), SQLITE_OK);
    raw_exec(raw, "PRAGMA user_version=999");
    sqlite3_close(raw);
  }
  try {
    database db(file);
    FAIL() << "a database from a newer junction-proxy was opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("999"), std::string::npos) << e.what();
  }
}

TEST(database, transaction_rolls_back_unless_committed) {
  temp_dir dir;
  database db(dir.path() / "junction.db");
  {
    database::transaction t(db);
    db.save_retrieval_state("k", "rolled back");
  }
  EXPECT_EQ(db.load_retrieval_state("k"), std::nullopt);
  {
    database::transaction t(db);
    db.save_retrieval_state("k", "kept");
    t.commit();
  }
  EXPECT_EQ(db.load_retrieval_state("k"), "kept");
}

}  // namespace
}  // namespace junction::store
