// F2: the runs `serve` makes for a signed-in user (scheduled, Retrieve Now, Test Connection)
// go through the server's egress policy, built by serve::make_egress_policy from its config,
// the same as the bridge's. Against a listener on 127.0.0.1 that never accepts: a connection
// that reached it would wait in its backlog, which poll() shows.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sched.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "retrieval_runner.h"
#include "serve/config.h"

namespace junction {
namespace {

class counting_listener {
 public:
  counting_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~counting_listener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }
  bool connected() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

model::retrieval_task task_at(const std::string& server, std::uint16_t port) {
  model::retrieval_task t;
  t.id = "egress-test";
  t.type = model::retrieval_type::pop3;
  t.server = server;
  t.port = port;
  t.username = "user";
  t.password = "secret";
  t.encryption = model::encryption::none;
  return t;
}

serve::serve_config config_allowing(const std::string& rule_text) {
  serve::serve_config config;
  if (!rule_text.empty()) {
    bridge::allow_rule rule;
    if (!bridge::parse_allow_rule(rule_text, rule)) throw std::runtime_error("bad rule");
    config.egress_exceptions.push_back(rule);
  }
  return config;
}

class EgressRuns : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("junction-egress-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  jobs::run_summary run(const model::retrieval_task& task, const bridge::egress_policy* policy,
                        bool check_only) {
    proxy::run_options o;
    o.data_dir = dir_;
    o.check_only = check_only;
    o.egress = policy;
    return proxy::run_retrieval(task, o);
  }

  std::filesystem::path dir_;
};

TEST_F(EgressRuns, ARunAndATestConnectionToLoopbackAreRefusedAndNothingConnects) {
  counting_listener listener;
  const auto policy = serve::make_egress_policy(config_allowing(""));
  // The task's port is a mail port, so only the address is at stake; the listener's port
  // goes in a second task to show that one is refused too.
  for (const bool check_only : {false, true}) {
    for (const std::uint16_t port : {std::uint16_t{995}, listener.port()}) {
      const auto summary = run(task_at("127.0.0.1", port), &policy, check_only);
      EXPECT_FALSE(summary.ok);
      EXPECT_EQ(summary.failure, jobs::failure_kind::refused) << summary.message;
      EXPECT_NE(summary.message.find("is not allowed by the egress policy"), std::string::npos)
          << summary.message;
    }
  }
  EXPECT_FALSE(listener.connected());
}

// Targets outside loopback are run in a child process inside a network namespace of its own
// (unshare(CLONE_NEWNET): only a loopback interface, no routes), so nothing could leave the
// machine even if the check were broken: a connect would then fail with "network is
// unreachable" instead of the policy's refusal, and the test would fail.
TEST_F(EgressRuns, InternalAndReservedTargetsAreRefusedInALoopbackOnlyNamespace) {
  const auto policy = serve::make_egress_policy(config_allowing(""));
  ::fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::unshare(CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "cannot enter a new network namespace: %s\n", std::strerror(errno));
      ::_exit(2);
    }
    int failures = 0;
    for (const char* host :
         {"10.0.0.1", "169.254.169.254", "192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::1",
          "::ffff:0:a9fe:a9fe", "100::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "fe80::1%1"}) {
      for (const bool check_only : {false, true}) {
        const auto summary = run(task_at(host, 995), &policy, check_only);
        if (summary.failure != jobs::failure_kind::refused ||
            summary.message.find("is not allowed by the egress policy") == std::string::npos) {
          std::fprintf(stderr, "%s: %s (%s)\n", host, summary.message.c_str(),
                       std::string(jobs::to_string(summary.failure)).c_str());
          ++failures;
        }
      }
    }
    ::_exit(failures == 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the lines above (2: no network namespace)";
}

TEST_F(EgressRuns, WithAnAllowRuleTheSameRunConnects) {
  // A POP3 server that refuses at once: the run connects, reads "-ERR" and fails on that.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::uint16_t port = ntohs(a.sin_port);
  std::atomic<int> accepted{0};
  std::thread server([&] {
    for (int i = 0; i < 2; ++i) {
      const int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) return;
      ++accepted;
      const char greeting[] = "-ERR not today\r\n";
      (void)!::write(c, greeting, sizeof greeting - 1);
      ::close(c);
    }
  });
  const auto policy =
      serve::make_egress_policy(config_allowing("127.0.0.1:" + std::to_string(port)));
  for (const bool check_only : {false, true}) {
    const auto summary = run(task_at("127.0.0.1", port), &policy, check_only);
    EXPECT_FALSE(summary.ok);
    EXPECT_EQ(summary.message.find("egress policy"), std::string::npos) << summary.message;
  }
  ::shutdown(fd, SHUT_RDWR);
  server.join();
  ::close(fd);
  EXPECT_EQ(accepted.load(), 2);
}

TEST(EgressConfig, Port25OnlyWithTheSetting) {
  serve::serve_config config;
  const auto mx = boost::asio::ip::make_address("93.184.216.34");
  EXPECT_EQ(serve::make_egress_policy(config).check("mx.example.com", 25, mx),
            bridge::egress_policy::verdict::deny_port);
  config.allow_port_25 = true;
  EXPECT_EQ(serve::make_egress_policy(config).check("mx.example.com", 25, mx),
            bridge::egress_policy::verdict::allow);

  const char* argv[] = {"junction-proxy", "serve", "--data", "/tmp/x", "--allow-port-25", "yes"};
  serve::serve_config parsed;
  ASSERT_EQ(serve::parse_serve_arguments(6, const_cast<char**>(argv), 2, parsed), "");
  EXPECT_TRUE(parsed.allow_port_25);
  const char* bad[] = {"junction-proxy", "serve", "--data", "/tmp/x", "--allow-port-25", "maybe"};
  EXPECT_NE(serve::parse_serve_arguments(6, const_cast<char**>(bad), 2, parsed), "");
}

TEST(EgressConfig, TheServersPolicyRefusesItsOwnAddresses) {
  // The loopback address is internal anyway; the host-address source is what matters for a
  // public address of this host, and it must be wired in.
  const auto policy = serve::make_egress_policy(serve::serve_config{});
  EXPECT_EQ(policy.check("127.0.0.1", 995, boost::asio::ip::make_address("127.0.0.1")),
            bridge::egress_policy::verdict::deny_address);
  bridge::egress_policy bare;
  bool asked = false;
  bare.set_host_addresses([&] {
    asked = true;
    return std::vector<boost::asio::ip::address>{};
  });
  (void)bare.check("h", 995, boost::asio::ip::make_address("93.184.216.34"));
  EXPECT_TRUE(asked);
}

}  // namespace
}  // namespace junction
