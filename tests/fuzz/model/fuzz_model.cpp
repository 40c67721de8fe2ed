// libFuzzer target for the account document's JSON model: what PUT /api/account, task files
// and the web app hand to model::parse_retrieval_task and parse_smtp_account, and the
// validators behind them. The input is a header byte and then JSON text:
//   byte 0: bit 0 picks the SMTP account (else a retrieval task); bit 1 tiny parse limits
//           (1 KiB, depth 3).
// Invariants: no crash and no exception (but std::bad_alloc); exactly one of a value and
// errors; a parsed value passes validate() without crashing, writes back to JSON that parses
// to the same value (the documented round trip), and without secrets has no "password"; the
// validators of model/validation.h take any bytes. The rest of the input also goes to those
// validators directly, as a host, an email address and a folder path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "model/retrieval_task.h"
#include "model/smtp_account.h"
#include "model/validation.h"

namespace {

namespace model = junction::model;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

template <class Result, class Value>
void check_result(const Result& result, const std::optional<Value>& value) {
  check(value.has_value() != !result.errors.empty());
  for (const auto& e : result.errors) check(!model::to_string(e).empty());
}

void fuzz_task(std::string_view text, const model::parse_limits& limits) {
  const auto result = model::parse_retrieval_task(text, limits);
  check_result(result, result.task);
  if (!result.ok()) return;
  const model::retrieval_task& task = *result.task;
  for (const auto& e : model::validate(task)) check(!e.field.empty());
  (void)task.effective_port();
  const nlohmann::json written = model::to_json(task);
  (void)written.dump();
  const auto again = model::parse_retrieval_task(written);
  check(again.ok() && *again.task == task);
  check(!model::to_json(task, false).contains("password"));
}

void fuzz_smtp(std::string_view text, const model::parse_limits& limits) {
  const auto result = model::parse_smtp_account(text, limits);
  check_result(result, result.account);
  if (!result.ok()) return;
  const model::smtp_account& account = *result.account;
  for (const auto& e : model::validate(account)) check(!e.field.empty());
  (void)account.effective_username();
  const nlohmann::json written = model::to_json(account);
  (void)written.dump();
  const auto again = model::parse_smtp_account(written);
  check(again.ok() && *again.account == account);
  check(!model::to_json(account, false).contains("password"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  model::parse_limits limits;
  if (flags & 2) {
    limits.max_text_bytes = 1024;
    limits.max_depth = 3;
  }
  if (flags & 1) {
    fuzz_smtp(text, limits);
  } else {
    fuzz_task(text, limits);
  }
  // The validators take any bytes, not only what came through JSON.
  (void)model::host_problem(text);
  (void)model::email_address_problem(text);
  (void)model::folder_path_problem(text);
  (void)model::utf8_problem(text);
  return 0;
}
