// Where the proxy may connect for a signed-in user (the bridge, scheduled runs, Retrieve Now,
// sends): mail and HTTPS ports on public addresses, plus the exceptions the configuration names
// (shared/bridge/PROTOCOL.md). Pure logic: no I/O; the host's own addresses come from a source
// the caller gives (net/host_addresses.h in the proxy).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace junction::bridge {

struct allow_rule {
  std::string host;  // a host name (compared case-insensitively) or an IP literal
  std::uint16_t port = 0;
};

// "host:port" or "[v6]:port" → rule; false on a malformed text (an IPv6 zone id included).
bool parse_allow_rule(std::string_view text, allow_rule& out);

class egress_policy {
 public:
  enum class verdict {
    allow,
    deny_port,     // the port is not in the allowed list
    deny_address,  // an internal, reserved or special-purpose address
    deny_zone,     // an IPv6 zone id ("fe80::1%eth0") in the request or the address
    deny_own,      // one of the proxy host's own addresses (hairpin)
  };
  // The addresses of this host's interfaces, asked at every check (cheap, and so always
  // current). Every address it returns is refused, whatever its range.
  using address_source = std::function<std::vector<boost::asio::ip::address>()>;

  // The mail and HTTPS ports without 25 (submission uses 465 and 587; port 25 to any MX would
  // let every signed-in user send mail as this host).
  static std::set<std::uint16_t> default_ports();

  egress_policy();  // the default ports, no exceptions, no host addresses
  void add_exception(allow_rule rule) { exceptions_.push_back(std::move(rule)); }
  void set_allowed_ports(std::set<std::uint16_t> ports) { ports_ = std::move(ports); }
  void allow_port(std::uint16_t port) { ports_.insert(port); }
  void set_host_addresses(address_source source) { host_addresses_ = std::move(source); }

  // `requested_host` is what the client asked for, `address` one of its resolved addresses.
  // Zone ids are refused first, whatever the exceptions say. An exception matches when its
  // port equals `port` and its host equals the requested host name or the address; it then
  // allows whatever the port and the address. Otherwise the port, the address ranges and the
  // host's own addresses are checked, in that order.
  verdict check(std::string_view requested_host, std::uint16_t port,
                const boost::asio::ip::address& address) const;

  // Why a verdict refused, in words for the user ("port 8080 is not allowed", "127.0.0.1 is an
  // internal address"); `requested_host` is only repeated when it is printable.
  static std::string reason(verdict v, std::string_view requested_host, std::uint16_t port,
                            const boost::asio::ip::address& address);

  // True for loopback, private, link-local, CGNAT, multicast, broadcast, unspecified, the
  // documentation and other reserved ranges, and the IPv4-mapped, -translated, NAT64, 6to4
  // and Teredo forms of internal IPv4 addresses.
  static bool is_internal(const boost::asio::ip::address& address);

 private:
  std::set<std::uint16_t> ports_;
  std::vector<allow_rule> exceptions_;
  address_source host_addresses_;
};

}  // namespace junction::bridge
