// POP3 retrieval (RFC 1939): new messages of the maildrop by UIDL against the task's seen set,
// into the task's destination folder.
//
// Identity. A message is named by its UIDL *and its content*: the delivery key is built from
// the UIDL, the size and the SHA-256 of the bytes, so a server that hands out a UIDL again
// (after a DELE, a restored or recreated maildrop, UIDLs derived from message numbers) for a
// new message gets a new key, never "already had". The seen set keeps, per UIDL, the size
// and digest of what was retrieved.
//
// Deletion (unless leave on server). A message is DELEd only if its bytes were read in THIS
// run and a commit in this run reported its key stored or already had, and only after the
// seen set recording it was saved. A seen UIDL is therefore downloaded and delivered again
// (idempotent by key) before its DELE: after a crash between the commit and the DELE, or
// when the state document was written by someone else (PUT .../state), nothing the mailbox
// does not hold can be deleted. If the user deleted that copy locally in between, the
// re-delivery brings it back: the core cannot tell "the user removed it" from "the state
// claims a message the mailbox never had", and a message shown twice can be deleted again
// while a message deleted at the source is gone. That window only opens when a run stopped
// between its commit and its DELE, or the state was forged.
//
// Leave on server. A seen UIDL is not downloaded again, with one exception: a UIDL that was
// missing from an earlier non-empty listing and is back may be a reused one, so it is
// downloaded once; if its size and digest match what was retrieved it is discarded (not
// delivered again, so a message the user deleted locally does not come back).
//
// Forgetting. A seen UIDL is forgotten only after it was missing from kForgetAfter
// consecutive non-empty listings. An empty listing changes nothing (a server glitch or a
// "new since last POP" view must not make everything new again).
//
// State document, version 2:
//   {"version": 2, "protocol": "pop3",
//    "seen": [{"id": "<uidl>", "size": n, "sha256": "<hex>", "absent": n}, ...]}
// Version 1 ("seen": ["<uidl>", ...]) still loads; such entries have no digest, so they are
// downloaded before any DELE and are otherwise treated as retrieved, as before. Delivery keys
// of version-1 runs named the UIDL only, so a message stored by a version-1 run and not yet
// deleted at the source is stored once more when it is re-delivered before its DELE (once,
// never lost).
//
// A server without UIDL is handled by content: each message is downloaded and identified by
// its SHA-256 ("sha256:<hex>" in the seen set, the same key as before); one already retrieved
// is discarded when it stays on the server, and re-delivered (idempotent) before a DELE. This
// costs a full download per run when messages are left on the server, but never duplicates.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/digest.h"
#include "jobs/retrieval_job.h"
#include "pop3/client.h"

namespace junction::jobs {

class pop3_retrieval final : public retrieval_job {
 public:
  // Non-empty listings a seen id may be missing from before it is forgotten.
  static constexpr std::uint32_t kForgetAfter = 3;

  pop3_retrieval(const model::retrieval_task& task, retrieval_options options,
                 std::string_view state);

  // One entry of the seen set.
  struct seen_entry {
    std::uint64_t size = 0;
    std::string digest;        // lower-case hex SHA-256 of the bytes; empty for a v1 entry
    std::uint32_t absent = 0;  // consecutive non-empty listings (full passes) without it
  };
  // The seen set a state document holds (exposed for the fuzz target and tests); nullopt
  // when the document is not a POP3 state document. Never throws.
  static std::optional<std::map<std::string, seen_entry>> parse_state(std::string_view state);

 private:
  enum class phase {
    greeting,
    capa,
    stls,
    capa_after_tls,
    auth,
    stat,
    uidl,
    transfer,
    quit,
    closed,
  };
  struct pending_message {
    std::uint64_t number = 0;
    std::uint64_t delivery = 0;
    std::string source_id;  // UIDL, or "sha256:<hex>" without UIDL
    std::uint64_t size = 0;
    std::string digest;  // hex SHA-256 of the bytes
  };

  void on_tls_up() override;
  void feed_engine(std::string_view bytes) override;
  void feed_engine_eof() override;
  void pump() override;
  void on_commit_results(const std::vector<delivery_result>& results) override;
  void on_state_stored() override;

  void handle(const pop3::event& ev);
  void after_capabilities();
  void authenticate();
  void on_authenticated();
  void plan_transfer();
  void fill_pipeline();
  // One absence for every seen id not in `present`; forgets those absent kForgetAfter times.
  void age_seen(const std::unordered_set<std::string>& present);
  void maybe_finish_transfer();
  bool has_capability(std::string_view name) const;
  std::string state_document() const;
  void load_state(std::string_view state);

  pop3::client engine_;
  phase phase_ = phase::greeting;
  std::vector<std::string> capabilities_;
  bool capa_known_ = false;
  bool pipelining_ = false;

  std::uint64_t message_count_ = 0;
  bool have_uidl_ = true;
  std::vector<std::pair<std::uint64_t, std::string>> uidls_;

  // Seen set: UIDLs (or "sha256:" ids) of messages retrieved by earlier runs.
  std::map<std::string, seen_entry> seen_;
  std::unordered_set<std::string> present_;  // ids on the server this run (for pruning)
  bool state_dirty_ = false;

  std::vector<std::uint64_t> to_fetch_;
  std::size_t next_fetch_ = 0;
  std::size_t outstanding_retr_ = 0;
  std::size_t fetched_ = 0;
  std::vector<std::string> fetch_ids_;  // source id per to_fetch_ index (UIDL mode)
  std::vector<std::uint64_t> to_delete_;
  std::size_t outstanding_dele_ = 0;
  std::uint64_t deleted_ok_ = 0;

  // The message being received.
  bool in_message_ = false;
  pending_message current_;
  std::uint64_t current_index_ = 0;
  sha256 current_digest_;

  std::vector<pending_message> batch_;
  std::uint64_t batch_bytes_ = 0;
  std::uint64_t current_bytes_ = 0;
  bool committing_ = false;
  bool saving_ = false;
  std::vector<std::uint64_t> batch_deletes_;  // DELE after the state save
  std::string folder_;
};

}  // namespace junction::jobs
