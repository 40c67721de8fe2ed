#include "mailbox/maildir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <stdexcept>

#include "mailbox/posix_file.h"

namespace junction::mailbox {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view key_a =
    "00000000000000000000000000000000000000000000000000000000000000aa";
constexpr std::string_view key_b = "0123456789abcdef";
constexpr std::string_view message = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n";

class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/junction-maildir-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Delivers one message and commits; returns the one result.
commit_result deliver(maildir& box, std::string_view folder, std::string_view key,
                      unsigned flags = 0, std::int64_t date = 1600000000,
                      std::string_view bytes = message) {
  const auto id = box.begin(folder);
  box.write(id, bytes);
  box.end(id, key, flags, date);
  auto results = box.commit();
  EXPECT_EQ(results.size(), 1u);
  if (results.empty()) return {};
  EXPECT_EQ(results[0].delivery, id);
  return results[0];
}

// Every message file of a folder (new/ and cur/), as "new/NAME" or "cur/NAME".
std::vector<std::string> messages_in(const fs::path& folder) {
  std::vector<std::string> all;
  for (const char* sub : {"new", "cur"}) {
    for (auto& n : names_in(folder / sub)) all.push_back(std::string(sub) + "/" + n);
  }
  return all;
}

TEST(maildir, creates_inbox_layout) {
  temp_dir t;
  const auto root = t.path() / "data" / "mailbox";
  maildir box(root);
  for (const char* sub : {"cur", "new", "tmp"}) EXPECT_TRUE(fs::is_directory(root / sub)) << sub;
  EXPECT_FALSE(fs::exists(root / "maildirfolder"));  // INBOX is not a Maildir++ subfolder
  EXPECT_EQ(box.folder_dir("INBOX"), root);
  EXPECT_EQ(box.folder_dir(""), root);
}

TEST(maildir, creates_folders_with_marker) {
  temp_dir t;
  maildir box(t.path());
  const auto dir = box.folder_dir("Work/Sub");
  EXPECT_EQ(dir, t.path() / ".Work.Sub");
  for (const char* sub : {"cur", "new", "tmp"}) EXPECT_TRUE(fs::is_directory(dir / sub)) << sub;
  EXPECT_TRUE(fs::is_regular_file(dir / "maildirfolder"));
  EXPECT_EQ(fs::file_size(dir / "maildirfolder"), 0u);
  // Dovecot lists "Work" as a parent without a directory of its own.
  EXPECT_FALSE(fs::exists(t.path() / ".Work"));
}

TEST(maildir, folder_names_on_disk) {
  temp_dir t;
  maildir box(t.path());
  EXPECT_EQ(box.folder_dir("A & B"), t.path() / ".A &- B");
  EXPECT_EQ(box.folder_dir("with space"), t.path() / ".with space");
  EXPECT_EQ(box.folder_dir("\xc3\x89t\xc3\xa9"), t.path() / ".&AMk-t&AOk-");
  EXPECT_EQ(box.folder_dir("a.b"), t.path() / ".a\\2eb");
  EXPECT_EQ(box.folder_dir("INBOX/sub"), t.path() / ".INBOX.sub");
  for (const char* name : {".A &- B", ".with space", ".&AMk-t&AOk-", ".a\\2eb", ".INBOX.sub"}) {
    EXPECT_TRUE(fs::is_regular_file(t.path() / name / "maildirfolder")) << name;
  }
  EXPECT_THROW(box.folder_dir("a//b"), std::invalid_argument);
}

TEST(maildir, message_without_flags_goes_to_new) {
  temp_dir t;
  maildir box(t.path());
  const auto r = deliver(box, "INBOX", key_a, 0);
  EXPECT_EQ(r.status, commit_status::stored) << r.error;
  EXPECT_TRUE(names_in(t.path() / "cur").empty());
  const auto names = names_in(t.path() / "new");
  ASSERT_EQ(names.size(), 1u);
  EXPECT_TRUE(
      std::regex_match(names[0], std::regex("[0-9]+\\.J" + std::string(key_a) + "\\.[^/:]+")))
      << names[0];
}

TEST(maildir, flags_go_to_cur_sorted) {
  temp_dir t;
  maildir box(t.path());
  const unsigned all =
      static_cast<unsigned>(message_flag::seen) | static_cast<unsigned>(message_flag::answered) |
      static_cast<unsigned>(message_flag::flagged) | static_cast<unsigned>(message_flag::draft) |
      static_cast<unsigned>(message_flag::deleted);
  EXPECT_EQ(deliver(box, "Work", key_a, all).status, commit_status::stored);
  const unsigned seen_answered =
      static_cast<unsigned>(message_flag::seen) | static_cast<unsigned>(message_flag::answered);
  EXPECT_EQ(deliver(box, "Work", key_b, seen_answered).status, commit_status::stored);
  const auto dir = t.path() / ".Work";
  EXPECT_TRUE(names_in(dir / "new").empty());
  const auto names = names_in(dir / "cur");
  ASSERT_EQ(names.size(), 2u);
  std::vector<std::string> suffixes;
  for (const auto& n : names) suffixes.push_back(n.substr(n.rfind(':')));
  std::sort(suffixes.begin(), suffixes.end());
  EXPECT_EQ(suffixes, (std::vector<std::string>{":2,DFRST", ":2,RS"}));
}

TEST(maildir, mtime_is_internal_date) {
  temp_dir t;
  maildir box(t.path());
  deliver(box, "INBOX", key_a, 0, 1234567890);
  deliver(box, "INBOX", key_b, static_cast<unsigned>(message_flag::seen), -86400);  // 1969
  const auto n = names_in(t.path() / "new");
  const auto c = names_in(t.path() / "cur");
  ASSERT_EQ(n.size(), 1u);
  ASSERT_EQ(c.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat((t.path() / "new" / n[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 1234567890);
  EXPECT_EQ(st.st_atime, 1234567890);
  ASSERT_EQ(::stat((t.path() / "cur" / c[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, -86400);
}

TEST(maildir, internal_date_zero_means_now) {
  temp_dir t;
  maildir box(t.path());
  const auto before = std::time(nullptr);
  deliver(box, "INBOX", key_a, 0, 0);
  const auto n = names_in(t.path() / "new");
  ASSERT_EQ(n.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat((t.path() / "new" / n[0]).c_str(), &st), 0);
  EXPECT_GE(st.st_mtime, before);
  EXPECT_LE(st.st_mtime, std::time(nullptr));
}

TEST(maildir, content_is_byte_exact) {
  temp_dir t;
  maildir box(t.path());
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);  // NUL, bare CR, 8-bit: as given
  bytes += "\nlast line without newline";
  EXPECT_EQ(deliver(box, "INBOX", key_a, 0, 1, bytes).status, commit_status::stored);
  const auto n = names_in(t.path() / "new");
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(read_file(t.path() / "new" / n[0]), bytes);
}

TEST(maildir, twenty_megabytes_in_pieces) {
  temp_dir t;
  maildir box(t.path());
  constexpr std::size_t piece = 64 * 1024;
  constexpr std::size_t total = 20 * 1024 * 1024 + 12345;  // not a multiple of the piece
  std::string expected;
  expected.reserve(total);
  std::uint32_t x = 12345;
  while (expected.size() < total) {
    x = x * 1103515245u + 12345u;
    expected += static_cast<char>(x >> 24);
  }
  const auto id = box.begin("Big");
  for (std::size_t at = 0; at < total; at += piece) {
    box.write(id, std::string_view(expected).substr(at, piece));
  }
  box.end(id, key_a, 0, 1600000000);
  const auto results = box.commit();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, commit_status::stored) << results[0].error;
  const auto n = names_in(t.path() / ".Big" / "new");
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(read_file(t.path() / ".Big" / "new" / n[0]) == expected);
}

TEST(maildir, nothing_visible_before_commit) {
  temp_dir t;
  maildir box(t.path());
  const auto a = box.begin("INBOX");
  box.write(a, message);
  box.end(a, key_a, 0, 1600000000);
  const auto b = box.begin("INBOX");
  box.write(b, message);
  box.end(b, key_b, static_cast<unsigned>(message_flag::seen), 1600000000);
  EXPECT_TRUE(messages_in(t.path()).empty());
  EXPECT_EQ(names_in(t.path() / "tmp").size(), 2u);
  EXPECT_FALSE(box.has_key("INBOX", key_a));
  const auto results = box.commit();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].delivery, a);
  EXPECT_EQ(results[1].delivery, b);
  EXPECT_EQ(results[0].status, commit_status::stored);
  EXPECT_EQ(results[1].status, commit_status::stored);
  EXPECT_EQ(messages_in(t.path()).size(), 2u);
  EXPECT_TRUE(names_in(t.path() / "tmp").empty());
  EXPECT_TRUE(box.has_key("INBOX", key_a));
  EXPECT_TRUE(box.commit().empty());  // nothing left to commit
}

TEST(maildir, a_delivery_not_ended_stays_for_the_next_commit) {
  temp_dir t;
  maildir box(t.path());
  const auto a = box.begin("INBOX");
  box.write(a, "first half ");
  EXPECT_TRUE(box.commit().empty());
  box.write(a, "second half");
  box.end(a, key_a, 0, 1600000000);
  const auto results = box.commit();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, commit_status::stored);
  const auto n = names_in(t.path() / "new");
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(read_file(t.path() / "new" / n[0]), "first half second half");
}

TEST(maildir, abort_leaves_no_file) {
  temp_dir t;
  maildir box(t.path());
  const auto a = box.begin("Work");
  box.write(a, message);
  box.abort(a);
  const auto b = box.begin("Work");
  box.write(b, message);
  box.end(b, key_b, 0, 1600000000);
  box.abort(b);  // ended but not committed: still discardable
  EXPECT_TRUE(box.commit().empty());
  EXPECT_TRUE(names_in(t.path() / ".Work" / "tmp").empty());
  EXPECT_TRUE(messages_in(t.path() / ".Work").empty());
  EXPECT_THROW(box.write(a, "x"), std::invalid_argument);
}

TEST(maildir, destroying_without_commit_leaves_no_file) {
  temp_dir t;
  {
    maildir box(t.path());
    const auto a = box.begin("INBOX");
    box.write(a, message);
    box.end(a, key_a, 0, 1600000000);
  }
  EXPECT_TRUE(names_in(t.path() / "tmp").empty());
  EXPECT_TRUE(messages_in(t.path()).empty());
}

TEST(maildir, same_key_in_two_batches_is_stored_once) {
  temp_dir t;
  maildir box(t.path());
  EXPECT_EQ(deliver(box, "INBOX", key_a).status, commit_status::stored);
  EXPECT_EQ(deliver(box, "INBOX", key_a, static_cast<unsigned>(message_flag::seen)).status,
            commit_status::already_had);
  EXPECT_EQ(messages_in(t.path()).size(), 1u);
  EXPECT_TRUE(names_in(t.path() / "tmp").empty());
  // The key is per folder: the same source message may be delivered to another folder.
  EXPECT_EQ(deliver(box, "Other", key_a).status, commit_status::stored);
}

TEST(maildir, same_key_twice_in_one_batch_is_stored_once) {
  temp_dir t;
  maildir box(t.path());
  const auto a = box.begin("INBOX");
  box.write(a, "first");
  box.end(a, key_a, 0, 1600000000);
  const auto b = box.begin("INBOX");
  box.write(b, "second");
  box.end(b, key_a, 0, 1600000000);
  const auto results = box.commit();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status, commit_status::stored);
  EXPECT_EQ(results[1].status, commit_status::already_had);
  const auto n = names_in(t.path() / "new");
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(read_file(t.path() / "new" / n[0]), "first");
  EXPECT_TRUE(names_in(t.path() / "tmp").empty());
}

TEST(maildir, same_key_after_reopening_is_stored_once) {
  temp_dir t;
  {
    maildir box(t.path());
    EXPECT_EQ(deliver(box, "Work/Sub", key_a, 0).status, commit_status::stored);
    EXPECT_EQ(deliver(box, "Work/Sub", key_b, static_cast<unsigned>(message_flag::seen)).status,
              commit_status::stored);
  }
  // Dovecot moves new/ files to cur/ and adds flags; the key stays in the base name.
  const auto dir = t.path() / ".Work.Sub";
  const auto n = names_in(dir / "new");
  ASSERT_EQ(n.size(), 1u);
  fs::rename(dir / "new" / n[0], dir / "cur" / (n[0] + ":2,S"));

  maildir again(t.path());
  EXPECT_TRUE(again.has_key("Work/Sub", key_a));
  EXPECT_TRUE(again.has_key("Work/Sub", key_b));
  EXPECT_FALSE(again.has_key("Work/Sub", "ffffffffffffffff"));
  EXPECT_FALSE(again.has_key("No such folder", key_a));
  EXPECT_FALSE(fs::exists(t.path() / ".No such folder"));  // asking creates nothing
  EXPECT_EQ(deliver(again, "Work/Sub", key_a).status, commit_status::already_had);
  EXPECT_EQ(deliver(again, "Work/Sub", key_b).status, commit_status::already_had);
  EXPECT_EQ(messages_in(dir).size(), 2u);
}

// Maildir readers (Dovecot included) never look in tmp/: a file a crash left there is not a
// message, and it does not count as having the key.
TEST(maildir, leftover_tmp_file_is_not_a_message) {
  temp_dir t;
  {
    maildir box(t.path());
    box.folder_dir("Work");
  }
  const auto leftover =
      t.path() / ".Work" / "tmp" / ("1600000000.J" + std::string(key_a) + ".crashed");
  std::ofstream(leftover) << message;
  maildir box(t.path());
  EXPECT_FALSE(box.has_key("Work", key_a));
  EXPECT_EQ(deliver(box, "Work", key_a).status, commit_status::stored);
  EXPECT_EQ(messages_in(t.path() / ".Work").size(), 1u);
  EXPECT_TRUE(fs::exists(leftover));  // young debris stays (Maildir: remove after 36 hours)
}

TEST(maildir, a_failing_file_fails_only_its_delivery) {
  temp_dir t;
  maildir box(t.path());
  box.folder_dir("Broken");
  fs::remove_all(t.path() / ".Broken" / "cur");  // the rename into cur/ will fail
  const auto a = box.begin("INBOX");
  box.write(a, message);
  box.end(a, key_a, 0, 1600000000);
  const auto b = box.begin("Broken");
  box.write(b, message);
  box.end(b, key_b, static_cast<unsigned>(message_flag::seen), 1600000000);
  const auto c = box.begin("Broken");
  box.write(c, message);
  box.end(c, "cccccccccccccccc", 0, 1600000000);  // new/ still works
  const auto results = box.commit();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].status, commit_status::stored);
  EXPECT_EQ(results[1].status, commit_status::failed);
  EXPECT_NE(results[1].error.find("rename"), std::string::npos) << results[1].error;
  EXPECT_NE(results[1].error.find("No such file or directory"), std::string::npos);
  EXPECT_EQ(results[2].status, commit_status::stored);
  EXPECT_TRUE(names_in(t.path() / ".Broken" / "tmp").empty());  // the failed file is gone
  EXPECT_FALSE(box.has_key("Broken", key_b));
}

TEST(maildir, misuse_is_reported) {
  temp_dir t;
  maildir box(t.path());
  EXPECT_THROW(box.write(42, "x"), std::invalid_argument);
  EXPECT_THROW(box.abort(42), std::invalid_argument);
  const auto a = box.begin("INBOX");
  EXPECT_THROW(box.end(a, "ABCDEF0123456789", 0, 1), std::invalid_argument);  // upper case
  EXPECT_THROW(box.end(a, "0123456789abcde", 0, 1), std::invalid_argument);   // 15 digits
  EXPECT_THROW(box.end(a, std::string(65, 'a'), 0, 1), std::invalid_argument);
  EXPECT_THROW(box.end(a, key_a, 64, 1), std::invalid_argument);  // unknown flag bit
  box.end(a, key_a, 0, 1);
  EXPECT_THROW(box.end(a, key_a, 0, 1), std::invalid_argument);
  EXPECT_THROW(box.write(a, "late"), std::invalid_argument);
  EXPECT_EQ(box.commit().size(), 1u);
}

// ---- Two writers of one folder (F12) -----------------------------------------------------

// Two maildir objects (two runs, or a run and a browser batch) deliver one key in the same
// second: the file names are equal, and rename() would silently replace the first copy.
TEST(maildir, two_writers_of_one_key_in_one_second_leave_one_file) {
  temp_dir t;
  maildir first(t.path());
  maildir second(t.path());
  const auto a = first.begin("INBOX");
  first.write(a, "Subject: first\r\n\r\n1\r\n");
  first.end(a, key_a, 0, 1600000000);
  const auto b = second.begin("INBOX");
  second.write(b, "Subject: second\r\n\r\n2\r\n");
  second.end(b, key_a, 0, 1600000000);  // neither has committed: both see no key yet

  const auto r1 = first.commit();
  const auto r2 = second.commit();
  ASSERT_EQ(r1.size(), 1u);
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r1[0].status, commit_status::stored);
  EXPECT_EQ(r2[0].status, commit_status::already_had) << r2[0].error;
  const auto files = messages_in(t.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(read_file(t.path() / files[0]), "Subject: first\r\n\r\n1\r\n");  // not replaced
  EXPECT_TRUE(names_in(t.path() / "tmp").empty());
}

// The other writer's copy has another name (stored in another second): only looking for the
// key again at commit keeps the second writer from storing a duplicate.
TEST(maildir, a_key_another_writer_stored_since_the_keys_were_read_is_already_had) {
  temp_dir t;
  maildir first(t.path());
  maildir second(t.path());
  first.folder_dir("Work");
  EXPECT_FALSE(second.has_key("Work", key_b));  // second has read the folder's keys
  EXPECT_EQ(deliver(first, "Work", key_b).status, commit_status::stored);
  const auto dir = t.path() / ".Work";
  auto files = messages_in(dir);
  ASSERT_EQ(files.size(), 1u);
  // As if stored a few seconds ago.
  fs::rename(dir / files[0], dir / "new" / ("1599999990.J" + std::string(key_b) + ".other"));

  EXPECT_EQ(deliver(second, "Work", key_b).status, commit_status::already_had);
  EXPECT_EQ(messages_in(dir).size(), 1u);
  EXPECT_TRUE(second.has_key("Work", key_b));
}

TEST(maildir, rename_without_replacing_refuses_an_existing_name) {
  temp_dir t;
  const auto from = t.path() / "from";
  const auto to = t.path() / "to";
  std::ofstream(from) << "new";
  std::ofstream(to) << "old";
  EXPECT_EQ(real_io_calls().rename_noreplace(from.c_str(), to.c_str()), EEXIST);
  EXPECT_EQ(read_file(to), "old");
  EXPECT_EQ(read_file(from), "new");
  fs::remove(to);
  EXPECT_EQ(real_io_calls().rename_noreplace(from.c_str(), to.c_str()), 0);
  EXPECT_EQ(read_file(to), "new");
  EXPECT_FALSE(fs::exists(from));
}

// ---- Durability when the file system reports errors (F16) --------------------------------

// Puts failing calls in place of syncfs and fsync(dir) for one test; the real ones after.
class failing_io {
 public:
  failing_io() {
    synced_dirs().clear();
    failing_dir().clear();
    io().syncfs = [](int) { return EIO; };
    io().fsync_dir = [](const char* path) {
      synced_dirs().emplace_back(path);
      return !failing_dir().empty() && failing_dir() == path ? EIO : 0;
    };
  }
  ~failing_io() { io() = real_io_calls(); }
  failing_io(const failing_io&) = delete;
  failing_io& operator=(const failing_io&) = delete;

  static std::vector<std::string>& synced_dirs() {
    static std::vector<std::string> v;
    return v;
  }
  static std::string& failing_dir() {
    static std::string s;
    return s;
  }
};

// What a process left when it died after rename() and before the fsync of new/.
void leave_unsynced_file(const fs::path& root, std::string_view key) {
  std::ofstream(root / "new" / ("1700000000.J" + std::string(key) + ".host")) << message;
}

TEST(maildir, when_syncfs_fails_the_directory_of_an_already_had_file_is_synced) {
  temp_dir t;
  maildir box(t.path());
  leave_unsynced_file(t.path(), key_a);
  failing_io failing;
  EXPECT_EQ(deliver(box, "INBOX", key_a).status, commit_status::already_had);
  const auto& synced = failing_io::synced_dirs();
  EXPECT_NE(std::find(synced.begin(), synced.end(), (t.path() / "new").string()), synced.end());
}

TEST(maildir, an_already_had_file_whose_directory_cannot_be_synced_fails) {
  temp_dir t;
  maildir box(t.path());
  leave_unsynced_file(t.path(), key_a);
  failing_io failing;
  failing_io::failing_dir() = (t.path() / "new").string();
  const auto r = deliver(box, "INBOX", key_a);
  EXPECT_EQ(r.status, commit_status::failed);
  EXPECT_NE(r.error.find("sync " + (t.path() / "new").string()), std::string::npos) << r.error;
}

// The rename happened but the directory could not be made durable: the next run must not
// count the visible file as already had (it would then delete the message at the source).
TEST(maildir, a_file_whose_directory_sync_failed_is_not_trusted_later) {
  temp_dir t;
  {
    maildir box(t.path());
    failing_io failing;
    failing_io::failing_dir() = (t.path() / "new").string();
    const auto r = deliver(box, "INBOX", key_a);
    EXPECT_EQ(r.status, commit_status::failed);
    EXPECT_NE(r.error.find("sync"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("removed again"), std::string::npos) << r.error;
    EXPECT_FALSE(box.has_key("INBOX", key_a));
  }
  EXPECT_TRUE(messages_in(t.path()).empty());
  maildir next_run(t.path());
  EXPECT_FALSE(next_run.has_key("INBOX", key_a));
  EXPECT_EQ(deliver(next_run, "INBOX", key_a).status, commit_status::stored);
  EXPECT_EQ(messages_in(t.path()).size(), 1u);
}

// ---- Folder names the layout cannot hold (F7) --------------------------------------------

// reviews/poc/longfolder.cpp: 12 levels of a 19-character non-ASCII name, 263 bytes once
// encoded. begin() threw std::invalid_argument, which ended the whole run.
TEST(maildir, a_folder_name_too_long_fails_only_its_delivery) {
  temp_dir t;
  maildir box(t.path());
  std::string folder;
  for (int i = 0; i < 12; ++i)
    folder += (i ? "/" : "") + std::string(
                                   "\xc3\x9c"
                                   "berpr\xc3\xbc"
                                   "fung-Projekt");
  const auto a = box.begin("INBOX");
  box.write(a, message);
  box.end(a, key_a, 0, 1600000000);
  std::uint64_t b = 0;
  ASSERT_NO_THROW(b = box.begin(folder));
  box.write(b, message);
  box.end(b, key_b, 0, 1600000000);
  const auto results = box.commit();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status, commit_status::stored);
  EXPECT_EQ(results[1].delivery, b);
  EXPECT_EQ(results[1].status, commit_status::failed);
  EXPECT_NE(results[1].error.find("cannot store folder"), std::string::npos) << results[1].error;
  EXPECT_NE(results[1].error.find("too long"), std::string::npos) << results[1].error;
  EXPECT_FALSE(box.has_key(folder, key_b));
}

TEST(maildir, a_folder_name_with_a_control_character_fails_only_its_delivery) {
  temp_dir t;
  maildir box(t.path());
  std::uint64_t d = 0;
  ASSERT_NO_THROW(d = box.begin("bad\x01name"));
  box.write(d, message);
  box.end(d, key_a, 0, 1600000000);
  const auto results = box.commit();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, commit_status::failed);
  // The name is shown escaped: the reason reaches logs and JSON as one clean line.
  EXPECT_NE(results[0].error.find("bad\\x01name"), std::string::npos) << results[0].error;
  EXPECT_NE(results[0].error.find("control character"), std::string::npos) << results[0].error;
  EXPECT_EQ(results[0].error.find('\x01'), std::string::npos);
}

// The reason keeps a readable name readable and escapes what is not UTF-8, so that it is
// always valid text for a log line or a JSON string.
TEST(maildir, the_reason_for_a_bad_folder_name_is_clean_text) {
  temp_dir t;
  maildir box(t.path());
  const auto d = box.begin("Caf\xc3\xa9/\xff\x01");
  box.write(d, message);
  box.end(d, key_a, 0, 1600000000);
  const auto results = box.commit();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, commit_status::failed);
  EXPECT_NE(results[0].error.find("\"Caf\xc3\xa9/\\xff\\x01\""), std::string::npos)
      << results[0].error;
}

}  // namespace
}  // namespace junction::mailbox
