// The addresses of this host's own network interfaces (getifaddrs), for the egress policy's
// hairpin check: a user must not reach services on the proxy's host through its public
// address (a local MTA usually trusts it as "mynetworks").
#pragma once

#include <vector>

#include <boost/asio/ip/address.hpp>

namespace junction::net {

// Every IPv4 and IPv6 address of every interface, up or not; empty when the system cannot
// list them. One getifaddrs call: cheap enough to ask for every connection, which keeps the
// list current when addresses change.
std::vector<boost::asio::ip::address> host_addresses();

}  // namespace junction::net
