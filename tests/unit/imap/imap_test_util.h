// Helpers for the IMAP tests: events as strings, and drivers that feed a transcript whole,
// split at every offset, or one byte at a time.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "imap/client.h"

namespace junction::imap::testing {

inline std::string status_name(status s) {
  switch (s) {
    case status::ok:
      return "ok";
    case status::no:
      return "no";
    case status::bad:
      return "bad";
    case status::preauth:
      return "preauth";
    case status::bye:
      return "bye";
  }
  return "?";
}

inline std::string code_part(const event& e) {
  if (e.code.empty()) return "";
  std::string s = " [" + std::string(e.code);
  if (e.number != 0) s += " " + std::to_string(e.number);
  return s + "]";
}

inline std::string items_part(const event& e) {
  std::string s = "(";
  for (std::size_t i = 0; i < e.items.size(); ++i) {
    if (i) s += ' ';
    s += e.items[i];
  }
  return s + ")";
}

// One line per event; body data is shown raw and coalesced by the drivers, since how a
// literal is cut into chunks depends on how the input was split.
inline std::string describe(const event& e) {
  switch (e.type) {
    case event_type::need_data:
      return "need_data";
    case event_type::greeting:
      return "greeting " + status_name(e.st) + code_part(e) + " " + std::string(e.text);
    case event_type::capability:
      return "capability " + items_part(e);
    case event_type::tagged:
      return "tagged J" + std::to_string(e.tag) + " " + status_name(e.st) + code_part(e) + " " +
             std::string(e.text);
    case event_type::untagged_status:
      return "untagged " + status_name(e.st) + code_part(e) + " " + std::string(e.text);
    case event_type::list: {
      std::string d = e.delimiter ? std::string(1, e.delimiter) : std::string("NIL");
      return "list " + items_part(e) + " " + d + " " + std::string(e.text);
    }
    case event_type::exists:
      return "exists " + std::to_string(e.number);
    case event_type::expunge:
      return "expunge " + std::to_string(e.number);
    case event_type::search:
      return "search " + std::to_string(e.number);
    case event_type::fetch_begin:
      return "fetch " + std::to_string(e.number);
    case event_type::fetch_uid:
      return "uid " + std::to_string(e.number);
    case event_type::fetch_flags:
      return "flags " + items_part(e);
    case event_type::fetch_internaldate:
      return "internaldate " + std::string(e.text);
    case event_type::fetch_size:
      return "size " + std::to_string(e.number);
    case event_type::fetch_body_begin:
      return "body [" + std::string(e.text) + "] " + std::to_string(e.size);
    case event_type::fetch_body_data:
      return "data " + std::string(e.text);
    case event_type::fetch_body_end:
      return "body_end";
    case event_type::fetch_end:
      return "fetch_end";
    case event_type::error:
      return "error " + std::string(e.text);
  }
  return "?";
}

struct run_result {
  std::vector<std::string> events;
  std::string output;  // everything the client asked to write, in order
};

// Drains events until need_data or error, coalescing body data.
inline bool drain(client& c, run_result& r) {
  for (;;) {
    event e = c.next_event();
    std::string out(c.pending_output());
    c.consume_output(out.size());
    r.output += out;
    if (e.type == event_type::need_data) return true;
    std::string d = describe(e);
    if (e.type == event_type::fetch_body_data && !r.events.empty() &&
        r.events.back().rfind("data ", 0) == 0) {
      r.events.back() += e.text;
    } else {
      r.events.push_back(std::move(d));
    }
    if (e.type == event_type::error) return false;
  }
}

using setup_fn = std::function<void(client&)>;

inline run_result run_pieces(const setup_fn& setup, const std::vector<std::string_view>& pieces,
                             bool eof, limits l = {}) {
  client c(l);
  run_result r;
  setup(c);
  r.output += std::string(c.pending_output());
  c.consume_output(c.pending_output().size());
  for (auto p : pieces) {
    c.feed(p);
    if (!drain(c, r)) return r;
  }
  if (eof) {
    c.feed_eof();
    drain(c, r);
  }
  return r;
}

inline run_result run_whole(const setup_fn& setup, std::string_view input, bool eof = true,
                            limits l = {}) {
  return run_pieces(setup, {input}, eof, l);
}

inline run_result run_bytewise(const setup_fn& setup, std::string_view input, bool eof = true,
                               limits l = {}) {
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i < input.size(); ++i) pieces.push_back(input.substr(i, 1));
  return run_pieces(setup, pieces, eof, l);
}

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

}  // namespace junction::imap::testing
