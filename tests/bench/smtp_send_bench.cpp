// The Junction side of smtp_bench.sh: composes N messages with mime::compose and sends them
// all through ONE run of proxy::run_send, that is one connection, one TLS handshake, one
// AUTH, then MAIL/RCPT/DATA pipelined per message with coalesced writes (send_runner.h). The
// CLI's `junction-proxy send` sends one message per process and cannot show this.
//
//   smtp_send_bench --account ACCOUNT.json --to ADDR --count N --body FILE
//                   [--subject PREFIX] [--write-dir DIR]
//
// Message i (1-based) has the subject "PREFIX #i" and the text of FILE. With --write-dir the
// composed messages are also written there as DIR/i.eml (nothing is sent): the script feeds
// exactly these bytes to msmtp, so both tools carry the same payload.
//
// Prints one line "composed N bytes B compose_s X send_s Y accepted A" and exits 0 when every
// message was accepted for its recipient; otherwise prints why on stderr and exits 1. There
// is no Sent copy (the CLI's `send` makes one, msmtp does not): this measures the wire.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/secrets.h"
#include "jobs/send_job.h"
#include "mime/compose.h"
#include "model/smtp_account.h"
#include "send_runner.h"

namespace {

int usage(const std::string& problem) {
  std::cerr << "smtp_send_bench: " << problem
            << "\nusage: smtp_send_bench --account ACCOUNT.json --to ADDR --count N --body FILE"
               " [--subject PREFIX] [--write-dir DIR]\n";
  return 2;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string account_path, to, body_path, subject = "bench", write_dir;
  long count = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return usage(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--account") {
      account_path = value;
    } else if (flag == "--to") {
      to = value;
    } else if (flag == "--body") {
      body_path = value;
    } else if (flag == "--subject") {
      subject = value;
    } else if (flag == "--write-dir") {
      write_dir = value;
    } else if (flag == "--count") {
      try {
        count = std::stol(value);
      } catch (const std::exception&) {
        count = 0;
      }
      if (count < 1 || count > 100000) return usage("--count must be 1 to 100000");
    } else {
      return usage("unknown option " + flag);
    }
  }
  if (account_path.empty() || to.empty() || body_path.empty() || count == 0) {
    return usage("--account, --to, --count and --body are required");
  }

  std::string text, body;
  if (!read_file(account_path, text)) return usage("cannot read " + account_path);
  if (!read_file(body_path, body)) return usage("cannot read " + body_path);
  auto parsed = junction::model::parse_smtp_account(std::string_view(text));
  if (!parsed.ok() || !junction::model::validate(*parsed.account).empty()) {
    std::cerr << "smtp_send_bench: " << account_path << " is not a valid SMTP account\n";
    return 2;
  }
  const auto& account = *parsed.account;

  // Composing is part of what a sender does; it is timed apart so the report can tell.
  const auto t_compose = std::chrono::steady_clock::now();
  std::vector<junction::jobs::outgoing_message> messages;
  messages.reserve(static_cast<std::size_t>(count));
  std::uint64_t bytes = 0;
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  for (long i = 1; i <= count; ++i) {
    junction::mime::compose_input input;
    input.from = {account.display_name, account.email};
    input.to.push_back({"", to});
    input.subject = subject + " #" + std::to_string(i);
    input.text = body;
    input.date = now;
    input.unique = junction::crypto::random_hex(16);
    auto composed = junction::mime::compose(input);
    if (!composed.ok) {
      std::cerr << "smtp_send_bench: compose failed: " << composed.error << "\n";
      return 1;
    }
    bytes += composed.message.size();
    if (!write_dir.empty()) {
      std::ofstream out(write_dir + "/" + std::to_string(i) + ".eml", std::ios::binary);
      out << composed.message;
      if (!out) {
        std::cerr << "smtp_send_bench: cannot write into " << write_dir << "\n";
        return 1;
      }
    }
    junction::jobs::outgoing_message m;
    m.envelope_from = account.email;
    m.recipients = std::move(composed.recipients);
    m.data = std::move(composed.message);
    m.needs_smtputf8 = composed.needs_smtputf8;
    m.eight_bit = composed.eight_bit;
    messages.push_back(std::move(m));
  }
  const double compose_s = seconds_since(t_compose);
  if (!write_dir.empty()) {
    std::cout << "composed " << count << " bytes " << bytes << " written to " << write_dir << "\n";
    return 0;
  }

  const auto t_send = std::chrono::steady_clock::now();
  junction::proxy::send_run_options options;
  options.io_timeout = std::chrono::seconds(60);
  const auto result = junction::proxy::run_send(account, std::move(messages), options);
  const double send_s = seconds_since(t_send);

  const auto& summary = result.summary;
  long accepted = 0;
  for (const auto& m : summary.messages) accepted += m.accepted ? 1 : 0;
  std::cout << "composed " << count << " bytes " << bytes << " compose_s " << compose_s
            << " send_s " << send_s << " accepted " << accepted << "\n";
  if (!summary.ok || accepted != count) {
    std::cerr << "smtp_send_bench: " << accepted << " of " << count << " accepted; "
              << junction::jobs::to_string(summary.failure) << ": " << summary.message << "\n";
    return 1;
  }
  return 0;
}
