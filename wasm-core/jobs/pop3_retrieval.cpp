#include "jobs/pop3_retrieval.h"

#include "common/ascii.h"
#include "jobs/maildir_folder.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace junction::jobs {
namespace {

// RETRs in flight when the server pipelines: enough to hide the round trip, small enough
// that a cut connection wastes little.
constexpr std::size_t kRetrWindow = 16;

}  // namespace

pop3_retrieval::pop3_retrieval(const model::retrieval_task& task, retrieval_options options,
                               std::string_view state)
    : retrieval_job(task, std::move(options)), folder_(task.destination_folder) {
  if (folder_.empty()) folder_ = "INBOX";
  // The same rule as for IMAP folders: a destination the mailbox cannot store gets a stable
  // stand-in rather than failing every run.
  folder_ = make_storable(folder_).path;
  load_state(state);
}

namespace {

bool is_hex_digest(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

// The state document is described in the header (versions 1 and 2). Entries that do not
// parse are skipped: an unknown id is then downloaded again, which never loses anything.
std::optional<std::map<std::string, pop3_retrieval::seen_entry>> pop3_retrieval::parse_state(
    std::string_view state) {
  auto doc = nlohmann::json::parse(state, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  auto protocol = doc.find("protocol");
  if (protocol == doc.end() || !protocol->is_string() || protocol->get<std::string>() != "pop3")
    return std::nullopt;
  std::map<std::string, seen_entry> seen;
  auto it = doc.find("seen");
  if (it == doc.end() || !it->is_array()) return seen;
  for (const auto& item : *it) {
    if (item.is_string()) {  // version 1: the id alone
      if (!item.get_ref<const std::string&>().empty())
        seen.emplace(item.get<std::string>(), seen_entry{});
      continue;
    }
    if (!item.is_object()) continue;
    auto id = item.find("id");
    if (id == item.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) continue;
    seen_entry e;
    if (auto size = item.find("size"); size != item.end() && size->is_number_unsigned())
      e.size = size->get<std::uint64_t>();
    if (auto digest = item.find("sha256");
        digest != item.end() && digest->is_string() && is_hex_digest(digest->get<std::string>()))
      e.digest = digest->get<std::string>();
    if (auto absent = item.find("absent"); absent != item.end() && absent->is_number_unsigned())
      e.absent = static_cast<std::uint32_t>(
          std::min<std::uint64_t>(absent->get<std::uint64_t>(), kForgetAfter));
    if (e.digest.empty()) e.size = 0;
    seen[id->get<std::string>()] = std::move(e);
  }
  return seen;
}

void pop3_retrieval::load_state(std::string_view state) {
  if (state.empty()) return;
  if (auto seen = parse_state(state)) seen_ = std::move(*seen);
}

std::string pop3_retrieval::state_document() const {
  nlohmann::json seen = nlohmann::json::array();
  for (const auto& [id, e] : seen_) {
    nlohmann::json item = {{"id", id}};
    if (!e.digest.empty()) {
      item["size"] = e.size;
      item["sha256"] = e.digest;
    }
    if (e.absent > 0) item["absent"] = e.absent;
    seen.push_back(std::move(item));
  }
  nlohmann::json doc = {{"version", 2}, {"protocol", "pop3"}, {"seen", std::move(seen)}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void pop3_retrieval::on_tls_up() {
  phase_ = phase::capa_after_tls;
  capabilities_.clear();
  capa_known_ = false;
  engine_.submit_capa();
  flush_output(engine_);
}

void pop3_retrieval::feed_engine(std::string_view bytes) {
  engine_.feed(bytes);
}
void pop3_retrieval::feed_engine_eof() {
  engine_.feed_eof();
}

bool pop3_retrieval::has_capability(std::string_view name) const {
  for (const auto& line : capabilities_) {
    std::string_view l = line;
    auto first = l.substr(0, l.find(' '));
    if (ascii::equals_ignore_case(first, name)) return true;
  }
  return false;
}

void pop3_retrieval::pump() {
  while (!has_effects() && !finished()) {
    if (committing_ || saving_) return;  // waiting on the driver's answer
    pop3::event ev = engine_.next_event();
    if (ev.type == pop3::event_type::need_data) {
      flush_output(engine_);
      if (phase_ == phase::closed) return;
      emit_receive();
      return;
    }
    if (ev.type == pop3::event_type::error) {
      if (phase_ == phase::quit) {
        // The server closed without answering QUIT: nothing it deleted counts.
        deleted_ok_ = 0;
        fail(failure_kind::connection,
             "POP3: the connection closed before QUIT completed; "
             "messages were kept on the server");
        return;
      }
      fail(in_message_ || phase_ == phase::transfer ? failure_kind::connection
                                                    : failure_kind::protocol,
           engine_.error().message);
      return;
    }
    handle(ev);
    flush_output(engine_);
  }
}

void pop3_retrieval::handle(const pop3::event& ev) {
  using pop3::command;
  using pop3::event_type;
  switch (phase_) {
    case phase::greeting:
      if (ev.type != event_type::greeting) return;
      summary_.server_greeting = std::string(ev.text);
      if (!ev.ok) {
        fail(failure_kind::protocol,
             "the POP3 server refused the connection: " + std::string(ev.text));
        return;
      }
      phase_ = phase::capa;
      engine_.submit_capa();
      return;
    case phase::capa:
    case phase::capa_after_tls:
      if (ev.type == event_type::capability) {
        capabilities_.emplace_back(ev.text);
        return;
      }
      if (ev.type == event_type::response && ev.cmd == command::capa) {
        capa_known_ = ev.ok;
        pipelining_ = has_capability("PIPELINING");
        if (phase_ == phase::capa && task_.encryption == model::encryption::starttls) {
          // RFC 2595: STLS is announced by CAPA; without CAPA, asking is the only way to know.
          if (capa_known_ && !has_capability("STLS")) {
            fail(failure_kind::encryption_required,
                 "the POP3 server does not offer STARTTLS (STLS); nothing was sent. Choose "
                 "SSL/TLS or allow an unencrypted connection");
            return;
          }
          phase_ = phase::stls;
          engine_.submit_stls();
          return;
        }
        after_capabilities();
      }
      return;
    case phase::stls:
      if (ev.type == event_type::response && ev.cmd == command::stls) {
        if (!ev.ok) {
          fail(failure_kind::encryption_required, "the POP3 server refused STARTTLS (STLS): " +
                                                      std::string(ev.text) + "; nothing was sent");
          return;
        }
        emit_start_tls();
      }
      return;
    case phase::auth:
      if (ev.type != event_type::response) return;
      if (!ev.ok) {
        fail(failure_kind::login,
             "the POP3 server refused the login: " +
                 (ev.text.empty() ? std::string("no reason given") : std::string(ev.text)));
        return;
      }
      if (ev.cmd == command::user) {
        if (!pipelining_) engine_.submit_pass(task_.password);
        return;
      }
      on_authenticated();
      return;
    case phase::stat:
      if (ev.type == event_type::stat) {
        message_count_ = ev.number;
        summary_.total_messages = ev.number;
        return;
      }
      if (ev.type == event_type::response && ev.cmd == command::stat) {
        if (!ev.ok) {
          fail(failure_kind::protocol, "the POP3 server refused STAT: " + std::string(ev.text));
          return;
        }
        if (options_.check_only) {
          phase_ = phase::quit;
          engine_.submit_quit();
          return;
        }
        phase_ = phase::uidl;
        engine_.submit_uidl();
      }
      return;
    case phase::uidl:
      if (ev.type == event_type::listing) {
        uidls_.emplace_back(ev.number, std::string(ev.text));
        return;
      }
      if (ev.type == event_type::response && ev.cmd == command::uidl && !ev.ok) {
        have_uidl_ = false;  // RFC 1939 makes UIDL optional
        plan_transfer();
        return;
      }
      if (ev.type == event_type::listing_end) plan_transfer();
      return;
    case phase::transfer:
      switch (ev.type) {
        case event_type::message_begin: {
          in_message_ = true;
          std::size_t index = to_fetch_.size();
          for (std::size_t i = 0; i < to_fetch_.size(); ++i) {
            if (to_fetch_[i] == ev.number) index = i;
          }
          current_index_ = index;
          current_ = pending_message{ev.number, emit_deliver_begin(folder_), {}};
          current_bytes_ = 0;
          current_digest_ = sha256();
          return;
        }
        case event_type::message_data:
          if (!in_message_) return;
          emit_deliver_data(current_.delivery, ev.text);
          current_bytes_ += ev.text.size();
          current_digest_.update(ev.text);
          return;
        case event_type::message_end: {
          in_message_ = false;
          --outstanding_retr_;
          ++fetched_;
          current_.size = current_bytes_;
          current_.digest = to_hex(current_digest_.finish());
          std::string key_source;
          if (have_uidl_) {
            current_.source_id =
                current_index_ < fetch_ids_.size() ? fetch_ids_[current_index_] : std::string();
            // The content is part of the name: a reused UIDL is a new message.
            key_source = "pop3:" + current_.source_id + "\x1f" + std::to_string(current_.size) +
                         ":" + current_.digest;
          } else {
            current_.source_id = "sha256:" + current_.digest;
            present_.insert(current_.source_id);
            key_source = "pop3:" + current_.source_id;
          }
          auto seen = seen_.find(current_.source_id);
          const bool same_as_retrieved =
              seen != seen_.end() && (have_uidl_ ? !seen->second.digest.empty() &&
                                                       seen->second.digest == current_.digest &&
                                                       seen->second.size == current_.size
                                                 : true);
          if (same_as_retrieved && task_.leave_on_server) {
            // Retrieved by an earlier run and staying on the server: not again (a copy the
            // user deleted locally does not come back).
            emit_deliver_abort(current_.delivery);
            ++folder_counts(folder_).already_had;
            if (seen->second.absent > 0) {
              seen->second.absent = 0;
              state_dirty_ = true;
            }
            emit_progress(folder_, fetched_, to_fetch_.size());
            fill_pipeline();
            maybe_finish_transfer();
            return;
          }
          // Otherwise delivered, also when it must be deleted: the DELE then rests on what
          // this run's commit reports, never on the seen set alone.
          emit_deliver_end(current_.delivery, delivery_key(key_source), 0, 0);
          batch_bytes_ += current_bytes_;
          batch_.push_back(std::move(current_));
          emit_progress(folder_, fetched_, to_fetch_.size());
          if (batch_.size() >= options_.batch_messages || batch_bytes_ >= options_.batch_bytes ||
              cancel_requested()) {
            committing_ = true;
            emit_commit();
            return;
          }
          fill_pipeline();
          maybe_finish_transfer();
          return;
        }
        case event_type::response:
          if (ev.cmd == command::retr && !ev.ok) {
            // The message went away between UIDL and RETR (another client): skip it.
            --outstanding_retr_;
            ++fetched_;
            fill_pipeline();
            maybe_finish_transfer();
          } else if (ev.cmd == command::dele) {
            --outstanding_dele_;
            if (ev.ok) ++deleted_ok_;
            maybe_finish_transfer();
          }
          return;
        default:
          return;
      }
    case phase::quit:
      if (ev.type == event_type::response && ev.cmd == command::quit) {
        phase_ = phase::closed;
        if (!ev.ok) {
          // RFC 1939 §6: -ERR to QUIT means some deletions failed.
          fail(failure_kind::protocol,
               "the POP3 server could not delete the messages: " + std::string(ev.text));
          return;
        }
        if (options_.check_only) {
          finish_ok("logged in; " + std::to_string(message_count_) + " message" +
                    (message_count_ == 1 ? "" : "s") + " on the server");
          return;
        }
        folder_counts(folder_).deleted = deleted_ok_;
        finish_ok("retrieval complete");
      } else if (ev.type == event_type::response && ev.cmd == command::dele) {
        --outstanding_dele_;
        if (ev.ok) ++deleted_ok_;
      }
      return;
    case phase::closed:
      return;
  }
}

void pop3_retrieval::after_capabilities() {
  phase_ = phase::auth;
  authenticate();
}

void pop3_retrieval::authenticate() {
  if (task_.apop) {
    if (engine_.apop_timestamp().empty()) {
      fail(failure_kind::login,
           "APOP is enabled but the POP3 server does not offer it (no timestamp in its "
           "greeting); nothing was sent");
      return;
    }
    engine_.submit_apop(task_.username, task_.password);
    return;
  }
  // USER/PASS unless the server announced SASL without USER (RFC 2449 §6.8).
  bool sasl_plain = false, sasl_login = false;
  for (const auto& line : capabilities_) {
    std::string_view l = line;
    if (l.size() > 5 && ascii::equals_ignore_case(l.substr(0, 5), "SASL ")) {
      std::string_view mechs = l.substr(5);
      std::size_t pos = 0;
      while (pos < mechs.size()) {
        auto end = mechs.find(' ', pos);
        if (end == std::string_view::npos) end = mechs.size();
        auto mech = mechs.substr(pos, end - pos);
        if (ascii::equals_ignore_case(mech, "PLAIN")) sasl_plain = true;
        if (ascii::equals_ignore_case(mech, "LOGIN")) sasl_login = true;
        pos = end + 1;
      }
    }
  }
  if (capa_known_ && !has_capability("USER") && sasl_plain) {
    engine_.submit_auth_plain(task_.username, task_.password);
  } else if (capa_known_ && !has_capability("USER") && sasl_login) {
    engine_.submit_auth_login(task_.username, task_.password);
  } else {
    engine_.submit_user(task_.username);
    if (pipelining_) engine_.submit_pass(task_.password);
  }
}

void pop3_retrieval::on_authenticated() {
  phase_ = phase::stat;
  engine_.submit_stat();
}

void pop3_retrieval::plan_transfer() {
  phase_ = phase::transfer;
  auto& counts = folder_counts(folder_);
  if (have_uidl_) {
    std::unordered_set<std::string> on_server;
    for (const auto& [number, uid] : uidls_) {
      on_server.insert(uid);
      auto seen = seen_.find(uid);
      // Downloaded again: a seen message that must be deleted (the DELE needs this run's
      // commit), and one that was missing from a listing and is back (a reused UIDL?).
      const bool fetch = seen == seen_.end() || !task_.leave_on_server ||
                         (seen->second.absent > 0 && !seen->second.digest.empty());
      if (fetch) {
        to_fetch_.push_back(number);
        fetch_ids_.push_back(uid);
      } else {
        ++counts.already_had;
        if (seen->second.absent > 0) {
          seen->second.absent = 0;
          state_dirty_ = true;
        }
      }
    }
    // An empty listing says nothing (a glitch, a "new since last POP" view); a non-empty one
    // counts one absence, and only repeated absence forgets an id.
    if (!uidls_.empty()) age_seen(on_server);
  } else {
    for (std::uint64_t n = 1; n <= message_count_; ++n) to_fetch_.push_back(n);
  }
  emit_progress(folder_, 0, to_fetch_.size());
  if (outstanding_dele_ == 0) fill_pipeline();
  maybe_finish_transfer();
}

void pop3_retrieval::age_seen(const std::unordered_set<std::string>& present) {
  for (auto it = seen_.begin(); it != seen_.end();) {
    if (present.count(it->first) > 0) {
      ++it;
      continue;
    }
    state_dirty_ = true;
    if (++it->second.absent >= kForgetAfter) {
      it = seen_.erase(it);
    } else {
      ++it;
    }
  }
}

void pop3_retrieval::fill_pipeline() {
  if (cancel_requested() || committing_ || saving_) return;
  // Without PIPELINING (RFC 2449 §6.6) one command at a time, DELEs included.
  const std::size_t window = pipelining_ ? kRetrWindow : 1;
  if (!pipelining_ && outstanding_dele_ > 0) return;
  while (next_fetch_ < to_fetch_.size() && outstanding_retr_ < window) {
    engine_.submit_retr(to_fetch_[next_fetch_++]);
    ++outstanding_retr_;
  }
}

void pop3_retrieval::maybe_finish_transfer() {
  if (phase_ != phase::transfer || committing_ || saving_) return;
  // Serial DELEs left over from plan_transfer or a batch.
  if (!pipelining_ && outstanding_dele_ == 0 && outstanding_retr_ == 0 && !to_delete_.empty()) {
    engine_.submit_dele(to_delete_.front());
    to_delete_.erase(to_delete_.begin());
    ++outstanding_dele_;
    return;
  }
  if (outstanding_dele_ == 0 && to_delete_.empty()) fill_pipeline();
  const bool all_fetched =
      (next_fetch_ >= to_fetch_.size() || cancel_requested()) && outstanding_retr_ == 0;
  if (!all_fetched || outstanding_dele_ > 0 || !to_delete_.empty()) return;
  if (!batch_.empty() || !batch_deletes_.empty()) {
    committing_ = true;
    emit_commit();
    return;
  }
  if (!have_uidl_ && !cancel_requested() && fetched_ == to_fetch_.size() && !present_.empty()) {
    // A full pass that saw messages: one absence for ids not among them.
    age_seen(present_);
    present_.clear();
  }
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
  phase_ = phase::quit;
  engine_.submit_quit();
}

void pop3_retrieval::on_commit_results(const std::vector<delivery_result>& results) {
  committing_ = false;
  auto& counts = folder_counts(folder_);
  for (const auto& r : results) {
    auto* it = committed(batch_, r, counts);
    if (finished()) return;
    if (!it) continue;
    seen_[it->source_id] = seen_entry{it->size, it->digest, 0};
    state_dirty_ = true;
    if (!task_.leave_on_server) batch_deletes_.push_back(it->number);
  }
  batch_.clear();
  batch_bytes_ = 0;
  // The seen set must be durable before any DELE: then a crash after DELE cannot make the
  // next run miss that it has the message (it would look new and be lost from the source).
  state_dirty_ = false;
  saving_ = true;
  emit_save_state(state_document());
}

void pop3_retrieval::on_state_stored() {
  saving_ = false;
  for (auto n : batch_deletes_) to_delete_.push_back(n);
  batch_deletes_.clear();
  if (pipelining_) {
    for (auto n : to_delete_) {
      engine_.submit_dele(n);
      ++outstanding_dele_;
    }
    to_delete_.clear();
  }
  fill_pipeline();
  maybe_finish_transfer();
  flush_output(engine_);
}

}  // namespace junction::jobs
