// Test driver for the POP3 engine: runs a scripted server transcript through a client that
// submitted its commands up front, with the input split in different ways, and turns the
// events into strings so whole runs compare with ==.
#pragma once

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "pop3/client.h"

namespace junction::pop3::testing {

inline const char* name(command c) {
  static const char* const kNames[] = {"greeting",   "CAPA",       "STLS", "USER", "PASS", "APOP",
                                       "AUTH-PLAIN", "AUTH-LOGIN", "STAT", "LIST", "UIDL", "RETR",
                                       "TOP",        "DELE",       "NOOP", "RSET", "QUIT"};
  return kNames[static_cast<int>(c)];
}

// Escapes CR, LF and bytes outside printable ASCII, so fixtures stay readable.
inline std::string visible(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
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
    case event_type::greeting:
      o << "greeting " << (e.ok ? "ok" : "err") << " [" << visible(e.text) << "] ts=["
        << visible(e.apop_timestamp) << "]";
      break;
    case event_type::response:
      o << "response " << name(e.cmd) << " " << (e.ok ? "ok" : "err") << " [" << visible(e.text)
        << "]";
      break;
    case event_type::capability:
      o << "capability [" << visible(e.text) << "]";
      break;
    case event_type::stat:
      o << "stat " << e.number << " " << e.size;
      break;
    case event_type::listing:
      o << "listing " << name(e.cmd) << " " << e.number << " " << e.size << " [" << visible(e.text)
        << "]";
      break;
    case event_type::listing_end:
      o << "listing_end " << name(e.cmd);
      break;
    case event_type::message_begin:
      o << "message_begin " << name(e.cmd) << " " << e.number;
      break;
    case event_type::message_data:
      o << "data [" << visible(e.text) << "]";
      break;
    case event_type::message_end:
      o << "message_end " << name(e.cmd) << " " << e.number << " size=" << e.size;
      break;
    case event_type::error:
      o << "error " << e.text;
      break;
  }
  return o.str();
}

struct run_result {
  std::vector<std::string> events;  // message_data pieces merged into one "data [...]"
  std::string output;               // everything the client wrote
  std::size_t max_piece = 0;        // largest single message_data event seen
  std::size_t data_events = 0;
  bool errored() const { return !events.empty() && events.back().rfind("error ", 0) == 0; }
};

inline void take_output(client& c, run_result& r) {
  auto out = c.pending_output();
  r.output.append(out.data(), out.size());
  c.consume_output(out.size());
}

// Drains events until need_data or the first error; merges consecutive data pieces.
class collector {
 public:
  explicit collector(run_result& r) : r_(r) {}
  // Returns false once the engine reported an error.
  bool drain(client& c) {
    for (;;) {
      // Output is taken after every event, as a driver writing eagerly would: a later error
      // must not hide what was already written.
      take_output(c, r_);
      event e = c.next_event();
      if (e.type == event_type::message_data) {
        if (e.text.empty()) r_.events.push_back("EMPTY DATA EVENT");
        data_ += e.text;
        ++r_.data_events;
        if (e.text.size() > r_.max_piece) r_.max_piece = e.text.size();
        continue;
      }
      if (e.type == event_type::need_data) return true;  // a message may go on: keep data
      flush();
      r_.events.push_back(serialize(e));
      if (e.type == event_type::error) {
        event again = c.next_event();  // errors are terminal and repeat
        if (again.type != event_type::error) r_.events.push_back("ERROR DID NOT REPEAT");
        return false;
      }
      on_event_(c, e);
    }
  }
  void flush() {
    if (!data_.empty()) r_.events.push_back("data [" + visible(data_) + "]");
    data_.clear();
  }
  std::function<void(client&, const event&)> on_event_ = [](client&, const event&) {};

 private:
  run_result& r_;
  std::string data_;
};

// Feeds `server` cut at the given offsets (ascending), draining after every feed; then EOF.
inline run_result run(const std::string& server, const std::function<void(client&)>& submit,
                      const std::vector<std::size_t>& cuts, bool eof = true, limits l = {}) {
  run_result r;
  client c(l);
  submit(c);
  collector col(r);
  take_output(c, r);
  std::size_t from = 0;
  bool alive = true;
  auto piece = [&](std::size_t to) {
    if (!alive) return;
    c.feed(std::string_view(server).substr(from, to - from));
    from = to;
    alive = col.drain(c);
    take_output(c, r);
  };
  for (std::size_t cut : cuts) piece(cut);
  piece(server.size());
  if (alive && eof) {
    c.feed_eof();
    col.drain(c);
  }
  col.flush();
  return r;
}

inline run_result run_whole(const std::string& server, const std::function<void(client&)>& submit,
                            bool eof = true, limits l = {}) {
  return run(server, submit, {}, eof, l);
}

inline run_result run_bytewise(const std::string& server,
                               const std::function<void(client&)>& submit, bool eof = true,
                               limits l = {}) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < server.size(); ++i) cuts.push_back(i);
  return run(server, submit, cuts, eof, l);
}

inline std::string read_fixture(const std::string& relative) {
  std::ifstream in(std::string(JUNCTION_FIXTURES) + "/" + relative, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace junction::pop3::testing
