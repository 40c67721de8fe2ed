// POP3 retrieval (RFC 1939): new messages of the maildrop by UIDL against the task's seen set,
// into the task's destination folder; DELE (unless leave on server) only for messages a
// commit reported stored, and only after the seen set recording them was saved.
//
// A server without UIDL is handled by content: each message is downloaded and identified by
// its SHA-256; one already retrieved is discarded instead of delivered. This costs a full
// download per run when messages are left on the server, but never duplicates.
#pragma once

#include <cstdint>
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
  pop3_retrieval(const model::retrieval_task& task, retrieval_options options,
                 std::string_view state);

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
  std::unordered_set<std::string> seen_;
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
