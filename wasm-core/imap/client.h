// IMAP client engine (IMAP4rev1, RFC 3501; tolerant of IMAP4rev2, RFC 9051), sans-I/O.
//
// Layers: imap/tokenizer.h turns bytes into tokens (atoms, numbers, quoted strings, NIL,
// parentheses, literals streamed as begin/chunk/end); this client turns tokens into the
// response events below and tracks which tagged command each completion answers.
//
// Contract (STYLE.md §1):
//   feed(bytes)          buffer input; an empty feed is not EOF.
//   feed_eof()           the peer closed; unless a BYE was seen, the next event is an error.
//   next_event()         one event, or event_type::need_data. Views inside an event stay
//                        valid until the next call to feed(), feed_eof() or next_event().
//   submit_*()           queue a command and return its tag number (> 0), or 0 with a misuse
//                        error when the engine has failed. Commands with a synchronizing
//                        literal hold back the rest of their bytes until the server's '+'.
//   pending_output()     bytes to write; valid until the next non-const call.
//   consume_output(n)    n bytes were written.
// Untagged EXISTS, EXPUNGE and BYE are reported whenever they arrive, between any events.
// After an error event every call is a no-op and next_event() repeats the error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace junction::imap {

struct limits {
  std::size_t max_line = 65536;  // non-literal bytes of one response line
  std::uint64_t max_literal = 512ull << 20;
  std::size_t max_depth = 32;         // parenthesis nesting
  std::size_t max_list_items = 4096;  // flags, attributes, capabilities in one list
};

enum class status { ok, no, bad, preauth, bye };

enum class event_type {
  need_data,
  greeting,            // status (ok, preauth or bye), code, text
  capability,          // items = capabilities (from CAPABILITY or a [CAPABILITY ...] code)
  tagged,              // tag, status (ok/no/bad), code, text: the command `tag` completed
  untagged_status,     // * OK/NO/BAD/BYE: status, code (e.g. "UIDVALIDITY"), number = the
                       // code's numeric argument where it has one (UIDVALIDITY, UIDNEXT,
                       // UNSEEN), text
  list,                // items = attributes (e.g. "\\Noselect", "\\HasChildren", "\\Sent"),
                       // delimiter ('\0' for NIL), text = mailbox name as sent (modified
                       // UTF-7 or, after ENABLE UTF8=ACCEPT, UTF-8)
  exists,              // number
  expunge,             // number (sequence number)
  search,              // number: one UID/sequence number of a SEARCH response (one event each)
  fetch_begin,         // number = message sequence number
  fetch_uid,           // number
  fetch_flags,         // items = flags
  fetch_internaldate,  // text, e.g. "17-Jul-1996 02:44:25 -0700"
  fetch_size,          // number = RFC822.SIZE
  fetch_body_begin,    // text = section ("" for BODY[], "HEADER.FIELDS (MESSAGE-ID)"),
                       // size = octets to come (0 for NIL)
  fetch_body_data,     // text = a piece of the body
  fetch_body_end,
  fetch_end,  // closing ')' of the FETCH response
  error,      // terminal; see error()
};

struct event {
  event_type type = event_type::need_data;
  status st = status::ok;
  std::uint32_t tag = 0;
  std::string_view code;  // response code atom, upper-cased, without brackets; may be empty
  std::string_view text;
  char delimiter = '\0';
  std::uint64_t number = 0;
  std::uint64_t size = 0;
  std::vector<std::string_view> items;
};

class client {
 public:
  explicit client(limits l = {});

  void feed(std::string_view bytes);
  void feed_eof();
  event next_event();

  std::uint32_t submit_capability();
  std::uint32_t submit_starttls();
  // LOGIN: credentials as quoted strings, or as literals when they contain characters a
  // quoted string cannot carry (8-bit, CR, LF, or when longer than 1000 octets). LITERAL+
  // (RFC 7888) is used when the server announced it.
  std::uint32_t submit_login(std::string_view user, std::string_view password);
  // AUTHENTICATE PLAIN (RFC 4616), with SASL-IR (RFC 4959) when announced, otherwise the
  // engine answers the server's '+' itself.
  std::uint32_t submit_authenticate_plain(std::string_view user, std::string_view password);
  std::uint32_t submit_list(std::string_view reference, std::string_view pattern);
  // `mailbox` is the name as LIST returned it; the engine quotes it or sends a literal.
  std::uint32_t submit_examine(std::string_view mailbox);
  // UID SEARCH UID first:last (last == 0 means '*').
  std::uint32_t submit_uid_search(std::uint64_t first, std::uint64_t last);
  // UID FETCH set (items), e.g. set "101:200,205", items "(UID FLAGS BODY.PEEK[])".
  std::uint32_t submit_uid_fetch(std::string_view set, std::string_view items);
  std::uint32_t submit_noop();
  std::uint32_t submit_logout();

  std::string_view pending_output() const;
  void consume_output(std::size_t n);

  // Capabilities from the last CAPABILITY response or code, upper-cased.
  const std::vector<std::string>& capabilities() const;
  bool has_capability(std::string_view name) const;  // case-insensitive
  const engine_error& error() const { return error_; }

 private:
  // The state is the implementer's; the public contract above is what jobs and the fuzz
  // target rely on.
  //
  // Event order: a [CAPABILITY ...] response code yields the `capability` event first, then
  // the greeting, tagged or untagged_status event whose line carried it. The engine itself
  // lives in client.cpp (tokenizer, parse state, output queue); engine_holder owns it so this
  // header stays free of implementation includes. The client is movable, not copyable.
  struct engine;
  class engine_holder {
   public:
    explicit engine_holder(const limits& l);
    ~engine_holder();
    engine_holder(engine_holder&& other) noexcept;
    engine_holder& operator=(engine_holder&& other) noexcept;
    engine_holder(const engine_holder&) = delete;
    engine_holder& operator=(const engine_holder&) = delete;
    engine* operator->() const { return engine_; }
    engine& operator*() const { return *engine_; }

   private:
    engine* engine_;
  };
  // Copies the engine's first error into error_ (error() is inline and reads error_).
  void sync_error();

  limits limits_;
  engine_error error_;
  engine_holder engine_;
};

}  // namespace junction::imap
