#include "imap/client.h"

#include "common/ascii.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <optional>
#include <utility>

#include "common/base64.h"
#include "imap/tokenizer.h"

// Quirks accepted from real servers (besides the tokenizer's, see tokenizer.h), each covered
// by a transcript in tests/unit/imap/:
//   - status and response names in any case ("* ok", "j1 ok" is still refused: tags are
//     case-sensitive);
//   - "* OK" with no text, and empty lines between responses, are accepted;
//   - a '[' without a closing ']' in resp-text is text, not a response code;
//   - unknown untagged responses and unknown FETCH attributes are skipped structurally,
//     including nested lists and literals, without accumulating them;
//   - atoms inside SEARCH (e.g. Gmail's trailing text) and a "(MODSEQ n)" tail are ignored;
//   - a NIL INTERNALDATE is ignored; BODY/BINARY values may be literal, literal8, quoted or NIL;
//   - RFC822, RFC822.HEADER and RFC822.TEXT are reported as bodies with sections "",
//     "HEADER" and "TEXT".

namespace junction::imap {
namespace {

enum class command_kind : std::uint8_t {
  capability,
  starttls,
  login,
  authenticate,
  list,
  examine,
  search,
  fetch,
  noop,
  logout,
};

char upper_char(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

void assign_upper(std::string& out, std::string_view in) {
  out.assign(in);
  for (char& c : out) c = upper_char(c);
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  return n;
}

bool has_byte(std::string_view s, char c) {
  return s.find(c) != std::string_view::npos;
}

// A string a quoted string can carry: 7-bit, no CR/LF/NUL, and short enough that servers with
// small line limits accept it.
bool quotable(std::string_view s) {
  if (s.size() > 1000) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

constexpr std::size_t kLiteralMinusMax = 4096;  // RFC 7888 §4: LITERAL- covers up to 4096

}  // namespace

struct client::engine {
  explicit engine(const limits& l)
      : lim(l), tok(tokenizer_limits{l.max_line, l.max_literal, l.max_depth}) {}

  // Where the parser is within a response. Every state is entered from a token; the states
  // that read free text (resp-text, capability lists, continuation text) ask the tokenizer for
  // the rest of the line instead of tokens.
  enum class state : std::uint8_t {
    start,            // a new response: "*", "+" or a tag
    untagged,         // after "*"
    untagged_number,  // after "* n"
    tagged_status,    // after the tag
    status_text,      // resp-text of a status response
    status_eol,
    capability_text,  // "* CAPABILITY" list
    capability_eol,
    continuation_text,  // after "+"
    continuation_eol,
    skip_line,  // ignore the rest of the response, literals included
    search,
    list_open,
    list_attrs,
    list_delimiter,
    list_name,
    list_name_literal,
    list_rest,
    fetch_open,
    fetch_attr,
    fetch_number,
    fetch_flags_open,
    fetch_flags,
    fetch_date,
    fetch_section_open,  // after BODY/BINARY: "[" or a BODYSTRUCTURE-like value
    fetch_unknown_name,  // after an unknown attribute: "[" or its value
    fetch_section,
    fetch_after_section,  // optional "<origin>" then the value
    fetch_value,
    fetch_body_literal,
    fetch_skip_list,
    fetch_skip_literal,
    fetch_eol,
  };
  enum class status_owner : std::uint8_t { greeting, untagged, tagged };

  struct held_chunk {
    std::uint32_t tag;
    bool needs_continuation;  // released only by the server's '+'
    std::string bytes;
  };
  struct inflight_command {
    std::uint32_t tag;
    command_kind kind;
  };

  // ---- input side ----
  event next_event();
  event on_need_data();
  std::optional<event> step(const token& t);
  std::optional<event> on_start(const token& t);
  std::optional<event> on_untagged(const token& t);
  std::optional<event> on_untagged_number(const token& t);
  std::optional<event> on_fetch(const token& t);
  std::optional<event> on_list(const token& t);
  void parse_resp_text(std::string_view text);
  void set_capabilities(std::string_view list);
  std::optional<event> finish_status();
  std::optional<event> skip_value(const token& t);
  std::optional<event> body_value(const token& t);
  void append_section(const token& t);
  event capability_event() const;
  bool wants_text() const {
    return st == state::status_text || st == state::capability_text ||
           st == state::continuation_text;
  }

  // ---- output side ----
  std::uint32_t begin_command(command_kind kind, std::vector<std::string>& chunks);
  void add_string(std::vector<std::string>& chunks, std::string_view s) const;
  void enqueue(std::uint32_t tag, std::vector<std::string>& chunks);
  void release();
  void complete(std::uint32_t tag);
  bool has_capability(std::string_view name) const;

  std::nullopt_t fail(error_kind kind, std::string message);
  std::nullopt_t fail_at(std::string message, std::uint64_t offset) {
    return fail(error_kind::protocol, std::move(message) + " at byte " + std::to_string(offset));
  }
  // At the start of the token just read.
  std::nullopt_t fail_here(std::string message) {
    return fail(error_kind::protocol,
                std::move(message) + " at byte " + std::to_string(tok.token_offset()));
  }
  event error_event() const {
    event e;
    e.type = event_type::error;
    e.text = err.message;
    return e;
  }

  limits lim;
  tokenizer tok;
  engine_error err;
  bool eof = false;
  bool greeting_seen = false;
  bool bye_seen = false;
  bool logout_done = false;
  bool tls_pending = false;  // STARTTLS completed; no byte may come before the TLS handshake

  std::string out;
  std::size_t out_pos = 0;
  std::deque<held_chunk> held;
  std::vector<inflight_command> inflight;
  std::uint32_t next_tag = 1;
  std::vector<std::string> capabilities;

  state st = state::start;
  status_owner owner = status_owner::untagged;
  std::uint32_t cur_tag = 0;
  command_kind cur_kind = command_kind::noop;
  status cur_status = status::ok;
  std::uint64_t cur_number = 0;

  // Status responses keep their code and text here: the event may wait in `queued` behind a
  // capability event while the caller feeds more input.
  std::string code_buf;
  std::string text_buf;
  std::uint64_t code_number = 0;
  bool code_has_capabilities = false;
  std::deque<event> queued;

  std::vector<std::string> list_attrs;  // owned: a literal name may arrive in a later feed
  char list_delim = '\0';
  std::string list_name;

  enum class fetch_field : std::uint8_t { uid, size };
  fetch_field number_field = fetch_field::uid;
  bool value_is_body = false;
  std::string section;
  std::string quoted_body;
  event flags_event;
  std::size_t skip_depth = 0;
};

std::nullopt_t client::engine::fail(error_kind kind, std::string message) {
  if (!err) {
    err.kind = kind;
    err.message = std::move(message);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Input

event client::engine::next_event() {
  if (err) return error_event();
  if (!queued.empty()) {
    event e = std::move(queued.front());
    queued.pop_front();
    return e;
  }
  for (;;) {
    token t = wants_text() ? tok.next_text() : tok.next();
    if (t.type == token_type::need_data) return on_need_data();
    if (t.type == token_type::error) {
      fail(error_kind::protocol, tok.error());
      return error_event();
    }
    std::optional<event> e = step(t);
    if (err) return error_event();
    if (e) return std::move(*e);
  }
}

event client::engine::on_need_data() {
  if (!eof) return event{};
  if (tok.mid_response() || st != state::start) {
    fail_at("IMAP: connection closed in the middle of a response", tok.offset() + tok.buffered());
    return error_event();
  }
  // After a BYE (LOGOUT's or an unsolicited one) or LOGOUT's completion, EOF is the end.
  if (bye_seen || logout_done) return event{};
  fail_at("IMAP: connection closed by the server without BYE", tok.offset() + tok.buffered());
  return error_event();
}

std::optional<event> client::engine::step(const token& t) {
  switch (st) {
    case state::start:
      return on_start(t);
    case state::untagged:
      return on_untagged(t);
    case state::untagged_number:
      return on_untagged_number(t);
    case state::tagged_status:
      if (t.type == token_type::atom) {
        if (ascii::equals_ignore_case(t.text, "OK"))
          cur_status = status::ok;
        else if (ascii::equals_ignore_case(t.text, "NO"))
          cur_status = status::no;
        else if (ascii::equals_ignore_case(t.text, "BAD"))
          cur_status = status::bad;
        else
          return fail_here("IMAP: tagged response is not OK, NO or BAD");
        owner = status_owner::tagged;
        st = state::status_text;
        return std::nullopt;
      }
      return fail_here("IMAP: malformed tagged response");
    case state::status_text:
      parse_resp_text(t.text);
      st = state::status_eol;
      return std::nullopt;
    case state::status_eol:
      return finish_status();
    case state::capability_text:
      set_capabilities(t.text);
      st = state::capability_eol;
      return std::nullopt;
    case state::capability_eol:
      st = state::start;
      return capability_event();
    case state::continuation_text:
      st = state::continuation_eol;
      return std::nullopt;
    case state::continuation_eol:
      st = state::start;
      return std::nullopt;
    case state::skip_line:
      if (t.type == token_type::end_of_line) st = state::start;
      return std::nullopt;
    case state::search:
      switch (t.type) {
        case token_type::number: {
          event e;
          e.type = event_type::search;
          e.number = t.number;
          return e;
        }
        case token_type::end_of_line:
          st = state::start;
          return std::nullopt;
        case token_type::lparen:  // CONDSTORE's "(MODSEQ n)" tail
          st = state::skip_line;
          return std::nullopt;
        case token_type::atom:
          return std::nullopt;
        default:
          return fail_here("IMAP: malformed SEARCH response");
      }
    case state::list_open:
    case state::list_attrs:
    case state::list_delimiter:
    case state::list_name:
    case state::list_name_literal:
    case state::list_rest:
      return on_list(t);
    default:
      return on_fetch(t);
  }
}

// response = *(continue-req / response-data) response-done
// continue-req = "+" SP (resp-text / base64) CRLF ; tag = 1*<ASTRING-CHAR except "+">
std::optional<event> client::engine::on_start(const token& t) {
  if (t.type == token_type::end_of_line) return std::nullopt;  // quirk: blank line
  if (t.type != token_type::atom) return fail_here("IMAP: malformed response");
  if (t.text == "*") {
    st = state::untagged;
    return std::nullopt;
  }
  if (!greeting_seen) return fail_here("IMAP: expected a greeting");
  if (t.text == "+") {
    // After release() the first held chunk, if any, is one that waits for a '+'.
    if (held.empty()) return fail_here("IMAP: continuation request '+' nobody asked for");
    held.front().needs_continuation = false;
    release();
    st = state::continuation_text;
    return std::nullopt;
  }
  std::optional<std::uint64_t> n;
  if (t.text.size() >= 2 && t.text.size() <= 11 && t.text[0] == 'J')
    n = parse_number(t.text.substr(1));
  auto it = inflight.end();
  if (n) {
    it = std::find_if(inflight.begin(), inflight.end(),
                      [&](const inflight_command& c) { return c.tag == *n; });
  }
  if (it == inflight.end()) {
    std::string shown(t.text.substr(0, 24));
    return fail_here("IMAP: response tag \"" + shown + "\" matches no command");
  }
  cur_tag = it->tag;
  cur_kind = it->kind;
  st = state::tagged_status;
  return std::nullopt;
}

std::optional<event> client::engine::on_untagged(const token& t) {
  if (t.type == token_type::number) {
    if (!greeting_seen) return fail_here("IMAP: expected a greeting");
    cur_number = t.number;
    st = state::untagged_number;
    return std::nullopt;
  }
  if (t.type != token_type::atom) return fail_here("IMAP: malformed untagged response");
  std::string_view name = t.text;
  std::optional<status> s;
  if (ascii::equals_ignore_case(name, "OK"))
    s = status::ok;
  else if (ascii::equals_ignore_case(name, "NO"))
    s = status::no;
  else if (ascii::equals_ignore_case(name, "BAD"))
    s = status::bad;
  else if (ascii::equals_ignore_case(name, "BYE"))
    s = status::bye;
  else if (ascii::equals_ignore_case(name, "PREAUTH"))
    s = status::preauth;
  if (s) {
    if (!greeting_seen && *s != status::ok && *s != status::preauth && *s != status::bye) {
      return fail_here("IMAP: greeting is not OK, PREAUTH or BYE");
    }
    cur_status = *s;
    owner = greeting_seen ? status_owner::untagged : status_owner::greeting;
    st = state::status_text;
    return std::nullopt;
  }
  if (!greeting_seen) return fail_here("IMAP: expected a greeting");
  if (ascii::equals_ignore_case(name, "CAPABILITY")) {
    st = state::capability_text;
  } else if (ascii::equals_ignore_case(name, "LIST") || ascii::equals_ignore_case(name, "LSUB")) {
    st = state::list_open;
  } else if (ascii::equals_ignore_case(name, "SEARCH")) {
    st = state::search;
  } else {
    st = state::skip_line;  // FLAGS, ENABLED, STATUS, NAMESPACE, ID, ESEARCH, ...
  }
  return std::nullopt;
}

// message-data = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att)) ; mailbox-data: n EXISTS/RECENT
std::optional<event> client::engine::on_untagged_number(const token& t) {
  if (t.type != token_type::atom) return fail_here("IMAP: malformed untagged response");
  event e;
  e.number = cur_number;
  if (ascii::equals_ignore_case(t.text, "EXISTS")) {
    e.type = event_type::exists;
  } else if (ascii::equals_ignore_case(t.text, "EXPUNGE")) {
    e.type = event_type::expunge;
  } else if (ascii::equals_ignore_case(t.text, "FETCH")) {
    st = state::fetch_open;
    e.type = event_type::fetch_begin;
    return e;
  } else {
    st = state::skip_line;  // RECENT and unknown ones
    return std::nullopt;
  }
  st = state::skip_line;
  return e;
}

// resp-text = ["[" resp-text-code "]" SP] text
// resp-text-code = ... / "CAPABILITY" SP capability-data / "UIDVALIDITY" SP nz-number / ...
//                  / atom [SP 1*<any TEXT-CHAR except "]">]
void client::engine::parse_resp_text(std::string_view text) {
  code_buf.clear();
  code_number = 0;
  code_has_capabilities = false;
  std::string_view rest = text;
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close != std::string_view::npos) {  // quirk: otherwise the '[' is plain text
      std::string_view inside = rest.substr(1, close - 1);
      std::size_t space = inside.find(' ');
      std::string_view atom = inside.substr(0, space);
      std::string_view args =
          space == std::string_view::npos ? std::string_view() : trim_spaces(inside.substr(space));
      assign_upper(code_buf, atom);
      if (code_buf == "CAPABILITY") {
        set_capabilities(args);
        code_has_capabilities = true;
      } else if (auto n = parse_number(args)) {
        code_number = *n;
      } else if (code_buf == "UIDVALIDITY" || code_buf == "UIDNEXT" || code_buf == "UNSEEN") {
        fail_here("IMAP: malformed " + code_buf + " response code");
        return;
      }
      rest = trim_spaces(rest.substr(close + 1));
    }
  }
  text_buf.assign(rest);
}

// capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev1" *(SP capability)
void client::engine::set_capabilities(std::string_view list) {
  capabilities.clear();
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && (list[i] == ' ' || list[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < list.size() && list[i] != ' ' && list[i] != '\t') ++i;
    if (i == start) break;
    if (capabilities.size() >= lim.max_list_items) {
      fail_here("IMAP: more than " + std::to_string(lim.max_list_items) + " capabilities");
      return;
    }
    capabilities.emplace_back();
    assign_upper(capabilities.back(), list.substr(start, i - start));
  }
}

event client::engine::capability_event() const {
  event e;
  e.type = event_type::capability;
  e.items.reserve(capabilities.size());
  for (const auto& c : capabilities) e.items.emplace_back(c);
  return e;
}

std::optional<event> client::engine::finish_status() {
  event e;
  e.st = cur_status;
  e.code = code_buf;
  e.text = text_buf;
  e.number = code_number;
  switch (owner) {
    case status_owner::greeting:
      e.type = event_type::greeting;
      greeting_seen = true;
      break;
    case status_owner::untagged:
      if (cur_status == status::preauth) return fail_here("IMAP: PREAUTH after the greeting");
      e.type = event_type::untagged_status;
      break;
    case status_owner::tagged:
      e.type = event_type::tagged;
      e.tag = cur_tag;
      complete(cur_tag);
      if (cur_kind == command_kind::logout) logout_done = true;
      if (cur_kind == command_kind::starttls && cur_status == status::ok) {
        // Anything the server sent after its OK arrived in clear text and would be taken for
        // TLS-protected data: a STARTTLS injection (CVE-2011-0411 and kin).
        if (tok.buffered() > 0) {
          return fail_at("IMAP: data after the STARTTLS response (possible injection)",
                         tok.offset());
        }
        tls_pending = true;
      }
      break;
  }
  if (cur_status == status::bye) bye_seen = true;
  st = state::start;
  if (code_has_capabilities) {
    queued.push_back(std::move(e));
    return capability_event();
  }
  return e;
}

// mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
//                [SP mbox-list-extended]
std::optional<event> client::engine::on_list(const token& t) {
  switch (st) {
    case state::list_open:
      if (t.type != token_type::lparen) return fail_here("IMAP: malformed LIST response");
      list_attrs.clear();
      st = state::list_attrs;
      return std::nullopt;
    case state::list_attrs:
      if (t.type == token_type::rparen) {
        st = state::list_delimiter;
        return std::nullopt;
      }
      if (t.type != token_type::atom && t.type != token_type::number) {
        return fail_here("IMAP: malformed LIST attributes");
      }
      if (list_attrs.size() >= lim.max_list_items) {
        return fail_here("IMAP: more than " + std::to_string(lim.max_list_items) +
                         " items in a list");
      }
      list_attrs.emplace_back(t.text);
      return std::nullopt;
    case state::list_delimiter:
      if (t.type == token_type::nil) {
        list_delim = '\0';
      } else if (t.type == token_type::quoted && t.text.size() <= 1) {
        list_delim = t.text.empty() ? '\0' : t.text[0];
      } else {
        return fail_here("IMAP: malformed LIST delimiter");
      }
      st = state::list_name;
      return std::nullopt;
    case state::list_name:
      switch (t.type) {
        case token_type::atom:
        case token_type::number:
        case token_type::quoted:
        case token_type::nil:
          list_name.assign(t.text);
          st = state::list_rest;
          return std::nullopt;
        case token_type::literal_begin:
          // Names are bounded like lines, so a literal name may be accumulated.
          if (t.number > lim.max_line) {
            return fail_here("IMAP: mailbox name of " + std::to_string(t.number) +
                             " bytes exceeds limit " + std::to_string(lim.max_line));
          }
          list_name.clear();
          st = state::list_name_literal;
          return std::nullopt;
        default:
          return fail_here("IMAP: malformed LIST mailbox name");
      }
    case state::list_name_literal:
      if (t.type == token_type::literal_chunk)
        list_name.append(t.text);
      else if (t.type == token_type::literal_end)
        st = state::list_rest;
      return std::nullopt;
    default:  // list_rest: extended data is skipped
      if (t.type != token_type::end_of_line) return std::nullopt;
      st = state::start;
      event e;
      e.type = event_type::list;
      e.delimiter = list_delim;
      e.text = list_name;
      e.items.reserve(list_attrs.size());
      for (const auto& a : list_attrs) e.items.emplace_back(a);
      return e;
  }
}

// msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic / msg-att-static)) ")"
// msg-att-static = "ENVELOPE" SP envelope / "INTERNALDATE" SP date-time / "RFC822.SIZE" SP number
//                / "BODY" ["STRUCTURE"] SP body / "BODY" section ["<" number ">"] SP nstring
//                / "UID" SP uniqueid / "BINARY" section-binary SP (nstring / literal8) / ...
std::optional<event> client::engine::on_fetch(const token& t) {
  switch (st) {
    case state::fetch_open:
      if (t.type != token_type::lparen) return fail_here("IMAP: malformed FETCH response");
      st = state::fetch_attr;
      return std::nullopt;
    case state::fetch_attr: {
      if (t.type == token_type::rparen) {
        st = state::fetch_eol;
        event e;
        e.type = event_type::fetch_end;
        return e;
      }
      if (t.type != token_type::atom) return fail_here("IMAP: malformed FETCH attribute");
      std::string_view name = t.text;
      if (ascii::equals_ignore_case(name, "UID")) {
        number_field = fetch_field::uid;
        st = state::fetch_number;
      } else if (ascii::equals_ignore_case(name, "RFC822.SIZE")) {
        number_field = fetch_field::size;
        st = state::fetch_number;
      } else if (ascii::equals_ignore_case(name, "FLAGS")) {
        st = state::fetch_flags_open;
      } else if (ascii::equals_ignore_case(name, "INTERNALDATE")) {
        st = state::fetch_date;
      } else if (ascii::equals_ignore_case(name, "BODY") ||
                 ascii::equals_ignore_case(name, "BINARY") ||
                 ascii::equals_ignore_case(name, "BODY.PEEK") ||
                 ascii::equals_ignore_case(name, "BINARY.PEEK")) {
        value_is_body = true;
        st = state::fetch_section_open;
      } else if (ascii::equals_ignore_case(name, "RFC822") ||
                 ascii::equals_ignore_case(name, "RFC822.HEADER") ||
                 ascii::equals_ignore_case(name, "RFC822.TEXT")) {
        value_is_body = true;
        section.assign(name.size() > 7 ? name.substr(7) : std::string_view());
        for (char& c : section) c = upper_char(c);
        st = state::fetch_value;
      } else {
        value_is_body = false;
        st = state::fetch_unknown_name;
      }
      return std::nullopt;
    }
    case state::fetch_number: {
      if (t.type != token_type::number) return fail_here("IMAP: malformed number in FETCH");
      event e;
      e.type = number_field == fetch_field::uid ? event_type::fetch_uid : event_type::fetch_size;
      e.number = t.number;
      st = state::fetch_attr;
      return e;
    }
    case state::fetch_flags_open:
      if (t.type != token_type::lparen) return fail_here("IMAP: malformed FLAGS in FETCH");
      flags_event = event{};
      flags_event.type = event_type::fetch_flags;
      st = state::fetch_flags;
      return std::nullopt;
    case state::fetch_flags:
      // The whole list sits in one line segment (no literal may occur in it), so the views
      // into the input stay valid until the event is returned.
      if (t.type == token_type::rparen) {
        st = state::fetch_attr;
        return std::move(flags_event);
      }
      if (t.type != token_type::atom && t.type != token_type::number) {
        return fail_here("IMAP: malformed FLAGS in FETCH");
      }
      if (flags_event.items.size() >= lim.max_list_items) {
        return fail_here("IMAP: more than " + std::to_string(lim.max_list_items) +
                         " items in a list");
      }
      flags_event.items.push_back(t.text);
      return std::nullopt;
    case state::fetch_date:
      st = state::fetch_attr;
      if (t.type == token_type::nil) return std::nullopt;
      if (t.type != token_type::quoted) return fail_here("IMAP: malformed INTERNALDATE");
      {
        event e;
        e.type = event_type::fetch_internaldate;
        e.text = t.text;
        return e;
      }
    case state::fetch_section_open:
    case state::fetch_unknown_name:
      if (t.type == token_type::lbracket) {
        section.clear();
        st = state::fetch_section;
        return std::nullopt;
      }
      value_is_body = false;  // BODY without a section is a body structure: skipped
      return skip_value(t);
    case state::fetch_section:
      if (t.type == token_type::rbracket) {
        st = state::fetch_after_section;
        return std::nullopt;
      }
      append_section(t);
      return std::nullopt;
    case state::fetch_after_section:
      if (t.type == token_type::atom && t.text.front() == '<') {  // "<origin>"
        st = state::fetch_value;
        return std::nullopt;
      }
      return value_is_body ? body_value(t) : skip_value(t);
    case state::fetch_value:
      return value_is_body ? body_value(t) : skip_value(t);
    case state::fetch_body_literal:
      if (t.type == token_type::literal_chunk) {
        event e;
        e.type = event_type::fetch_body_data;
        e.text = t.text;
        return e;
      } else {  // literal_end
        st = state::fetch_attr;
        event e;
        e.type = event_type::fetch_body_end;
        return e;
      }
    case state::fetch_skip_list:
      if (t.type == token_type::rparen && tok.depth() == skip_depth) st = state::fetch_attr;
      return std::nullopt;
    case state::fetch_skip_literal:
      if (t.type == token_type::literal_end) st = state::fetch_attr;
      return std::nullopt;
    case state::fetch_eol:
      if (t.type != token_type::end_of_line) {
        return fail_here("IMAP: unexpected data after a FETCH response");
      }
      st = state::start;
      return std::nullopt;
    default:
      return fail_here("IMAP: internal parser state");
  }
}

// section-spec = section-msgtext / (section-part ["." section-text]), rebuilt as the server
// spelled it with single spaces: "HEADER.FIELDS (MESSAGE-ID)".
void client::engine::append_section(const token& t) {
  switch (t.type) {
    case token_type::atom:
    case token_type::number:
    case token_type::quoted:
    case token_type::nil:
      if (!section.empty() && section.back() != '(') section += ' ';
      section.append(t.text);
      return;
    case token_type::lparen:
      if (!section.empty()) section += ' ';
      section += '(';
      return;
    case token_type::rparen:
      section += ')';
      return;
    default:
      fail_here("IMAP: malformed section in FETCH");
  }
}

std::optional<event> client::engine::body_value(const token& t) {
  event e;
  e.type = event_type::fetch_body_begin;
  e.text = section;
  switch (t.type) {
    case token_type::literal_begin:
      e.size = t.number;
      st = state::fetch_body_literal;
      return e;
    case token_type::quoted:
    case token_type::nil: {
      // Owned: the data and end events wait in `queued` while the caller may feed.
      quoted_body.assign(t.type == token_type::quoted ? t.text : std::string_view());
      e.size = quoted_body.size();
      if (!quoted_body.empty()) {
        event data;
        data.type = event_type::fetch_body_data;
        data.text = quoted_body;
        queued.push_back(std::move(data));
      }
      event end;
      end.type = event_type::fetch_body_end;
      queued.push_back(std::move(end));
      st = state::fetch_attr;
      return e;
    }
    default:
      return fail_here("IMAP: malformed body in FETCH");
  }
}

// Skips one value of an attribute this engine does not report: an atom, number, string, NIL,
// a literal (streamed past), or a parenthesized list of any of these, nested.
std::optional<event> client::engine::skip_value(const token& t) {
  switch (t.type) {
    case token_type::lparen:
      skip_depth = tok.depth() - 1;
      st = state::fetch_skip_list;
      return std::nullopt;
    case token_type::literal_begin:
      st = state::fetch_skip_literal;
      return std::nullopt;
    case token_type::atom:
    case token_type::number:
    case token_type::quoted:
    case token_type::nil:
      st = state::fetch_attr;
      return std::nullopt;
    default:
      return fail_here("IMAP: malformed FETCH attribute value");
  }
}

// ---------------------------------------------------------------------------------------------
// Output

std::uint32_t client::engine::begin_command(command_kind kind, std::vector<std::string>& chunks) {
  std::uint32_t tag = next_tag++;
  inflight.push_back({tag, kind});
  chunks.assign(1, "J" + std::to_string(tag) + " ");
  return tag;
}

bool client::engine::has_capability(std::string_view name) const {
  return std::any_of(capabilities.begin(), capabilities.end(),
                     [&](const std::string& c) { return ascii::equals_ignore_case(c, name); });
}

// astring as a quoted string, or a literal: non-synchronizing with LITERAL+ (or LITERAL- up to
// 4096 octets, RFC 7888), otherwise synchronizing, which starts a chunk that waits for '+'.
void client::engine::add_string(std::vector<std::string>& chunks, std::string_view s) const {
  std::string& cur = chunks.back();
  if (quotable(s)) {
    cur += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') cur += '\\';
      cur += c;
    }
    cur += '"';
    return;
  }
  bool non_sync =
      has_capability("LITERAL+") || (has_capability("LITERAL-") && s.size() <= kLiteralMinusMax);
  cur += '{';
  cur += std::to_string(s.size());
  cur += non_sync ? "+}\r\n" : "}\r\n";
  if (non_sync) {
    cur.append(s);
  } else {
    chunks.emplace_back(s);
  }
}

void client::engine::enqueue(std::uint32_t tag, std::vector<std::string>& chunks) {
  chunks.back() += "\r\n";
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    held.push_back({tag, i > 0, std::move(chunks[i])});
  }
  release();
}

// Moves every chunk that no longer waits for a '+' to the output, in order; stops at the
// first that does, so later commands never overtake a literal on the wire.
void client::engine::release() {
  while (!held.empty() && !held.front().needs_continuation) {
    out += held.front().bytes;
    held.pop_front();
  }
}

// A completed command sends nothing more: a server that refuses a synchronizing literal
// answers NO/BAD instead of '+', and the rest of that command is dropped.
void client::engine::complete(std::uint32_t tag) {
  inflight.erase(std::remove_if(inflight.begin(), inflight.end(),
                                [&](const inflight_command& c) { return c.tag == tag; }),
                 inflight.end());
  held.erase(
      std::remove_if(held.begin(), held.end(), [&](const held_chunk& c) { return c.tag == tag; }),
      held.end());
  release();
}

// ---------------------------------------------------------------------------------------------
// client

client::engine_holder::engine_holder(const limits& l) : engine_(new engine(l)) {}
client::engine_holder::~engine_holder() {
  delete engine_;
}
client::engine_holder::engine_holder(engine_holder&& other) noexcept : engine_(other.engine_) {
  other.engine_ = nullptr;
}
client::engine_holder& client::engine_holder::operator=(engine_holder&& other) noexcept {
  std::swap(engine_, other.engine_);
  return *this;
}

client::client(limits l) : limits_(l), engine_(l) {}

void client::sync_error() {
  if (!error_ && engine_->err) error_ = engine_->err;
}

void client::feed(std::string_view bytes) {
  engine& e = *engine_;
  if (e.err) return;
  if (e.eof && !bytes.empty()) {
    e.fail(error_kind::misuse, "IMAP: feed() after feed_eof()");
  } else if (e.tls_pending && !bytes.empty()) {
    e.fail_at("IMAP: data after the STARTTLS response (possible injection)", e.tok.offset());
  } else {
    e.tok.feed(bytes);
  }
  sync_error();
}

void client::feed_eof() {
  if (!engine_->err) engine_->eof = true;
}

event client::next_event() {
  event e = engine_->next_event();
  sync_error();
  return e;
}

std::uint32_t client::submit_capability() {
  engine& e = *engine_;
  if (e.err) return 0;
  if (e.tls_pending) {
    // TLS is up: what the server said before it no longer counts (RFC 3501 §6.2.1).
    e.tls_pending = false;
    e.capabilities.clear();
  }
  std::vector<std::string> chunks;
  std::uint32_t tag = e.begin_command(command_kind::capability, chunks);
  chunks.back() += "CAPABILITY";
  e.enqueue(tag, chunks);
  return tag;
}

std::uint32_t client::submit_starttls() {
  engine& e = *engine_;
  if (e.err) return 0;
  std::vector<std::string> chunks;
  std::uint32_t tag = e.begin_command(command_kind::starttls, chunks);
  chunks.back() += "STARTTLS";
  e.enqueue(tag, chunks);
  return tag;
}

std::uint32_t client::submit_login(std::string_view user, std::string_view password) {
  engine& e = *engine_;
  if (e.err) return 0;
  if (has_byte(user, '\0') || has_byte(password, '\0')) {
    e.fail(error_kind::misuse, "IMAP: LOGIN user name or password contains a NUL byte");
    sync_error();
    return 0;
  }
  std::vector<std::string> chunks;
  std::uint32_t tag = e.begin_command(command_kind::login, chunks);
  chunks.back() += "LOGIN ";
  e.add_string(chunks, user);
  chunks.back() += ' ';
  e.add_string(chunks, password);
  e.enqueue(tag, chunks);
  return tag;
}

std::uint32_t client::submit_authenticate_plain(std::string_view user, std::string_view password) {
  engine& e = *engine_;
  if (e.err) return 0;
  if (has_byte(user, '\0') || has_byte(password, '\0')) {
    e.fail(error_kind::misuse, "IMAP: AUTHENTICATE user name or password contains a NUL byte");
    sync_error();
    return 0;
  }
  // message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 §2)
  std::string message;
  message.reserve(user.size() + password.size() + 2);
  message += '\0';
  message.append(user);
  message += '\0';
  message.append(password);
  std::string response = base64::encode(message);
  std::vector<std::string> chunks;
  std::uint32_t tag = e.begin_command(command_kind::authenticate, chunks);
  chunks.back() += "AUTHENTICATE PLAIN";
  if (e.has_capability("SASL-IR")) {
    chunks.back() += ' ';
    chunks.back() += response;
  } else {
    chunks.back() += "\r\n";
    chunks.push_back(std::move(response));  // sent when the server's '+' arrives
  }
  e.enqueue(tag, chunks);
  return tag;
}

std::uint32_t client::submit_list(std::string_view reference, std::string_view pattern) {
  engine& e = *engine_;
  if (e.err) return 0;
  if (has_byte(reference, '\0') || has_byte(pattern, '\0')) {
    e.fail(error_kind::misuse, "IMAP: LIST reference or pattern contains a NUL byte");
    sync_error();
    return 0;
  }
  std::vector<std::string> chunks;
  std::uint32_t tag = e.begin_command(command_kind::list, chunks);
  chunks.back() += "LIST ";
  e.add_string(chunks, reference);
  chunks.back() += ' ';
  e.add_string(chunks, pattern);
  e.enqueue(tag, chunks);
  return tag;
}

std::uint32_t client::submit_examine(std::string_view mailbox) {
  engine& e = *engine_;
  if (e.err) return 0;
  if (has_byte(mailbox, '\0')) {
    e.fail(error_kind::misuse, "IMAP: EXAMINE mailbox name contains a NUL byte");
    sync_error();
    return 0;
  }
  std::vector<std::string> chunks;
  std::uint32_t tag = e.begin_command(command_kind::examine, chunks);
  chunks.back() += "EXAMINE ";
  e.add_string(chunks, mailbox);
  e.enqueue(tag, chunks);
  return tag;
}

std::uint32_t client::submit_uid_search(std::uint64_t first, std::uint64_t last) {
  engine& e = *engine_;
  if (e.err) return 0;
  if (first == 0) first = 1;  // UIDs start at 1; "from the start" is what 0 can only mean
  std::vector<std::string> chunks;
  std::uint32_t tag = e.begin_command(command_kind::search, chunks);
  chunks.back() += "UID SEARCH UID " + std::to_string(first) + ":" +
                   (last == 0 ? std::string("*") : std::to_string(last));
  e.enqueue(tag, chunks);
  return tag;
}

std::uint32_t client::submit_uid_fetch(std::string_view set, std::string_view items) {
  engine& e = *engine_;
  if (e.err) return 0;
  auto unsafe = [](std::string_view s) {
    return s.empty() || has_byte(s, '\r') || has_byte(s, '\n') || has_byte(s, '\0');
  };
  if (unsafe(set) || unsafe(items) || has_byte(set, ' ')) {
    e.fail(error_kind::misuse, "IMAP: UID FETCH set or items empty or containing a line break");
    sync_error();
    return 0;
  }
  std::vector<std::string> chunks;
  std::uint32_t tag = e.begin_command(command_kind::fetch, chunks);
  chunks.back() += "UID FETCH ";
  chunks.back().append(set);
  chunks.back() += ' ';
  chunks.back().append(items);
  e.enqueue(tag, chunks);
  return tag;
}

std::uint32_t client::submit_noop() {
  engine& e = *engine_;
  if (e.err) return 0;
  std::vector<std::string> chunks;
  std::uint32_t tag = e.begin_command(command_kind::noop, chunks);
  chunks.back() += "NOOP";
  e.enqueue(tag, chunks);
  return tag;
}

std::uint32_t client::submit_logout() {
  engine& e = *engine_;
  if (e.err) return 0;
  std::vector<std::string> chunks;
  std::uint32_t tag = e.begin_command(command_kind::logout, chunks);
  chunks.back() += "LOGOUT";
  e.enqueue(tag, chunks);
  return tag;
}

std::string_view client::pending_output() const {
  const engine& e = *engine_;
  return std::string_view(e.out).substr(e.out_pos);
}

void client::consume_output(std::size_t n) {
  engine& e = *engine_;
  if (e.err) return;
  if (n > e.out.size() - e.out_pos) {
    e.fail(error_kind::misuse, "IMAP: consume_output(" + std::to_string(n) + ") beyond the " +
                                   std::to_string(e.out.size() - e.out_pos) + " pending bytes");
    sync_error();
    return;
  }
  e.out_pos += n;
  if (e.out_pos == e.out.size()) {
    e.out.clear();
    e.out_pos = 0;
  } else if (e.out_pos >= 65536 && e.out_pos >= e.out.size() / 2) {
    e.out.erase(0, e.out_pos);
    e.out_pos = 0;
  }
}

const std::vector<std::string>& client::capabilities() const {
  return engine_->capabilities;
}

bool client::has_capability(std::string_view name) const {
  return engine_->has_capability(name);
}

}  // namespace junction::imap
