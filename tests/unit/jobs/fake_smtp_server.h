// An SMTP submission server for the send job tests (RFC 5321 with EHLO keywords PIPELINING,
// SIZE, STARTTLS, AUTH PLAIN/LOGIN/CRAM-MD5, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES): a
// knob for each, Postfix-like replies, and a capture of every accepted message as the client
// meant it (dot-unstuffed), like smtp-sink in the integration tests.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "common/digest.h"
#include "fake_server.h"

namespace junction::jobs::testing {

struct captured_message {
  std::string from;
  std::string mail_params;  // what followed "MAIL FROM:<...>"
  std::vector<std::string> recipients;
  std::string data;  // unstuffed, CRLF line ends, as the client meant it
  bool under_tls = false;
};

class fake_smtp_server : public fake_server {
 public:
  std::string user = "jdoe@example.com";
  std::string password = "secret";
  bool ehlo = true;  // false: an RFC 821 server that answers EHLO 502
  bool pipelining = true;
  bool starttls = false;
  bool refuse_starttls = false;      // announce STARTTLS, answer it 454
  std::string auth = "PLAIN LOGIN";  // AUTH mechanisms; empty: no AUTH keyword
  bool auth_needs_tls = false;       // AUTH announced and accepted only under TLS
  bool require_auth = true;          // MAIL before AUTH gets 530 (when auth is offered)
  bool size_keyword = true;
  std::uint64_t size = 10240000;  // SIZE value; 0: "SIZE" without a limit
  bool eight_bit_mime = true;
  bool smtputf8 = false;
  std::set<std::string> unknown_users;  // RCPT 550 5.1.1
  std::string relay_domain;             // recipients outside it: 554 5.7.1 Relay access denied
  std::string data_end_reply = "250 2.0.0 Ok: queued as 4F2A\r\n";
  std::string cram_challenge = "<1896.697170952@postoffice.reston.mci.net>";
  bool cut_in_data = false;      // the line drops once the client read the 354
  bool say_421_at_mail = false;  // "421 shutting down" instead of answering MAIL

  std::vector<captured_message> messages;

  // SSL/TLS from the first byte (RFC 8314): call right after connect().
  void start_implicit_tls() {
    begin_tls();
    start_tls();
  }

 protected:
  void begin_session() override {
    replied_ = 0;
    greeted_ = false;
    authed_ = false;
    sasl_ = sasl::none;
    in_data_ = false;
    reset_transaction();
    say("220 fake.example ESMTP ready\r\n");
  }

  void handle_line(const std::string& line) override {
    if (in_data_) return data_line(line);
    if (sasl_ != sasl::none) return sasl_line(line);
    const auto space = line.find(' ');
    const std::string verb = upper(line.substr(0, space));
    const std::string arg = space == std::string::npos ? std::string() : line.substr(space + 1);
    if (verb == "EHLO") {
      if (!ehlo) return say("502 5.5.2 Error: command not recognized\r\n");
      greeted_ = true;
      reset_transaction();
      std::vector<std::string> kw = {"fake.example"};
      if (pipelining) kw.push_back("PIPELINING");
      if (size_keyword) kw.push_back(size ? "SIZE " + std::to_string(size) : "SIZE");
      if ((starttls || refuse_starttls) && !tls()) kw.push_back("STARTTLS");
      if (!auth.empty() && (!auth_needs_tls || tls())) kw.push_back("AUTH " + auth);
      kw.push_back("ENHANCEDSTATUSCODES");
      if (eight_bit_mime) kw.push_back("8BITMIME");
      if (smtputf8) kw.push_back("SMTPUTF8");
      kw.push_back("DSN");
      std::string r;
      for (std::size_t i = 0; i < kw.size(); ++i) {
        r += (i + 1 < kw.size() ? "250-" : "250 ") + kw[i] + "\r\n";
      }
      return say(r);
    }
    if (verb == "HELO") {
      greeted_ = true;
      return say("250 fake.example\r\n");
    }
    if (verb == "QUIT") {
      say("221 2.0.0 Bye\r\n");
      close_after_reply();
      return;
    }
    if (verb == "NOOP") return say("250 2.0.0 Ok\r\n");
    if (verb == "RSET") {
      reset_transaction();
      return say("250 2.0.0 Ok\r\n");
    }
    if (verb == "STARTTLS") {
      if (!starttls || tls()) return say("454 4.7.0 TLS not available due to local problem\r\n");
      say("220 2.0.0 Ready to start TLS\r\n");
      begin_tls();
      greeted_ = false;  // RFC 3207 §4.2: the session starts over
      authed_ = false;
      return;
    }
    if (!greeted_) return say("503 5.5.1 Error: send HELO/EHLO first\r\n");
    if (verb == "AUTH") return auth_command(arg);
    if (verb == "MAIL") return mail_command(arg);
    if (verb == "RCPT") return rcpt_command(arg);
    if (verb == "DATA") {
      if (!has_mail_) return say("503 5.5.1 Error: need MAIL command\r\n");
      if (rcpts_.empty()) return say("554 5.5.1 Error: no valid recipients\r\n");
      in_data_ = true;
      say("354 End data with <CR><LF>.<CR><LF>\r\n");
      if (cut_in_data) cut_after = replied_;
      return;
    }
    say("500 5.5.2 Error: command not recognized\r\n");
  }

 private:
  enum class sasl { none, plain, login_user, login_pass, cram };

  void say(std::string_view s) {
    replied_ += s.size();
    reply(s);
  }

  void reset_transaction() {
    has_mail_ = false;
    from_.clear();
    params_.clear();
    rcpts_.clear();
    data_.clear();
  }

  void data_line(const std::string& line) {
    if (line.find_first_of("\r\n") != std::string::npos) {
      violations.push_back("bare CR or LF inside the message data: " + line);
    }
    if (line == ".") {
      in_data_ = false;
      if (data_end_reply.substr(0, 1) == "2") {
        messages.push_back({from_, params_, rcpts_, data_, tls()});
      }
      say(data_end_reply);
      reset_transaction();
      return;
    }
    data_ += line[0] == '.' ? line.substr(1) : line;
    data_ += "\r\n";
  }

  bool mech_offered(std::string_view m) const {
    std::string list = " " + auth + " ";
    return list.find(" " + std::string(m) + " ") != std::string::npos;
  }

  void auth_command(const std::string& arg) {
    if (auth.empty() || (auth_needs_tls && !tls())) {
      return say("503 5.5.1 Error: authentication not enabled\r\n");
    }
    if (authed_) return say("503 5.5.1 Error: already authenticated\r\n");
    const auto space = arg.find(' ');
    const std::string mech = upper(arg.substr(0, space));
    const std::string ir = space == std::string::npos ? std::string() : arg.substr(space + 1);
    if (!mech_offered(mech)) return say("504 5.5.4 Unrecognized authentication type\r\n");
    if (mech == "PLAIN") {
      if (ir.empty()) {
        sasl_ = sasl::plain;
        return say("334 \r\n");
      }
      return check_plain(ir);
    }
    if (mech == "LOGIN") {
      sasl_ = sasl::login_user;
      return say("334 VXNlcm5hbWU6\r\n");
    }
    sasl_ = sasl::cram;
    say("334 " + base64::encode(cram_challenge) + "\r\n");
  }

  void sasl_line(const std::string& line) {
    const sasl step = sasl_;
    sasl_ = sasl::none;
    if (line == "*") return say("501 5.7.0 Authentication aborted\r\n");
    switch (step) {
      case sasl::plain:
        return check_plain(line);
      case sasl::login_user: {
        auto u = base64::decode(line);
        login_user_ = u ? *u : std::string("\x01");
        sasl_ = sasl::login_pass;
        return say("334 UGFzc3dvcmQ6\r\n");
      }
      case sasl::login_pass: {
        auto p = base64::decode(line);
        return verdict(login_user_ == user && p && *p == password);
      }
      case sasl::cram: {
        auto r = base64::decode(line);
        const std::string expected = user + " " + hmac_md5_hex(password, cram_challenge);
        return verdict(r && *r == expected);
      }
      case sasl::none:
        return;
    }
  }

  void check_plain(const std::string& b64) {
    auto m = base64::decode(b64);
    verdict(m && *m == std::string("\0", 1) + user + std::string("\0", 1) + password);
  }

  void verdict(bool good) {
    if (!good) return say("535 5.7.8 Error: authentication failed: authentication failure\r\n");
    authed_ = true;
    say("235 2.7.0 Authentication successful\r\n");
  }

  // "MAIL FROM:<addr> [params]"
  void mail_command(const std::string& arg) {
    if (say_421_at_mail) {
      say("421 4.3.2 Service shutting down\r\n");
      close_after_reply();
      return;
    }
    if (!auth.empty() && require_auth && !authed_) {
      return say("530 5.7.0 Authentication required\r\n");
    }
    if (has_mail_) return say("503 5.5.1 Error: nested MAIL command\r\n");
    if (upper(arg.substr(0, 6)) != "FROM:<" || arg.find('>') == std::string::npos) {
      return say("501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
    }
    const auto close = arg.find('>');
    std::string params = arg.substr(close + 1);
    if (!params.empty() && params[0] == ' ') params.erase(0, 1);
    if (params.find("SMTPUTF8") != std::string::npos && !smtputf8) {
      return say("555 5.5.4 Unsupported option: SMTPUTF8\r\n");
    }
    const auto sz = params.find("SIZE=");
    if (sz != std::string::npos && size != 0 && std::stoull(params.substr(sz + 5)) > size) {
      return say("552 5.3.4 Message size exceeds fixed limit\r\n");
    }
    has_mail_ = true;
    from_ = arg.substr(6, close - 6);
    params_ = params;
    say("250 2.1.0 Ok\r\n");
  }

  void rcpt_command(const std::string& arg) {
    if (!has_mail_) return say("503 5.5.1 Error: need MAIL command\r\n");
    if (upper(arg.substr(0, 4)) != "TO:<" || arg.back() != '>') {
      return say("501 5.5.4 Syntax: RCPT TO:<address>\r\n");
    }
    const std::string addr = arg.substr(4, arg.size() - 5);
    if (unknown_users.count(addr) != 0) {
      return say("550 5.1.1 <" + addr +
                 ">: Recipient address rejected: User unknown in local recipient table\r\n");
    }
    if (!relay_domain.empty()) {
      const std::string suffix = "@" + relay_domain;
      if (addr.size() < suffix.size() ||
          addr.compare(addr.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return say("554 5.7.1 <" + addr + ">: Relay access denied\r\n");
      }
    }
    rcpts_.push_back(addr);
    say("250 2.1.5 Ok\r\n");
  }

  std::size_t replied_ = 0;
  bool greeted_ = false;
  bool authed_ = false;
  sasl sasl_ = sasl::none;
  std::string login_user_;
  bool in_data_ = false;
  bool has_mail_ = false;
  std::string from_, params_;
  std::vector<std::string> rcpts_;
  std::string data_;
};

}  // namespace junction::jobs::testing
