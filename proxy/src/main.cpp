// junction-proxy: the native daemon and its subcommands for scripts and cron.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/secrets.h"
#include "retrieval_runner.h"
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
  junction-proxy serve --data DIR --listen ADDR:PORT [--config FILE] [--allow HOST:PORT]...
                       [--web DIR] [--tls-cert FILE --tls-key FILE] [--allow-origin ORIGIN]...
      Serve the web app, the WebSocket bridge and the account API, and run automatic
      retrievals. The first start creates the user "admin" and prints a one-time password.
      --allow adds an egress exception for the bridge (e.g. a mail server on 127.0.0.1).
      SIGTERM or Ctrl-C stops it; runs in progress stop at a safe point.
  junction-proxy user add --data DIR NAME      (reads the password from standard input)
  junction-proxy user passwd --data DIR NAME   (likewise)
  junction-proxy --help | --version

TASK.json is a retrieval task, e.g.
  {"type": "imap", "server": "mail.example.com", "username": "jdoe",
   "password": "...", "encryption": "ssl"}
Omitted fields take their defaults (encryption ssl, port 995/993 for ssl, 110/143 otherwise).

Certificates are verified against the system's trusted CAs (SSL_CERT_FILE and SSL_CERT_DIR
are honoured). Exit status: 0 on success, 1 when the run failed, 2 on a usage error.
)";

int usage_error(const std::string& message) {
  std::cerr << "junction-proxy: " << message << "\n(see junction-proxy --help)\n";
  return 2;
}

struct arguments {
  std::string data;
  std::string task;
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
    if (a == "--data") {
      if (!value(out.data)) return false;
    } else if (a == "--task") {
      if (!value(out.task)) return false;
    } else {
      error = "unknown argument " + a;
      return false;
    }
  }
  return true;
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

int run_check(const arguments& args) {
  if (args.task.empty()) return usage_error("check needs --task TASK.json");
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

std::filesystem::path default_web_root(const char* argv0) {
  // Beside a build (build/proxy/src/junction-proxy -> web/) or an installation.
  std::error_code ec;
  auto exe = std::filesystem::canonical("/proc/self/exe", ec);
  if (ec) exe = std::filesystem::absolute(argv0);
  for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    if (std::filesystem::exists(dir / "web" / "index.html")) return dir / "web";
  }
  if (std::filesystem::exists("/usr/share/junction/web/index.html"))
    return "/usr/share/junction/web";
  return std::filesystem::current_path() / "web";
}

std::string read_password_from_stdin() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
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
    std::filesystem::create_directories(data);
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
      std::cout << "password of " << name << " changed\n";
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
  if (config.web_root.empty()) config.web_root = default_web_root(argv[0]);
  // Signals are taken by one waiting thread; every other thread blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    std::filesystem::create_directories(config.data_dir);
    auto secrets = junction::crypto::secret_box::open_or_create(config.data_dir / "secret.key");
    const auto db_file = config.data_dir / "junction.db";
    std::string first_password;
    {
      junction::store::database db(db_file);
      junction::store::account_store accounts(db, secrets);
      if (accounts.user_count() == 0) {
        first_password = junction::crypto::random_hex(9);
        accounts.add_user("admin", first_password, true);
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
    if (!first_password.empty()) {
      std::cout << "First start: user \"admin\", one-time password " << first_password
                << " (you will be asked to choose your own).\n";
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
  return usage_error("unknown command " + command);
}
