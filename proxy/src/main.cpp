// junction-proxy: the native daemon and its subcommands for scripts and cron.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/secrets.h"
#include "mime/compose.h"
#include "model/smtp_account.h"
#include "retrieval_runner.h"
#include "send_runner.h"
#include "serve/api.h"
#include "serve/config.h"
#include "serve/http_server.h"
#include "serve/maildir_service.h"
#include "serve/scheduler.h"
#include "store/account_store.h"

namespace {

constexpr const char* kUsage = R"(junction-proxy — Junction's native daemon and command line

Usage:
  junction-proxy retrieve --data DIR --task TASK.json
      Run one retrieval of the task into DIR/mailbox (Maildir++), keeping the task's
      state in DIR. Prints, per destination folder, the messages new, already had and
      deleted from the server.
  junction-proxy check --task TASK.json
      Test Connection: connect, start TLS, log in, count messages (POP3) or folders
      (IMAP), and say in one line what worked or what failed.
  junction-proxy check --smtp ACCOUNT.json
      Test SMTP Connection: connect, start TLS, EHLO, authenticate and QUIT without sending;
      one line: "OK: connected to HOST:PORT with STARTTLS (certificate verified),
      authenticated as USER" or "error (KIND): what failed".
  junction-proxy send --data DIR --account ID|ACCOUNT.json [--user NAME] --to ADDR [--to ADDR]...
                      [--cc ADDR]... [--bcc ADDR]... [--subject TEXT] [--attach FILE]... < BODY
      Compose a message (From: the account's display name and address; the text body read
      from standard input, UTF-8) and send it through the SMTP account. ADDR is
      jdoe@example.com or "Jane Doe <jdoe@example.com>". Prints one line per recipient,
      "ADDR: accepted" or "ADDR: refused CODE ENHANCED-CODE text", then "sent", or
      "error (KIND): what failed". When the server accepted the message for at least one
      recipient, a copy goes to the Sent folder of the mailbox (flagged as read).
      --account ID takes the SMTP account of that id from the account store of a `serve`
      data folder DIR (--user NAME when DIR has several users; the copy goes to that user's
      mailbox); --account ACCOUNT.json reads the account from a file (the copy goes to
      DIR/mailbox).
  junction-proxy serve --data DIR --listen ADDR:PORT [--config FILE] [--allow HOST:PORT]...
                       [--web DIR] [--tls-cert FILE --tls-key FILE] [--allow-origin ORIGIN]...
                       [--allow-port-25 yes|no]
      Serve the web app, the WebSocket bridge and the account API, and run automatic
      retrievals. The first start creates the user "admin" with a one-time password, written
      to DIR/initial-password (mode 0600; removed once the password is changed).
      Every connection it makes for a user (the bridge, scheduled runs, Retrieve Now) goes
      through one egress policy: mail and HTTPS ports (25 only with --allow-port-25 yes) on
      public addresses that are not this host's own. --allow HOST:PORT adds an exception
      (e.g. a mail server on 127.0.0.1). The other subcommands reach any address.
      SIGTERM or Ctrl-C stops it; runs in progress stop at a safe point.
  junction-proxy user add --data DIR NAME      (reads the password from standard input)
  junction-proxy user passwd --data DIR NAME   (likewise; ends the user's sessions)
  junction-proxy --help | --version

TASK.json is a retrieval task, e.g.
  {"type": "imap", "server": "mail.example.com", "username": "jdoe",
   "password": "...", "encryption": "ssl"}
Omitted fields take their defaults (encryption ssl, port 995/993 for ssl, 110/143 otherwise).

ACCOUNT.json is an SMTP account, e.g.
  {"display_name": "Jane Doe", "server": "smtp.example.com", "port": 587,
   "encryption": "starttls", "email": "jdoe@example.com", "auth": true,
   "username": "jdoe@example.com", "password": "..."}
Omitted fields take their defaults (port 25, encryption none, auth true, username = email).

Certificates are verified against the system's trusted CAs (SSL_CERT_FILE and SSL_CERT_DIR
are honoured). Exit status: 0 on success (send: accepted for at least one recipient), 1 when
the run failed, 2 on a usage error.
)";

int usage_error(const std::string& message) {
  std::cerr << "junction-proxy: " << message << "\n(see junction-proxy --help)\n";
  return 2;
}

struct arguments {
  std::string data;
  std::string task;
  std::string smtp;
  std::string account;
  std::string user;
  std::vector<std::string> to, cc, bcc, attach;
  std::string subject;
  bool has_subject = false;
  std::set<std::string> given;  // the flags present, for each command to refuse the others'
};

bool parse_flags(int argc, char** argv, int first, arguments& out, std::string& error) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= argc) {
        error = a + " needs a value";
        return false;
      }
      into = argv[++i];
      return true;
    };
    auto append = [&](std::vector<std::string>& into) {
      std::string v;
      if (!value(v)) return false;
      into.push_back(std::move(v));
      return true;
    };
    bool ok = true;
    if (a == "--data") {
      ok = value(out.data);
    } else if (a == "--task") {
      ok = value(out.task);
    } else if (a == "--smtp") {
      ok = value(out.smtp);
    } else if (a == "--account") {
      ok = value(out.account);
    } else if (a == "--user") {
      ok = value(out.user);
    } else if (a == "--to") {
      ok = append(out.to);
    } else if (a == "--cc") {
      ok = append(out.cc);
    } else if (a == "--bcc") {
      ok = append(out.bcc);
    } else if (a == "--attach") {
      ok = append(out.attach);
    } else if (a == "--subject") {
      ok = value(out.subject);
      out.has_subject = true;
    } else {
      error = "unknown argument " + a;
      return false;
    }
    if (!ok) return false;
    out.given.insert(a);
  }
  return true;
}

// A usage error naming the first flag the command does not take, or "" when all fit.
std::string unexpected_flag(const arguments& args, const std::string& command,
                            std::initializer_list<const char*> allowed) {
  for (const auto& flag : args.given) {
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* f) { return flag == f; }) ==
        allowed.end()) {
      return command + " does not take " + flag;
    }
  }
  return {};
}

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  return text.str();
}

// Reads and validates the task file; prints the problems and returns nullopt when invalid.
std::optional<junction::model::retrieval_task> load_task(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "error (config): cannot read the task file " << path << ": "
              << std::strerror(errno) << "\n";
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = junction::model::parse_retrieval_task(text.str());
  std::vector<junction::model::field_error> problems = parsed.errors;
  if (parsed.ok()) problems = junction::model::validate(*parsed.task);
  if (!problems.empty()) {
    for (const auto& p : problems) {
      std::cerr << "error (config): " << path << ": " << junction::model::to_string(p) << "\n";
    }
    return std::nullopt;
  }
  return parsed.task;
}

std::string plural(std::uint64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

int run_retrieve(const arguments& args) {
  if (auto bad = unexpected_flag(args, "retrieve", {"--data", "--task"}); !bad.empty()) {
    return usage_error(bad);
  }
  if (args.data.empty()) return usage_error("retrieve needs --data DIR");
  if (args.task.empty()) return usage_error("retrieve needs --task TASK.json");
  auto task = load_task(args.task);
  if (!task) return 1;
  junction::proxy::run_options options;
  options.data_dir = args.data;
  const bool show_progress = isatty(STDERR_FILENO);
  if (show_progress) {
    options.on_progress = [](std::string_view folder, std::uint64_t done, std::uint64_t total) {
      std::fprintf(stderr, "\r%.*s: %llu of %llu   ", static_cast<int>(folder.size()),
                   folder.data(), static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total));
    };
  }
  auto summary = junction::proxy::run_retrieval(*task, options);
  if (show_progress) std::fprintf(stderr, "\r\033[K");
  std::uint64_t total_new = 0, total_had = 0, total_deleted = 0;
  for (const auto& f : summary.folders) {
    std::cout << f.folder << ": " << f.new_messages << " new, " << f.already_had << " already had, "
              << f.deleted << " deleted from server\n";
    total_new += f.new_messages;
    total_had += f.already_had;
    total_deleted += f.deleted;
  }
  std::cout << "total: " << total_new << " new, " << total_had << " already had, " << total_deleted
            << " deleted from server\n";
  if (!summary.ok) {
    std::cerr << "error (" << junction::jobs::to_string(summary.failure) << "): " << summary.message
              << "\n";
    return 1;
  }
  return 0;
}

int run_check_smtp(const arguments& args);

int run_check(const arguments& args) {
  if (auto bad = unexpected_flag(args, "check", {"--task", "--smtp"}); !bad.empty()) {
    return usage_error(bad);
  }
  if (!args.task.empty() && !args.smtp.empty()) {
    return usage_error("check takes --task TASK.json or --smtp ACCOUNT.json, not both");
  }
  if (!args.smtp.empty()) return run_check_smtp(args);
  if (args.task.empty()) return usage_error("check needs --task TASK.json or --smtp ACCOUNT.json");
  auto task = load_task(args.task);
  if (!task) {
    std::cout << "FAILED (config): the task is not valid (see above)\n";
    return 1;
  }
  junction::proxy::run_options options;
  options.check_only = true;
  auto summary = junction::proxy::run_retrieval(*task, options);
  const std::string where = task->server + ":" + std::to_string(task->effective_port());
  if (!summary.ok) {
    std::cout << "FAILED (" << junction::jobs::to_string(summary.failure) << "): " << where << ": "
              << summary.message << "\n";
    return 1;
  }
  std::string security =
      task->encryption == junction::model::encryption::none
          ? "without encryption"
          : std::string("with TLS (") +
                (task->encryption == junction::model::encryption::ssl ? "implicit" : "STARTTLS") +
                ", certificate verified)";
  std::cout << "OK: connected to " << where << " " << security << ", logged in as "
            << task->username << "; "
            << (task->type == junction::model::retrieval_type::pop3
                    ? plural(summary.total_messages, "message")
                    : plural(summary.total_folders, "folder"))
            << " on the server\n";
  return 0;
}

// ---- SMTP Accounts: check --smtp and send -------------------------------------------------------

std::string join_problems(const std::vector<junction::model::field_error>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) out += "; ";
    out += junction::model::to_string(p);
  }
  return out;
}

// The account of a parse after validate(); on a problem sets `error` (one line naming
// `where` and each bad field) and returns nullopt.
std::optional<junction::model::smtp_account> checked_account(
    junction::model::smtp_parse_result parsed, const std::string& where, std::string& error) {
  std::vector<junction::model::field_error> problems = parsed.errors;
  if (parsed.ok()) problems = junction::model::validate(*parsed.account);
  if (!problems.empty()) {
    error = where + ": " + join_problems(problems);
    return std::nullopt;
  }
  return std::move(parsed.account);
}

std::optional<junction::model::smtp_account> load_smtp_account_file(const std::string& path,
                                                                    std::string& error) {
  auto text = read_file(path, error);
  if (!text) return std::nullopt;
  return checked_account(junction::model::parse_smtp_account(*text), path, error);
}

int run_check_smtp(const arguments& args) {
  std::string error;
  auto account = load_smtp_account_file(args.smtp, error);
  if (!account) {
    std::cout << "error (config): " << error << "\n";
    return 1;
  }
  junction::proxy::send_run_options options;
  options.job.check_only = true;
  options.io_timeout = std::chrono::seconds(60);
  const auto result = junction::proxy::run_send(*account, {}, options);
  std::cout << junction::proxy::check_line(*account, result) << "\n";
  return result.summary.ok ? 0 : 1;
}

// Where `send` finds its account and puts the Sent copy.
struct send_source {
  junction::model::smtp_account account;
  std::filesystem::path mailbox_dir;
};

// --account names a file when it looks like one (a .json name, a path, an existing file);
// otherwise it is the id of an SMTP account in DIR's account store.
bool names_a_file(const std::string& value) {
  std::error_code ec;
  return value.find('/') != std::string::npos ||
         (value.size() > 5 && value.compare(value.size() - 5, 5, ".json") == 0) ||
         std::filesystem::is_regular_file(value, ec);
}

std::optional<send_source> find_send_source(const arguments& args, std::string& error) {
  const std::filesystem::path data(args.data);
  if (names_a_file(args.account)) {
    if (!args.user.empty()) {
      error = "--user goes with --account ID (an account of the store), not with a file";
      return std::nullopt;
    }
    auto account = load_smtp_account_file(args.account, error);
    if (!account) return std::nullopt;
    return send_source{std::move(*account), data / "mailbox"};
  }
  // The store of a `serve` data folder; it is read, never created here.
  const auto db_file = data / "junction.db";
  const auto key_file = data / "secret.key";
  std::error_code ec;
  if (!std::filesystem::exists(db_file, ec) || !std::filesystem::exists(key_file, ec)) {
    error = args.data + " holds no account store (junction.db and secret.key of `serve`)";
    return std::nullopt;
  }
  try {
    auto secrets = junction::crypto::secret_box::open_or_create(key_file);
    junction::store::database db(db_file);
    junction::store::account_store accounts(db, secrets);
    std::optional<junction::store::user> user;
    if (!args.user.empty()) {
      user = accounts.find_user(args.user);
      if (!user) {
        error = "no user " + args.user + " in " + args.data;
        return std::nullopt;
      }
    } else {
      const auto all = accounts.users();
      if (all.size() != 1) {
        error = args.data + " has " + std::to_string(all.size()) +
                " users; say whose account it is with --user NAME";
        return std::nullopt;
      }
      user = all.front();
    }
    const auto document = accounts.load_account(user->id).document;
    const auto list = document.find("smtp_accounts");
    if (list != document.end() && list->is_array()) {
      for (const auto& element : *list) {
        if (!element.is_object() || element.value("id", "") != args.account) continue;
        if (element.value("secret_unreadable", false)) {
          error = "the stored password of SMTP account " + args.account +
                  " cannot be opened (the key changed?); enter it again";
          return std::nullopt;
        }
        auto account = checked_account(junction::model::parse_smtp_account(element),
                                       "SMTP account " + args.account, error);
        if (!account) return std::nullopt;
        return send_source{std::move(*account),
                           junction::serve::maildir_service::user_dir(data, user->id) / "mailbox"};
      }
    }
    error = "user " + user->name + " has no SMTP account " + args.account;
    return std::nullopt;
  } catch (const std::exception& e) {
    error = std::string("cannot read the account store in ") + args.data + ": " + e.what();
    return std::nullopt;
  }
}

// "jdoe@example.com" or "Jane Doe <jdoe@example.com>" (the name may be quoted).
junction::mime::mailbox_address parse_address_argument(const std::string& value) {
  const std::size_t open = value.rfind('<');
  if (open == std::string::npos || value.empty() || value.back() != '>') {
    return {"", value};
  }
  std::string name = value.substr(0, open);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    name = name.substr(1, name.size() - 2);
  }
  return {name, value.substr(open + 1, value.size() - open - 2)};
}

int utc_offset_minutes(std::time_t when) {
  std::tm local{};
  if (localtime_r(&when, &local) == nullptr) return 0;
  return static_cast<int>(local.tm_gmtoff / 60);
}

int run_send(const arguments& args) {
  if (auto bad = unexpected_flag(
          args, "send",
          {"--data", "--account", "--user", "--to", "--cc", "--bcc", "--subject", "--attach"});
      !bad.empty()) {
    return usage_error(bad);
  }
  if (args.data.empty()) return usage_error("send needs --data DIR");
  if (args.account.empty()) return usage_error("send needs --account ID|ACCOUNT.json");
  if (args.to.empty() && args.cc.empty() && args.bcc.empty()) {
    return usage_error("send needs at least one recipient (--to, --cc or --bcc)");
  }

  std::string error;
  auto source = find_send_source(args, error);
  if (!source) {
    std::cout << "error (config): " << error << "\n";
    return 1;
  }
  const auto& account = source->account;

  junction::mime::compose_input input;
  input.from = {account.display_name, account.email};
  for (const auto& a : args.to) input.to.push_back(parse_address_argument(a));
  for (const auto& a : args.cc) input.cc.push_back(parse_address_argument(a));
  for (const auto& a : args.bcc) input.bcc.push_back(parse_address_argument(a));
  input.subject = args.subject;
  {
    std::stringstream body;
    body << std::cin.rdbuf();
    input.text = body.str();
  }
  for (const auto& path : args.attach) {
    auto data = read_file(path, error);
    if (!data) {
      std::cout << "error (config): " << error << "\n";
      return 1;
    }
    const std::string filename = std::filesystem::path(path).filename().string();
    input.attachments.push_back(
        {filename, junction::proxy::guess_content_type(filename), std::move(*data)});
  }
  const std::time_t now = std::time(nullptr);
  input.date = static_cast<std::int64_t>(now);
  input.utc_offset_minutes = utc_offset_minutes(now);
  input.unique = junction::crypto::random_hex(16);

  auto composed = junction::mime::compose(input);
  if (!composed.ok) {
    std::cout << "error (config): " << composed.error << "\n";
    return 1;
  }

  std::vector<junction::jobs::outgoing_message> messages(1);
  messages[0].envelope_from = account.email;
  messages[0].recipients = composed.recipients;
  messages[0].data = composed.message;
  messages[0].needs_smtputf8 = composed.needs_smtputf8;
  messages[0].eight_bit = composed.eight_bit;
  junction::proxy::send_run_options options;
  const auto result = junction::proxy::run_send(account, std::move(messages), options);
  const auto& summary = result.summary;

  bool accepted = false;
  if (!summary.messages.empty()) {
    const auto& message = summary.messages.front();
    for (const auto& line : junction::proxy::recipient_lines(message)) std::cout << line << "\n";
    accepted = message.accepted;
  }
  if (!accepted) {
    std::cout << "error (" << junction::jobs::to_string(summary.failure)
              << "): " << (summary.message.empty() ? "the message was not sent" : summary.message)
              << "\n";
    return 1;
  }
  if (!summary.ok) {
    // Accepted, then something failed after (QUIT, the connection): the message is sent.
    std::cerr << "warning (" << junction::jobs::to_string(summary.failure)
              << "): " << summary.message << "\n";
  }
  if (auto copy_error = junction::proxy::save_sent_copy(source->mailbox_dir, composed.message,
                                                        composed.message_id, input.date);
      !copy_error.empty()) {
    // Sent all the same: a second send to fix the copy would deliver the message twice.
    std::cerr << "warning (mailbox): the message was sent but its copy in Sent could not be "
                 "saved: "
              << copy_error << "\n";
  }
  std::cout << "sent\n";
  return 0;
}

// A folder holding the assembled web app: the page and the WebAssembly core it runs. The raw
// web/ folder of a checkout is not one (the page would say it cannot load its engine).
bool is_web_app(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_regular_file(dir / "index.html", ec) &&
         std::filesystem::is_regular_file(dir / "junction-core.wasm", ec);
}

// Where `serve` looks for the web app when --web is not given, in order: beside an
// installation (PREFIX/bin/junction-proxy -> PREFIX/share/junction/www, what `cmake --install`
// lays out, for any prefix), beside a build in a checkout (build-wasm/www, what
// toolchains/run.sh assembles), then the system's share folders.
std::vector<std::filesystem::path> web_app_candidates(const char* argv0) {
  std::error_code ec;
  auto exe = std::filesystem::canonical("/proc/self/exe", ec);
  if (ec) exe = std::filesystem::absolute(argv0);
  std::vector<std::filesystem::path> out{exe.parent_path().parent_path() / "share" / "junction" /
                                         "www"};
  for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    out.push_back(dir / "build-wasm" / "www");
  }
  out.emplace_back("/usr/local/share/junction/www");
  out.emplace_back("/usr/share/junction/www");
  return out;
}

std::string read_password_from_stdin() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The data folder holds the sealing key, the database and every user's mail: only the
// account that runs Junction may enter it. umask 077 makes what is created from here on
// private (database, Maildir); the folder itself is created 0700, or narrowed to it.
void make_private_data_dir(const std::filesystem::path& data) {
  ::umask(077);
  std::filesystem::create_directories(data);
  std::filesystem::permissions(data, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
}

// The first start's one-time password, for the person who installs Junction: in a 0600 file
// rather than on standard output, where logs and terminals scroll it into other hands.
void write_initial_password(const std::filesystem::path& file, const std::string& password) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(errno));
  const std::string text = password + "\n";
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(saved));
}

int run_user(int argc, char** argv) {
  if (argc < 5) return usage_error("user add|passwd --data DIR NAME");
  const std::string action = argv[2];
  std::string data, name;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) {
      data = argv[++i];
    } else if (name.empty() && a.rfind("--", 0) != 0) {
      name = a;
    } else {
      return usage_error("unknown argument " + a);
    }
  }
  if (data.empty() || name.empty()) return usage_error("user " + action + " needs --data DIR NAME");
  const std::string password = read_password_from_stdin();
  if (password.size() < 10) {
    std::cerr << "error: the password must have at least 10 characters\n";
    return 1;
  }
  try {
    make_private_data_dir(data);
    auto secrets =
        junction::crypto::secret_box::open_or_create(std::filesystem::path(data) / "secret.key");
    junction::store::database db(std::filesystem::path(data) / "junction.db");
    junction::store::account_store accounts(db, secrets);
    if (action == "add") {
      accounts.add_user(name, password);
      std::cout << "user " << name << " added\n";
    } else if (action == "passwd") {
      if (!accounts.set_password(name, password)) {
        std::cerr << "error: no user " << name << "\n";
        return 1;
      }
      if (junction::ascii::equals_ignore_case(name, junction::serve::initial_user_name)) {
        std::filesystem::remove(std::filesystem::path(data) /
                                junction::serve::initial_password_file);
      }
      std::cout << "password of " << name << " changed; its sessions are ended\n";
    } else {
      return usage_error("unknown user command " + action);
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

int run_serve(int argc, char** argv) {
  junction::serve::serve_config config;
  if (auto error = junction::serve::parse_serve_arguments(argc, argv, 2, config); !error.empty()) {
    return usage_error(error);
  }
  if (config.web_root.empty()) {
    const auto candidates = web_app_candidates(argv[0]);
    for (const auto& dir : candidates) {
      if (is_web_app(dir)) {
        config.web_root = dir;
        break;
      }
    }
    if (config.web_root.empty()) {
      std::cerr << "junction-proxy serve: no web app to serve. Looked for index.html with "
                   "junction-core.wasm in:\n";
      for (const auto& dir : candidates) std::cerr << "  " << dir.string() << "\n";
      std::cerr << "Build it with `bash toolchains/run.sh` (it assembles build-wasm/www), "
                   "install it with `cmake --install` (README, \"Installing\"), or name it "
                   "with --web DIR.\n";
      return 1;
    }
  } else if (!is_web_app(config.web_root)) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(config.web_root / "index.html", ec)) {
      std::cerr << "junction-proxy serve: --web " << config.web_root.string()
                << " holds no index.html: there is no web app there to serve.\n";
      return 1;
    }
    std::cerr << "junction-proxy serve: warning: --web " << config.web_root.string()
              << " has no junction-core.wasm; the page will not be able to run retrievals "
                 "or sends (build the web app: build-wasm/www).\n";
  }
  // Signals are taken by one waiting thread; every other thread blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    make_private_data_dir(config.data_dir);
    auto secrets = junction::crypto::secret_box::open_or_create(config.data_dir / "secret.key");
    const auto db_file = config.data_dir / "junction.db";
    const auto password_file = config.data_dir / junction::serve::initial_password_file;
    bool first_start = false;
    {
      junction::store::database db(db_file);
      junction::store::account_store accounts(db, secrets);
      if (accounts.user_count() == 0) {
        const std::string first_password = junction::crypto::random_hex(9);
        // The file first: a start that cannot write it creates no user nobody could sign in as.
        write_initial_password(password_file, first_password);
        accounts.add_user(junction::serve::initial_user_name, first_password, true);
        first_start = true;
      } else {
        // Changed meanwhile (e.g. by `user passwd` of an older version): the file is stale.
        const auto admin = accounts.find_user(junction::serve::initial_user_name);
        if (!admin || !admin->must_change_password) std::filesystem::remove(password_file);
      }
    }
    junction::serve::event_hub events;
    junction::serve::scheduler scheduler(config, secrets, events);
    junction::serve::maildir_service mailboxes(config.data_dir);
    junction::serve::store_per_thread stores(db_file, secrets);
    junction::serve::server_services services;
    services.store = [&stores]() -> junction::store::account_store& { return stores.get(); };
    services.events = &events;
    services.tasks = &scheduler;
    services.mailboxes = &mailboxes;
    junction::serve::http_server server(config, services);
    const bool tls = !config.tls_certificate.empty();
    std::cout << "Junction is running: open " << (tls ? "https" : "http") << "://"
              << (config.listen_address.find(':') != std::string::npos
                      ? "[" + config.listen_address + "]"
                      : config.listen_address)
              << ":" << server.port() << "/ and sign in.\n";
    if (first_start) {
      std::cout << "First start: user \"admin\"; its one-time password is in "
                << std::filesystem::absolute(password_file).string()
                << " (readable only by this account; you will be asked to choose your own).\n";
    }
    std::cout << "Data: " << std::filesystem::absolute(config.data_dir).string()
              << "; web app: " << config.web_root.string() << std::endl;
    std::thread signal_waiter([&] {
      int received = 0;
      sigwait(&signals, &received);
      std::cerr << "junction-proxy: stopping (signal " << received << ")\n";
      scheduler.stop();
      server.stop();
    });
    scheduler.start();
    server.run();
    scheduler.stop();
    // run() returned without a signal (a fatal server error): release the waiting thread.
    pthread_kill(signal_waiter.native_handle(), SIGTERM);
    signal_waiter.join();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage_error("a command is needed");
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version") {
    std::cout << "junction-proxy 0.1.0\n";
    return 0;
  }
  if (command == "serve") return run_serve(argc, argv);
  if (command == "user") return run_user(argc, argv);
  arguments args;
  std::string error;
  if (!parse_flags(argc, argv, 2, args, error)) return usage_error(error);
  if (command == "retrieve") return run_retrieve(args);
  if (command == "check") return run_check(args);
  if (command == "send") return run_send(args);
  return usage_error("unknown command " + command);
}
