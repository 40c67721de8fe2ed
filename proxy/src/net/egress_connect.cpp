#include "net/egress_connect.h"

#include <boost/asio/error.hpp>

namespace junction::net {

using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
using verdict = bridge::egress_policy::verdict;

std::vector<tcp::endpoint> allowed_endpoints(const bridge::egress_policy* policy,
                                             const std::string& host, std::uint16_t port,
                                             const std::vector<tcp::endpoint>& resolved,
                                             std::string& denial) {
  std::vector<tcp::endpoint> allowed;
  std::string why;
  for (const auto& ep : resolved) {
    const verdict v = policy ? policy->check(host, port, ep.address()) : verdict::allow;
    if (v == verdict::allow) {
      allowed.push_back(ep);
    } else if (why.empty()) {
      why = bridge::egress_policy::reason(v, host, port, ep.address());
    }
  }
  if (allowed.empty()) denial = why.empty() ? "the name has no address" : why;
  return allowed;
}

checked_connect::checked_connect(tcp::resolver& resolver, tcp::socket& socket,
                                 const bridge::egress_policy* policy, std::string host,
                                 std::uint16_t port, handler done)
    : resolver_(resolver),
      socket_(socket),
      policy_(policy),
      host_(std::move(host)),
      port_(port),
      done_(std::move(done)) {}

std::shared_ptr<checked_connect> checked_connect::start(tcp::resolver& resolver,
                                                        tcp::socket& socket,
                                                        const bridge::egress_policy* policy,
                                                        std::string host, std::uint16_t port,
                                                        handler done) {
  auto op = std::make_shared<checked_connect>(resolver, socket, policy, std::move(host), port,
                                              std::move(done));
  resolver.async_resolve(op->host_, std::to_string(port), tcp::resolver::numeric_service,
                         [op](const error_code& ec, const tcp::resolver::results_type& results) {
                           op->on_resolve(ec, results);
                         });
  return op;
}

void checked_connect::cancel() {
  cancelled_ = true;
  resolver_.cancel();
  error_code ignored;
  socket_.cancel(ignored);
}

void checked_connect::on_resolve(const error_code& ec, const tcp::resolver::results_type& results) {
  resolving_ = false;
  if (cancelled_ || ec) {
    checked_connect_result r;
    r.what = checked_connect_result::outcome::dns_failed;
    r.error = ec ? ec : boost::asio::error::operation_aborted;
    finish(std::move(r));
    return;
  }
  std::vector<tcp::endpoint> resolved;
  for (const auto& entry : results) resolved.push_back(entry.endpoint());
  std::string denial;
  endpoints_ = allowed_endpoints(policy_, host_, port_, resolved, denial);
  if (endpoints_.empty()) {
    checked_connect_result r;
    r.what = checked_connect_result::outcome::denied;
    r.denial = std::move(denial);
    finish(std::move(r));
    return;
  }
  connect_next();
}

// Tries the allowed addresses in the resolver's order until one accepts.
void checked_connect::connect_next() {
  if (cancelled_ || next_ >= endpoints_.size()) {
    checked_connect_result r;
    r.what = checked_connect_result::outcome::connect_failed;
    r.error = cancelled_ ? error_code(boost::asio::error::operation_aborted) : last_error_;
    finish(std::move(r));
    return;
  }
  const tcp::endpoint ep = endpoints_[next_++];
  error_code ignored;
  socket_.close(ignored);
  socket_.async_connect(ep, [self = shared_from_this(), ep](const error_code& ec) {
    if (ec) {
      self->last_error_ = ec;
      self->connect_next();
      return;
    }
    checked_connect_result r;
    r.what = checked_connect_result::outcome::connected;
    r.endpoint = ep;
    self->finish(std::move(r));
  });
}

void checked_connect::finish(checked_connect_result result) {
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(result);
}

}  // namespace junction::net
