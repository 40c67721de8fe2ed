#include "bridge/egress_policy.h"

#include "common/ascii.h"

#include <array>
#include <cctype>

namespace junction::bridge {
namespace {

using boost::asio::ip::address;
using boost::asio::ip::address_v4;
using boost::asio::ip::address_v6;

// Host names in allow rules: letters, digits, '-', '_' and '.' (no ports, no paths).
bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

// port = 1*5DIGIT, 1..65535; digits are checked before multiplying.
bool parse_port(std::string_view text, std::uint16_t& out) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  out = static_cast<std::uint16_t>(value);
  return true;
}

bool in_v4(std::uint32_t a, std::uint32_t net, unsigned prefix) {
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return (a & mask) == (net & mask);
}

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

bool is_internal_v4(const address_v4& addr) {
  struct range {
    std::uint32_t net;
    unsigned prefix;
  };
  static constexpr std::array<range, 11> internal{{
      {v4(0, 0, 0, 0), 8},       // "this network", unspecified
      {v4(10, 0, 0, 0), 8},      // RFC 1918
      {v4(100, 64, 0, 0), 10},   // CGNAT (RFC 6598)
      {v4(127, 0, 0, 0), 8},     // loopback
      {v4(169, 254, 0, 0), 16},  // link-local, cloud metadata endpoints
      {v4(172, 16, 0, 0), 12},   // RFC 1918
      {v4(192, 0, 0, 0), 24},    // IETF protocol assignments
      {v4(192, 168, 0, 0), 16},  // RFC 1918
      {v4(198, 18, 0, 0), 15},   // benchmarking
      {v4(224, 0, 0, 0), 4},     // multicast
      {v4(240, 0, 0, 0), 4},     // reserved, includes the limited broadcast 255.255.255.255
  }};
  const std::uint32_t a = addr.to_uint();
  for (const auto& r : internal) {
    if (in_v4(a, r.net, r.prefix)) return true;
  }
  return false;
}

address_v4 embedded_v4(const address_v6::bytes_type& b) {
  return address_v4(address_v4::bytes_type{b[12], b[13], b[14], b[15]});
}

bool is_internal_v6(const address_v6& addr) {
  const auto b = addr.to_bytes();
  auto all_zero = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      if (b[i] != 0) return false;
    }
    return true;
  };
  // ::/96: unspecified, loopback and the deprecated IPv4-compatible forms; none is a
  // public destination.
  if (all_zero(0, 12)) return true;
  // ::ffff:0:0/96, IPv4-mapped: judged as the IPv4 address it carries.
  if (all_zero(0, 10) && b[10] == 0xff && b[11] == 0xff) return is_internal_v4(embedded_v4(b));
  // 64:ff9b::/96, the well-known NAT64 prefix: the gateway would connect to the embedded
  // IPv4 address.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && all_zero(4, 12)) {
    return is_internal_v4(embedded_v4(b));
  }
  // 64:ff9b:1::/48, local-use NAT64 (RFC 8215): translates to whatever the site chose.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 &&
      b[5] == 0x01) {
    return true;
  }
  // 2002::/16, 6to4: the relay would reach the IPv4 address in bytes 2..5.
  if (b[0] == 0x20 && b[1] == 0x02) {
    return is_internal_v4(address_v4(address_v4::bytes_type{b[2], b[3], b[4], b[5]}));
  }
  if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7, unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10, link-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return true;  // fec0::/10, old site-local
  if (b[0] == 0xff) return true;                           // ff00::/8, multicast
  return false;
}

// IPv4-mapped IPv6 addresses compare equal to their IPv4 form.
address normalized(const address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

}  // namespace

// rule = host ":" port / "[" IPv6address "]" ":" port
bool parse_allow_rule(std::string_view text, allow_rule& out) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address_v6(std::string(host), ec);
    if (ec) return false;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (!is_host_name(host)) return false;  // also refuses a bare IPv6 literal
  }
  allow_rule rule;
  if (!parse_port(port, rule.port)) return false;
  rule.host = std::string(host);
  out = std::move(rule);
  return true;
}

egress_policy::egress_policy() : ports_{25, 110, 143, 465, 587, 993, 995, 443} {}

egress_policy::verdict egress_policy::check(std::string_view requested_host, std::uint16_t port,
                                            const address& addr) const {
  const address target = normalized(addr);
  for (const auto& rule : exceptions_) {
    if (rule.port != port) continue;
    if (ascii::equals_ignore_case(rule.host, requested_host)) return verdict::allow;
    boost::system::error_code ec;
    const address rule_address = boost::asio::ip::make_address(rule.host, ec);
    if (!ec && normalized(rule_address) == target) return verdict::allow;
  }
  if (ports_.count(port) == 0) return verdict::deny_port;
  if (is_internal(addr)) return verdict::deny_address;
  return verdict::allow;
}

bool egress_policy::is_internal(const address& addr) {
  if (addr.is_v4()) return is_internal_v4(addr.to_v4());
  return is_internal_v6(addr.to_v6());
}

}  // namespace junction::bridge
