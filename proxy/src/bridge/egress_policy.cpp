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
  static constexpr std::array<range, 15> internal{{
      {v4(0, 0, 0, 0), 8},        // "this network", unspecified
      {v4(10, 0, 0, 0), 8},       // RFC 1918
      {v4(100, 64, 0, 0), 10},    // CGNAT (RFC 6598)
      {v4(127, 0, 0, 0), 8},      // loopback
      {v4(169, 254, 0, 0), 16},   // link-local, cloud metadata endpoints
      {v4(172, 16, 0, 0), 12},    // RFC 1918
      {v4(192, 0, 0, 0), 24},     // IETF protocol assignments
      {v4(192, 0, 2, 0), 24},     // documentation (TEST-NET-1, RFC 5737)
      {v4(192, 88, 99, 0), 24},   // 6to4 relay anycast (deprecated, RFC 7526)
      {v4(192, 168, 0, 0), 16},   // RFC 1918
      {v4(198, 18, 0, 0), 15},    // benchmarking
      {v4(198, 51, 100, 0), 24},  // documentation (TEST-NET-2)
      {v4(203, 0, 113, 0), 24},   // documentation (TEST-NET-3)
      {v4(224, 0, 0, 0), 4},      // multicast
      {v4(240, 0, 0, 0), 4},      // reserved, includes the limited broadcast 255.255.255.255
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
  // ::ffff:0:0:0/96, IPv4-translated (RFC 2765, SIIT): a translator would connect to the
  // embedded IPv4 address, and no public host has such an address of its own.
  if (all_zero(0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0) return true;
  // 100::/64, discard-only (RFC 6666).
  if (b[0] == 0x01 && all_zero(1, 8)) return true;
  // 2001::/23, IETF protocol assignments (RFC 2928): Teredo 2001::/32, whose client address is
  // hidden in obfuscated form, benchmarking 2001:2::/48, ORCHID; no mail server lives there.
  if (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xfe) == 0x00) return true;
  // 2001:db8::/32 and 3fff::/20, documentation (RFC 3849, RFC 9637).
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return true;
  if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0x00) return true;
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

// IPv4-mapped IPv6 addresses compare equal to their IPv4 form; zone ids are dropped (a
// zoned address is refused before any comparison, and an interface's own link-local address
// carries its zone).
address normalized(const address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  if (a.is_v6() && a.to_v6().scope_id() != 0) return address_v6(a.to_v6().to_bytes());
  return a;
}

bool has_zone(std::string_view requested_host, const address& a) {
  return requested_host.find('%') != std::string_view::npos ||
         (a.is_v6() && a.to_v6().scope_id() != 0);
}

bool printable(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
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
    if (host.find('%') != std::string_view::npos) return false;  // zone ids are refused
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

std::set<std::uint16_t> egress_policy::default_ports() {
  return {110, 143, 465, 587, 993, 995, 443};
}

egress_policy::egress_policy() : ports_(default_ports()) {}

egress_policy::verdict egress_policy::check(std::string_view requested_host, std::uint16_t port,
                                            const address& addr) const {
  if (has_zone(requested_host, addr)) return verdict::deny_zone;
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
  if (host_addresses_) {
    for (const auto& own : host_addresses_()) {
      if (normalized(own) == target) return verdict::deny_own;
    }
  }
  return verdict::allow;
}

std::string egress_policy::reason(verdict v, std::string_view requested_host, std::uint16_t port,
                                  const address& addr) {
  const std::string shown = normalized(addr).to_string();
  const bool named = printable(requested_host) && requested_host != shown;
  const std::string prefix = named ? std::string(requested_host) + " resolves to " : "";
  switch (v) {
    case verdict::allow:
      return {};
    case verdict::deny_port:
      return "port " + std::to_string(port) + " is not allowed";
    case verdict::deny_address:
      return prefix + shown + " is an internal address";
    case verdict::deny_zone:
      return "IPv6 zone ids (\"%\") are not allowed";
    case verdict::deny_own:
      return prefix + shown + " is an address of this server";
  }
  return "refused";
}

bool egress_policy::is_internal(const address& addr) {
  if (addr.is_v4()) return is_internal_v4(addr.to_v4());
  return is_internal_v6(addr.to_v6());
}

}  // namespace junction::bridge
