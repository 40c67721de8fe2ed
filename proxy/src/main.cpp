// junction-proxy: the native daemon and its subcommands for scripts and cron.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "retrieval_runner.h"

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
    std::cout << f.folder << ": " << f.new_messages << " new, " << f.already_had
              << " already had, " << f.deleted << " deleted from server\n";
    total_new += f.new_messages;
    total_had += f.already_had;
    total_deleted += f.deleted;
  }
  std::cout << "total: " << total_new << " new, " << total_had << " already had, "
            << total_deleted << " deleted from server\n";
  if (!summary.ok) {
    std::cerr << "error (" << junction::jobs::to_string(summary.failure)
              << "): " << summary.message << "\n";
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
    std::cout << "FAILED (" << junction::jobs::to_string(summary.failure) << "): " << where
              << ": " << summary.message << "\n";
    return 1;
  }
  std::string security =
      task->encryption == junction::model::encryption::none
          ? "without encryption"
          : std::string("with TLS (") +
                (task->encryption == junction::model::encryption::ssl ? "implicit"
                                                                            : "STARTTLS") +
                ", certificate verified)";
  std::cout << "OK: connected to " << where << " " << security << ", logged in as "
            << task->username << "; "
            << (task->type == junction::model::retrieval_type::pop3
                    ? plural(summary.total_messages, "message")
                    : plural(summary.total_folders, "folder"))
            << " on the server\n";
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
  arguments args;
  std::string error;
  if (!parse_flags(argc, argv, 2, args, error)) return usage_error(error);
  if (command == "retrieve") return run_retrieve(args);
  if (command == "check") return run_check(args);
  return usage_error("unknown command " + command);
}
