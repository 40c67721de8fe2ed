// The framing of POST /api/mailbox/batch (media type application/vnd.junction.batch): many
// messages in one body, each behind a JSON line that gives its size and its append fields.
// Only the framing is checked here; the fields of each record are the API's to check.
//
// batch  = 1*record
// record = json-line LF message LF     ; json-line: an object holding "size", the message's
//                                      ; length in bytes; no LF inside (JSON escapes it)
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace junction::serve {

struct batch_limits {
  std::size_t max_records = 1000;
  std::size_t max_line_bytes = 4096;  // a JSON line, without its LF
  std::size_t max_line_depth = 4;     // nesting of arrays and objects in a JSON line
};

// One record of a batch as framed, its fields not yet checked.
struct batch_record {
  nlohmann::json header;  // the JSON line, an object
  std::string_view message;
};

// The records of `body`, or nullopt with `problem` saying which record and byte offset is
// wrong. The framing must be right throughout, or nothing in the batch is taken: a client
// that miscounts one size would shift every record after it. The message views point into
// `body` and live as long as it does. Never throws for any input (only std::bad_alloc).
std::optional<std::vector<batch_record>> parse_batch(std::string_view body, std::string& problem,
                                                     const batch_limits& limits = {});

}  // namespace junction::serve
