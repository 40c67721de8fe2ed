// Test driver for the SMTP engine: runs a scripted server transcript through a client, with
// the input cut in different ways, and turns the events into strings so whole runs compare
// with ==. A `react` callback plays the caller (answering 354 with the content, submitting
// the next command when not pipelining).
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "smtp/client.h"

namespace junction::smtp::testing {

// Escapes CR, LF and bytes outside printable ASCII.
inline std::string visible(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

inline std::string serialize(const event& e) {
  std::ostringstream o;
  switch (e.type) {
    case event_type::need_data:
      o << "need_data";
      break;
    case event_type::reply:
      o << "reply " << to_string(e.cmd) << " #" << e.tag << " " << e.code << " "
        << (e.ok ? "ok" : "err") << " [" << visible(e.enhanced) << "] [" << visible(e.text)
        << "] lines=" << (e.lines ? e.lines->size() : 0);
      break;
    case event_type::error:
      o << "error [" << visible(e.text) << "]";
      break;
  }
  return o.str();
}

using submit_fn = std::function<void(client&)>;
using react_fn = std::function<void(client&, const event&)>;

struct run_result {
  std::vector<std::string> events;  // need_data left out
  std::string output;               // everything the client wrote
};

inline void drain(client& c, run_result& r, const react_fn& react) {
  for (int guard = 0; guard < 100000; ++guard) {
    auto out = c.pending_output();
    r.output.append(out);
    c.consume_output(out.size());
    event e = c.next_event();
    if (e.type == event_type::need_data) return;
    r.events.push_back(serialize(e));
    if (e.type == event_type::error) return;
    if (react) react(c, e);
  }
  r.events.push_back("LOOPING");
}

inline run_result run_pieces(const std::vector<std::string>& pieces, const submit_fn& submit,
                             const react_fn& react = {}, bool eof = true, limits l = {}) {
  client c(l);
  run_result r;
  if (submit) submit(c);
  for (const auto& p : pieces) {
    c.feed(p);
    drain(c, r, react);
    if (c.error()) break;
  }
  if (eof && !c.error()) {
    c.feed_eof();
    drain(c, r, react);
  }
  auto out = c.pending_output();
  r.output.append(out);
  return r;
}

inline run_result run_whole(const std::string& server, const submit_fn& submit,
                            const react_fn& react = {}, bool eof = true, limits l = {}) {
  return run_pieces({server}, submit, react, eof, l);
}

inline run_result run_bytewise(const std::string& server, const submit_fn& submit,
                               const react_fn& react = {}, bool eof = true, limits l = {}) {
  std::vector<std::string> pieces;
  for (char ch : server) pieces.emplace_back(1, ch);
  return run_pieces(pieces, submit, react, eof, l);
}

// Runs the transcript whole, split at every offset and one byte at a time; every way must
// give the same events and output. Returns the whole run.
inline run_result run_all_ways(const std::string& server, const submit_fn& submit,
                               const react_fn& react = {}, bool eof = true, limits l = {}) {
  run_result whole = run_whole(server, submit, react, eof, l);
  for (std::size_t i = 1; i < server.size(); ++i) {
    run_result split = run_pieces({server.substr(0, i), server.substr(i)}, submit, react, eof, l);
    EXPECT_EQ(whole.events, split.events) << "split at " << i;
    EXPECT_EQ(whole.output, split.output) << "split at " << i;
    if (whole.events != split.events) break;
  }
  run_result bytes = run_bytewise(server, submit, react, eof, l);
  EXPECT_EQ(whole.events, bytes.events) << "byte at a time";
  EXPECT_EQ(whole.output, bytes.output) << "byte at a time";
  return whole;
}

inline std::string last(const run_result& r) {
  return r.events.empty() ? std::string() : r.events.back();
}

}  // namespace junction::smtp::testing
