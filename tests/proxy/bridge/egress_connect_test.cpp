// Resolve, check, connect (net/egress_connect.h) and the proxy's own connections through it
// (net::mail_connection), against listeners on 127.0.0.1 and ::1 only. Addresses outside
// loopback (10.0.0.1, 169.254.169.254) are judged at the policy level and never connected to.
#include "net/egress_connect.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/host_addresses.h"
#include "net/mail_connection.h"
#include "net/tls_identity.h"

namespace junction::net {
namespace {

using boost::asio::ip::make_address;
using tcp = boost::asio::ip::tcp;

// A listener that never accepts: a connection that reached it waits in the backlog, so
// "was anything connected" is a readability check, with no thread.
class counting_listener {
 public:
  explicit counting_listener(bool v6 = false) {
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (v6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_loopback;
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail();
      socklen_t len = sizeof a;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin6_port);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail();
      socklen_t len = sizeof a;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
    }
    if (::listen(fd_, 8) != 0) fail();
  }
  ~counting_listener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }
  bool connected() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }
  // Accepts one waiting connection and returns the bytes it sent within a moment.
  std::string first_bytes() const {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return "(no connection)";
    pollfd p{c, POLLIN, 0};
    std::string out;
    if (::poll(&p, 1, 200) == 1) {
      char buf[512];
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n > 0) out.assign(buf, static_cast<std::size_t>(n));
    }
    ::close(c);
    return out;
  }

 private:
  [[noreturn]] void fail() {
    ::close(fd_);
    throw std::runtime_error("cannot listen on loopback");
  }
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

std::string port_text(std::uint16_t p) {
  return std::to_string(p);
}

bridge::egress_policy policy_for_port(std::uint16_t port) {
  bridge::egress_policy policy;
  policy.set_allowed_ports({port});  // the port is fine: only the address is judged
  policy.set_host_addresses(&host_addresses);
  return policy;
}

void allow(bridge::egress_policy& policy, const std::string& text) {
  bridge::allow_rule rule;
  ASSERT_TRUE(bridge::parse_allow_rule(text, rule)) << text;
  policy.add_exception(rule);
}

checked_connect_result connect_checked(const bridge::egress_policy* policy, const std::string& host,
                                       std::uint16_t port) {
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  tcp::socket socket(io);
  checked_connect_result out;
  bool called = false;
  checked_connect::start(resolver, socket, policy, host, port,
                         [&](const checked_connect_result& r) {
                           out = r;
                           called = true;
                         });
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(called);
  return out;
}

// The policy sees resolved addresses: the inet_aton spellings of 127.0.0.1 resolve (without
// DNS: they are numeric) to 127.0.0.1 and are refused like it.
TEST(EgressConnect, NumericSpellingsOfLoopbackAreRefusedAfterResolving) {
  counting_listener listener;
  const auto policy = policy_for_port(listener.port());
  for (const char* host : {"2130706433", "0x7f000001", "0177.0.0.1", "127.1", "017700000001",
                           "0x7f.1", "127.0.0.1", "localhost", "::ffff:127.0.0.1"}) {
    const auto r = connect_checked(&policy, host, listener.port());
    if (r.what == checked_connect_result::outcome::dns_failed) {
      ADD_FAILURE() << host << " did not resolve: " << r.error.message();
      continue;
    }
    EXPECT_EQ(r.what, checked_connect_result::outcome::denied) << host;
    EXPECT_NE(r.denial.find("is an internal address"), std::string::npos) << r.denial;
  }
  EXPECT_FALSE(listener.connected());
}

TEST(EgressConnect, ResolvedAddressesOutsideLoopbackAreJudgedWithoutConnecting) {
  // allowed_endpoints is the filter checked_connect applies before any connect.
  bridge::egress_policy policy;
  std::string denial;
  for (const char* a : {"10.0.0.1", "169.254.169.254", "::ffff:169.254.169.254",
                        "64:ff9b::a9fe:a9fe", "::ffff:0:a9fe:a9fe", "2001:db8::1", "100::1",
                        "2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.1"}) {
    const std::vector<tcp::endpoint> resolved{{make_address(a), 993}};
    denial.clear();
    EXPECT_TRUE(allowed_endpoints(&policy, a, 993, resolved, denial).empty()) << a;
    EXPECT_FALSE(denial.empty()) << a;
  }
  // A name that resolves to a public and an internal address keeps only the public one.
  const std::vector<tcp::endpoint> mixed{{make_address("169.254.169.254"), 993},
                                         {make_address("93.184.216.34"), 993}};
  const auto kept = allowed_endpoints(&policy, "mail.example.com", 993, mixed, denial);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].address(), make_address("93.184.216.34"));
  // No policy (the CLI): everything stays.
  EXPECT_EQ(allowed_endpoints(nullptr, "x", 993, mixed, denial).size(), 2u);
}

TEST(EgressConnect, AnExceptionConnectsAndNoPolicyConnects) {
  counting_listener listener;
  auto policy = policy_for_port(listener.port());
  allow(policy, "127.0.0.1:" + port_text(listener.port()));
  auto r = connect_checked(&policy, "127.0.0.1", listener.port());
  EXPECT_EQ(r.what, checked_connect_result::outcome::connected) << r.denial << r.error.message();
  EXPECT_TRUE(listener.connected());

  counting_listener other;
  r = connect_checked(nullptr, "127.0.0.1", other.port());
  EXPECT_EQ(r.what, checked_connect_result::outcome::connected);
  EXPECT_TRUE(other.connected());
}

TEST(EgressConnect, HostAddressesIncludeLoopback) {
  const auto all = host_addresses();
  EXPECT_NE(std::find(all.begin(), all.end(), make_address("127.0.0.1")), all.end());
}

// ---- mail_connection: the proxy's own runs ------------------------------------------------

TEST(MailConnection, WithThePolicyLoopbackIsRefusedAndNothingConnects) {
  counting_listener listener;
  const auto policy = policy_for_port(listener.port());
  mail_connection::options o;
  o.connect_timeout = std::chrono::seconds(5);
  o.egress = &policy;
  mail_connection conn(o);
  const auto e = conn.connect("127.0.0.1", listener.port(), jobs::tls_mode::none);
  EXPECT_EQ(e.kind, jobs::failure_kind::refused);
  EXPECT_NE(e.message.find("is not allowed by the egress policy: 127.0.0.1 is an internal address"),
            std::string::npos)
      << e.message;
  EXPECT_FALSE(listener.connected());
}

TEST(MailConnection, WithAnExceptionOrWithoutAPolicyItConnects) {
  counting_listener listener;
  auto policy = policy_for_port(listener.port());
  allow(policy, "127.0.0.1:" + port_text(listener.port()));
  mail_connection::options o;
  o.connect_timeout = std::chrono::seconds(5);
  o.egress = &policy;
  {
    mail_connection conn(o);
    const auto e = conn.connect("127.0.0.1", listener.port(), jobs::tls_mode::none);
    EXPECT_FALSE(e) << e.message;
  }
  EXPECT_TRUE(listener.connected());

  counting_listener cli;
  o.egress = nullptr;
  mail_connection conn(o);
  const auto e = conn.connect("127.0.0.1", cli.port(), jobs::tls_mode::none);
  EXPECT_FALSE(e) << e.message;
  EXPECT_TRUE(cli.connected());
}

// ---- TLS identity (F13) ---------------------------------------------------------------------

TEST(TlsIdentity, ZoneIdsAndMalformedNamesAreRefused) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(ctx, nullptr);
  const std::vector<std::string> refused = {"2001:db8::1%1", "2606:4700::1111%eth0", "fe80::1%lo",
                                            std::string("mail.example.com\0evil", 21), ""};
  for (const std::string& host : refused) {
    SSL* ssl = SSL_new(ctx);
    EXPECT_FALSE(expect_server_identity(ssl, host)) << host;
    SSL_free(ssl);
  }
  for (const std::string host : {"mail.example.com", "127.0.0.1", "::1", "2606:4700::1111"}) {
    SSL* ssl = SSL_new(ctx);
    EXPECT_TRUE(expect_server_identity(ssl, host)) << host;
    SSL_free(ssl);
  }
  SSL_CTX_free(ctx);
}

// The operator's CLI may name a zone (no policy), but TLS then has no identity to check:
// the connection fails before a ClientHello is sent instead of accepting any certificate.
TEST(TlsIdentity, AnIdentityThatCannotBeSetFailsTheConnection) {
  counting_listener listener(/*v6=*/true);
  mail_connection::options o;
  o.connect_timeout = std::chrono::seconds(5);
  mail_connection conn(o);
  const auto e = conn.connect("::1%1", listener.port(), jobs::tls_mode::implicit);
  EXPECT_EQ(e.kind, jobs::failure_kind::certificate) << e.message;
  EXPECT_NE(e.message.find("cannot be checked"), std::string::npos) << e.message;
  ASSERT_TRUE(listener.connected());                 // TCP reached it...
  EXPECT_EQ(listener.first_bytes(), std::string());  // ...but no TLS handshake started
}

}  // namespace
}  // namespace junction::net
