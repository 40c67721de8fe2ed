// The native send driver against a scripted SMTP peer on 127.0.0.1 (plain TCP; TLS and real
// servers are the integration tests' part), and the one-line reports the CLI prints.
#include "send_runner.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bridge/egress_policy.h"
#include "common/digest.h"
#include "mailbox/maildir.h"
#include "serve/config.h"

namespace junction::proxy {
namespace {

namespace fs = std::filesystem;

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = "/tmp/junction-send-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A pipelining SMTP server for one connection: answers every complete command of a read in
// one write, refuses RCPT for addresses starting with "refused", records what each read()
// returned (to see what the client coalesced).
class scripted_server {
 public:
  scripted_server() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 1) != 0) {
      throw std::runtime_error("cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~scripted_server() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::vector<std::string> reads() {
    std::lock_guard lock(mutex_);
    return reads_;
  }
  std::string message() {
    std::lock_guard lock(mutex_);
    return message_;
  }

 private:
  void serve() {
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    send_all(fd, "220 test.example ESMTP ready\r\n");
    std::string buffer;
    bool in_data = false;
    bool open = true;
    char chunk[65536];
    while (open) {
      const ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      {
        std::lock_guard lock(mutex_);
        reads_.emplace_back(chunk, static_cast<std::size_t>(n));
      }
      buffer.append(chunk, static_cast<std::size_t>(n));
      std::string answers;
      for (;;) {
        if (in_data) {
          const auto end = buffer.find("\r\n.\r\n");
          if (end == std::string::npos) break;
          {
            std::lock_guard lock(mutex_);
            message_ = buffer.substr(0, end + 2);
          }
          buffer.erase(0, end + 5);
          in_data = false;
          answers += "250 2.0.0 Ok: queued as 4711\r\n";
          continue;
        }
        const auto eol = buffer.find("\r\n");
        if (eol == std::string::npos) break;
        const std::string line = buffer.substr(0, eol);
        buffer.erase(0, eol + 2);
        if (line.rfind("EHLO ", 0) == 0) {
          answers += "250-test.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n";
        } else if (line.rfind("MAIL FROM:", 0) == 0) {
          answers += "250 2.1.0 Ok\r\n";
        } else if (line.rfind("RCPT TO:<refused", 0) == 0) {
          answers += "550 5.1.1 " + line.substr(8) + ": Recipient address rejected\r\n";
        } else if (line.rfind("RCPT TO:", 0) == 0) {
          answers += "250 2.1.5 Ok\r\n";
        } else if (line == "DATA") {
          answers += "354 End data with <CR><LF>.<CR><LF>\r\n";
          in_data = true;
        } else if (line == "QUIT") {
          answers += "221 2.0.0 Bye\r\n";
          open = false;
          break;
        } else {
          answers += "502 5.5.2 Error: command not recognized\r\n";
        }
      }
      if (!answers.empty()) send_all(fd, answers);
    }
    ::close(fd);
  }
  static void send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> reads_;
  std::string message_;
};

model::smtp_account plain_account(std::uint16_t port) {
  model::smtp_account a;
  a.display_name = "Jane Doe";
  a.server = "127.0.0.1";
  a.port = port;
  a.encryption = model::smtp_encryption::none;
  a.email = "jane@example.org";
  a.auth = false;
  return a;
}

TEST(send_runner, sends_one_message_pipelined_and_reports_each_recipient) {
  scripted_server server;
  jobs::outgoing_message m;
  m.recipients = {"bob@example.net", "refused@example.net", "carol@example.net"};
  m.data = "From: jane@example.org\r\nSubject: hi\r\n\r\n.leading dot\r\nbye\r\n";
  std::vector<jobs::outgoing_message> messages;
  messages.push_back(m);
  const auto result = run_send(plain_account(server.port()), std::move(messages), {});
  ASSERT_TRUE(result.summary.ok) << result.summary.message;
  ASSERT_EQ(result.summary.messages.size(), 1u);
  EXPECT_EQ(recipient_lines(result.summary.messages[0]),
            (std::vector<std::string>{
                "bob@example.net: accepted",
                "refused@example.net: refused 550 5.1.1 <refused@example.net>: Recipient "
                "address rejected",
                "carol@example.net: accepted"}));
  // Dot-stuffed on the wire, unstuffed here: the server saw the message as composed.
  EXPECT_EQ(server.message(),
            "From: jane@example.org\r\nSubject: hi\r\n\r\n..leading dot\r\nbye\r\n");

  // MAIL, every RCPT and DATA reached the server in one read: one write, one round trip
  // (the job groups them into one send effect; the driver must not split it).
  bool coalesced = false;
  for (const auto& r : server.reads()) {
    if (r.find("MAIL FROM:<jane@example.org>") == std::string::npos) continue;
    coalesced = r.find("RCPT TO:<bob@example.net>") != std::string::npos &&
                r.find("RCPT TO:<carol@example.net>") != std::string::npos &&
                r.find("DATA\r\n") != std::string::npos;
  }
  EXPECT_TRUE(coalesced) << "reads: " << server.reads().size();
  // The content, its final "." and QUIT went out in one write (job and driver coalescing).
  bool content_coalesced = false;
  for (const auto& r : server.reads()) {
    if (r.find("Subject: hi") == std::string::npos) continue;
    content_coalesced = r.find("\r\n.\r\nQUIT\r\n") != std::string::npos;
  }
  EXPECT_TRUE(content_coalesced);
}

TEST(send_runner, check_only_says_what_worked_in_one_line) {
  scripted_server server;
  send_run_options options;
  options.job.check_only = true;
  const auto account = plain_account(server.port());
  const auto result = run_send(account, {}, options);
  EXPECT_TRUE(result.summary.ok) << result.summary.message;
  EXPECT_EQ(check_line(account, result),
            "OK: connected to 127.0.0.1:" + std::to_string(server.port()) +
                " without encryption, no authentication");
  for (const auto& r : server.reads()) EXPECT_EQ(r.find("MAIL"), std::string::npos) << r;
}

TEST(send_runner, check_of_a_closed_port_is_an_error_line_with_its_kind) {
  // A port nobody listens on: bind, read the port, close.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  send_run_options options;
  options.job.check_only = true;
  const auto account = plain_account(ntohs(addr.sin_port));
  const auto result = run_send(account, {}, options);
  EXPECT_FALSE(result.summary.ok);
  EXPECT_EQ(check_line(account, result).rfind("error (refused): ", 0), 0u)
      << check_line(account, result);
}

// F2: a send or a Test SMTP Connection that serve makes for a user passes its egress policy.
TEST(send_runner, the_servers_egress_policy_refuses_loopback_and_nothing_connects) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);  // never accepts: a connection would wait in the backlog
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto policy = serve::make_egress_policy(serve::serve_config{});
  for (const std::uint16_t port : {std::uint16_t{587}, ntohs(addr.sin_port)}) {
    for (const bool check_only : {true, false}) {
      send_run_options options;
      options.job.check_only = check_only;
      options.egress = &policy;
      std::vector<jobs::outgoing_message> messages;
      if (!check_only) {
        jobs::outgoing_message m;
        m.recipients = {"bob@example.net"};
        m.data = "Subject: hi\r\n\r\nbye\r\n";
        messages.push_back(std::move(m));
      }
      const auto account = plain_account(port);
      const auto result = run_send(account, std::move(messages), options);
      EXPECT_FALSE(result.summary.ok);
      const auto line = check_line(account, result);
      // 587 is a mail port, so the address is what is refused; the listener's port is not.
      const std::string why = port == 587 ? "127.0.0.1 is an internal address"
                                          : "port " + std::to_string(port) + " is not allowed";
      EXPECT_EQ(line, "error (refused): connecting to 127.0.0.1:" + std::to_string(port) +
                          " is not allowed by the egress policy: " + why);
    }
  }
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "something connected to the listener";
  ::close(fd);
}

TEST(send_runner, an_allow_rule_lets_the_same_send_through) {
  scripted_server server;
  serve::serve_config config;
  bridge::allow_rule rule;
  ASSERT_TRUE(bridge::parse_allow_rule("127.0.0.1:" + std::to_string(server.port()), rule));
  config.egress_exceptions.push_back(rule);
  const auto policy = serve::make_egress_policy(config);
  send_run_options options;
  options.job.check_only = true;
  options.egress = &policy;
  const auto result = run_send(plain_account(server.port()), {}, options);
  EXPECT_TRUE(result.summary.ok) << result.summary.message;
}

TEST(send_runner, check_line_names_the_encryption_and_the_login) {
  model::smtp_account a = plain_account(587);
  a.server = "smtp.example.com";
  a.encryption = model::smtp_encryption::starttls;
  a.auth = true;
  a.email = "jdoe@example.com";
  send_run_result ok;
  ok.summary.ok = true;
  EXPECT_EQ(check_line(a, ok),
            "OK: connected to smtp.example.com:587 with STARTTLS (certificate verified), "
            "authenticated as jdoe@example.com");
  a.encryption = model::smtp_encryption::ssl;
  a.port = 465;
  a.username = "jdoe";
  ok.pinned = true;
  EXPECT_EQ(check_line(a, ok),
            "OK: connected to smtp.example.com:465 with SSL/TLS (pinned certificate), "
            "authenticated as jdoe");
  send_run_result failed;
  failed.summary.failure = jobs::failure_kind::login;
  failed.summary.message = "the SMTP server refused the login for jdoe: 535 5.7.8 failed";
  EXPECT_EQ(check_line(a, failed),
            "error (login): the SMTP server refused the login for jdoe: 535 5.7.8 failed");
}

TEST(send_runner, recipient_lines_when_the_message_is_refused_as_a_whole) {
  jobs::message_result m;
  m.accepted = false;
  m.code = 554;
  m.enhanced_code = "5.7.1";
  m.text = "spam";
  m.recipients.push_back({"a@x.org", true, 250, "2.1.5", "Ok"});
  m.recipients.push_back({"b@x.org", false, 550, "", "no such user"});
  m.recipients.push_back({"c@x.org", false, 0, "", ""});
  m.code = 554;
  EXPECT_EQ(recipient_lines(m), (std::vector<std::string>{"a@x.org: refused 554 5.7.1 spam",
                                                          "b@x.org: refused 550 no such user",
                                                          "c@x.org: refused 554 5.7.1 spam"}));
  jobs::message_result never;
  never.text = "the connection was lost";
  never.recipients.push_back({"a@x.org", false, 0, "", ""});
  EXPECT_EQ(recipient_lines(never),
            (std::vector<std::string>{"a@x.org: not sent (the connection was lost)"}));
}

TEST(send_runner, sent_copy_is_stored_once_seen_and_keyed_by_the_message_id) {
  temp_dir dir;
  const fs::path box = dir.path() / "users" / "1" / "mailbox";
  const std::string message = "Message-ID: <abc@example.org>\r\nSubject: x\r\n\r\nhi\r\n";
  EXPECT_EQ(save_sent_copy(box, message, "<abc@example.org>", 1700000000), "");
  EXPECT_EQ(save_sent_copy(box, message, "<abc@example.org>", 1700000000), "");
  EXPECT_EQ(sent_copy_key("<abc@example.org>"), sha256_hex("<abc@example.org>"));

  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(box / ".Sent" / "cur")) files.push_back(e.path());
  for (const auto& e : fs::directory_iterator(box / ".Sent" / "new")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  const std::string name = files[0].filename().string();
  EXPECT_NE(name.find(sent_copy_key("<abc@example.org>")), std::string::npos) << name;
  EXPECT_EQ(files[0].parent_path().filename(), "cur") << "a \\Seen message lives in cur/";
  EXPECT_NE(name.find(":2,S"), std::string::npos) << name;
  std::ifstream in(files[0], std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), message);
  mailbox::maildir reopened(box);
  EXPECT_TRUE(reopened.has_key("Sent", sent_copy_key("<abc@example.org>")));
}

TEST(send_runner, attachment_types_come_from_the_extension) {
  EXPECT_EQ(guess_content_type("report.PDF"), "application/pdf");
  EXPECT_EQ(guess_content_type("photo.jpeg"), "image/jpeg");
  EXPECT_EQ(guess_content_type("notes.txt"), "text/plain");
  EXPECT_EQ(guess_content_type("archive.tar.gz"), "application/gzip");
  EXPECT_EQ(guess_content_type("Makefile"), "application/octet-stream");
  EXPECT_EQ(guess_content_type("strange."), "application/octet-stream");
  EXPECT_EQ(guess_content_type("x.unknownext"), "application/octet-stream");
}

}  // namespace
}  // namespace junction::proxy
