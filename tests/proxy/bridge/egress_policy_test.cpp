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
  for (const char* a :
       {"8.8.8.8", "1.1.1.1", "93.184.216.34", "203.0.112.255", "203.0.114.0", "192.0.1.255",
        "192.0.3.0", "198.51.99.255", "198.51.101.0", "223.255.255.255"}) {
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
  for (int port : {110, 143, 465, 587, 993, 995, 443}) {
    EXPECT_EQ(policy.check("mail.example.com", static_cast<std::uint16_t>(port), public_v4),
              verdict::allow)
        << port;
  }
  // 25 is SMTP relay to any MX: only where the configuration allows it (F14).
  for (int port : {1, 22, 25, 80, 8080, 2525, 1143, 65535}) {
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

TEST(EgressPolicy, Port25OnlyWhenAllowed) {
  egress_policy policy;
  const auto mx = make_address("93.184.216.34");
  EXPECT_EQ(policy.check("mx.example.com", 25, mx), verdict::deny_port);
  policy.allow_port(25);
  EXPECT_EQ(policy.check("mx.example.com", 25, mx), verdict::allow);
  EXPECT_EQ(policy.check("mx.example.com", 25, make_address("10.0.0.25")), verdict::deny_address);
  EXPECT_EQ(egress_policy::default_ports().count(25), 0u);
}

// F14: the ranges the review found allowed.
TEST(EgressPolicy, DocumentationRangesAreInternal) {
  for (const char* a :
       {"192.0.2.0", "192.0.2.255", "198.51.100.0", "198.51.100.255", "203.0.113.0",
        "203.0.113.255", "2001:db8::", "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
        "3fff::1", "3fff:fff::1", "::ffff:192.0.2.1", "::ffff:203.0.113.9"}) {
    EXPECT_TRUE(internal(a)) << a;
  }
  for (const char* a : {"2001:db7:ffff::1", "2001:db9::1", "3ffe:ffff::1", "3fff:1000::1"}) {
    EXPECT_FALSE(internal(a)) << a;
  }
}

TEST(EgressPolicy, Ipv4TranslatedIsInternal) {
  // ::ffff:0:a.b.c.d (RFC 2765): a SIIT translator would connect to the embedded address.
  for (const char* a : {"::ffff:0:7f00:1", "::ffff:0:0:0", "::ffff:0:808:808", "::ffff:0:a00:1",
                        "::ffff:0:ffff:ffff"}) {
    EXPECT_TRUE(internal(a)) << a;
  }
  EXPECT_FALSE(internal("::1:ffff:0:808:808"));
  EXPECT_FALSE(internal("0:0:0:1:ffff:0:808:808"));
}

TEST(EgressPolicy, TeredoAndOtherIetfAssignmentsAreInternal) {
  for (const char* a : {"2001::", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:ffff:ffff::1",
                        "2001:2::1", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
    EXPECT_TRUE(internal(a)) << a;
  }
  for (const char* a : {"2001:200::1", "2001:4860:4860::8888", "2000::1"}) {
    EXPECT_FALSE(internal(a)) << a;
  }
}

TEST(EgressPolicy, DiscardOnlyIsInternal) {
  for (const char* a : {"100::", "100::1", "100::ffff:ffff:ffff:ffff"}) {
    EXPECT_TRUE(internal(a)) << a;
  }
  EXPECT_FALSE(internal("100:0:0:1::1"));
  EXPECT_FALSE(internal("101::1"));
}

TEST(EgressPolicy, ZoneIdsAreRefusedEvenForExceptions) {
  egress_policy policy;
  allow_rule rule;
  ASSERT_TRUE(parse_allow_rule("[2606:4700::1111]:993", rule));
  policy.add_exception(rule);
  const auto plain = make_address("2606:4700::1111");
  EXPECT_EQ(policy.check("2606:4700::1111", 993, plain), verdict::allow);
  // A zone in the requested text or on the resolved address.
  EXPECT_EQ(policy.check("2606:4700::1111%1", 993, plain), verdict::deny_zone);
  EXPECT_EQ(policy.check("2606:4700::1111", 993, make_address("2606:4700::1111%1")),
            verdict::deny_zone);
  EXPECT_EQ(policy.check("mail.example.com", 993, make_address("2606:4700::1111%1")),
            verdict::deny_zone);
  EXPECT_EQ(policy.check("fe80::1%eth0", 993, make_address("fe80::1")), verdict::deny_zone);
  // No exception can name one either.
  allow_rule out;
  EXPECT_FALSE(parse_allow_rule("[fe80::1%1]:993", out));
  EXPECT_FALSE(parse_allow_rule("[fe80::1%eth0]:993", out));
  EXPECT_FALSE(parse_allow_rule("fe80::1%eth0:993", out));
  // The reason never repeats the client's text.
  const auto why = egress_policy::reason(verdict::deny_zone, "x%\nFAKE LOG LINE", 993, plain);
  EXPECT_EQ(why.find('\n'), std::string::npos) << why;
}

TEST(EgressPolicy, TheHostsOwnAddressesAreRefused) {
  egress_policy policy;
  policy.set_host_addresses([] {
    return std::vector<boost::asio::ip::address>{make_address("93.184.216.34"),
                                                 make_address("2606:4700::6810:84e5")};
  });
  EXPECT_EQ(policy.check("me.example.com", 993, make_address("93.184.216.34")), verdict::deny_own);
  EXPECT_EQ(policy.check("me.example.com", 993, make_address("::ffff:93.184.216.34")),
            verdict::deny_own);
  EXPECT_EQ(policy.check("me.example.com", 993, make_address("2606:4700::6810:84e5")),
            verdict::deny_own);
  EXPECT_EQ(policy.check("other.example.com", 993, make_address("93.184.216.35")), verdict::allow);
  EXPECT_NE(
      egress_policy::reason(verdict::deny_own, "me.example.com", 993, make_address("93.184.216.34"))
          .find("me.example.com resolves to 93.184.216.34 is an address of this server"),
      std::string::npos);
  // An exception still opens one of them.
  allow_rule rule;
  ASSERT_TRUE(parse_allow_rule("93.184.216.34:993", rule));
  policy.add_exception(rule);
  EXPECT_EQ(policy.check("me.example.com", 993, make_address("93.184.216.34")), verdict::allow);
}

TEST(EgressPolicy, ExceptionsStillOpenInternalAddressesAndOtherPorts) {
  egress_policy policy;
  allow_rule rule;
  ASSERT_TRUE(parse_allow_rule("127.0.0.1:25", rule));
  policy.add_exception(rule);
  EXPECT_EQ(policy.check("127.0.0.1", 25, make_address("127.0.0.1")), verdict::allow);
  EXPECT_EQ(policy.check("127.0.0.2", 25, make_address("127.0.0.2")), verdict::deny_port);
}

}  // namespace
}  // namespace junction::bridge
