// libFuzzer target for the SMTP client engine. The input is a header and then the server's
// bytes:
//   byte 0: low 2 bits pick the login (AUTH PLAIN, LOGIN, CRAM-MD5, STARTTLS first); bit 2
//           picks tiny limits; bit 3 answers 354 with a message full of dots and bare line
//           ends;
//   byte 1: how many pieces (1-4) the server's bytes are fed in; bytes 2-4 where they split.
// The client pipelines EHLO, AUTH, MAIL, two RCPTs and DATA, and after 354 the content,
// NOOP-free QUIT. Invariants: no crash, no loop, replies in submission order with codes in
// 200-559, a repeated error once reported, and output never contains a lone "." line before
// the content's end.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/client.h"

namespace {

using junction::smtp::client;
using junction::smtp::command;
using junction::smtp::event;
using junction::smtp::event_type;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct driver {
  client c;
  bool dotty = false;
  bool failed = false;
  int last_cmd = -1;
  std::string output;

  explicit driver(junction::smtp::limits l) : c(l) {}

  void drain() {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      std::string_view out = c.pending_output();
      output.append(out);
      c.consume_output(out.size());
      event e = c.next_event();
      switch (e.type) {
        case event_type::need_data:
          return;
        case event_type::error:
          check(c.next_event().type == event_type::error);
          check(!c.error().message.empty());
          failed = true;
          return;
        case event_type::reply:
          check(e.code >= 200 && e.code <= 559);
          check(e.lines != nullptr && !e.lines->empty());
          check(e.enhanced.empty() || e.enhanced[0] == static_cast<char>('0' + e.code / 100));
          if (e.cmd == command::starttls && e.ok) {
            c.submit_ehlo("client.example");
            c.submit_auth(junction::smtp::sasl_mechanism::plain, "tim", "tanstaaf");
            submit_rest();
          }
          if (e.cmd == command::data && e.ok) {
            check(c.in_data());
            c.write_data(dotty ? std::string_view(".\r\n..\n.\r.x\r\n.") : "Subject: x\r\n\r\nhi");
            c.end_data(9);
            c.submit_quit();
          }
          break;
      }
    }
    check(false);  // an engine that never asks for data is looping
  }

  void submit_rest() {
    junction::smtp::mail_parameters p;
    p.size = 42;
    c.submit_mail("tim@example.com", p, 1);
    c.submit_rcpt("a@example.org", 2);
    c.submit_rcpt("b@example.org", 3);
    c.submit_data(4);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  junction::smtp::limits l;
  if (data[0] & 4) {
    l.max_line = 40;
    l.max_reply_lines = 4;
  }
  driver d(l);
  d.dotty = (data[0] & 8) != 0;
  const int login = data[0] & 3;
  std::size_t pieces = 1 + data[1] % 4;
  std::string_view server(reinterpret_cast<const char*>(data + 5), size - 5);

  client& c = d.c;
  if (login == 3) {
    c.submit_ehlo("client.example");
    c.submit_starttls();
  } else {
    c.submit_ehlo("client.example");
    c.submit_auth(login == 0   ? junction::smtp::sasl_mechanism::plain
                  : login == 1 ? junction::smtp::sasl_mechanism::login
                               : junction::smtp::sasl_mechanism::cram_md5,
                  "tim", "tanstaaf");
    d.submit_rest();
  }

  std::size_t from = 0;
  for (std::size_t i = 0; i < pieces && !d.failed; ++i) {
    std::size_t to = server.size();
    if (i + 1 < pieces) {
      to = server.size() * data[2 + i] / 256;
      if (to < from) to = from;
    }
    c.feed(server.substr(from, to - from));
    from = to;
    d.drain();
  }
  if (!d.failed) {
    c.feed_eof();
    d.drain();
  }
  // Dot-stuffing: no line of the content is a lone "." except the terminator.
  if (d.dotty) {
    const std::string_view out = d.output;
    const auto at = out.find("DATA\r\n");
    if (at != std::string_view::npos) {
      const auto end = out.find("\r\n.\r\nQUIT");
      if (end != std::string_view::npos) {
        const std::string_view content = out.substr(at + 6, end - at - 6 + 2);
        check(content.find("\r\n.\r\n") == std::string_view::npos);
        check(content.substr(0, 3) != ".\r\n");
      }
    }
  }
  return 0;
}
