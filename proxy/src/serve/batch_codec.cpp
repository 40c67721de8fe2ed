#include "serve/batch_codec.h"

#include <cstdint>
#include <utility>

#include "serve/http_util.h"

namespace junction::serve {

using nlohmann::json;

std::optional<std::vector<batch_record>> parse_batch(std::string_view body, std::string& problem,
                                                     const batch_limits& limits) {
  std::vector<batch_record> records;
  std::size_t at = 0;
  const auto fail = [&](const std::string& what) {
    problem = "batch record " + std::to_string(records.size() + 1) + " at byte " +
              std::to_string(at) + ": " + what;
    return std::nullopt;
  };
  if (body.empty()) {
    problem = "the batch holds no records";
    return std::nullopt;
  }
  while (at < body.size()) {
    if (records.size() == limits.max_records) {
      return fail("more than " + std::to_string(limits.max_records) + " records");
    }
    const std::string_view rest = body.substr(at);
    const std::size_t newline = rest.substr(0, limits.max_line_bytes + 1).find('\n');
    if (newline == std::string_view::npos) {
      return fail(rest.size() > limits.max_line_bytes
                      ? "the JSON line is longer than " + std::to_string(limits.max_line_bytes) +
                            " bytes"
                      : std::string("the JSON line has no line end"));
    }
    const std::string_view line = rest.substr(0, newline);
    if (!json_depth_within(line, limits.max_line_depth))
      return fail("the JSON line nests too deeply");
    // nlohmann takes a NUL byte for the end of input and would ignore the rest of the line;
    // JSON has no raw NUL anywhere.
    json header = line.find('\0') == std::string_view::npos
                      ? json::parse(line.begin(), line.end(), nullptr, false)
                      : json(json::value_t::discarded);
    if (header.is_discarded() || !header.is_object()) {
      return fail("the line is not a JSON object");
    }
    const auto size = header.find("size");
    if (size == header.end() || !size->is_number_unsigned()) {
      return fail("\"size\" must be the message's length in bytes");
    }
    const std::size_t start = at + newline + 1;
    const std::uint64_t length = size->get<std::uint64_t>();
    // Both the message and its closing LF must fit in what is left.
    if (length >= body.size() - start) {
      return fail("\"size\" " + std::to_string(length) + " reaches beyond the end of the body");
    }
    if (body[start + length] != '\n') return fail("the message is not followed by a line end");
    records.push_back({std::move(header), body.substr(start, length)});
    at = start + length + 1;
  }
  return records;
}

}  // namespace junction::serve
