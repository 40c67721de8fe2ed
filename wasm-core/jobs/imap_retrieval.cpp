#include "jobs/imap_retrieval.h"

#include "common/ascii.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "imap/mutf7.h"
#include "jobs/maildir_folder.h"

namespace junction::jobs {
namespace {

// UIDs per UID FETCH command. Large enough that round trips do not matter, small enough that
// the sequence set stays short.
constexpr std::size_t kChunk = 500;

// Retry UIDs kept per folder; past this, the last UID stops below the ones left out.
constexpr std::size_t kMaxRetry = 100000;

constexpr std::string_view kFetchItems = "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])";
constexpr std::string_view kRescanItems =
    "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])";

// "1:5,7,9:10" from ascending UIDs.
std::string sequence_set(const std::vector<std::uint64_t>& uids, std::size_t begin,
                         std::size_t end) {
  std::string out;
  std::size_t i = begin;
  while (i < end) {
    std::size_t j = i;
    while (j + 1 < end && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(uids[i]);
    if (j > i) out += ':' + std::to_string(uids[j]);
    i = j + 1;
  }
  return out;
}

std::string fingerprint(std::string_view message_id, std::uint64_t size,
                        std::string_view internaldate) {
  sha256 h;
  h.update(message_id);
  h.update(std::string_view("\x1f", 1));
  h.update(std::to_string(size));
  h.update(std::string_view("\x1f", 1));
  h.update(internaldate);
  return to_hex(h.finish()).substr(0, 24);
}

unsigned flag_bits(const std::vector<std::string_view>& flags) {
  unsigned bits = 0;
  for (auto f : flags) {
    if (ascii::equals_ignore_case(f, "\\Seen")) bits |= message_flags::seen;
    if (ascii::equals_ignore_case(f, "\\Answered")) bits |= message_flags::answered;
    if (ascii::equals_ignore_case(f, "\\Flagged")) bits |= message_flags::flagged;
    if (ascii::equals_ignore_case(f, "\\Draft")) bits |= message_flags::draft;
  }
  return bits;
}

}  // namespace

std::int64_t parse_internaldate(std::string_view text) {
  // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE;
  // the same fields as an RFC 5322 date with '-' for the spaces in the date part.
  std::string s(text);
  auto space = s.find(' ', s.find_first_not_of(' '));
  for (std::size_t i = 0; i < s.size() && i < space; ++i) {
    if (s[i] == '-') s[i] = ' ';
  }
  auto t = mime::parse_date(s);
  return t ? *t : 0;
}

imap_retrieval::imap_retrieval(const model::retrieval_task& task, retrieval_options options,
                               std::string_view state)
    : retrieval_job(task, std::move(options)) {
  load_state(state);
}

// State document: {"version": 2, "protocol": "imap", "folders": {"<name>": {"uidvalidity": n,
// "last_uid": n, "fingerprints": {"<fp>": count}, "retry": [uid, ...]}}}. Version 1 had no
// "retry" and loads as is.
void imap_retrieval::load_state(std::string_view state) {
  // Any JSON may arrive here (the API stores what the browser PUTs): fields of the wrong
  // type are skipped, never thrown on; a folder without its numbers starts afresh.
  if (state.empty()) return;
  auto doc = nlohmann::json::parse(state, nullptr, false);
  if (!doc.is_object()) return;
  auto protocol = doc.find("protocol");
  if (protocol == doc.end() || !protocol->is_string() || protocol->get<std::string>() != "imap")
    return;
  auto folders = doc.find("folders");
  if (folders == doc.end() || !folders->is_object()) return;
  auto number = [](const nlohmann::json& object, const char* key) -> std::uint64_t {
    auto v = object.find(key);
    return v != object.end() && v->is_number_unsigned() ? v->get<std::uint64_t>() : 0;
  };
  for (auto it = folders->begin(); it != folders->end(); ++it) {
    if (!it->is_object()) continue;
    folder_state fs;
    fs.uidvalidity = number(*it, "uidvalidity");
    fs.last_uid = number(*it, "last_uid");
    auto fps = it->find("fingerprints");
    if (fps != it->end() && fps->is_object()) {
      for (auto f = fps->begin(); f != fps->end(); ++f) {
        if (f->is_number_unsigned() && f->get<std::uint64_t>() <= 0xffffffffu)
          fs.fingerprints[f.key()] = static_cast<std::uint32_t>(f->get<std::uint64_t>());
      }
    }
    auto retry = it->find("retry");
    if (retry != it->end() && retry->is_array()) {
      for (const auto& uid : *retry) {
        if (fs.retry.size() >= kMaxRetry) break;
        if (uid.is_number_unsigned() && uid.get<std::uint64_t>() > 0 &&
            uid.get<std::uint64_t>() <= fs.last_uid)
          fs.retry.insert(uid.get<std::uint64_t>());
      }
    }
    state_[it.key()] = std::move(fs);
  }
}

std::string imap_retrieval::state_document() const {
  nlohmann::json folders = nlohmann::json::object();
  for (const auto& [name, fs] : state_) {
    nlohmann::json fps = nlohmann::json::object();
    for (const auto& [fp, count] : fs.fingerprints) fps[fp] = count;
    folders[name] = {{"uidvalidity", fs.uidvalidity},
                     {"last_uid", fs.last_uid},
                     {"fingerprints", std::move(fps)}};
    if (!fs.retry.empty()) folders[name]["retry"] = fs.retry;
  }
  nlohmann::json doc = {{"version", 2}, {"protocol", "imap"}, {"folders", std::move(folders)}};
  // A folder name that is not UTF-8 (a server ignoring modified UTF-7) must not throw.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void imap_retrieval::on_tls_up() {
  tls_done_ = true;
  phase_ = phase::capability;
  capabilities_known_ = false;
  pending_tag_ = engine_.submit_capability();
  flush_output(engine_);
}

void imap_retrieval::feed_engine(std::string_view bytes) {
  engine_.feed(bytes);
}
void imap_retrieval::feed_engine_eof() {
  engine_.feed_eof();
}

void imap_retrieval::pump() {
  while (!has_effects() && !finished()) {
    if (committing_ || saving_) return;
    imap::event ev = engine_.next_event();
    if (ev.type == imap::event_type::need_data) {
      flush_output(engine_);
      if (phase_ == phase::closed) return;
      emit_receive();
      return;
    }
    if (ev.type == imap::event_type::error) {
      if (phase_ == phase::logout) {
        // Everything was retrieved and committed; a server that drops the line instead of
        // completing LOGOUT cost us nothing.
        phase_ = phase::closed;
        finish_run();
        return;
      }
      fail(phase_ == phase::fetch || phase_ == phase::rescan ? failure_kind::connection
                                                             : failure_kind::protocol,
           engine_.error().message);
      return;
    }
    handle(ev);
    flush_output(engine_);
  }
}

void imap_retrieval::handle(const imap::event& ev) {
  using imap::event_type;
  switch (ev.type) {
    case event_type::greeting:
      summary_.server_greeting = std::string(ev.text);
      if (ev.st == imap::status::bye) {
        fail(failure_kind::protocol,
             "the IMAP server refused the connection: " + std::string(ev.text));
        return;
      }
      if (ev.st == imap::status::preauth) {
        // Already authenticated: only acceptable when no encryption was asked for, since a
        // PREAUTH connection can no longer be upgraded with STARTTLS (RFC 3501 §6.2.1).
        if (task_.encryption == model::encryption::starttls) {
          fail(failure_kind::encryption_required,
               "the IMAP server pre-authenticated the connection, so STARTTLS is not possible");
          return;
        }
        phase_ = phase::list;
        pending_tag_ = engine_.submit_list("", "*");
        return;
      }
      if (!engine_.capabilities().empty()) {
        capabilities_known_ = true;
        after_capabilities();
      } else {
        phase_ = phase::capability;
        pending_tag_ = engine_.submit_capability();
      }
      return;
    case event_type::capability:
      return;  // the engine keeps them
    case event_type::tagged:
      on_tagged(ev);
      return;
    case event_type::untagged_status:
      if (ev.st == imap::status::bye && phase_ != phase::logout) {
        fail(failure_kind::connection,
             "the IMAP server ended the session: " + std::string(ev.text));
        return;
      }
      if (phase_ == phase::examine && ascii::equals_ignore_case(ev.code, "UIDVALIDITY"))
        uidvalidity_ = ev.number;
      return;
    case event_type::list:
      on_list(ev);
      return;
    case event_type::exists:
      if (phase_ == phase::examine) exists_ = ev.number;
      return;
    case event_type::search:
      if (phase_ != phase::search) return;
      if (ev.number > fstate_->last_uid) {
        to_fetch_.push_back(ev.number);
      } else if (fstate_->retry.count(ev.number) > 0) {
        to_fetch_.push_back(ev.number);
        search_found_.insert(ev.number);
      }
      return;
    case event_type::fetch_begin:
    case event_type::fetch_uid:
    case event_type::fetch_flags:
    case event_type::fetch_internaldate:
    case event_type::fetch_size:
    case event_type::fetch_body_begin:
    case event_type::fetch_body_data:
    case event_type::fetch_body_end:
    case event_type::fetch_end:
      on_fetch_event(ev);
      return;
    default:
      return;
  }
}

void imap_retrieval::after_capabilities() {
  if (task_.encryption == model::encryption::starttls && !tls_done_) {
    if (!engine_.has_capability("STARTTLS")) {
      fail(failure_kind::encryption_required,
           "the IMAP server does not offer STARTTLS; nothing was sent. Choose SSL/TLS or "
           "allow an unencrypted connection");
      return;
    }
    phase_ = phase::starttls;
    pending_tag_ = engine_.submit_starttls();
    return;
  }
  login();
}

void imap_retrieval::login() {
  if (engine_.has_capability("LOGINDISABLED")) {
    fail(failure_kind::encryption_required,
         "the IMAP server does not allow logging in without encryption; choose STARTTLS or "
         "SSL/TLS");
    return;
  }
  phase_ = phase::login;
  pending_tag_ = engine_.submit_login(task_.username, task_.password);
}

void imap_retrieval::on_tagged(const imap::event& ev) {
  if (ev.tag != pending_tag_) return;
  const bool ok = ev.st == imap::status::ok;
  switch (phase_) {
    case phase::capability:
      if (!ok) {
        fail(failure_kind::protocol, "the IMAP server refused CAPABILITY: " + std::string(ev.text));
        return;
      }
      capabilities_known_ = true;
      after_capabilities();
      return;
    case phase::starttls:
      if (!ok) {
        fail(failure_kind::encryption_required,
             "the IMAP server refused STARTTLS: " + std::string(ev.text) + "; nothing was sent");
        return;
      }
      emit_start_tls();
      return;
    case phase::login:
      if (!ok) {
        fail(ev.st == imap::status::no ? failure_kind::login : failure_kind::protocol,
             "the IMAP server refused the login: " +
                 (ev.text.empty() ? std::string("no reason given") : std::string(ev.text)));
        return;
      }
      phase_ = phase::list;
      pending_tag_ = engine_.submit_list("", "*");
      return;
    case phase::list:
      if (!ok) {
        fail(failure_kind::protocol, "the IMAP server refused LIST: " + std::string(ev.text));
        return;
      }
      summary_.total_folders = folders_.size();
      if (options_.check_only) {
        summary_.message = "logged in; " + std::to_string(folders_.size()) + " folder" +
                           (folders_.size() == 1 ? "" : "s") + " on the server";
        phase_ = phase::logout;
        pending_tag_ = engine_.submit_logout();
        return;
      }
      folder_index_ = 0;
      next_folder();
      return;
    case phase::examine:
      if (!ok) {
        // The folder vanished or cannot be opened: the others still count.
        ++folder_index_;
        next_folder();
        return;
      }
      begin_transfer();
      return;
    case phase::search:
      if (!ok) {
        fail(failure_kind::protocol, "the IMAP server refused UID SEARCH: " + std::string(ev.text));
        return;
      }
      std::sort(to_fetch_.begin(), to_fetch_.end());
      to_fetch_.erase(std::unique(to_fetch_.begin(), to_fetch_.end()), to_fetch_.end());
      // Retry UIDs the search no longer finds were expunged: nothing to wait for.
      for (auto it = fstate_->retry.begin(); it != fstate_->retry.end();) {
        if (search_found_.count(*it) > 0) {
          ++it;
        } else {
          it = fstate_->retry.erase(it);
          state_dirty_ = true;
        }
      }
      folder_counts(folder_->destination).already_had +=
          exists_ > to_fetch_.size() ? exists_ - to_fetch_.size() : 0;
      phase_ = phase::fetch;
      emit_progress(folder_->destination, 0, to_fetch_.size());
      fetch_next_chunk();
      return;
    case phase::rescan:
      if (!ok) {
        fail(failure_kind::protocol, "the IMAP server refused UID FETCH: " + std::string(ev.text));
        return;
      }
      std::sort(to_fetch_.begin(), to_fetch_.end());
      phase_ = phase::fetch;
      emit_progress(folder_->destination, 0, to_fetch_.size());
      fetch_next_chunk();
      return;
    case phase::fetch:
      if (!ok) {
        fail(failure_kind::protocol, "the IMAP server refused UID FETCH: " + std::string(ev.text));
        return;
      }
      chunk_done_ = true;
      keep_missing_for_retry();
      committing_ = true;
      emit_commit();
      return;
    case phase::logout:
      phase_ = phase::closed;
      finish_run();
      return;
    default:
      return;
  }
}

void imap_retrieval::finish_run() {
  phase_ = phase::closed;
  if (options_.check_only) {
    finish_ok(summary_.message);
    return;
  }
  if (!failed_folders_.empty()) {
    std::string m = "could not store messages of " + std::to_string(failed_folders_.size()) +
                    " folder" + (failed_folders_.size() == 1 ? "" : "s") + " (";
    for (std::size_t i = 0; i < failed_folders_.size(); ++i) {
      m += (i ? "; " : "") + failed_folders_[i];
    }
    m += "); they are retried on the next run, the other folders were retrieved";
    fail(failure_kind::mailbox, std::move(m));
    return;
  }
  finish_ok(completion_message());
}

std::string imap_retrieval::completion_message() const {
  std::string m = "retrieval complete";
  if (not_retrieved_total_ > 0) {
    m += "; " + std::to_string(not_retrieved_total_) + " message" +
         (not_retrieved_total_ == 1 ? " was" : "s were") +
         " not returned by the server and will be retried on the next run";
  }
  for (const auto& f : summary_.folders) {
    if (!f.note.empty()) m += "; " + f.note;
  }
  return m;
}

void imap_retrieval::keep_missing_for_retry() {
  for (auto it = pending_uids_.begin(); it != pending_uids_.end();) {
    const std::uint64_t uid = *it;
    bool in_batch = std::any_of(batch_.begin(), batch_.end(),
                                [&](const fetched_message& m) { return m.uid == uid; });
    auto& keep = rescan_ ? rescan_missing_ : fstate_->retry;
    if (in_batch || (keep.count(uid) == 0 && keep.size() >= kMaxRetry)) {
      ++it;  // still pending: the last UID stays below it
      continue;
    }
    keep.insert(uid);
    state_dirty_ = true;
    it = pending_uids_.erase(it);
  }
}

void imap_retrieval::on_list(const imap::event& ev) {
  if (phase_ != phase::list) return;
  for (auto attr : ev.items) {
    if (ascii::equals_ignore_case(attr, "\\Noselect") ||
        ascii::equals_ignore_case(attr, "\\NonExistent"))
      return;
  }
  std::string name(ev.text);
  for (const auto& f : folders_) {
    if (f.name == name) return;
  }
  // A name the mailbox cannot store (too long once encoded, control characters, not UTF-8)
  // gets a stable stand-in instead of failing every run (review F7).
  auto storable = make_storable(destination_for(name, ev.delimiter));
  std::string note;
  if (!storable.reason.empty()) {
    note = "a source folder is stored as \"" + storable.path + "\" (" + storable.reason + ")";
  }
  folders_.push_back(source_folder{name, std::move(storable.path), std::move(note)});
}

std::string imap_retrieval::destination_for(std::string_view name, char delimiter) const {
  std::string utf8;
  if (auto decoded = imap::mutf7_decode(name)) {
    utf8 = std::move(*decoded);
  } else {
    utf8 = std::string(name);  // not modified UTF-7: a server already speaking UTF-8
  }
  // Split on the server's delimiter; '/' inside a component would add a level here.
  std::vector<std::string> parts;
  std::string part;
  for (char c : utf8) {
    if (delimiter != '\0' && c == delimiter) {
      parts.push_back(std::move(part));
      part.clear();
    } else {
      part += c == '/' ? '_' : c;
    }
  }
  parts.push_back(std::move(part));
  if (ascii::equals_ignore_case(parts.front(), "INBOX")) parts.front() = "INBOX";
  std::string path;
  if (task_.folder_transfer.mode == model::folder_transfer_mode::subfolder) {
    path = task_.folder_transfer.parent;
  }
  for (auto& p : parts) {
    if (p.empty() || p == "." || p == "..") p = "_" + p;
    if (!path.empty()) path += '/';
    path += p;
  }
  return path;
}

void imap_retrieval::next_folder() {
  if (folder_index_ >= folders_.size() || cancel_requested()) {
    phase_ = phase::logout;
    if (state_dirty_) {
      state_dirty_ = false;
      saving_ = true;
      emit_save_state(state_document());
      return;
    }
    if (cancel_requested()) {
      fail(failure_kind::cancelled, "the retrieval was stopped; what was stored is kept");
      return;
    }
    pending_tag_ = engine_.submit_logout();
    return;
  }
  folder_ = &folders_[folder_index_];
  fstate_ = &state_[folder_->name];
  auto& counts = folder_counts(folder_->destination);
  if (!folder_->note.empty()) counts.note = folder_->note;
  uidvalidity_ = 0;
  exists_ = 0;
  to_fetch_.clear();
  next_chunk_ = 0;
  pending_uids_.clear();
  highest_requested_ = 0;
  fetched_count_ = 0;
  search_found_.clear();
  rescan_missing_.clear();
  phase_ = phase::examine;
  pending_tag_ = engine_.submit_examine(folder_->name);
}

void imap_retrieval::begin_transfer() {
  if (uidvalidity_ == 0) {
    fail(failure_kind::protocol, "the IMAP server did not send UIDVALIDITY for " + folder_->name);
    return;
  }
  rescan_ = false;
  if (fstate_->uidvalidity != uidvalidity_) {
    // A new folder, or its UIDs were renumbered: UIDs from the state mean nothing now.
    if (fstate_->uidvalidity != 0 && !fstate_->fingerprints.empty()) {
      rescan_ = true;
      rescan_pool_ = fstate_->fingerprints;
      rescan_highest_ = 0;
      rescan_answers_ = 0;
    } else {
      fstate_->uidvalidity = uidvalidity_;
      fstate_->last_uid = 0;
      fstate_->retry.clear();
      state_dirty_ = true;
    }
  }
  if (exists_ == 0) {
    if (!rescan_ && !fstate_->retry.empty()) {
      fstate_->retry.clear();  // an empty folder holds none of them
      state_dirty_ = true;
    }
    if (rescan_) finish_rescan();
    folder_finished();
    return;
  }
  if (rescan_) {
    phase_ = phase::rescan;
    pending_tag_ = engine_.submit_uid_fetch("1:*", kRescanItems);
    return;
  }
  phase_ = phase::search;
  // From the lowest UID still to retry, so the answer says which of them still exist.
  const std::uint64_t from =
      fstate_->retry.empty() ? fstate_->last_uid + 1 : *fstate_->retry.begin();
  pending_tag_ = engine_.submit_uid_search(from, 0);
}

void imap_retrieval::fetch_next_chunk() {
  if (next_chunk_ >= to_fetch_.size() || cancel_requested()) {
    // A re-scan whose FETCH 1:* left messages out is not finished: the next run re-scans
    // (what this one stored is matched by fingerprint then), so nothing is skipped.
    if (rescan_ && !cancel_requested() && pending_uids_.empty() && rescan_answers_ >= exists_) {
      finish_rescan();
    } else if (rescan_ && rescan_answers_ < exists_) {
      rescan_missing_count_ = exists_ - rescan_answers_;
    }
    folder_finished();
    return;
  }
  std::size_t end = std::min(to_fetch_.size(), next_chunk_ + kChunk);
  for (std::size_t i = next_chunk_; i < end; ++i) pending_uids_.insert(to_fetch_[i]);
  highest_requested_ = to_fetch_[end - 1];
  chunk_done_ = false;
  pending_tag_ = engine_.submit_uid_fetch(sequence_set(to_fetch_, next_chunk_, end), kFetchItems);
  next_chunk_ = end;
}

// Every message of the renumbered folder is matched or stored: the new numbering becomes
// the folder's state.
void imap_retrieval::finish_rescan() {
  rescan_ = false;
  rescan_pool_.clear();
  fstate_->uidvalidity = uidvalidity_;
  std::uint64_t highest = rescan_highest_;
  if (!to_fetch_.empty()) highest = std::max(highest, to_fetch_.back());
  fstate_->last_uid = highest;
  fstate_->retry = std::move(rescan_missing_);
  rescan_missing_.clear();
  state_dirty_ = true;
}

void imap_retrieval::folder_finished() {
  const std::uint64_t missing =
      fstate_->retry.size() + rescan_missing_.size() + rescan_missing_count_;
  rescan_missing_count_ = 0;
  folder_counts(folder_->destination).not_retrieved = missing;
  not_retrieved_total_ += missing;
  ++folder_index_;
  next_folder();
}

void imap_retrieval::on_fetch_event(const imap::event& ev) {
  using imap::event_type;
  switch (ev.type) {
    case event_type::fetch_begin:
      in_fetch_ = true;
      msg_uid_ = 0;
      msg_flags_ = 0;
      msg_internaldate_.clear();
      msg_size_ = 0;
      msg_delivery_ = 0;
      msg_header_only_ = false;
      msg_headers_ = mime::header_reader();
      msg_bytes_ = 0;
      return;
    case event_type::fetch_uid:
      msg_uid_ = ev.number;
      return;
    case event_type::fetch_flags:
      msg_flags_ = flag_bits(ev.items);
      return;
    case event_type::fetch_internaldate:
      msg_internaldate_ = std::string(ev.text);
      return;
    case event_type::fetch_size:
      msg_size_ = ev.number;
      return;
    case event_type::fetch_body_begin:
      if (!in_fetch_) return;
      if (phase_ == phase::rescan) {
        msg_header_only_ = true;
        return;
      }
      if (phase_ == phase::fetch && ev.text.empty()) {
        msg_delivery_ = emit_deliver_begin(folder_->destination);
      }
      return;
    case event_type::fetch_body_data:
      if (msg_header_only_ || msg_delivery_ != 0) msg_headers_.feed(ev.text);
      if (msg_delivery_ != 0) {
        emit_deliver_data(msg_delivery_, ev.text);
        msg_bytes_ += ev.text.size();
      }
      return;
    case event_type::fetch_body_end:
      return;
    case event_type::fetch_end: {
      if (!in_fetch_) return;
      in_fetch_ = false;
      msg_headers_.finish();
      const std::string fp =
          fingerprint(msg_headers_.summary().message_id, msg_size_, msg_internaldate_);
      if (phase_ == phase::rescan) {
        if (msg_uid_ == 0) return;
        rescan_highest_ = std::max(rescan_highest_, msg_uid_);
        ++rescan_answers_;
        auto it = rescan_pool_.find(fp);
        if (it != rescan_pool_.end() && it->second > 0) {
          // Retrieved before the UIDs were renumbered: count it, fetch nothing.
          --it->second;
          ++folder_counts(folder_->destination).already_had;
        } else {
          to_fetch_.push_back(msg_uid_);
        }
        return;
      }
      if (msg_delivery_ == 0) return;  // a flag update, not our body
      if (msg_uid_ == 0 || pending_uids_.count(msg_uid_) == 0) {
        emit_deliver_abort(msg_delivery_);
        return;
      }
      std::string source = "imap:" + folder_->name + "\x1f" + std::to_string(uidvalidity_) + ":" +
                           std::to_string(msg_uid_);
      emit_deliver_end(msg_delivery_, delivery_key(source), msg_flags_,
                       parse_internaldate(msg_internaldate_));
      batch_.push_back(fetched_message{msg_delivery_, msg_uid_, fp});
      batch_bytes_ += msg_bytes_;
      ++fetched_count_;
      emit_progress(folder_->destination, fetched_count_, to_fetch_.size());
      if (batch_.size() >= options_.batch_messages || batch_bytes_ >= options_.batch_bytes) {
        committing_ = true;
        emit_commit();
      }
      return;
    }
    default:
      return;
  }
}

void imap_retrieval::on_commit_results(const std::vector<delivery_result>& results) {
  committing_ = false;
  auto& counts = folder_counts(folder_->destination);
  for (const auto& r : results) {
    auto it = std::find_if(batch_.begin(), batch_.end(),
                           [&](const fetched_message& m) { return m.delivery == r.delivery; });
    if (it == batch_.end()) continue;
    if (r.status == delivery_status::failed) {
      // Not stored: the UID stays pending, so the last UID stays below it; the end of the
      // FETCH moves it to the retry list, and the rest of this folder waits for the next
      // run. The other folders go on.
      if (folder_error_.empty()) folder_error_ = r.error.empty() ? "not stored" : r.error;
      continue;
    }
    ++(r.status == delivery_status::stored ? counts.new_messages : counts.already_had);
    ++fstate_->fingerprints[it->fingerprint];
    pending_uids_.erase(it->uid);
    fstate_->retry.erase(it->uid);
  }
  batch_.clear();
  batch_bytes_ = 0;
  // Everything below the lowest UID still pending is durable; with FETCH responses in any
  // order this never skips a message that is not stored yet.
  if (!rescan_) {
    std::uint64_t safe = pending_uids_.empty() ? highest_requested_ : *pending_uids_.begin() - 1;
    if (safe > fstate_->last_uid) fstate_->last_uid = safe;
  }
  state_dirty_ = false;
  saving_ = true;
  emit_save_state(state_document());
}

void imap_retrieval::on_state_stored() {
  saving_ = false;
  if (phase_ == phase::fetch && chunk_done_) {
    if (!folder_error_.empty()) {
      failed_folders_.push_back(folder_->destination + ": " + folder_error_);
      folder_error_.clear();
      folder_finished();
    } else {
      fetch_next_chunk();
    }
  } else if (phase_ == phase::logout) {
    // The final save after the last folder.
    if (cancel_requested()) {
      fail(failure_kind::cancelled, "the retrieval was stopped; what was stored is kept");
      return;
    }
    pending_tag_ = engine_.submit_logout();
  }
  flush_output(engine_);
}

}  // namespace junction::jobs
