// A captured Dovecot-style session through the engine: golden events, every way of cutting
// the input, bare-LF line ends, and pipelined versus one-command-at-a-time driving.
#include <gtest/gtest.h>

#include <fstream>

#include "pop3_harness.h"

namespace junction::pop3::testing {
namespace {

void submit_session(client& c) {
  c.submit_capa();
  c.submit_user("tim");
  c.submit_pass("tanstaaf");
  c.submit_stat();
  c.submit_uidl();
  c.submit_list();
  for (std::uint64_t n : {1, 2, 3, 4, 9}) c.submit_retr(n);
  c.submit_top(1, 0);
  c.submit_uidl(2);
  c.submit_dele(1);
  c.submit_noop();
  c.submit_rset();
  c.submit_quit();
}

// Whole, split once at every offset, and one byte at a time must all give the same events
// and make the client write the same bytes.
run_result expect_same_everywhere(const std::string& server,
                                  const std::function<void(client&)>& submit) {
  run_result whole = run_whole(server, submit);
  for (std::size_t cut = 0; cut <= server.size(); ++cut) {
    run_result split = run(server, submit, {cut});
    EXPECT_EQ(split.events, whole.events) << "split at " << cut;
    EXPECT_EQ(split.output, whole.output) << "split at " << cut;
    if (split.events != whole.events) break;
  }
  run_result bytes = run_bytewise(server, submit);
  EXPECT_EQ(bytes.events, whole.events) << "byte at a time";
  EXPECT_EQ(bytes.output, whole.output) << "byte at a time";
  return whole;
}

TEST(Pop3Session, DovecotTranscriptMatchesGoldenEvents) {
  std::string server = read_fixture("pop3/dovecot-session.server");
  ASSERT_FALSE(server.empty());
  run_result r = expect_same_everywhere(server, submit_session);
  EXPECT_EQ(r.output, read_fixture("pop3/dovecot-session.client"));

  std::string golden_path = std::string(JUNCTION_FIXTURES) + "/pop3/dovecot-session.events";
  std::string actual = join(r.events);
  std::string golden = read_fixture("pop3/dovecot-session.events");
  if (actual != golden) {
    std::ofstream(golden_path + ".actual", std::ios::binary) << actual;
  }
  EXPECT_EQ(actual, golden) << "actual events written to " << golden_path << ".actual";
}

TEST(Pop3Session, BodiesAreDotUnstuffedWithLineEndsAsSent) {
  run_result r = run_whole(read_fixture("pop3/dovecot-session.server"), submit_session);
  auto find = [&](const std::string& s) {
    for (std::size_t i = 0; i < r.events.size(); ++i) {
      if (r.events[i] == s) return i;
    }
    return r.events.size();
  };
  std::size_t first = find("message_begin RETR 1");
  ASSERT_LT(first + 2, r.events.size());
  // "..leading dot" -> ".leading dot", "..." -> "..", ".." -> "."; the terminator is not
  // part of the message, the CRLF before it is.
  EXPECT_EQ(r.events[first + 1],
            "data [Return-Path: <alice@example.org>\\r\\nSubject: dots\\r\\n\\r\\n.leading "
            "dot\\r\\n..\\r\\n.\\r\\na line. with a dot\\r\\n .indented\\r\\n]");
  EXPECT_EQ(r.events[first + 2], "message_end RETR 1 size=104");
  // An empty message: begin and end, no data.
  std::size_t empty = find("message_begin RETR 3");
  ASSERT_LT(empty + 1, r.events.size());
  EXPECT_EQ(r.events[empty + 1], "message_end RETR 3 size=0");
  // A message stored without a final newline: the server must add CRLF before ".", and that
  // CRLF is delivered (the engine cannot tell it was added).
  std::size_t no_newline = find("message_begin RETR 4");
  ASSERT_LT(no_newline + 1, r.events.size());
  EXPECT_EQ(r.events[no_newline + 1],
            "data [Subject: no final newline\\r\\n\\r\\nno newline\\r\\n]");
  // -ERR to RETR is an ordinary response.
  EXPECT_NE(find("response RETR err [There's no message 9.]"), r.events.size());
  // After QUIT's +OK, the server closing is normal.
  EXPECT_EQ(r.events.back(), "response QUIT ok [Logging out.]");
}

// Sloppy servers end lines with a bare LF: tolerated everywhere, and bodies keep them.
TEST(Pop3Session, BareLfTranscriptGivesTheSameEventsWithLfBodies) {
  std::string crlf = read_fixture("pop3/dovecot-session.server");
  std::string lf;
  for (std::size_t i = 0; i < crlf.size(); ++i) {
    if (crlf[i] == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n') continue;
    lf += crlf[i];
  }
  run_result with_crlf = run_whole(crlf, submit_session);
  run_result with_lf = expect_same_everywhere(lf, submit_session);
  auto normalize = [](std::vector<std::string> events) {
    for (auto& e : events) {
      for (auto pos = e.find("\\r"); pos != std::string::npos; pos = e.find("\\r")) {
        e.erase(pos, 2);
      }
      if (auto size = e.find(" size="); size != std::string::npos) e.erase(size);
    }
    return events;
  };
  EXPECT_FALSE(with_lf.errored());
  EXPECT_EQ(normalize(with_lf.events), normalize(with_crlf.events));
  EXPECT_NE(std::find(with_lf.events.begin(), with_lf.events.end(), "message_end RETR 1 size=96"),
            with_lf.events.end());
}

// The engine must behave the same whether the caller pipelines or waits for each answer.
TEST(Pop3Session, LockstepDrivingEqualsPipelining) {
  std::string server = read_fixture("pop3/dovecot-session.server");
  run_result pipelined = run_whole(server, submit_session);

  std::vector<std::function<void(client&)>> steps = {
      [](client& c) { c.submit_capa(); },           [](client& c) { c.submit_user("tim"); },
      [](client& c) { c.submit_pass("tanstaaf"); }, [](client& c) { c.submit_stat(); },
      [](client& c) { c.submit_uidl(); },           [](client& c) { c.submit_list(); },
      [](client& c) { c.submit_retr(1); },          [](client& c) { c.submit_retr(2); },
      [](client& c) { c.submit_retr(3); },          [](client& c) { c.submit_retr(4); },
      [](client& c) { c.submit_retr(9); },          [](client& c) { c.submit_top(1, 0); },
      [](client& c) { c.submit_uidl(2); },          [](client& c) { c.submit_dele(1); },
      [](client& c) { c.submit_noop(); },           [](client& c) { c.submit_rset(); },
      [](client& c) { c.submit_quit(); },
  };
  run_result lockstep;
  client c;
  collector col(lockstep);
  std::size_t next = 0;
  col.on_event_ = [&](client& cl, const event& e) {
    // The answer is complete when nothing is outstanding; STAT's response follows its stat.
    bool final_event = !cl.awaiting_response() && e.type != event_type::stat;
    if (final_event && next < steps.size()) steps[next++](cl);
  };
  for (char ch : server) {
    c.feed(std::string_view(&ch, 1));
    ASSERT_TRUE(col.drain(c)) << join(lockstep.events);
    take_output(c, lockstep);
  }
  c.feed_eof();
  col.drain(c);
  col.flush();
  EXPECT_EQ(next, steps.size());
  EXPECT_EQ(lockstep.events, pipelined.events);
  EXPECT_EQ(lockstep.output, pipelined.output);
}

// Large bodies stream: pieces are delivered as bytes arrive, never the whole message at once.
TEST(Pop3Session, LargeMessageStreamsInPieces) {
  std::string line(998, 'x');
  std::string server = "+OK ready\r\n+OK 5000000 octets\r\n";
  std::size_t lines = 5000;
  for (std::size_t i = 0; i < lines; ++i) server += (i % 7 == 0 ? ".." : "") + line + "\r\n";
  server += ".\r\n+OK bye\r\n";
  std::vector<std::size_t> cuts;
  for (std::size_t at = 4096; at < server.size(); at += 4096) cuts.push_back(at);
  run_result r = run(
      server, [](client& c) { c.submit_retr(1), c.submit_quit(); }, cuts);
  ASSERT_FALSE(r.errored()) << r.events.back();
  EXPECT_LE(r.max_piece, 4096u);
  EXPECT_GE(r.data_events, cuts.size());
  std::uint64_t expected = lines * 1000 + (lines + 6) / 7;
  EXPECT_EQ(r.events[r.events.size() - 2], "message_end RETR 1 size=" + std::to_string(expected));
}

}  // namespace
}  // namespace junction::pop3::testing
