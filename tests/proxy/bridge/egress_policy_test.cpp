#include "bridge/egress_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace junction::bridge {
namespace {

using boost::asio::ip::make_address;
using verdict = egress_policy::verdict;

bool internal(const std::string& text) {
  return egress_policy::is_internal(make_address(text));
}

TEST(EgressPolicy, InternalIPv4RangesAtTheirEdges) {
  // Each range: its first and last address are internal, the neighbours outside are not.
  struct range {
    const char* first;
    const char* last;
    const char* before;  // nullptr when the range starts at 0.0.0.0
    const char* after;   // nullptr when the next range is internal too
  };
  const range ranges[] = {
      {"0.0.0.0", "0.255.255.255", nullptr, "1.0.0.0"},
      {"10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0"},
      {"100.64.0.0", "100.127.255.255", "100.63.255.255", "100.128.0.0"},
      {"127.0.0.0", "127.255.255.255", "126.255.255.255", "128.0.0.0"},
      {"169.254.0.0", "169.254.255.255", "169.253.255.255", "169.255.0.0"},
      {"172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0"},
      {"192.0.0.0", "192.0.0.255", "191.255.255.255", "192.0.1.0"},
      {"192.168.0.0", "192.168.255.255", "192.167.255.255", "192.169.0.0"},
      {"198.18.0.0", "198.19.255.255", "198.17.255.255", "198.20.0.0"},
      {"224.0.0.0", "239.255.255.255", "223.255.255.255", nullptr},
      {"240.0.0.0", "255.255.255.255", nullptr, nullptr},
  };
  for (const auto& r : ranges) {
    EXPECT_TRUE(internal(r.first)) << r.first;
    EXPECT_TRUE(internal(r.last)) << r.last;
    if (r.before) {
      EXPECT_FALSE(internal(r.before)) << r.before;
    }
    if (r.after) {
      EXPECT_FALSE(internal(r.after)) << r.after;
    }
  }
  EXPECT_TRUE(internal("169.254.169.254"));  // cloud metadata
  EXPECT_TRUE(internal("255.255.255.255"));  // limited broadcast
}

TEST(EgressPolicy, PublicIPv4IsNotInternal) {
  for (const char* a : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "203.0.113.5", "223.255.255.255"}) {
    EXPECT_FALSE(internal(a)) << a;
  }
}

TEST(EgressPolicy, InternalIPv6) {
  for (const char* a : {"::", "::1", "fc00::1", "fd12:3456::1", "fdff:ffff::ffff", "fe80::1",
                        "febf:ffff::1", "fec0::1", "ff02::1", "ff0e::fb", "::10.0.0.1"}) {
    EXPECT_TRUE(internal(a)) << a;
  }
  for (const char* a : {"2001:4860:4860::8888", "2606:4700::1111", "fbff:ffff::1", "fe7f::1"}) {
    EXPECT_FALSE(internal(a)) << a;
  }
}

TEST(EgressPolicy, MappedIPv6IsJudgedAsIPv4) {
  for (const char* a : {"::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
                        "::ffff:192.168.1.1", "::ffff:0.0.0.0", "::ffff:255.255.255.255"}) {
    EXPECT_TRUE(internal(a)) << a;
  }
  EXPECT_FALSE(internal("::ffff:8.8.8.8"));
  EXPECT_FALSE(internal("::ffff:93.184.216.34"));
}

TEST(EgressPolicy, Nat64AndSixToFourCarryTheirIPv4) {
  EXPECT_TRUE(internal("64:ff9b::127.0.0.1"));
  EXPECT_TRUE(internal("64:ff9b::a9fe:a9fe"));  // 169.254.169.254
  EXPECT_TRUE(internal("64:ff9b::10.0.0.1"));
  EXPECT_FALSE(internal("64:ff9b::8.8.8.8"));
  EXPECT_TRUE(internal("64:ff9b:1::1"));      // local-use NAT64 goes wherever the site says
  EXPECT_TRUE(internal("2002:7f00:1::1"));    // 6to4 of 127.0.0.1
  EXPECT_TRUE(internal("2002:c0a8:101::1"));  // 6to4 of 192.168.1.1
  EXPECT_FALSE(internal("2002:808:808::1"));  // 6to4 of 8.8.8.8
}

TEST(EgressPolicy, DefaultPortsOnly) {
  const egress_policy policy;
  const auto public_v4 = make_address("93.184.216.34");
  for (int port : {25, 110, 143, 465, 587, 993, 995, 443}) {
    EXPECT_EQ(policy.check("mail.example.com", static_cast<std::uint16_t>(port), public_v4),
              verdict::allow)
        << port;
  }
  for (int port : {1, 22, 80, 8080, 2525, 1143, 65535}) {
    EXPECT_EQ(policy.check("mail.example.com", static_cast<std::uint16_t>(port), public_v4),
              verdict::deny_port)
        << port;
  }
}

TEST(EgressPolicy, InternalAddressIsDeniedOnAnAllowedPort) {
  const egress_policy policy;
  EXPECT_EQ(policy.check("localhost", 993, make_address("127.0.0.1")), verdict::deny_address);
  EXPECT_EQ(policy.check("10.0.0.1", 143, make_address("10.0.0.1")), verdict::deny_address);
  EXPECT_EQ(policy.check("::1", 993, make_address("::1")), verdict::deny_address);
  EXPECT_EQ(policy.check("x", 993, make_address("::ffff:127.0.0.1")), verdict::deny_address);
  // The port is judged first: an internal address on a wrong port says "port".
  EXPECT_EQ(policy.check("10.0.0.1", 8080, make_address("10.0.0.1")), verdict::deny_port);
}

TEST(EgressPolicy, ConfiguredPortsReplaceTheDefaults) {
  egress_policy policy;
  policy.set_allowed_ports({2525});
  const auto a = make_address("93.184.216.34");
  EXPECT_EQ(policy.check("h", 2525, a), verdict::allow);
  EXPECT_EQ(policy.check("h", 993, a), verdict::deny_port);
}

TEST(EgressPolicy, ExceptionByIpLiteral) {
  egress_policy policy;
  allow_rule rule;
  ASSERT_TRUE(parse_allow_rule("127.0.0.1:21143", rule));
  policy.add_exception(rule);
  EXPECT_EQ(policy.check("127.0.0.1", 21143, make_address("127.0.0.1")), verdict::allow);
  // The requested name does not matter when the address matches.
  EXPECT_EQ(policy.check("localhost", 21143, make_address("127.0.0.1")), verdict::allow);
  EXPECT_EQ(policy.check("localhost", 21143, make_address("::ffff:127.0.0.1")), verdict::allow);
  // Only that address and that port.
  EXPECT_EQ(policy.check("127.0.0.2", 21143, make_address("127.0.0.2")), verdict::deny_port);
  EXPECT_EQ(policy.check("127.0.0.1", 993, make_address("127.0.0.1")), verdict::deny_address);
  EXPECT_EQ(policy.check("127.0.0.1", 21144, make_address("127.0.0.1")), verdict::deny_port);
}

TEST(EgressPolicy, ExceptionByHostNameIsCaseInsensitive) {
  egress_policy policy;
  allow_rule rule;
  ASSERT_TRUE(parse_allow_rule("LocalHost:993", rule));
  policy.add_exception(rule);
  EXPECT_EQ(policy.check("localhost", 993, make_address("127.0.0.1")), verdict::allow);
  EXPECT_EQ(policy.check("LOCALHOST", 993, make_address("::1")), verdict::allow);
  EXPECT_EQ(policy.check("localhost.evil.test", 993, make_address("127.0.0.1")),
            verdict::deny_address);
  EXPECT_EQ(policy.check("127.0.0.1", 993, make_address("127.0.0.1")), verdict::deny_address);
  EXPECT_EQ(policy.check("localhost", 995, make_address("127.0.0.1")), verdict::deny_address);
}

TEST(EgressPolicy, ExceptionByBracketedIPv6) {
  egress_policy policy;
  allow_rule rule;
  ASSERT_TRUE(parse_allow_rule("[::1]:993", rule));
  EXPECT_EQ(rule.host, "::1");
  EXPECT_EQ(rule.port, 993);
  policy.add_exception(rule);
  EXPECT_EQ(policy.check("::1", 993, make_address("::1")), verdict::allow);
  EXPECT_EQ(policy.check("localhost", 993, make_address("::1")), verdict::allow);
  EXPECT_EQ(policy.check("localhost", 993, make_address("127.0.0.1")), verdict::deny_address);
}

TEST(EgressPolicy, ParseAllowRule) {
  allow_rule rule;
  ASSERT_TRUE(parse_allow_rule("localhost:993", rule));
  EXPECT_EQ(rule.host, "localhost");
  EXPECT_EQ(rule.port, 993);
  ASSERT_TRUE(parse_allow_rule("127.0.0.1:21143", rule));
  EXPECT_EQ(rule.host, "127.0.0.1");
  EXPECT_EQ(rule.port, 21143);
  ASSERT_TRUE(parse_allow_rule("mail-1.example_x.com:65535", rule));
  EXPECT_EQ(rule.port, 65535);

  const allow_rule untouched{"keep", 7};
  for (const char* bad : {"",
                          "localhost",
                          "localhost:",
                          ":993",
                          "localhost:0",
                          "localhost:65536",
                          "localhost:99999",
                          "localhost:-1",
                          "localhost:+993",
                          "localhost:99 3",
                          "localhost:993x",
                          "::1:993",
                          "[::1]",
                          "[::1]993",
                          "[::1]:",
                          "[127.0.0.1]:993",
                          "[nothex]:993",
                          "local host:993",
                          "host/path:993",
                          "localhost:184467440737095516160"}) {
    allow_rule out = untouched;
    EXPECT_FALSE(parse_allow_rule(bad, out)) << bad;
    EXPECT_EQ(out.host, "keep") << bad;
  }
}

}  // namespace
}  // namespace junction::bridge
