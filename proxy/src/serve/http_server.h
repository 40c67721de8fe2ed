// The HTTP(S) server of `junction-proxy serve`: the web app's files, the API (serve/api.h),
// the event stream and the /bridge upgrade, on `config.threads` threads. Beast-free header:
// Beast stays in http_server.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "serve/config.h"
#include "serve/services.h"

namespace junction::bridge {
struct context;
}
namespace junction::crypto {
class secret_box;
}
namespace junction::store {
class account_store;
}

namespace junction::serve {

// One account_store per calling thread, each over its own connection to the same database
// file (account_store's rule). Connections open on first use and live as long as this holder.
class store_per_thread {
 public:
  store_per_thread(std::filesystem::path database_file, const crypto::secret_box& secrets);
  ~store_per_thread();
  store_per_thread(const store_per_thread&) = delete;
  store_per_thread& operator=(const store_per_thread&) = delete;

  // Throws std::runtime_error when the database cannot be opened.
  store::account_store& get();

 private:
  struct connection;
  std::filesystem::path file_;
  const crypto::secret_box& secrets_;
  std::mutex mutex_;
  std::map<std::thread::id, std::unique_ptr<connection>> connections_;
};

struct server_services {
  std::function<store::account_store&()> store;  // the calling thread's store
  event_hub* events = nullptr;
  task_runner* tasks = nullptr;
  mailbox_service* mailboxes = nullptr;
  // The bridge's egress policy, limits and upstream TLS context. nullptr: the server makes
  // its own from the config (egress exceptions, default limits, the system's trusted CAs).
  const bridge::context* bridge = nullptr;
  // One line per request and per failure, without secrets, cookies or bodies. Default:
  // standard error.
  std::function<void(const std::string&)> log;
};

class http_server {
 public:
  // Binds the listener (port 0 picks a free port) and, with config.tls_certificate and
  // tls_private_key set, loads them: https and wss only. Throws std::runtime_error saying
  // what failed and where.
  http_server(const serve_config& config, server_services services);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  std::uint16_t port() const;  // the bound port

  // Serves on config.threads threads (this one included) until stop(); returns when they are
  // done. At most once.
  void run();
  // Thread-safe, also before run(): stops accepting, lets requests in progress finish, closes
  // event streams and idle connections; bridges and anything left after `grace` are cut off.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace junction::serve
