// libFuzzer target for the retrieval state documents (the JSON a task's last run saved, which
// the browser may also PUT through the API). The input is the document, given to a POP3 and an
// IMAP job. The POP3 job is then driven through one run against a tiny scripted server (one
// message, whose UIDL is in the seed documents, deleted after delivery), so what the loader
// kept is also used and written back out. Invariants: no crash, no exception, the run ends,
// and a saved document parses back as a POP3 state; the folder-name rule maps any input to
// a storable name.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/maildir_folder.h"
#include "jobs/pop3_retrieval.h"
#include "jobs/retrieval_job.h"
#include "model/retrieval_task.h"

namespace {

using namespace junction;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Answers each command line the job sends.
std::string answer(std::string_view line) {
  auto verb = line.substr(0, line.find(' '));
  if (verb == "CAPA") return "+OK\r\nUIDL\r\nUSER\r\n.\r\n";
  if (verb == "STAT") return "+OK 2 40\r\n";
  if (verb == "UIDL") return "+OK\r\n1 uid-1\r\n2 uid-2\r\n.\r\n";
  if (verb == "RETR") {
    return "+OK\r\nSubject: " + std::string(line.substr(5)) + "\r\n\r\nhello\r\n.\r\n";
  }
  if (verb == "QUIT") return "+OK bye\r\n";
  return "+OK\r\n";
}

void run_pop3(std::string_view state) {
  model::retrieval_task task;
  task.type = model::retrieval_type::pop3;
  task.server = "pop.example.org";
  task.username = "u";
  task.password = "p";
  task.encryption = model::encryption::none;
  task.leave_on_server = false;
  jobs::retrieval_options options;
  options.task_key = "fuzz";
  auto job = jobs::retrieval_job::create(task, options, state);
  check(job != nullptr);
  std::string to_server, from_server;
  std::size_t ended = 0;
  std::vector<jobs::delivery_result> results;
  for (int steps = 0; steps < 10000; ++steps) {
    jobs::effect e = job->next();
    switch (e.kind) {
      case jobs::effect::type::connect:
        from_server = "+OK ready\r\n";
        job->on_connected();
        break;
      case jobs::effect::type::send: {
        to_server.append(e.bytes);
        std::size_t eol;
        while ((eol = to_server.find("\r\n")) != std::string::npos) {
          from_server += answer(std::string_view(to_server).substr(0, eol));
          to_server.erase(0, eol + 2);
        }
        break;
      }
      case jobs::effect::type::receive:
        if (from_server.empty()) {
          job->on_eof();
        } else {
          std::string bytes;
          bytes.swap(from_server);
          job->on_data(bytes);
        }
        break;
      case jobs::effect::type::deliver_end:
        results.push_back({e.delivery, jobs::delivery_status::stored, {}});
        ++ended;
        break;
      case jobs::effect::type::commit: {
        auto r = std::move(results);
        results.clear();
        job->on_committed(r);
        break;
      }
      case jobs::effect::type::save_state:
        check(jobs::pop3_retrieval::parse_state(e.bytes).has_value());
        job->on_state_saved();
        break;
      case jobs::effect::type::start_tls:
        job->on_failure(jobs::failure_kind::tls, "no TLS here");
        break;
      case jobs::effect::type::done:
      case jobs::effect::type::failed:
        return;
      default:
        break;
    }
  }
  check(false);  // the run never ended
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)jobs::pop3_retrieval::parse_state(input);
  run_pop3(input);

  model::retrieval_task imap;
  imap.type = model::retrieval_type::imap;
  imap.server = "imap.example.org";
  imap.username = "u";
  imap.password = "p";
  auto job = jobs::retrieval_job::create(imap, jobs::retrieval_options{"fuzz"}, input);
  check(job != nullptr);
  check(job->next().kind == jobs::effect::type::connect);

  auto storable = jobs::make_storable(input.substr(0, 4096));
  check(jobs::maildir_folder_name(storable.path).name.has_value());
  return 0;
}
