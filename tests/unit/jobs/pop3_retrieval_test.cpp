// POP3 retrieval runs against the scripted server: what lands in the mailbox, what is deleted
// at the source and when, what is sent before encryption, and what survives a crash at any
// point.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/digest.h"
#include "fake_pop3_server.h"
#include "jobs/pop3_retrieval.h"
#include "jobs_test_support.h"
#include "scripted_driver.h"

namespace junction::jobs::testing {
namespace {

const std::string kFolder = "External/POP";

// Each message has lines that need dot-stuffing: "." alone, "..", ".x".
std::string pop3_text(int i) {
  const std::string n = std::to_string(i);
  std::string s = "From: sender" + n +
                  "@example.org\r\nTo: alice@example.org\r\nSubject: message " + n +
                  "\r\nMessage-ID: <pop" + n + "@example.org>\r\n\r\nHello " + n +
                  "\r\n.\r\n..two dots\r\n.leading dot\r\n";
  for (int k = 0; k < i % 7; ++k) s += "line " + std::to_string(k) + " of " + n + "\r\n";
  return s + "..\r\n";
}

// One task, its server, mailbox and state store; runs share them like successive real runs.
class pop3_world {
 public:
  explicit pop3_world(int messages) {
    task.type = model::retrieval_type::pop3;
    task.server = "pop.example.org";
    task.username = "alice";
    task.password = "secret";
    task.encryption = model::encryption::none;
    task.destination_folder = kFolder;
    task.leave_on_server = false;
    options.task_key = "task:7";
    for (int i = 1; i <= messages; ++i) add(i);
    // The rule users rely on: DELE only for a message stored and recorded as seen.
    server.on_dele = [this](const pop3_message& m) {
      ++dele_checks;
      if (mailbox.count(kFolder, m.content) == 0) {
        ADD_FAILURE() << "DELE of " << m.uidl << " before the mailbox stored it";
      }
      const std::string id = server.uidl ? m.uidl : "sha256:" + sha256_hex(m.content);
      auto s = seen();
      if (std::find(s.begin(), s.end(), id) == s.end()) {
        ADD_FAILURE() << "DELE of " << m.uidl << " before the state recording it was saved";
      }
    };
  }
  pop3_world(const pop3_world&) = delete;
  pop3_world& operator=(const pop3_world&) = delete;

  void add(int i) { server.maildrop.push_back({"uid-" + std::to_string(i), pop3_text(i)}); }

  drive_result run(const drive_options& how = {}) {
    drive_result r = drive(task, options, server, mailbox, store, how);
    EXPECT_TRUE(r.violations.empty()) << join(r.violations);
    EXPECT_TRUE(server.violations.empty()) << join(server.violations);
    EXPECT_TRUE(mailbox.violations.empty()) << join(mailbox.violations);
    EXPECT_EQ(mailbox.open_deliveries(), 0u);
    return r;
  }

  std::vector<std::string> seen() const {
    std::vector<std::string> out;
    auto doc = nlohmann::json::parse(store.load(options.task_key), nullptr, false);
    if (!doc.is_object() || !doc.contains("seen")) return out;
    for (const auto& entry : doc["seen"]) {
      out.push_back(entry.is_string() ? entry.get<std::string>() : entry.value("id", ""));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::map<std::string, std::vector<std::string>> expected(int from, int to) const {
    std::vector<std::string> contents;
    for (int i = from; i <= to; ++i) contents.push_back(pop3_text(i));
    return {{kFolder, contents}};
  }

  bool sent_any(std::initializer_list<const char*> verbs) const {
    for (const char* v : verbs) {
      if (server.count(v) > 0) return true;
    }
    return false;
  }

  fake_pop3_server server;
  fake_mailbox mailbox;
  fake_state_store store;
  model::retrieval_task task;
  retrieval_options options;
  std::size_t dele_checks = 0;
};

TEST(Pop3Retrieval, FirstRunDeliversEveryMessageByteExactSecondRunNothingNew) {
  for (bool pipelining : {false, true}) {
    for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
      SCOPED_TRACE("pipelining=" + std::to_string(pipelining) + " chunk=" + std::to_string(chunk));
      pop3_world w(6);
      w.task.leave_on_server = true;
      w.server.pipelining = pipelining;
      drive_options how;
      how.chunk = chunk;

      auto first = w.run(how);
      ASSERT_TRUE(first.summary.ok) << first.summary.message << tail(first);
      EXPECT_EQ(first.summary.total_messages, 6u);
      const folder_summary* f = find_folder(first.summary, kFolder);
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->new_messages, 6u);
      EXPECT_EQ(f->already_had, 0u);
      EXPECT_EQ(f->deleted, 0u);
      EXPECT_TRUE(exactly_once(w.mailbox, w.expected(1, 6)));

      auto second = w.run(how);
      ASSERT_TRUE(second.summary.ok) << second.summary.message;
      f = find_folder(second.summary, kFolder);
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->new_messages, 0u);
      EXPECT_EQ(f->already_had, 6u);
      EXPECT_TRUE(exactly_once(w.mailbox, w.expected(1, 6)));
      EXPECT_EQ(w.server.count("RETR"), 6u) << "the second run downloaded again";
    }
  }
}

TEST(Pop3Retrieval, DeletesAtQuitOnlyWhatWasStoredAndSaved) {
  for (bool pipelining : {false, true}) {
    SCOPED_TRACE("pipelining=" + std::to_string(pipelining));
    pop3_world w(5);
    w.server.pipelining = pipelining;
    auto r = w.run();
    ASSERT_TRUE(r.summary.ok) << r.summary.message << tail(r);
    const folder_summary* f = find_folder(r.summary, kFolder);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->new_messages, 5u);
    EXPECT_EQ(f->deleted, 5u);
    EXPECT_EQ(w.dele_checks, 5u);
    EXPECT_TRUE(w.server.maildrop.empty());
    EXPECT_TRUE(exactly_once(w.mailbox, w.expected(1, 5)));
    // In the trace: every DELE comes after a commit answer and a state save answer.
    std::size_t committed = 0, saved_after_commit = 0;
    for (const auto& line : r.trace) {
      if (line.rfind("E: committed", 0) == 0) {
        committed = 1;
        saved_after_commit = 0;
      }
      if (line == "E: state_saved" && committed) saved_after_commit = 1;
      if (line.rfind("C: DELE", 0) == 0) {
        EXPECT_TRUE(committed && saved_after_commit) << line << " too early" << tail(r);
      }
    }
  }
}

TEST(Pop3Retrieval, SessionEndingWithoutQuitDeletesNothingAndTheNextRunFinishes) {
  pop3_world w(5);
  auto clean = [&] {
    pop3_world probe(5);
    return probe.run();
  }();
  ASSERT_TRUE(clean.summary.ok);
  // The receive that carries QUIT is the last one before close.
  std::size_t quit_receive = 0;
  for (std::size_t i = 0; i < clean.kinds.size(); ++i) {
    if (clean.kinds[i] == effect::type::receive) quit_receive = i;
  }
  drive_options how;
  how.crash_at = quit_receive;
  auto crashed = w.run(how);
  EXPECT_TRUE(crashed.crashed);
  EXPECT_EQ(w.server.count("DELE"), 5u);
  EXPECT_EQ(w.server.count("QUIT"), 0u);
  EXPECT_EQ(w.server.maildrop.size(), 5u) << "deleted without QUIT (RFC 1939 UPDATE state)";

  auto again = w.run();
  ASSERT_TRUE(again.summary.ok) << again.summary.message;
  const folder_summary* f = find_folder(again.summary, kFolder);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->new_messages, 0u);
  EXPECT_EQ(f->already_had, 5u);
  EXPECT_EQ(f->deleted, 5u);
  // Downloaded again before the DELE: the DELE rests on this run's commit (already had),
  // not on the seen set alone.
  EXPECT_EQ(w.server.count("RETR"), 10u);
  EXPECT_TRUE(w.server.maildrop.empty());
  EXPECT_TRUE(exactly_once(w.mailbox, w.expected(1, 5)));
}

TEST(Pop3Retrieval, LeaveOnServerNeverDeletes) {
  for (bool pipelining : {false, true}) {
    pop3_world w(4);
    w.task.leave_on_server = true;
    w.server.pipelining = pipelining;
    ASSERT_TRUE(w.run().summary.ok);
    w.add(5);
    auto r = w.run();
    ASSERT_TRUE(r.summary.ok);
    EXPECT_EQ(w.server.count("DELE"), 0u);
    EXPECT_EQ(w.server.maildrop.size(), 5u);
    EXPECT_EQ(find_folder(r.summary, kFolder)->new_messages, 1u);
    EXPECT_TRUE(exactly_once(w.mailbox, w.expected(1, 5)));
  }
}

TEST(Pop3Retrieval, SeenSetForgetsUidlsOnlyAfterRepeatedAbsence) {
  pop3_world w(5);
  w.task.leave_on_server = true;
  ASSERT_TRUE(w.run().summary.ok);
  EXPECT_EQ(w.seen(), (std::vector<std::string>{"uid-1", "uid-2", "uid-3", "uid-4", "uid-5"}));

  // Another client deleted two messages; one arrived.
  w.server.maildrop.erase(w.server.maildrop.begin() + 3);
  w.server.maildrop.erase(w.server.maildrop.begin() + 1);
  w.add(6);
  auto r = w.run();
  ASSERT_TRUE(r.summary.ok) << r.summary.message;
  EXPECT_EQ(find_folder(r.summary, kFolder)->new_messages, 1u);
  // Missing from one listing: still known.
  EXPECT_EQ(w.seen(),
            (std::vector<std::string>{"uid-1", "uid-2", "uid-3", "uid-4", "uid-5", "uid-6"}));
  for (std::uint32_t i = 2; i < pop3_retrieval::kForgetAfter; ++i) {
    ASSERT_TRUE(w.run().summary.ok);
    EXPECT_EQ(w.seen().size(), 6u) << "forgotten after " << i << " listings";
  }
  ASSERT_TRUE(w.run().summary.ok);
  EXPECT_EQ(w.seen(), (std::vector<std::string>{"uid-1", "uid-3", "uid-5", "uid-6"}));
  EXPECT_EQ(w.server.count("RETR"), 6u) << "a message still listed was downloaded again";
  EXPECT_TRUE(exactly_once(w.mailbox, {{kFolder,
                                        {pop3_text(1), pop3_text(2), pop3_text(3), pop3_text(4),
                                         pop3_text(5), pop3_text(6)}}}));
}

TEST(Pop3Retrieval, ServerWithoutUidlNeverDuplicates) {
  for (bool leave : {true, false}) {
    SCOPED_TRACE("leave_on_server=" + std::to_string(leave));
    pop3_world w(5);
    w.server.uidl = false;
    w.task.leave_on_server = leave;
    auto first = w.run();
    ASSERT_TRUE(first.summary.ok) << first.summary.message << tail(first);
    EXPECT_EQ(find_folder(first.summary, kFolder)->new_messages, 5u);
    w.add(6);
    auto second = w.run();
    ASSERT_TRUE(second.summary.ok) << second.summary.message;
    EXPECT_EQ(find_folder(second.summary, kFolder)->new_messages, 1u);
    EXPECT_EQ(find_folder(second.summary, kFolder)->already_had, leave ? 5u : 0u);
    EXPECT_TRUE(exactly_once(w.mailbox, w.expected(1, 6)));
    EXPECT_EQ(w.server.maildrop.size(), leave ? 6u : 0u);
    // The seen set holds content digests; deleted ones are forgotten only after
    // kForgetAfter full passes without them.
    EXPECT_EQ(w.seen().size(), 6u);
    if (leave) {
      EXPECT_EQ(w.seen().front().rfind("sha256:", 0), 0u);
    }
  }
}

TEST(Pop3Retrieval, PipelinesOnlyWhenTheServerOffersIt) {
  pop3_world plain(8);
  ASSERT_TRUE(plain.run().summary.ok);
  EXPECT_EQ(plain.server.max_commands_per_write, 1u)
      << "several commands in one write to a server without PIPELINING";

  pop3_world piped(8);
  piped.server.pipelining = true;
  ASSERT_TRUE(piped.run().summary.ok);
  EXPECT_GT(piped.server.max_commands_per_write, 1u);
  EXPECT_TRUE(exactly_once(piped.mailbox, piped.expected(1, 8)));
}

TEST(Pop3Retrieval, ApopSendsTheRfc1939Digest) {
  pop3_world w(2);
  w.server.apop_timestamp = "<1896.697170952@dbc.mtview.ca.us>";
  w.server.user = w.task.username = "mrose";
  w.server.password = w.task.password = "tanstaaf";
  w.task.apop = true;
  auto r = w.run();
  ASSERT_TRUE(r.summary.ok) << r.summary.message;
  ASSERT_EQ(w.server.count("APOP"), 1u);
  EXPECT_EQ(w.server.commands[1].line, "APOP mrose c4c9334bac560ecc979e58001b3e22fb");
  EXPECT_FALSE(w.sent_any({"USER", "PASS", "AUTH"}));
}

TEST(Pop3Retrieval, ApopWithoutTimestampFailsWithoutSendingThePassword) {
  pop3_world w(2);
  w.task.apop = true;
  auto r = w.run();
  EXPECT_FALSE(r.summary.ok);
  EXPECT_EQ(r.summary.failure, failure_kind::login);
  EXPECT_FALSE(w.sent_any({"USER", "PASS", "APOP", "AUTH"}));
}

TEST(Pop3Retrieval, SaslPlainWhenTheServerDoesNotOfferUser) {
  pop3_world w(2);
  w.server.user_capa = false;
  w.server.sasl_plain = true;
  auto r = w.run();
  ASSERT_TRUE(r.summary.ok) << r.summary.message << tail(r);
  EXPECT_EQ(w.server.count("AUTH"), 1u);
  EXPECT_FALSE(w.sent_any({"USER", "PASS"}));
}

TEST(Pop3Retrieval, StarttlsRequiredButNotOfferedSendsNoCredentials) {
  for (bool capa : {true, false}) {
    SCOPED_TRACE("server answers CAPA: " + std::to_string(capa));
    pop3_world w(2);
    w.task.encryption = model::encryption::starttls;
    w.server.capa = capa;
    w.server.stls = false;
    w.server.sasl_plain = true;
    auto r = w.run();
    EXPECT_FALSE(r.summary.ok);
    EXPECT_EQ(r.summary.failure, failure_kind::encryption_required) << r.summary.message;
    EXPECT_FALSE(w.sent_any({"USER", "PASS", "APOP", "AUTH"})) << tail(r);
    EXPECT_TRUE(w.mailbox.messages().empty());
  }
}

TEST(Pop3Retrieval, StlsStartsTlsThenAsksCapaAgainThenLogsIn) {
  pop3_world w(3);
  w.task.encryption = model::encryption::starttls;
  w.server.stls = true;
  auto r = w.run();
  ASSERT_TRUE(r.summary.ok) << r.summary.message << tail(r);
  ASSERT_GE(w.server.commands.size(), 5u);
  EXPECT_EQ(w.server.commands[0].line, "CAPA");
  EXPECT_EQ(w.server.commands[1].line, "STLS");
  EXPECT_EQ(w.server.commands[2].line, "CAPA");
  EXPECT_TRUE(w.server.commands[2].under_tls);
  EXPECT_EQ(w.server.commands[3].line, "USER alice");
  for (std::size_t i = 2; i < w.server.commands.size(); ++i) {
    EXPECT_TRUE(w.server.commands[i].under_tls) << w.server.commands[i].line << " in clear";
  }
  auto stls = std::find(r.trace.begin(), r.trace.end(), "C: STLS");
  auto start = std::find(r.trace.begin(), r.trace.end(), "E: start_tls");
  ASSERT_NE(start, r.trace.end());
  EXPECT_LT(stls, start);
  EXPECT_EQ(*std::next(start), "C: CAPA");
  EXPECT_TRUE(exactly_once(w.mailbox, w.expected(1, 3)));
}

TEST(Pop3Retrieval, WrongPasswordIsALoginFailure) {
  pop3_world w(3);
  w.task.password = "wrong";
  auto r = w.run();
  EXPECT_FALSE(r.summary.ok);
  EXPECT_EQ(r.summary.failure, failure_kind::login) << r.summary.message;
  EXPECT_EQ(w.server.count("RETR"), 0u);
  EXPECT_TRUE(w.mailbox.messages().empty());
  EXPECT_EQ(w.server.maildrop.size(), 3u);
}

TEST(Pop3Retrieval, CheckOnlyCountsAndRetrievesNothing) {
  pop3_world w(4);
  w.options.check_only = true;
  auto r = w.run();
  ASSERT_TRUE(r.summary.ok) << r.summary.message;
  EXPECT_EQ(r.summary.total_messages, 4u);
  EXPECT_FALSE(w.sent_any({"RETR", "DELE", "TOP"}));
  EXPECT_TRUE(w.mailbox.messages().empty());
  EXPECT_EQ(w.store.saves, 0u);
  EXPECT_EQ(w.server.maildrop.size(), 4u);
}

TEST(Pop3Retrieval, FailedCommitDeletesNothingAndRecordsNothing) {
  pop3_world w(3);
  w.mailbox.fail_next_commit = true;
  auto r = w.run();
  EXPECT_FALSE(r.summary.ok);
  EXPECT_EQ(r.summary.failure, failure_kind::mailbox);
  EXPECT_EQ(w.server.count("DELE"), 0u);
  EXPECT_EQ(w.server.maildrop.size(), 3u);
  EXPECT_TRUE(w.seen().empty());
  auto again = w.run();
  ASSERT_TRUE(again.summary.ok) << again.summary.message;
  EXPECT_TRUE(exactly_once(w.mailbox, w.expected(1, 3)));
  EXPECT_TRUE(w.server.maildrop.empty());
}

struct crash_config {
  bool pipelining;
  bool uidl;
  bool leave;
};

std::string describe(const crash_config& c) {
  return std::string("pipelining=") + (c.pipelining ? "yes" : "no") +
         " uidl=" + (c.uidl ? "yes" : "no") + " leave_on_server=" + (c.leave ? "yes" : "no");
}

void configure(pop3_world& w, const crash_config& c) {
  w.server.pipelining = c.pipelining;
  w.server.uidl = c.uidl;
  w.task.leave_on_server = c.leave;
  w.options.batch_messages = 4;
}

// kill -9 at every effect of a 30-message run, then a full run: every message exactly once,
// and (without leave on server) the source empty.
TEST(Pop3Retrieval, CrashAtEveryEffectThenRerunLosesAndDoublesNothing) {
  const crash_config configs[] = {{false, true, false},
                                  {true, true, false},
                                  {false, false, false},
                                  {true, false, false},
                                  {true, true, true}};
  for (const auto& c : configs) {
    SCOPED_TRACE(describe(c));
    std::size_t total_effects = 0;
    {
      pop3_world clean(30);
      configure(clean, c);
      auto r = clean.run();
      ASSERT_TRUE(r.summary.ok) << r.summary.message;
      total_effects = r.effects;
    }
    for (std::size_t k = 0; k < total_effects; ++k) {
      pop3_world w(30);
      configure(w, c);
      drive_options how;
      how.crash_at = k;
      auto crashed = w.run(how);
      ASSERT_TRUE(crashed.crashed) << "no crash at " << k;
      auto again = w.run();
      ASSERT_TRUE(again.summary.ok)
          << "crash at effect " << k << ": " << again.summary.message << tail(again);
      ASSERT_TRUE(exactly_once(w.mailbox, w.expected(1, 30)))
          << "crash at effect " << k << tail(crashed) << "\n-- re-run:" << tail(again);
      ASSERT_EQ(w.server.maildrop.size(), c.leave ? 30u : 0u) << "crash at effect " << k;
    }
  }
}

// The line drops after N bytes from the server (mid-RETR for most N), then a full run.
TEST(Pop3Retrieval, CutConnectionThenRerunLosesAndDoublesNothing) {
  for (bool pipelining : {false, true}) {
    SCOPED_TRACE("pipelining=" + std::to_string(pipelining));
    std::size_t cut = 1;
    for (int attempt = 0; attempt < 400; ++attempt, cut += 23) {
      pop3_world w(30);
      w.server.pipelining = pipelining;
      w.options.batch_messages = 4;
      w.server.cut_after = cut;
      auto first = w.run();
      if (first.summary.ok) break;  // the cut is past the end of the session
      EXPECT_TRUE(first.finished);
      EXPECT_NE(first.summary.failure, failure_kind::none);
      w.server.cut_after.reset();
      auto again = w.run();
      ASSERT_TRUE(again.summary.ok) << "cut at " << cut << ": " << again.summary.message;
      ASSERT_TRUE(exactly_once(w.mailbox, w.expected(1, 30))) << "cut at " << cut;
      ASSERT_TRUE(w.server.maildrop.empty()) << "cut at " << cut;
    }
  }
}

// ---- Identity by content, DELE only after this run's commit (review F1, F5, F11) ----

std::vector<std::string> texts(std::initializer_list<int> ids) {
  std::vector<std::string> out;
  for (int i : ids) out.push_back(pop3_text(i));
  return out;
}

// Review F1 case A: a server that hands out a UIDL again (RFC 1939 says it "should" not) for
// a new message right after the old one was deleted. It used to be DELEd without download.
TEST(Pop3Retrieval, ReusedUidlRightAfterDeletionIsANewMessage) {
  for (bool pipelining : {false, true}) {
    SCOPED_TRACE("pipelining=" + std::to_string(pipelining));
    pop3_world w(3);  // leave_on_server = false
    w.server.pipelining = pipelining;
    ASSERT_TRUE(w.run().summary.ok);
    ASSERT_TRUE(w.server.maildrop.empty());
    w.server.maildrop.push_back({"uid-1", pop3_text(99)});
    auto r = w.run();
    ASSERT_TRUE(r.summary.ok) << r.summary.message << tail(r);
    EXPECT_EQ(w.mailbox.count(kFolder, pop3_text(99)), 1u) << "message 99 lost";
    EXPECT_EQ(find_folder(r.summary, kFolder)->new_messages, 1u);
    EXPECT_TRUE(w.server.maildrop.empty());
    EXPECT_TRUE(exactly_once(w.mailbox, {{kFolder, texts({1, 2, 3, 99})}}));
  }
}

// Review F1 case B: the UIDL comes back after a run that saw an empty maildrop. Its key used
// to collide with the old message's, so the mailbox said "already had" and it was DELEd.
TEST(Pop3Retrieval, ReusedUidlAfterAnEmptyMaildropIsANewMessage) {
  pop3_world w(3);
  ASSERT_TRUE(w.run().summary.ok);
  ASSERT_TRUE(w.run().summary.ok);  // empty maildrop
  w.server.maildrop.push_back({"uid-1", pop3_text(99)});
  auto r = w.run();
  ASSERT_TRUE(r.summary.ok) << r.summary.message << tail(r);
  EXPECT_EQ(w.mailbox.count(kFolder, pop3_text(99)), 1u) << "message 99 lost";
  EXPECT_EQ(find_folder(r.summary, kFolder)->new_messages, 1u);
  EXPECT_EQ(find_folder(r.summary, kFolder)->already_had, 0u);
  EXPECT_TRUE(exactly_once(w.mailbox, {{kFolder, texts({1, 2, 3, 99})}}));
}

// Leave on server: the old message was deleted by another client, and a later listing
// reuses its UIDL for new content. The UIDL was missing from a listing in between, so it is
// checked once more.
TEST(Pop3Retrieval, ReusedUidlAfterItWasMissingIsCheckedWhenLeftOnServer) {
  pop3_world w(3);
  w.task.leave_on_server = true;
  ASSERT_TRUE(w.run().summary.ok);
  w.server.maildrop.erase(w.server.maildrop.begin());  // uid-1 deleted elsewhere
  ASSERT_TRUE(w.run().summary.ok);
  w.server.maildrop.push_back({"uid-1", pop3_text(99)});
  auto r = w.run();
  ASSERT_TRUE(r.summary.ok) << r.summary.message << tail(r);
  EXPECT_EQ(find_folder(r.summary, kFolder)->new_messages, 1u);
  EXPECT_TRUE(exactly_once(w.mailbox, {{kFolder, texts({1, 2, 3, 99})}}));
  EXPECT_EQ(w.server.count("DELE"), 0u);
}

// A message missing from one listing (a short listing) and back, with the same content, is
// downloaded to check it but not delivered again: a copy the user deleted stays deleted.
TEST(Pop3Retrieval, MessageBackAfterAShortListingIsNotDeliveredAgain) {
  pop3_world w(4);
  w.task.leave_on_server = true;
  ASSERT_TRUE(w.run().summary.ok);
  const auto all = w.server.maildrop;
  w.server.maildrop.resize(1);  // a short listing
  ASSERT_TRUE(w.run().summary.ok);
  w.mailbox.remove(kFolder, pop3_text(3));  // the user deletes message 3 locally
  w.server.maildrop = all;
  auto r = w.run();
  ASSERT_TRUE(r.summary.ok) << r.summary.message << tail(r);
  EXPECT_EQ(find_folder(r.summary, kFolder)->new_messages, 0u);
  EXPECT_EQ(find_folder(r.summary, kFolder)->already_had, 4u);
  EXPECT_EQ(w.mailbox.count(kFolder, pop3_text(3)), 0u) << "a locally deleted message came back";
  EXPECT_TRUE(exactly_once(w.mailbox, {{kFolder, texts({1, 2, 4})}}));
  // Back to normal: nothing is downloaded the run after.
  const auto retr = w.server.count("RETR");
  ASSERT_TRUE(w.run().summary.ok);
  EXPECT_EQ(w.server.count("RETR"), retr);
}

// Review F5: a transient empty UIDL listing (leave on server) used to wipe the seen set, and
// the next run downloaded everything again.
TEST(Pop3Retrieval, TransientEmptyListingKeepsTheSeenSet) {
  for (bool uidl : {true, false}) {
    SCOPED_TRACE("uidl=" + std::to_string(uidl));
    pop3_world w(5);
    w.server.uidl = uidl;
    w.task.leave_on_server = true;
    ASSERT_TRUE(w.run().summary.ok);
    auto saved = w.server.maildrop;
    const auto seen_before = w.seen();
    ASSERT_EQ(seen_before.size(), 5u);
    w.server.maildrop.clear();  // a server glitch, or another session's view
    ASSERT_TRUE(w.run().summary.ok);
    ASSERT_TRUE(w.run().summary.ok);
    ASSERT_TRUE(w.run().summary.ok);
    ASSERT_TRUE(w.run().summary.ok);
    EXPECT_EQ(w.seen(), seen_before) << "empty listings changed the seen set";
    w.server.maildrop = saved;
    const auto retr_before = w.server.count("RETR");
    auto r = w.run();
    ASSERT_TRUE(r.summary.ok) << r.summary.message;
    if (uidl) {
      EXPECT_EQ(w.server.count("RETR") - retr_before, 0u);
    }
    EXPECT_EQ(find_folder(r.summary, kFolder)->new_messages, 0u);
    EXPECT_TRUE(exactly_once(w.mailbox, w.expected(1, 5)));
  }
}

// Review F11: a state document written through the API (a stale browser, a session thief)
// claims messages as retrieved that the mailbox never stored. Nothing may be deleted that
// the mailbox does not hold.
TEST(Pop3Retrieval, ForgedSeenSetNeverDeletesWhatTheMailboxDoesNotHold) {
  const std::string digest(64, 'a');
  const std::string forged[] = {
      R"({"version":1,"protocol":"pop3","seen":["uid-1","uid-2","uid-3","uid-4"]})",
      R"({"version":2,"protocol":"pop3","seen":[{"id":"uid-1","size":10,"sha256":")" + digest +
          R"("},{"id":"uid-2"},{"id":"uid-3","absent":1},{"id":"uid-4","size":1}]})"};
  for (const auto& doc : forged) {
    for (bool pipelining : {false, true}) {
      SCOPED_TRACE(doc + " pipelining=" + std::to_string(pipelining));
      pop3_world w(4);
      w.server.pipelining = pipelining;
      w.store.save(w.options.task_key, doc);
      auto r = w.run();
      ASSERT_TRUE(r.summary.ok) << r.summary.message << tail(r);
      EXPECT_EQ(find_folder(r.summary, kFolder)->new_messages, 4u);
      EXPECT_EQ(find_folder(r.summary, kFolder)->deleted, 4u);
      EXPECT_TRUE(exactly_once(w.mailbox, w.expected(1, 4)));
      EXPECT_TRUE(w.server.maildrop.empty());
    }
  }
}

// A version-1 state document (no digests) still loads: left on the server, its messages
// are not downloaded again; new ones arrive.
TEST(Pop3Retrieval, VersionOneStateStillLoads) {
  pop3_world w(3);
  w.task.leave_on_server = true;
  w.store.save(w.options.task_key,
               R"({"version":1,"protocol":"pop3","seen":["uid-1","uid-2","uid-3"]})");
  w.add(4);
  auto r = w.run();
  ASSERT_TRUE(r.summary.ok) << r.summary.message << tail(r);
  EXPECT_EQ(w.server.count("RETR"), 1u);
  EXPECT_EQ(find_folder(r.summary, kFolder)->already_had, 3u);
  EXPECT_EQ(w.mailbox.count(kFolder, pop3_text(4)), 1u);
  auto doc = nlohmann::json::parse(w.store.load(w.options.task_key));
  EXPECT_EQ(doc["version"], 2);
  EXPECT_EQ(w.seen(), (std::vector<std::string>{"uid-1", "uid-2", "uid-3", "uid-4"}));
}

TEST(Pop3Retrieval, StateParserRefusesWhatIsNotPop3State) {
  EXPECT_FALSE(pop3_retrieval::parse_state(""));
  EXPECT_FALSE(pop3_retrieval::parse_state("[]"));
  EXPECT_FALSE(pop3_retrieval::parse_state(R"({"protocol":"imap","seen":["a"]})"));
  EXPECT_FALSE(pop3_retrieval::parse_state(R"({"protocol":7})"));
  auto s = pop3_retrieval::parse_state(
      R"({"protocol":"pop3","seen":["a",7,null,{"id":5},{"id":""},{"id":"b","sha256":"XYZ","size":3},)"
      R"({"id":"c","absent":99999999999}]})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size(), 3u);
  EXPECT_TRUE(s->at("b").digest.empty()) << "a malformed digest is not trusted";
  EXPECT_EQ(s->at("b").size, 0u);
  EXPECT_EQ(s->at("c").absent, pop3_retrieval::kForgetAfter);
}

// kill -9 at every effect of a run that follows `prepare`, then a full run: every message
// the server ever offered is in the mailbox exactly once, and without leave on server the
// source ends empty.
template <class Prepare>
void crash_everywhere(const char* what, Prepare prepare, const std::vector<std::string>& expected) {
  SCOPED_TRACE(what);
  std::size_t total_effects = 0;
  {
    pop3_world clean(0);
    prepare(clean);
    auto r = clean.run();
    ASSERT_TRUE(r.summary.ok) << r.summary.message << tail(r);
    ASSERT_TRUE(exactly_once(clean.mailbox, {{kFolder, expected}}));
    total_effects = r.effects;
  }
  for (std::size_t k = 0; k < total_effects; ++k) {
    pop3_world w(0);
    prepare(w);
    drive_options how;
    how.crash_at = k;
    auto crashed = w.run(how);
    ASSERT_TRUE(crashed.crashed) << "no crash at " << k;
    auto again = w.run();
    ASSERT_TRUE(again.summary.ok) << "crash at effect " << k << ": " << again.summary.message
                                  << tail(again);
    ASSERT_TRUE(exactly_once(w.mailbox, {{kFolder, expected}}))
        << "crash at effect " << k << tail(crashed) << "\n-- re-run:" << tail(again);
    if (!w.task.leave_on_server) {
      ASSERT_TRUE(w.server.maildrop.empty()) << "crash at " << k;
    }
  }
}

TEST(Pop3Retrieval, CrashAtEveryEffectOfTheNewPaths) {
  for (bool pipelining : {false, true}) {
    SCOPED_TRACE("pipelining=" + std::to_string(pipelining));
    auto base = [pipelining](pop3_world& w, int n) {
      w.server.pipelining = pipelining;
      w.options.batch_messages = 3;
      for (int i = 1; i <= n; ++i) w.add(i);
    };
    // UIDLs reused for new content after their DELE, beside a fresh one.
    crash_everywhere(
        "reused UIDL",
        [&](pop3_world& w) {
          base(w, 5);
          ASSERT_TRUE(w.run().summary.ok);
          w.server.maildrop = {
              {"uid-1", pop3_text(11)}, {"uid-2", pop3_text(12)}, {"uid-9", pop3_text(13)}};
        },
        texts({1, 2, 3, 4, 5, 11, 12, 13}));
    // Empty listings, then the maildrop is back with one more (leave on server).
    crash_everywhere(
        "empty listing",
        [&](pop3_world& w) {
          base(w, 5);
          w.task.leave_on_server = true;
          ASSERT_TRUE(w.run().summary.ok);
          auto all = w.server.maildrop;
          w.server.maildrop.clear();
          ASSERT_TRUE(w.run().summary.ok);
          w.server.maildrop = all;
          w.add(6);
        },
        texts({1, 2, 3, 4, 5, 6}));
    // Seen messages that must now be deleted: downloaded again, re-delivered, then DELEd.
    crash_everywhere(
        "re-download before DELE",
        [&](pop3_world& w) {
          base(w, 5);
          w.task.leave_on_server = true;
          ASSERT_TRUE(w.run().summary.ok);
          w.task.leave_on_server = false;
          w.add(6);
        },
        texts({1, 2, 3, 4, 5, 6}));
    // A forged seen set (F11) on an empty mailbox.
    crash_everywhere(
        "forged state",
        [&](pop3_world& w) {
          base(w, 5);
          w.store.save(w.options.task_key,
                       R"({"version":1,"protocol":"pop3","seen":["uid-1","uid-3","uid-5"]})");
        },
        texts({1, 2, 3, 4, 5}));
    // Without UIDL, after a short pass, with deletion.
    crash_everywhere(
        "no UIDL, short pass",
        [&](pop3_world& w) {
          base(w, 5);
          w.server.uidl = false;
          w.task.leave_on_server = true;
          ASSERT_TRUE(w.run().summary.ok);
          auto all = w.server.maildrop;
          w.server.maildrop.resize(2);
          ASSERT_TRUE(w.run().summary.ok);
          w.server.maildrop = all;
          w.add(6);
          w.task.leave_on_server = false;
        },
        texts({1, 2, 3, 4, 5, 6}));
  }
}

}  // namespace
}  // namespace junction::jobs::testing
