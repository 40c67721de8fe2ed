// libFuzzer target for the IMAP client engine and modified UTF-7. The input is server bytes,
// fed in a few pieces (cut points taken from the input's first bytes) to a client that has
// queued a whole retrieval session; any input may end in a protocol error, none may crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "imap/client.h"
#include "imap/mutf7.h"

namespace {

using junction::imap::client;
using junction::imap::event_type;

bool drain(client& c) {
  for (int guard = 0; guard < 1000000; ++guard) {
    auto e = c.next_event();
    // Answering like a driver does: write out whatever the engine released (literals after a
    // continuation request).
    c.consume_output(c.pending_output().size());
    if (e.type == event_type::need_data) return true;
    if (e.type == event_type::error) return false;
    if (e.type == event_type::list) (void)junction::imap::mutf7_decode(e.text);
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto decoded = junction::imap::mutf7_decode(input)) {
    auto again = junction::imap::mutf7_encode(*decoded);
    if (!again || *again != input) {
      // Decoding is strict, so a name that decodes must encode back to itself, except for
      // adjacent runs ("&AMk-&AOk-"), which are accepted but encoded as one run.
      if (!again || junction::imap::mutf7_decode(*again) != decoded) __builtin_trap();
    }
  }
  (void)junction::imap::mutf7_encode(input);

  junction::imap::limits l;
  l.max_line = 4096;
  l.max_literal = 1 << 20;
  l.max_depth = 16;
  l.max_list_items = 64;
  client c(l);
  c.submit_capability();
  c.submit_login("joe", "p\xc3\xa4ss");  // 8-bit: a synchronizing literal
  c.submit_list("", "*");
  c.submit_examine("Caf\xc3\xa9");
  c.submit_uid_search(1, 0);
  c.submit_uid_fetch("1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])");
  c.submit_logout();
  c.consume_output(c.pending_output().size());

  // Up to three cut points from the first bytes, so the fuzzer explores splits too.
  std::size_t cuts[3] = {size, size, size};
  std::size_t skip = 0;
  if (size >= 3) {
    for (int i = 0; i < 3; ++i) cuts[i] = static_cast<std::size_t>(data[i]) * size / 256;
    skip = 3;
  }
  std::size_t pos = skip;
  bool ok = true;
  for (std::size_t i = 0; i < 4 && ok; ++i) {
    std::size_t end = i < 3 ? std::max(pos, std::min(size, cuts[i])) : size;
    c.feed(input.substr(pos, end - pos));
    pos = end;
    ok = drain(c);
  }
  if (ok) {
    c.feed_eof();
    drain(c);
  }
  return 0;
}
