// libFuzzer target for the POP3 client engine. The input is a header and then the server's
// bytes:
//   byte 0: low 3 bits pick how the client logs in (USER/PASS, AUTH PLAIN, AUTH LOGIN, STLS
//           then USER/PASS, APOP once the greeting is in); bit 3 picks tiny limits;
//   byte 1: how many pieces (1-4) the server's bytes are fed in; bytes 2-4 where they split.
// The client pipelines CAPA, login, STAT, UIDL, LIST, RETR 1, DELE 1, QUIT and drains events
// after every feed. Invariants: no crash, message_data is never empty, message_end's size is
// the sum of its data, and an error repeats once reported.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pop3/client.h"

namespace {

using junction::pop3::client;
using junction::pop3::event;
using junction::pop3::event_type;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct driver {
  client c;
  int login = 0;
  bool greeted = false;
  std::uint64_t body = 0;
  bool failed = false;

  explicit driver(junction::pop3::limits l) : c(l) {}

  void submit_rest() {
    c.submit_stat();
    c.submit_uidl();
    c.submit_list();
    c.submit_retr(1);
    c.submit_dele(1);
    c.submit_quit();
  }

  void drain() {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      std::string_view out = c.pending_output();
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
        case event_type::greeting:
          check(!greeted);
          greeted = true;
          if (login == 4 && e.ok && !c.apop_timestamp().empty()) {
            c.submit_apop("tim", "tanstaaf");
            submit_rest();
          }
          break;
        case event_type::message_begin:
          body = 0;
          break;
        case event_type::message_data:
          check(!e.text.empty());
          body += e.text.size();
          break;
        case event_type::message_end:
          check(e.size == body);
          break;
        default:
          break;
      }
    }
    check(false);  // an engine that never asks for data is looping
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  junction::pop3::limits l;
  if (data[0] & 8) {
    l.max_line = 40;
    l.max_capabilities = 4;
    l.max_message_size = 100;
    l.max_listing_entries = 5;
  }
  driver d(l);
  d.login = data[0] & 7;
  std::size_t pieces = 1 + data[1] % 4;
  std::string_view server(reinterpret_cast<const char*>(data + 5), size - 5);

  client& c = d.c;
  switch (d.login) {
    case 0:
    default:
      c.submit_capa();
      c.submit_user("tim");
      c.submit_pass("tanstaaf");
      d.submit_rest();
      break;
    case 1:
      c.submit_capa();
      c.submit_auth_plain("tim", "tanstaaf");
      d.submit_rest();
      break;
    case 2:
      c.submit_capa();
      c.submit_auth_login("tim", "tanstaaf");
      d.submit_rest();
      break;
    case 3:
      c.submit_stls();
      c.submit_capa();
      c.submit_user("tim");
      c.submit_pass("tanstaaf");
      d.submit_rest();
      break;
    case 4:
      c.submit_capa();  // APOP follows the greeting
      break;
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
  return 0;
}
