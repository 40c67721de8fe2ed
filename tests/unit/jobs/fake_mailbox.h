// The destination and the state store of the "tests" driver, in memory.
//
// fake_mailbox honours the contract of proxy/src/mailbox/maildir.h: deliveries stream in and
// are invisible until commit(); a key already in the folder makes the delivery already_had
// (the re-run after a crash duplicates nothing); abort() discards; crash() loses everything
// not committed. Misuse by the driver or the job (unknown delivery, write after end, a key
// that is not 16-64 lower-case hex digits) is recorded in `violations`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/effects.h"

namespace junction::jobs::testing {

struct stored_message {
  std::string folder;
  std::string key;
  std::string content;
  unsigned flags = 0;
  std::int64_t internal_date = 0;
};

class fake_mailbox {
 public:
  std::vector<std::string> violations;
  // Knob: the next commit reports every delivery failed (a full disk).
  bool fail_next_commit = false;
  // Knob: deliveries to this folder fail at commit (a folder that cannot be created).
  std::string fail_folder;

  std::uint64_t begin(std::string_view folder) {
    open_[next_] = {std::string(folder), {}, {}, 0, 0};
    return next_++;
  }

  void write(std::uint64_t id, std::string_view bytes) {
    auto it = open_.find(id);
    if (it == open_.end() || ended_.count(id)) {
      violations.push_back("write to delivery " + std::to_string(id) + " that is not open");
      return;
    }
    it->second.content.append(bytes);
  }

  void end(std::uint64_t id, std::string_view key, unsigned flags, std::int64_t internal_date) {
    auto it = open_.find(id);
    if (it == open_.end() || ended_.count(id)) {
      violations.push_back("end of delivery " + std::to_string(id) + " that is not open");
      return;
    }
    if (!valid_key(key)) violations.push_back("invalid key '" + std::string(key) + "'");
    it->second.key = std::string(key);
    it->second.flags = flags;
    it->second.internal_date = internal_date;
    ended_[id] = true;
  }

  void abort(std::uint64_t id) {
    if (open_.erase(id) == 0) {
      violations.push_back("abort of delivery " + std::to_string(id) + " that is not open");
    }
    ended_.erase(id);
  }

  // Every ended delivery becomes visible at once; open ones stay open.
  std::vector<std::pair<std::uint64_t, delivery_status>> commit() {
    std::vector<std::pair<std::uint64_t, delivery_status>> results;
    const bool fail = fail_next_commit;
    fail_next_commit = false;
    for (auto it = ended_.begin(); it != ended_.end();) {
      const std::uint64_t id = it->first;
      stored_message m = std::move(open_[id]);
      open_.erase(id);
      it = ended_.erase(it);
      if (fail || (!fail_folder.empty() && m.folder == fail_folder)) {
        results.emplace_back(id, delivery_status::failed);
      } else if (has_key(m.folder, m.key)) {
        results.emplace_back(id, delivery_status::already_had);
      } else {
        messages_.push_back(std::move(m));
        results.emplace_back(id, delivery_status::stored);
      }
    }
    ++commits;
    return results;
  }

  // kill -9: what was not committed is gone.
  void crash() {
    open_.clear();
    ended_.clear();
  }

  bool has_key(std::string_view folder, std::string_view key) const {
    for (const auto& m : messages_) {
      if (m.folder == folder && m.key == key) return true;
    }
    return false;
  }

  // The user deletes a message in their mail client.
  void remove(std::string_view folder, std::string_view content) {
    for (auto it = messages_.begin(); it != messages_.end(); ++it) {
      if (it->folder == folder && it->content == content) {
        messages_.erase(it);
        return;
      }
    }
  }

  // Committed messages only.
  const std::vector<stored_message>& messages() const { return messages_; }
  std::size_t count(std::string_view folder, std::string_view content) const {
    std::size_t n = 0;
    for (const auto& m : messages_) {
      if (m.folder == folder && m.content == content) ++n;
    }
    return n;
  }
  std::size_t open_deliveries() const { return open_.size(); }

  std::size_t commits = 0;

 private:
  static bool valid_key(std::string_view key) {
    if (key.size() < 16 || key.size() > 64) return false;
    for (char c : key) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
  }

  std::map<std::uint64_t, stored_message> open_;
  std::map<std::uint64_t, bool> ended_;
  std::vector<stored_message> messages_;
  std::uint64_t next_ = 1;
};

// The last state document saved per task key (the account store's retrieval state).
struct fake_state_store {
  std::map<std::string, std::string> documents;
  std::size_t saves = 0;

  std::string load(const std::string& key) const {
    auto it = documents.find(key);
    return it == documents.end() ? std::string() : it->second;
  }
  void save(const std::string& key, std::string_view document) {
    documents[key] = std::string(document);
    ++saves;
  }
};

}  // namespace junction::jobs::testing
