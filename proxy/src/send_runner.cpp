#include "send_runner.h"

#include <array>
#include <cctype>
#include <exception>
#include <utility>

#include "common/digest.h"
#include "mailbox/maildir.h"

namespace junction::proxy {

using jobs::effect;
using jobs::failure_kind;

namespace {

// Queued sends are written once they reach this size even before a receive: the content of
// a large message is streamed instead of gathered whole a second time. (With TCP_NODELAY
// several writes cost nothing extra; the point of coalescing is the small commands.)
constexpr std::size_t max_queued_bytes = 256u << 10;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

send_run_result run_send(const model::smtp_account& account,
                         std::vector<jobs::outgoing_message> messages,
                         const send_run_options& options) {
  send_run_result result;
  auto job = jobs::send_job::create(account, std::move(messages), options.job);

  net::mail_connection::options conn_options;
  conn_options.connect_timeout = options.connect_timeout;
  conn_options.io_timeout = options.io_timeout;
  conn_options.egress = options.egress;
  // The model accepts either case; OpenSSL's digest is printed in lower case.
  conn_options.pinned_cert_sha256 = lower(account.pinned_cert_sha256);
  result.pinned = !conn_options.pinned_cert_sha256.empty();
  net::mail_connection conn(conn_options);

  std::string outgoing;
  std::string incoming;
  bool cancel_sent = false;

  // Writes what is queued; false (and the job told) when the write failed.
  auto flush = [&]() -> bool {
    if (outgoing.empty()) return true;
    auto err = conn.write(outgoing);
    outgoing.clear();
    if (err) {
      job->on_failure(err.kind, err.message);
      return false;
    }
    return true;
  };

  for (;;) {
    if (!cancel_sent && options.cancel && options.cancel->load()) {
      job->cancel();
      cancel_sent = true;
    }
    effect e = job->next();
    try {
      switch (e.kind) {
        case effect::type::connect:
          if (auto err = conn.connect(std::string(e.host), e.port, e.tls)) {
            job->on_failure(err.kind, err.message);
          } else {
            job->on_connected();
          }
          break;
        case effect::type::send:
          outgoing.append(e.bytes);
          if (outgoing.size() >= max_queued_bytes) flush();
          break;
        case effect::type::receive:
          if (!flush()) break;
          if (auto err = conn.read_some(incoming)) {
            job->on_failure(err.kind, err.message);
          } else if (incoming.empty()) {
            job->on_eof();
          } else {
            job->on_data(incoming);
          }
          break;
        case effect::type::start_tls:
          if (!outgoing.empty()) {
            // The engine never pipelines past STARTTLS; anything here would go out in clear.
            job->on_failure(failure_kind::protocol, "internal: data queued before STARTTLS");
            break;
          }
          if (auto err = conn.start_tls()) {
            job->on_failure(err.kind, err.message);
          } else {
            job->on_tls_started();
          }
          break;
        case effect::type::progress:
          if (options.on_progress) options.on_progress(e.done_count, e.total);
          break;
        case effect::type::close:
          if (!outgoing.empty()) {
            conn.write(outgoing);  // best effort: QUIT after the last answer that mattered
            outgoing.clear();
          }
          result.tls = conn.tls();
          conn.close();
          break;
        case effect::type::done:
        case effect::type::failed:
          if (!result.tls.active) result.tls = conn.tls();
          result.summary = job->summary();
          return result;
        case effect::type::deliver_begin:
        case effect::type::deliver_data:
        case effect::type::deliver_end:
        case effect::type::deliver_abort:
        case effect::type::commit:
        case effect::type::save_state:
          // Not effects of a send job; refusing them keeps a future mistake loud.
          job->on_failure(failure_kind::protocol, "internal: unexpected effect from a send job");
          break;
      }
    } catch (const std::exception& ex) {
      job->on_failure(failure_kind::connection, ex.what());
    }
  }
}

std::string check_line(const model::smtp_account& account, const send_run_result& result) {
  const auto& s = result.summary;
  if (!s.ok) {
    return "error (" + std::string(jobs::to_string(s.failure)) + "): " + s.message;
  }
  std::string line = "OK: connected to " + account.server + ":" + std::to_string(account.port);
  switch (account.encryption) {
    case model::smtp_encryption::none:
      line += " without encryption";
      break;
    case model::smtp_encryption::starttls:
      line += " with STARTTLS";
      break;
    case model::smtp_encryption::ssl:
      line += " with SSL/TLS";
      break;
  }
  if (account.encryption != model::smtp_encryption::none) {
    line += result.pinned ? " (pinned certificate)" : " (certificate verified)";
  }
  if (account.auth) {
    line += ", authenticated as " + account.effective_username();
  } else {
    line += ", no authentication";
  }
  return line;
}

std::vector<std::string> recipient_lines(const jobs::message_result& message) {
  auto refusal = [](int code, const std::string& enhanced, const std::string& text) {
    std::string s = "refused " + std::to_string(code);
    if (!enhanced.empty()) s += " " + enhanced;
    if (!text.empty()) s += " " + text;
    return s;
  };
  std::vector<std::string> lines;
  for (const auto& r : message.recipients) {
    std::string line = r.address + ": ";
    if (r.accepted && message.accepted) {
      line += "accepted";
    } else if (r.code != 0 && !r.accepted) {
      line += refusal(r.code, r.enhanced_code, r.text);
    } else if (message.code != 0) {
      // Accepted at RCPT, then the message as a whole was refused (DATA or its end).
      line += refusal(message.code, message.enhanced_code, message.text);
    } else {
      line += "not sent" + (message.text.empty() ? std::string() : " (" + message.text + ")");
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string sent_copy_key(std::string_view message_id) {
  return sha256_hex(message_id);
}

std::string save_sent_copy(const std::filesystem::path& mailbox_dir, std::string_view message,
                           std::string_view message_id, std::int64_t date) {
  try {
    std::filesystem::create_directories(mailbox_dir.parent_path());
    mailbox::maildir box(mailbox_dir);
    const std::uint64_t d = box.begin("Sent");
    box.write(d, message);
    box.end(d, sent_copy_key(message_id), static_cast<unsigned>(mailbox::message_flag::seen), date);
    for (const auto& r : box.commit()) {
      if (r.status == mailbox::commit_status::failed) return r.error;
    }
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string guess_content_type(std::string_view filename) {
  struct entry {
    std::string_view extension, type;
  };
  // The types people attach most; anything else is application/octet-stream, which every
  // reader offers to save.
  static constexpr std::array<entry, 30> table = {{
      {"txt", "text/plain"},
      {"text", "text/plain"},
      {"csv", "text/csv"},
      {"htm", "text/html"},
      {"html", "text/html"},
      {"ics", "text/calendar"},
      {"vcf", "text/vcard"},
      {"md", "text/markdown"},
      {"xml", "application/xml"},
      {"json", "application/json"},
      {"pdf", "application/pdf"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"tar", "application/x-tar"},
      {"7z", "application/x-7z-compressed"},
      {"doc", "application/msword"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xls", "application/vnd.ms-excel"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"ppt", "application/vnd.ms-powerpoint"},
      {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
      {"odt", "application/vnd.oasis.opendocument.text"},
      {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"svg", "image/svg+xml"},
      {"mp3", "audio/mpeg"},
  }};
  const std::size_t dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == filename.size()) {
    return "application/octet-stream";
  }
  const std::string extension = lower(filename.substr(dot + 1));
  for (const auto& e : table) {
    if (e.extension == extension) return std::string(e.type);
  }
  return "application/octet-stream";
}

}  // namespace junction::proxy
