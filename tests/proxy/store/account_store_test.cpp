#include "store/account_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <regex>
#include <stdexcept>
#include <thread>

#include "store_test_support.h"

namespace junction::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::read_bytes;
using testing::temp_dir;

class account_store_test : public ::testing::Test {
 protected:
  fs::path db_file() const { return dir_.path() / "junction.db"; }

  // Everything SQLite may have written: the database, its WAL and the shared memory index.
  std::string all_database_bytes() const {
    return read_bytes(db_file()) + read_bytes(db_file().string() + "-wal") +
           read_bytes(db_file().string() + "-shm");
  }

  void checkpoint() {
    ASSERT_EQ(sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                                        nullptr),
              SQLITE_OK);
  }

  // Replaces a user's stored document text, as a copy-paste inside the database would.
  void write_raw_document(std::int64_t user_id, const std::string& text) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_->handle(),
                                 "INSERT INTO account_documents(user_id, revision, document) "
                                 "VALUES(?1, 7, ?2) ON CONFLICT(user_id) DO UPDATE SET "
                                 "document = excluded.document",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, user_id);
    sqlite3_bind_text(stmt, 2, text.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
  }

  json read_raw_document(std::int64_t user_id) {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_->handle(), "SELECT document FROM account_documents WHERE user_id=?1", -1,
                       &stmt, nullptr);
    sqlite3_bind_int64(stmt, 1, user_id);
    json doc;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      doc = json::parse(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return doc;
  }

  temp_dir dir_;
  std::unique_ptr<database> db_ = std::make_unique<database>(db_file());
  crypto::secret_box box_ = crypto::secret_box::open_or_create(dir_.path() / "secret.key");
  // A low scrypt cost keeps the suite fast; one test below signs in at the default cost.
  account_store store_{*db_, box_, crypto::scrypt_cost{10, 8, 1}};
};

json task(std::string_view host) {
  return json{{"protocol", "pop3"}, {"host", host}, {"username", "me"}};
}

// ---- Users ----------------------------------------------------------------------------------

TEST_F(account_store_test, user_signs_in_with_the_right_password_under_any_case_of_the_name) {
  const std::int64_t id = store_.add_user("Alice", "open sesame");
  EXPECT_GT(id, 0);
  EXPECT_EQ(store_.user_count(), 1);

  const auto found = store_.find_user("alice");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, id);
  EXPECT_EQ(found->name, "Alice");
  EXPECT_FALSE(found->must_change_password);

  const auto ok = store_.check_password("ALICE", "open sesame");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->id, id);
  EXPECT_FALSE(store_.check_password("Alice", "open sesame!"));
  EXPECT_FALSE(store_.check_password("Alice", ""));
  EXPECT_FALSE(store_.check_password("Mallory", "open sesame"));
  EXPECT_FALSE(store_.find_user("Mallory"));

  // The hash, not the password, is what the database holds.
  EXPECT_EQ(all_database_bytes().find("open sesame"), std::string::npos);
}

TEST_F(account_store_test, default_cost_user_signs_in_and_an_unknown_name_is_refused) {
  database db(db_file());
  account_store store(db, box_);
  const std::int64_t id = store.add_user("carol", "default cost");
  const auto ok = store.check_password("Carol", "default cost");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->id, id);
  EXPECT_FALSE(store.check_password("carol", "wrong"));
  EXPECT_FALSE(store.check_password("dave", "default cost"));
}

TEST_F(account_store_test, duplicate_or_empty_user_name_is_refused) {
  store_.add_user("Alice", "one");
  EXPECT_THROW(store_.add_user("alice", "two"), std::invalid_argument);
  EXPECT_THROW(store_.add_user("ALICE", "two"), std::invalid_argument);
  EXPECT_THROW(store_.add_user("", "two"), std::invalid_argument);
  EXPECT_THROW(store_.add_user("bad\nname", "two"), std::invalid_argument);
  EXPECT_EQ(store_.user_count(), 1);
  // The first account still signs in with its own password.
  EXPECT_TRUE(store_.check_password("alice", "one"));
  EXPECT_FALSE(store_.check_password("alice", "two"));
}

TEST_F(account_store_test, one_time_password_is_flagged_until_the_password_is_changed) {
  store_.add_user("admin", "printed once", /*must_change_password=*/true);
  store_.add_user("bob", "bob's");
  const auto listed = store_.users();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "admin");
  EXPECT_TRUE(listed[0].must_change_password);
  EXPECT_FALSE(listed[1].must_change_password);

  EXPECT_TRUE(store_.set_password("ADMIN", "chosen"));
  EXPECT_FALSE(store_.check_password("admin", "printed once"));
  const auto after = store_.check_password("admin", "chosen");
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->must_change_password);
  EXPECT_FALSE(store_.set_password("nobody", "x"));
}

TEST_F(account_store_test, a_password_change_ends_every_other_session_of_the_user) {
  const std::int64_t alice = store_.add_user("alice", "first password");
  const std::int64_t bob = store_.add_user("bob", "bob's password");
  const std::string kept = store_.create_session(alice, "", 100, 1000);
  const std::string other = store_.create_session(alice, "", 100, 1000);
  const std::string bobs = store_.create_session(bob, "", 100, 1000);
  ASSERT_TRUE(store_.set_password("Alice", "second password", kept));
  EXPECT_TRUE(store_.find_session(kept, 101));
  EXPECT_FALSE(store_.find_session(other, 101));
  EXPECT_TRUE(store_.find_session(bobs, 101)) << "another user's sessions stay";

  // From the command line there is no current session: every one ends.
  ASSERT_TRUE(store_.set_password("alice", "third password"));
  EXPECT_FALSE(store_.find_session(kept, 101));
  EXPECT_TRUE(store_.find_session(bobs, 101));
  // An unknown user changes nothing.
  EXPECT_FALSE(store_.set_password("nobody", "x", bobs));
  EXPECT_TRUE(store_.find_session(bobs, 101));
}

TEST_F(account_store_test, session_tells_whether_the_user_must_change_the_password) {
  const std::int64_t admin = store_.add_user("admin", "one-time", /*must_change_password=*/true);
  const std::string token = store_.create_session(admin, "", 100, 1000);
  ASSERT_TRUE(store_.find_session(token, 101));
  EXPECT_TRUE(store_.find_session(token, 101)->must_change_password);
  ASSERT_TRUE(store_.set_password("admin", "chosen by me", token));
  ASSERT_TRUE(store_.find_session(token, 101));
  EXPECT_FALSE(store_.find_session(token, 101)->must_change_password);
}

// ---- Sessions and devices -------------------------------------------------------------------

TEST_F(account_store_test, session_token_is_random_256_bits_and_only_its_digest_is_stored) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  const std::string device = store_.register_device(uid, "Laptop", "Firefox/128", "192.0.2.7", 900);
  const std::string token = store_.create_session(uid, device, 1000, 3600);
  EXPECT_TRUE(std::regex_match(token, std::regex("[0-9a-f]{64}"))) << token;
  EXPECT_NE(store_.create_session(uid, device, 1000, 3600), token);

  const auto session = store_.find_session(token, 1001);
  ASSERT_TRUE(session);
  EXPECT_EQ(session->user_id, uid);
  EXPECT_EQ(session->user_name, "alice");
  EXPECT_EQ(session->device_id, device);
  EXPECT_EQ(session->expires_at, 4600);

  const std::string digest = crypto::sha256_hex(token);
  std::string bytes = all_database_bytes();
  EXPECT_EQ(bytes.find(token), std::string::npos);
  EXPECT_NE(bytes.find(digest), std::string::npos) << "reading the wrong files?";
  checkpoint();
  bytes = all_database_bytes();
  EXPECT_EQ(bytes.find(token), std::string::npos);
  EXPECT_NE(bytes.find(digest), std::string::npos);
}

TEST_F(account_store_test, session_expires_and_can_be_signed_out) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  const std::string token = store_.create_session(uid, "", 1000, 60);
  ASSERT_TRUE(store_.find_session(token, 1059));
  EXPECT_EQ(store_.find_session(token, 1059)->device_id, "");
  EXPECT_FALSE(store_.find_session(token, 1060));
  EXPECT_FALSE(store_.find_session(std::string(64, '0'), 1000));
  EXPECT_FALSE(store_.find_session("", 1000));

  const std::string second = store_.create_session(uid, "", 2000, 60);
  ASSERT_TRUE(store_.find_session(second, 2001));
  store_.delete_session(second);
  EXPECT_FALSE(store_.find_session(second, 2001));
}

TEST_F(account_store_test, signing_out_a_device_ends_only_its_sessions) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  const std::string phone =
      store_.register_device(uid, "Phone", "Mobile Safari", "198.51.100.1", 1);
  const std::string laptop = store_.register_device(uid, "Laptop", "Firefox", "198.51.100.2", 1);
  const std::string on_phone = store_.create_session(uid, phone, 10, 1000);
  const std::string on_laptop = store_.create_session(uid, laptop, 10, 1000);
  store_.delete_sessions_of_device(phone);
  EXPECT_FALSE(store_.find_session(on_phone, 11));
  EXPECT_TRUE(store_.find_session(on_laptop, 11));
}

TEST_F(account_store_test, devices_are_registered_touched_and_listed_per_user) {
  const std::int64_t alice = store_.add_user("alice", "pw");
  const std::int64_t bob = store_.add_user("bob", "pw");
  const std::string laptop =
      store_.register_device(alice, "Laptop", "Firefox/128", "192.0.2.1", 100);
  const std::string phone = store_.register_device(alice, "Phone", "Safari/17", "192.0.2.2", 200);
  store_.register_device(bob, "Desk", "Chromium", "192.0.2.3", 300);
  EXPECT_TRUE(std::regex_match(laptop, std::regex("[0-9a-f]{32}"))) << laptop;
  EXPECT_NE(laptop, phone);

  store_.touch_device(laptop, "203.0.113.9", 500);
  const auto list = store_.devices(alice);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, laptop);  // most recently seen first
  EXPECT_EQ(list[0].name, "Laptop");
  EXPECT_EQ(list[0].user_agent, "Firefox/128");
  EXPECT_EQ(list[0].address, "203.0.113.9");
  EXPECT_EQ(list[0].first_seen, 100);
  EXPECT_EQ(list[0].last_seen, 500);
  EXPECT_EQ(list[0].user_id, alice);
  EXPECT_EQ(list[1].id, phone);
  EXPECT_EQ(list[1].last_seen, 200);
  EXPECT_EQ(store_.devices(bob).size(), 1u);
}

// ---- The account document -------------------------------------------------------------------

TEST_F(account_store_test, first_load_is_revision_0_with_no_tasks) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  const account_document doc = store_.load_account(uid);
  EXPECT_EQ(doc.revision, 0);
  EXPECT_EQ(doc.document, json::parse(R"({"revision":0,"retrieval_tasks":[],"smtp_accounts":[]})"));
}

TEST_F(account_store_test, save_assigns_ids_and_revisions_and_refuses_a_stale_write) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json doc = {{"retrieval_tasks", {task("pop.example.org"), task("imap.example.org")}}};
  doc["retrieval_tasks"][1]["id"] = "mine";

  account_document current;
  const auto saved = store_.save_account(uid, 0, doc, &current);
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->revision, 1);
  EXPECT_EQ(saved->document["revision"], 1);
  const json& tasks = saved->document["retrieval_tasks"];
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_TRUE(std::regex_match(tasks[0]["id"].get<std::string>(), std::regex("t[0-9a-f]{16}")))
      << tasks[0]["id"];
  EXPECT_EQ(tasks[1]["id"], "mine");
  EXPECT_EQ(tasks[0]["host"], "pop.example.org");
  EXPECT_EQ(store_.load_account(uid).document, saved->document);

  // Another device edited offline from revision 0: refused, and told the current state.
  json offline = {{"retrieval_tasks", {task("other.example.org")}}};
  EXPECT_FALSE(store_.save_account(uid, 0, offline, &current));
  EXPECT_EQ(current.revision, 1);
  EXPECT_EQ(current.document, saved->document);
  EXPECT_EQ(store_.load_account(uid).document, saved->document);

  const auto next = store_.save_account(uid, 1, offline, nullptr);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->revision, 2);
  EXPECT_EQ(store_.load_account(uid).revision, 2);
  EXPECT_FALSE(store_.save_account(uid, 5, offline, nullptr));
}

TEST_F(account_store_test, save_without_a_password_keeps_the_stored_one) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json with = task("pop.example.org");
  with["id"] = "t1";
  with["password"] = "first secret";
  ASSERT_TRUE(store_.save_account(uid, 0, json{{"retrieval_tasks", {with}}}, nullptr));

  json without = task("pop.example.org");
  without["id"] = "t1";
  without["leave_on_server"] = true;
  const auto kept = store_.save_account(uid, 1, json{{"retrieval_tasks", {without}}}, nullptr);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->document["retrieval_tasks"][0]["password"], "first secret");
  EXPECT_EQ(kept->document["retrieval_tasks"][0]["leave_on_server"], true);

  without["password"] = nullptr;
  ASSERT_TRUE(store_.save_account(uid, 2, json{{"retrieval_tasks", {without}}}, nullptr));
  EXPECT_EQ(store_.load_account(uid).document["retrieval_tasks"][0]["password"], "first secret");

  with["password"] = "second secret";
  ASSERT_TRUE(store_.save_account(uid, 3, json{{"retrieval_tasks", {with}}}, nullptr));
  EXPECT_EQ(store_.load_account(uid).document["retrieval_tasks"][0]["password"], "second secret");

  // A new task (another id) never inherits someone else's password.
  json fresh = task("pop.example.org");
  const auto added = store_.save_account(uid, 4, json{{"retrieval_tasks", {with, fresh}}}, nullptr);
  ASSERT_TRUE(added);
  EXPECT_FALSE(added->document["retrieval_tasks"][1].contains("password"));
}

json smtp_account(std::string_view server);  // below, beside the SMTP tests

json model_task() {
  return json{{"id", "t1"},         {"type", "imap"},        {"server", "imap.example.org"},
              {"port", 993},        {"encryption", "ssl"},   {"username", "me"},
              {"password", "mine"}, {"interval_minutes", 10}};
}

TEST_F(account_store_test, changing_where_a_task_logs_in_drops_its_stored_password) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  std::int64_t revision = 0;
  const auto save = [&](const json& t) {
    const auto saved = store_.save_account(uid, revision, json{{"retrieval_tasks", {t}}}, nullptr);
    EXPECT_TRUE(saved);
    if (!saved) return json();
    revision = saved->revision;
    return saved->document["retrieval_tasks"][0];
  };
  save(model_task());
  const std::vector<std::pair<std::string, json>> changes = {
      {"type", "pop3"},      {"server", "evil.example"},    {"port", 143},
      {"username", "other"}, {"encryption", "none"},        {"pinned_cert_sha256", "ab"},
      {"server", nullptr},   {"encryption", json::object()}};
  for (const auto& [field, value] : changes) {
    json changed = model_task();
    changed.erase("password");
    if (value.is_null()) {
      changed.erase(field);
    } else {
      changed[field] = value;
    }
    EXPECT_FALSE(save(changed).contains("password")) << field << " → " << value.dump();
    EXPECT_EQ(store_.element_secrets(uid, "retrieval_tasks", "t1").value_or(json("absent")),
              json::object());
    // With a new password in the same write, that one is stored.
    changed["password"] = "new one";
    EXPECT_EQ(save(changed)["password"], "new one") << field;
    save(model_task());  // back where it was, with its password
  }
  // A field that does not say where the password goes keeps it.
  json other = model_task();
  other.erase("password");
  other["interval_minutes"] = 60;
  other["leave_on_server"] = true;
  EXPECT_EQ(save(other)["password"], "mine");
}

TEST_F(account_store_test, changing_where_an_smtp_password_goes_drops_it) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json account = smtp_account("smtp.example.org");
  account["id"] = "s1";
  account["password"] = "smtp secret";
  ASSERT_TRUE(store_.save_account(uid, 0, json{{"smtp_accounts", {account}}}, nullptr));
  account.erase("password");
  account["port"] = 465;
  account["encryption"] = "ssl";
  const auto moved = store_.save_account(uid, 1, json{{"smtp_accounts", {account}}}, nullptr);
  ASSERT_TRUE(moved);
  EXPECT_FALSE(moved->document["smtp_accounts"][0].contains("password"));
  EXPECT_EQ(store_.element_secrets(uid, "smtp_accounts", "s1").value_or(json("absent")),
            json::object());
}

TEST_F(account_store_test, the_page_sees_markers_where_secrets_are_and_reads_them_one_by_one) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json without_password = model_task();
  without_password["id"] = "t2";
  without_password.erase("password");
  json account = smtp_account("smtp.example.org");
  account["id"] = "s1";
  account["password"] = "smtp secret";
  const auto saved = store_.save_account(
      uid, 0,
      json{{"retrieval_tasks", {model_task(), without_password}},
           {"smtp_accounts", {account}},
           {"providers", {{{"id", "p1"}, {"oauth", {{"refresh_token", "rt"}}}}}}},
      nullptr);
  ASSERT_TRUE(saved);
  const json page = without_secrets(saved->document);
  const std::string text = page.dump();
  for (const char* secret : {"\"mine\"", "smtp secret", "\"rt\""}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
  }
  EXPECT_EQ(page["retrieval_tasks"][0]["password_set"], true);
  EXPECT_FALSE(page["retrieval_tasks"][1].contains("password_set"));
  EXPECT_EQ(page["smtp_accounts"][0]["password_set"], true);
  EXPECT_EQ(page["providers"][0]["oauth"]["refresh_token_set"], true);
  EXPECT_EQ(page["retrieval_tasks"][0]["server"], "imap.example.org");

  EXPECT_EQ(store_.element_secrets(uid, "retrieval_tasks", "t1").value_or(json("absent")),
            (json{{"password", "mine"}}));
  EXPECT_EQ(store_.element_secrets(uid, "retrieval_tasks", "t2").value_or(json("absent")),
            json::object());
  EXPECT_EQ(store_.element_secrets(uid, "smtp_accounts", "s1").value_or(json("absent")),
            (json{{"password", "smtp secret"}}));
  EXPECT_FALSE(store_.element_secrets(uid, "retrieval_tasks", "s1"));
  EXPECT_FALSE(store_.element_secrets(uid, "nothing", "t1"));
  EXPECT_FALSE(store_.element_secrets(store_.add_user("bob", "pw"), "retrieval_tasks", "t1"));

  // Written back as the page has it, the markers go and the passwords stay.
  const auto again = store_.save_account(uid, 1, page, nullptr);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->document["retrieval_tasks"][0]["password"], "mine");
  EXPECT_FALSE(again->document["retrieval_tasks"][0].contains("password_set"));
  EXPECT_EQ(again->document["providers"][0]["oauth"]["refresh_token"], "rt");
  EXPECT_FALSE(read_raw_document(uid)["smtp_accounts"][0].contains("password_set"));
}

TEST_F(account_store_test, clear_text_secrets_never_reach_the_database_files) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json t = task("imap.distinct-host.example");
  t["password"] = "Zebra-Quartz-9471-secret";
  t["oauth"] = {{"refresh_token", "Refresh-Kestrel-5566"}, {"scope", "mail"}};
  json doc = {{"retrieval_tasks", {t}},
              {"smtp_accounts", {{{"id", "s1"}, {"client_secret", "Smtp-Heron-7788"}}}}};
  const auto saved = store_.save_account(uid, 0, doc, nullptr);
  ASSERT_TRUE(saved);

  auto expect_no_clear_text = [&](const std::string& when) {
    const std::string bytes = all_database_bytes();
    EXPECT_NE(bytes.find("imap.distinct-host.example"), std::string::npos)
        << when << ": the document is not in these files at all?";
    for (const char* secret :
         {"Zebra-Quartz-9471-secret", "Refresh-Kestrel-5566", "Smtp-Heron-7788"}) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << when << ": " << secret;
    }
  };
  expect_no_clear_text("before the checkpoint");

  const json loaded = store_.load_account(uid).document;
  EXPECT_EQ(loaded["retrieval_tasks"][0]["password"], "Zebra-Quartz-9471-secret");
  EXPECT_EQ(loaded["retrieval_tasks"][0]["oauth"]["refresh_token"], "Refresh-Kestrel-5566");
  EXPECT_EQ(loaded["retrieval_tasks"][0]["oauth"]["scope"], "mail");
  EXPECT_EQ(loaded["smtp_accounts"][0]["client_secret"], "Smtp-Heron-7788");
  EXPECT_EQ(loaded, saved->document);

  const json raw = read_raw_document(uid);
  const std::string id = raw["retrieval_tasks"][0]["id"];
  EXPECT_TRUE(
      crypto::secret_box::is_sealed(raw["retrieval_tasks"][0]["password"].get<std::string>()));
  EXPECT_EQ(box_.open(raw["retrieval_tasks"][0]["password"].get<std::string>(),
                      "user:" + std::to_string(uid) + "/retrieval_tasks/" + id + "/password"),
            "Zebra-Quartz-9471-secret");

  checkpoint();
  expect_no_clear_text("after the checkpoint");
  db_.reset();
  expect_no_clear_text("after closing");
}

TEST_F(account_store_test, sealed_value_moved_to_another_task_does_not_open) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json a = task("a.example.org");
  a["id"] = "tA";
  a["password"] = "secret of A";
  json b = task("b.example.org");
  b["id"] = "tB";
  ASSERT_TRUE(store_.save_account(uid, 0, json{{"retrieval_tasks", {a, b}}}, nullptr));

  json raw = read_raw_document(uid);
  raw["retrieval_tasks"][1]["password"] = raw["retrieval_tasks"][0]["password"];
  raw["retrieval_tasks"][0].erase("password");
  write_raw_document(uid, raw.dump());

  const account_document loaded = store_.load_account(uid);
  const json& moved = loaded.document["retrieval_tasks"][1];
  EXPECT_EQ(moved["id"], "tB");
  EXPECT_FALSE(moved.contains("password"));
  EXPECT_EQ(moved["secret_unreadable"], true);
  EXPECT_FALSE(loaded.document["retrieval_tasks"][0].contains("secret_unreadable"));

  // Copied into another user's document, it does not open either.
  const std::int64_t bob = store_.add_user("bob", "pw");
  json stolen = read_raw_document(uid);
  stolen["retrieval_tasks"][1]["id"] = "tB";
  write_raw_document(bob, stolen.dump());
  EXPECT_EQ(store_.load_account(bob).document["retrieval_tasks"][1]["secret_unreadable"], true);

  // Entering the password again clears the mark.
  json fixed = loaded.document;
  fixed["retrieval_tasks"][1]["password"] = "new secret of B";
  const auto saved = store_.save_account(uid, loaded.revision, fixed, nullptr);
  ASSERT_TRUE(saved);
  EXPECT_FALSE(saved->document["retrieval_tasks"][1].contains("secret_unreadable"));
  EXPECT_EQ(saved->document["retrieval_tasks"][1]["password"], "new secret of B");
}

TEST_F(account_store_test, malformed_document_is_refused_and_nothing_changes) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json dup_a = task("a");
  dup_a["id"] = "same";
  json bad_secret = task("a");
  bad_secret["password"] = 1234;
  for (const json& bad :
       {json::array(), json{{"retrieval_tasks", "nope"}}, json{{"retrieval_tasks", {1}}},
        json{{"retrieval_tasks", {dup_a, dup_a}}}, json{{"retrieval_tasks", {bad_secret}}}}) {
    EXPECT_THROW(store_.save_account(uid, 0, bad, nullptr), std::invalid_argument) << bad;
  }
  EXPECT_EQ(store_.load_account(uid).revision, 0);
}

// ---- SMTP accounts in the account document ---------------------------------------------------

json smtp_account(std::string_view server) {
  return json{
      {"display_name", "Jane Doe"},  {"server", server}, {"port", 587}, {"encryption", "starttls"},
      {"email", "jdoe@example.com"}, {"auth", true}};
}

TEST_F(account_store_test, smtp_accounts_get_ids_of_their_own_beside_the_tasks) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json mine = smtp_account("b.example.org");
  mine["id"] = "s-mine";
  // The same id in the other list is no clash: ids are per list.
  json task_with_same_id = task("pop.example.org");
  task_with_same_id["id"] = "s-mine";
  const json doc = {{"retrieval_tasks", {task_with_same_id}},
                    {"smtp_accounts", {smtp_account("a.example.org"), mine}}};
  const auto saved = store_.save_account(uid, 0, doc, nullptr);
  ASSERT_TRUE(saved);
  const json& accounts = saved->document["smtp_accounts"];
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_TRUE(std::regex_match(accounts[0]["id"].get<std::string>(), std::regex("s[0-9a-f]{16}")))
      << accounts[0]["id"];
  EXPECT_EQ(accounts[1]["id"], "s-mine");
  EXPECT_EQ(accounts[0]["server"], "a.example.org");
  EXPECT_EQ(saved->document["retrieval_tasks"][0]["id"], "s-mine");
  EXPECT_EQ(store_.load_account(uid).document, saved->document);

  // Saving the returned document again keeps every id.
  const auto again = store_.save_account(uid, 1, saved->document, nullptr);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->document["smtp_accounts"][0]["id"], accounts[0]["id"]);

  // A document without the list (an older client) stores an empty one.
  const auto without =
      store_.save_account(uid, 2, json{{"retrieval_tasks", json::array()}}, nullptr);
  ASSERT_TRUE(without);
  EXPECT_EQ(without->document["smtp_accounts"], json::array());
}

TEST_F(account_store_test, smtp_account_saved_without_a_password_keeps_the_stored_one) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json with = smtp_account("smtp.example.org");
  with["id"] = "s1";
  with["password"] = "smtp first secret";
  // A task with the same id and its own password: the lists never mix their secrets.
  json t = task("pop.example.org");
  t["id"] = "s1";
  t["password"] = "task secret";
  ASSERT_TRUE(store_.save_account(uid, 0, json{{"retrieval_tasks", {t}}, {"smtp_accounts", {with}}},
                                  nullptr));

  json without = smtp_account("smtp.example.org");
  without["id"] = "s1";
  // (Not the port: a changed port drops the password, see
  // changing_where_an_smtp_password_goes_drops_it.)
  without["display_name"] = "Jane at work";
  json t_without = task("pop.example.org");
  t_without["id"] = "s1";
  const auto kept = store_.save_account(
      uid, 1, json{{"retrieval_tasks", {t_without}}, {"smtp_accounts", {without}}}, nullptr);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->document["smtp_accounts"][0]["password"], "smtp first secret");
  EXPECT_EQ(kept->document["smtp_accounts"][0]["display_name"], "Jane at work");
  EXPECT_EQ(kept->document["retrieval_tasks"][0]["password"], "task secret");

  without["password"] = nullptr;
  ASSERT_TRUE(store_.save_account(uid, 2, json{{"smtp_accounts", {without}}}, nullptr));
  EXPECT_EQ(store_.load_account(uid).document["smtp_accounts"][0]["password"], "smtp first secret");

  with["password"] = "smtp second secret";
  ASSERT_TRUE(store_.save_account(uid, 3, json{{"smtp_accounts", {with}}}, nullptr));
  EXPECT_EQ(store_.load_account(uid).document["smtp_accounts"][0]["password"],
            "smtp second secret");

  // A new account (another id) never inherits another's password.
  const auto added = store_.save_account(
      uid, 4, json{{"smtp_accounts", {with, smtp_account("smtp.example.org")}}}, nullptr);
  ASSERT_TRUE(added);
  EXPECT_FALSE(added->document["smtp_accounts"][1].contains("password"));
}

TEST_F(account_store_test, smtp_password_is_sealed_in_the_database_files) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json a = smtp_account("smtp.distinct-host.example");
  a["password"] = "Osprey-Walnut-3141-smtp";
  const auto saved = store_.save_account(uid, 0, json{{"smtp_accounts", {a}}}, nullptr);
  ASSERT_TRUE(saved);
  const std::string id = saved->document["smtp_accounts"][0]["id"];
  EXPECT_EQ(saved->document["smtp_accounts"][0]["password"], "Osprey-Walnut-3141-smtp");

  auto expect_sealed = [&](const std::string& when) {
    const std::string bytes = all_database_bytes();
    EXPECT_NE(bytes.find("smtp.distinct-host.example"), std::string::npos)
        << when << ": the document is not in these files at all?";
    EXPECT_EQ(bytes.find("Osprey-Walnut-3141-smtp"), std::string::npos) << when;
  };
  expect_sealed("before the checkpoint");
  const json raw = read_raw_document(uid);
  const std::string sealed = raw["smtp_accounts"][0]["password"];
  EXPECT_TRUE(crypto::secret_box::is_sealed(sealed));
  // Sealed for its place: the account's id in smtp_accounts, not a task's.
  EXPECT_EQ(box_.open(sealed, "user:" + std::to_string(uid) + "/smtp_accounts/" + id + "/password"),
            "Osprey-Walnut-3141-smtp");
  EXPECT_FALSE(
      box_.open(sealed, "user:" + std::to_string(uid) + "/retrieval_tasks/" + id + "/password"));
  checkpoint();
  expect_sealed("after the checkpoint");
  db_.reset();
  expect_sealed("after closing");
}

TEST_F(account_store_test, malformed_smtp_account_list_is_refused_and_nothing_changes) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  json dup = smtp_account("a");
  dup["id"] = "same";
  json bad_secret = smtp_account("a");
  bad_secret["password"] = 1234;
  json bad_id = smtp_account("a");
  bad_id["id"] = 7;
  for (const json& bad :
       {json{{"smtp_accounts", "nope"}}, json{{"smtp_accounts", {1}}},
        json{{"smtp_accounts", {dup, dup}}}, json{{"smtp_accounts", {bad_secret}}},
        json{{"smtp_accounts", {bad_id}}}}) {
    EXPECT_THROW(store_.save_account(uid, 0, bad, nullptr), std::invalid_argument) << bad;
  }
  EXPECT_EQ(store_.load_account(uid).revision, 0);
}

TEST_F(account_store_test, two_writers_on_two_connections_never_both_win) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  constexpr int kAttempts = 15;
  int wins[2] = {0, 0};
  auto writer = [&](int which) {
    database db(db_file());
    account_store store(db, box_, crypto::scrypt_cost{10, 8, 1});
    for (int i = 0; i < kAttempts; ++i) {
      const account_document seen = store.load_account(uid);
      json doc = seen.document;
      doc["retrieval_tasks"].push_back(task("w" + std::to_string(which)));
      if (store.save_account(uid, seen.revision, doc, nullptr)) ++wins[which];
    }
  };
  std::thread first(writer, 0);
  std::thread second(writer, 1);
  first.join();
  second.join();
  const account_document final_doc = store_.load_account(uid);
  // Every successful save added exactly one task on top of the one it read.
  EXPECT_EQ(final_doc.revision, wins[0] + wins[1]);
  EXPECT_EQ(final_doc.document["retrieval_tasks"].size(),
            static_cast<std::size_t>(wins[0] + wins[1]));
}

// ---- Runs, schedule, leases -----------------------------------------------------------------

TEST_F(account_store_test, run_history_keeps_the_last_100_per_task_newest_first) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  for (int i = 0; i < 105; ++i) {
    run_record r;
    r.task_id = "t1";
    r.started_at = 1000 + i;
    r.finished_at = 1000 + i + 1;
    r.ok = i % 2 == 0;
    r.failure = r.ok ? "" : "auth";
    r.message = "run " + std::to_string(i);
    r.folders =
        json::array({{{"folder", "INBOX"}, {"new", i}, {"already_had", 0}, {"deleted", 0}}});
    r.trigger = "schedule";
    EXPECT_GT(store_.record_run(uid, r), 0);
  }
  run_record other;
  other.task_id = "t2";
  other.started_at = 5;
  other.ok = true;
  other.trigger = "manual";
  store_.record_run(uid, other);

  const auto all = store_.runs(uid, "t1", 1000);
  ASSERT_EQ(all.size(), 100u);
  EXPECT_EQ(all.front().started_at, 1104);
  EXPECT_EQ(all.front().message, "run 104");
  EXPECT_TRUE(all.front().ok);
  EXPECT_EQ(all.back().started_at, 1005);
  EXPECT_EQ(all[1].failure, "auth");
  EXPECT_FALSE(all[1].ok);
  EXPECT_EQ(all.front().folders[0]["new"], 104);
  EXPECT_EQ(all.front().trigger, "schedule");
  EXPECT_EQ(all.front().finished_at, 1105);

  EXPECT_EQ(store_.runs(uid, "t1", 3).size(), 3u);
  EXPECT_TRUE(store_.runs(uid, "t1", 0).empty());
  const auto t2 = store_.runs(uid, "t2", 10);
  ASSERT_EQ(t2.size(), 1u);
  EXPECT_EQ(t2[0].trigger, "manual");
  EXPECT_TRUE(store_.runs(uid + 1, "t1", 10).empty());
}

TEST_F(account_store_test, schedule_is_set_found_due_and_removed) {
  const std::int64_t uid = store_.add_user("alice", "pw");
  store_.set_schedule({uid, "t1", 600, 0});
  store_.set_schedule({uid, "t2", 300, 2});
  store_.set_schedule({uid, "t3", 900, 0});

  auto due = store_.due(600);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].task_id, "t2");
  EXPECT_EQ(due[0].consecutive_failures, 2);
  EXPECT_EQ(due[1].task_id, "t1");
  EXPECT_TRUE(store_.due(299).empty());

  store_.set_schedule({uid, "t2", 1200, 3});  // after a failure: backed off
  const auto t2 = store_.schedule(uid, "t2");
  ASSERT_TRUE(t2);
  EXPECT_EQ(t2->next_run_at, 1200);
  EXPECT_EQ(t2->consecutive_failures, 3);
  EXPECT_EQ(t2->user_id, uid);
  EXPECT_EQ(store_.due(600).size(), 1u);

  store_.remove_schedule(uid, "t1");
  EXPECT_FALSE(store_.schedule(uid, "t1"));
  EXPECT_TRUE(store_.due(600).empty());
  EXPECT_EQ(store_.due(10000).size(), 2u);
}

TEST_F(account_store_test, lease_allows_one_owner_at_a_time_until_it_expires) {
  EXPECT_TRUE(store_.acquire_lease("task-1", "scheduler", 100, 60));
  EXPECT_FALSE(store_.acquire_lease("task-1", "browser", 110, 60));
  EXPECT_TRUE(store_.acquire_lease("task-2", "browser", 110, 60));  // another task is free
  EXPECT_TRUE(store_.acquire_lease("task-1", "scheduler", 120, 60));

  EXPECT_FALSE(store_.renew_lease("task-1", "browser", 130, 60));
  EXPECT_TRUE(store_.renew_lease("task-1", "scheduler", 130, 60));  // now until 190
  EXPECT_FALSE(store_.acquire_lease("task-1", "browser", 189, 60));
  EXPECT_TRUE(store_.acquire_lease("task-1", "browser", 190, 60));  // expired: taken over
  EXPECT_FALSE(store_.renew_lease("task-1", "scheduler", 191, 60));

  store_.release_lease("task-1", "scheduler");  // not the holder: no effect
  EXPECT_FALSE(store_.acquire_lease("task-1", "scheduler", 200, 60));
  store_.release_lease("task-1", "browser");
  EXPECT_TRUE(store_.acquire_lease("task-1", "scheduler", 200, 60));
}

}  // namespace
}  // namespace junction::store
