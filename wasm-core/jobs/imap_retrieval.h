// IMAP retrieval (RFC 3501): every selectable folder of the source, mapped as root folders
// or under a chosen parent, opened read-only (EXAMINE) and read with BODY.PEEK so the source
// is never modified. Per folder the state keeps UIDVALIDITY, the highest UID retrieved and a
// fingerprint of every retrieved message (Message-ID, size, INTERNALDATE), so that a
// UIDVALIDITY change re-scans the folder without duplicating what was already retrieved.
//
// A UID the server was asked for but left out of its FETCH answer (some servers answer OK and
// omit a message they cannot serve right now) is not taken as expunged: it is kept in the
// folder's "retry" list while the highest UID moves on, and the next run's UID SEARCH starts
// at the lowest such UID. A retry UID the search no longer finds is gone and is dropped; one
// it finds is fetched again. The run's summary counts what is still to retry.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "imap/client.h"
#include "jobs/retrieval_job.h"
#include "mime/headers.h"

namespace junction::jobs {

class imap_retrieval final : public retrieval_job {
 public:
  imap_retrieval(const model::retrieval_task& task, retrieval_options options,
                 std::string_view state);

 private:
  enum class phase {
    greeting,
    capability,
    starttls,
    login,
    list,
    examine,
    search,
    rescan,
    fetch,
    logout,
    closed,
  };
  struct source_folder {
    std::string name;         // as LIST returned it (modified UTF-7)
    std::string destination;  // '/'-separated UTF-8 path in the mailbox
    std::string note;         // why the destination is not the source's name, if it is not
  };
  struct folder_state {
    std::uint64_t uidvalidity = 0;
    std::uint64_t last_uid = 0;
    std::map<std::string, std::uint32_t> fingerprints;  // fingerprint -> count
    std::set<std::uint64_t> retry;                      // UIDs <= last_uid not returned when asked
  };
  struct fetched_message {
    std::uint64_t delivery = 0;
    std::uint64_t uid = 0;
    std::string fingerprint;
  };

  void on_tls_up() override;
  void feed_engine(std::string_view bytes) override;
  void feed_engine_eof() override;
  void pump() override;
  void on_commit_results(const std::vector<delivery_result>& results) override;
  void on_state_stored() override;

  void handle(const imap::event& ev);
  void on_tagged(const imap::event& ev);
  void on_list(const imap::event& ev);
  void on_fetch_event(const imap::event& ev);
  void after_capabilities();
  void login();
  void next_folder();
  void begin_transfer();
  void fetch_next_chunk();
  void folder_finished();
  void finish_rescan();
  // Requested UIDs of the completed FETCH that did not come back: kept for a retry.
  void keep_missing_for_retry();
  // "retrieval complete", with what is left to retry and the folders stored under another
  // name.
  std::string completion_message() const;
  // After LOGOUT: done, or failed when a folder could not be stored.
  void finish_run();
  void load_state(std::string_view state);
  std::string state_document() const;
  std::string destination_for(std::string_view name, char delimiter) const;

  imap::client engine_;
  phase phase_ = phase::greeting;
  bool capabilities_known_ = false;
  bool tls_done_ = false;
  std::uint32_t pending_tag_ = 0;

  std::vector<source_folder> folders_;
  std::size_t folder_index_ = 0;
  std::map<std::string, folder_state> state_;  // by source folder name
  bool state_dirty_ = false;

  // The folder being transferred.
  source_folder* folder_ = nullptr;
  folder_state* fstate_ = nullptr;
  std::uint64_t uidvalidity_ = 0;
  std::uint64_t exists_ = 0;
  // A re-scan after a UIDVALIDITY change. The saved state keeps the old UIDVALIDITY until
  // the whole folder is done, so a run that dies half-way re-scans again; messages are
  // matched against a working copy of the fingerprints, so the saved counts stay whole for
  // the next renumbering.
  bool rescan_ = false;
  std::map<std::string, std::uint32_t> rescan_pool_;
  std::uint64_t rescan_highest_ = 0;
  std::uint64_t rescan_answers_ = 0;        // messages the re-scan's FETCH 1:* returned
  std::uint64_t rescan_missing_count_ = 0;  // EXISTS minus those, when fewer
  std::vector<std::uint64_t> to_fetch_;
  std::size_t next_chunk_ = 0;
  std::set<std::uint64_t> pending_uids_;  // requested, not yet committed
  std::uint64_t highest_requested_ = 0;
  std::uint64_t fetched_count_ = 0;
  std::set<std::uint64_t> search_found_;    // retry UIDs this folder's UID SEARCH returned
  std::set<std::uint64_t> rescan_missing_;  // left out of a FETCH during a re-scan
  std::uint64_t not_retrieved_total_ = 0;
  std::string folder_error_;                 // a delivery of this folder failed
  std::vector<std::string> failed_folders_;  // "destination: error"

  // The FETCH response being read.
  bool in_fetch_ = false;
  std::uint64_t msg_uid_ = 0;
  unsigned msg_flags_ = 0;
  std::string msg_internaldate_;
  std::uint64_t msg_size_ = 0;
  std::uint64_t msg_delivery_ = 0;  // 0 = no body in this response
  bool msg_header_only_ = false;
  mime::header_reader msg_headers_;
  std::uint64_t msg_bytes_ = 0;

  std::vector<fetched_message> batch_;
  std::uint64_t batch_bytes_ = 0;
  bool committing_ = false;
  bool saving_ = false;
  bool chunk_done_ = false;  // the current UID FETCH completed
};

// INTERNALDATE ("17-Jul-1996 02:44:25 -0700") to seconds since 1970 UTC; 0 when it does not
// parse.
std::int64_t parse_internaldate(std::string_view text);

}  // namespace junction::jobs
