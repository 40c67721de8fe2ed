// Where the bridge may connect: mail and HTTPS ports on public addresses, plus the
// exceptions the configuration names (shared/bridge/PROTOCOL.md). Pure logic: no I/O.
#pragma once

#include <cstdint>
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

// "host:port" or "[v6]:port" → rule; nullopt-like false on a malformed text.
bool parse_allow_rule(std::string_view text, allow_rule& out);

class egress_policy {
 public:
  enum class verdict { allow, deny_port, deny_address };

  egress_policy();  // the default ports, no exceptions
  void add_exception(allow_rule rule) { exceptions_.push_back(std::move(rule)); }
  void set_allowed_ports(std::set<std::uint16_t> ports) { ports_ = std::move(ports); }

  // `requested_host` is what the client asked for, `address` one of its resolved addresses.
  // An exception matches when its port equals `port` and its host equals the requested host
  // name or the address.
  verdict check(std::string_view requested_host, std::uint16_t port,
                const boost::asio::ip::address& address) const;

  // True for loopback, private, link-local, CGNAT, multicast, broadcast, unspecified,
  // documentation-free reserved ranges and IPv4-mapped forms of these.
  static bool is_internal(const boost::asio::ip::address& address);

 private:
  std::set<std::uint16_t> ports_;
  std::vector<allow_rule> exceptions_;
};

}  // namespace junction::bridge
