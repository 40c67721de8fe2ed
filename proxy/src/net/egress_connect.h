// Resolve, check, connect: the one way the proxy opens a TCP connection for a signed-in user,
// shared by its own runs (net::mail_connection) and the browser's bridge. The name is looked
// up once, every resolved address goes through the egress policy, and only the addresses it
// allowed are connected to, in the resolver's order, so no second lookup can slip in another
// address between the check and the connect (DNS rebinding).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "bridge/egress_policy.h"

namespace junction::net {

struct checked_connect_result {
  enum class outcome {
    connected,       // `endpoint` accepted
    dns_failed,      // `error` from the lookup (operation_aborted when cancelled)
    denied,          // the policy allowed none of the addresses: `denial` says why
    connect_failed,  // every allowed address failed: `error` is the last one's
  };
  outcome what = outcome::connect_failed;
  boost::system::error_code error;
  std::string denial;
  boost::asio::ip::tcp::endpoint endpoint;
};

// The resolved addresses `policy` allows for host:port, in their order; when none is allowed,
// `denial` holds the reason for the first refused one ("the name has no address" for an empty
// list). A null policy allows every address (the CLI: the machine operator's own runs).
std::vector<boost::asio::ip::tcp::endpoint> allowed_endpoints(
    const bridge::egress_policy* policy, const std::string& host, std::uint16_t port,
    const std::vector<boost::asio::ip::tcp::endpoint>& resolved, std::string& denial);

class checked_connect : public std::enable_shared_from_this<checked_connect> {
 public:
  using handler = std::function<void(const checked_connect_result&)>;

  // Starts the lookup of host:port (a numeric port). `resolver` and `socket` must outlive the
  // operation and share one executor (a strand when several threads run it); `done` is called
  // exactly once, from that executor. `policy` may be null (see allowed_endpoints).
  static std::shared_ptr<checked_connect> start(boost::asio::ip::tcp::resolver& resolver,
                                                boost::asio::ip::tcp::socket& socket,
                                                const bridge::egress_policy* policy,
                                                std::string host, std::uint16_t port, handler done);

  // True until the lookup has answered (getaddrinfo cannot be interrupted: a caller with a
  // deadline answers its own client then and lets the lookup finish in the background).
  bool resolving() const { return resolving_; }

  // Cancels the lookup or the connect in flight; `done` then reports operation_aborted.
  void cancel();

  checked_connect(boost::asio::ip::tcp::resolver& resolver, boost::asio::ip::tcp::socket& socket,
                  const bridge::egress_policy* policy, std::string host, std::uint16_t port,
                  handler done);

 private:
  void on_resolve(const boost::system::error_code& ec,
                  const boost::asio::ip::tcp::resolver::results_type& results);
  void connect_next();
  void finish(checked_connect_result result);

  boost::asio::ip::tcp::resolver& resolver_;
  boost::asio::ip::tcp::socket& socket_;
  const bridge::egress_policy* policy_;
  std::string host_;
  std::uint16_t port_;
  handler done_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
  std::size_t next_ = 0;
  boost::system::error_code last_error_;
  bool resolving_ = true;
  bool cancelled_ = false;
};

}  // namespace junction::net
