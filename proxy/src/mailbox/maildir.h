// The account's mailbox: Maildir++ under DATA/mailbox, readable by Dovecot (ARCHITECTURE.md,
// "Where data lives"). Native only: this is the proxy's side of "deliver".
//
// Delivery is idempotent and durable:
// - every message carries a key (lower-case hex, 16 to 64 digits) naming its source
//   (task, folder, UIDVALIDITY, UID or UIDL); the key is part of the file name, so a
//   delivery whose key is already in the folder is reported as already_had and not stored
//   twice — this is what makes a re-run after a crash duplicate nothing;
// - bytes stream into tmp/; nothing is visible in new/ or cur/ before commit();
// - commit() makes every ended delivery durable at once (group commit: one flush of the
//   file data, the renames, one flush of the directories) and only then reports them
//   stored. A caller acknowledges, deletes at the source or records as seen only what
//   commit() reported;
// - several maildir objects (in one process or several) may write one folder: commit()
//   looks for each key again under the folder's lock, and a rename never replaces a file,
//   so two writers of one key leave exactly one file and the second hears already_had.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace junction::mailbox {

enum class message_flag : unsigned {
  seen = 1,
  answered = 2,
  flagged = 4,
  draft = 8,
  deleted = 16,
};

enum class commit_status { stored, already_had, failed };

struct commit_result {
  std::uint64_t delivery = 0;
  commit_status status = commit_status::failed;
  std::string error;  // for failed: what the file system said
};

// A delivery key for a message that has no source id (an append without one): a digest of
// its bytes, so the same message appended twice is stored once.
std::string content_key(std::string_view message);

class maildir {
 public:
  // `root` is DATA/mailbox; created (with INBOX's cur/new/tmp) when missing. Throws
  // std::system_error when it cannot be created.
  explicit maildir(std::filesystem::path root);
  ~maildir();
  maildir(const maildir&) = delete;
  maildir& operator=(const maildir&) = delete;

  // The folder's directory for a '/'-separated UTF-8 path ("INBOX" or "" is the root;
  // "Work/Sub" is ".Work.Sub", each component encoded as Dovecot's Maildir++ layout does).
  // Creates it (cur/new/tmp and the `maildirfolder` marker) when missing.
  std::filesystem::path folder_dir(std::string_view folder);

  // Streams one message into the folder's tmp/. Returns the delivery number. Never throws
  // for the folder: one that cannot be created, or whose name the layout cannot hold (too
  // long once encoded, a control character, not UTF-8), fails this delivery at commit() with
  // the reason in commit_result::error, and the other deliveries go on.
  std::uint64_t begin(std::string_view folder);
  void write(std::uint64_t delivery, std::string_view bytes);
  // The message is complete: `flags` is a message_flag bit set, `internal_date` the
  // source's receive time (seconds since 1970, UTC; 0 = now) which becomes the file's mtime.
  // The file stays in tmp/ until commit().
  void end(std::uint64_t delivery, std::string_view key, unsigned flags,
           std::int64_t internal_date);
  void abort(std::uint64_t delivery);  // discards the tmp file
  // Makes every ended delivery durable and visible; see the file comment.
  std::vector<commit_result> commit();

  // Whether a message with this key is in the folder (in new/ or cur/).
  bool has_key(std::string_view folder, std::string_view key);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace junction::mailbox
