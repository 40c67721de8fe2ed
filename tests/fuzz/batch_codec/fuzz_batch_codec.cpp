// libFuzzer target for the batch framing of POST /api/mailbox/batch (serve/batch_codec.h).
// The input is a header byte and then the body:
//   byte 0: bit 0 picks tiny limits (3 records, 64-byte lines, depth 2).
// Invariants: no crash and no exception (but std::bad_alloc); an error always says what is
// wrong; a batch that parses is framed exactly: its records cover the body from its first
// byte to its last, in order, each a JSON object line whose "size" is its message's length
// followed by that message and one LF, within the limits; and the body cut after any of its
// records parses to just the records before the cut.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "serve/batch_codec.h"

namespace {

using junction::serve::batch_limits;
using junction::serve::batch_record;
using junction::serve::parse_batch;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  batch_limits limits;
  if (data[0] & 1) limits = batch_limits{3, 64, 2};
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string problem;
  const auto records = parse_batch(body, problem, limits);
  if (!records) {
    check(!problem.empty());
    return 0;
  }
  check(!records->empty() && records->size() <= limits.max_records);
  std::vector<std::size_t> ends;
  std::size_t at = 0;
  for (const batch_record& r : *records) {
    check(r.header.is_object());
    const auto found = r.header.find("size");
    check(found != r.header.end() && found->is_number_unsigned() &&
          found->get<std::uint64_t>() == r.message.size());
    const auto start = static_cast<std::size_t>(r.message.data() - body.data());
    check(start > at && start <= body.size());
    const std::string_view line = std::string_view(body).substr(at, start - at - 1);
    check(body[start - 1] == '\n' && line.find('\n') == std::string_view::npos &&
          line.size() <= limits.max_line_bytes);
    const std::size_t end = start + r.message.size();
    check(end < body.size() && body[end] == '\n');
    at = end + 1;
    ends.push_back(at);
  }
  check(at == body.size());
  if (ends.size() > 1) {
    const auto fewer =
        parse_batch(std::string_view(body).substr(0, ends[ends.size() - 2]), problem, limits);
    check(fewer && fewer->size() == ends.size() - 1);
  }
  return 0;
}
