#include "serve/config.h"

#include "net/host_addresses.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace junction::serve {
namespace {

bool parse_listen(std::string_view text, serve_config& out) {
  bridge::allow_rule rule;
  if (!bridge::parse_allow_rule(text, rule)) return false;
  out.listen_address = rule.host;
  out.listen_port = rule.port;
  return true;
}

std::string apply_file(const std::string& path, serve_config& out) {
  std::ifstream in(path);
  if (!in) return "cannot read the config file " + path;
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (!doc.is_object()) return path + ": not a JSON object";
  try {
    if (doc.contains("data")) out.data_dir = doc["data"].get<std::string>();
    if (doc.contains("listen") && !parse_listen(doc["listen"].get<std::string>(), out)) {
      return path + ": listen: expected ADDRESS:PORT";
    }
    if (doc.contains("web_root")) out.web_root = doc["web_root"].get<std::string>();
    if (doc.contains("tls_certificate")) {
      out.tls_certificate = doc["tls_certificate"].get<std::string>();
    }
    if (doc.contains("tls_private_key")) {
      out.tls_private_key = doc["tls_private_key"].get<std::string>();
    }
    for (const auto& o : doc.value("allowed_origins", nlohmann::json::array())) {
      out.allowed_origins.push_back(o.get<std::string>());
    }
    for (const auto& a : doc.value("allow", nlohmann::json::array())) {
      bridge::allow_rule rule;
      if (!bridge::parse_allow_rule(a.get<std::string>(), rule)) {
        return path + ": allow: expected HOST:PORT, got " + a.get<std::string>();
      }
      out.egress_exceptions.push_back(rule);
    }
    if (doc.contains("allow_port_25")) out.allow_port_25 = doc["allow_port_25"].get<bool>();
    if (doc.contains("public_origin")) out.public_origin = doc["public_origin"].get<std::string>();
    out.threads = doc.value("threads", out.threads);
    out.max_connections_per_address =
        doc.value("max_connections_per_address", out.max_connections_per_address);
    out.worker_threads = doc.value("worker_threads", out.worker_threads);
    out.max_bridges_per_user = doc.value("max_bridges_per_user", out.max_bridges_per_user);
    out.max_runs_per_user = doc.value("max_runs_per_user", out.max_runs_per_user);
    out.max_runs_total = doc.value("max_runs_total", out.max_runs_total);
    out.header_timeout_seconds = doc.value("header_timeout_seconds", out.header_timeout_seconds);
    out.idle_timeout_seconds = doc.value("idle_timeout_seconds", out.idle_timeout_seconds);
    out.min_body_bytes_per_second =
        doc.value("min_body_bytes_per_second", out.min_body_bytes_per_second);
    out.max_event_streams_per_user =
        doc.value("max_event_streams_per_user", out.max_event_streams_per_user);
    out.session_lifetime_seconds =
        doc.value("session_lifetime_seconds", out.session_lifetime_seconds);
    out.scheduler_interval_override_seconds =
        doc.value("scheduler_interval_override_seconds", out.scheduler_interval_override_seconds);
    if (doc.contains("max_message_body")) {
      // A batch of the browser's deliveries must fit a whole message; below 1 MiB many would
      // not, and above 1 GiB one request would hold too much memory.
      const auto bytes = doc["max_message_body"].get<std::uint64_t>();
      if (bytes < (1u << 20) || bytes > (1u << 30)) {
        return path + ": max_message_body must be from 1048576 to 1073741824 bytes";
      }
      out.max_message_body = static_cast<std::size_t>(bytes);
    }
  } catch (const nlohmann::json::exception& e) {
    return path + ": " + e.what();
  }
  return {};
}

}  // namespace

std::string parse_serve_arguments(int argc, char** argv, int first, serve_config& out) {
  // The config file first, so that flags override it.
  for (int i = first; i + 1 < argc; ++i) {
    if (std::string_view(argv[i]) == "--config") {
      if (auto error = apply_file(argv[i + 1], out); !error.empty()) return error;
    }
  }
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return a + " needs a value";
    const std::string v = argv[++i];
    if (a == "--config") continue;
    if (a == "--data") {
      out.data_dir = v;
    } else if (a == "--listen") {
      if (!parse_listen(v, out)) return "--listen: expected ADDRESS:PORT, got " + v;
    } else if (a == "--allow") {
      bridge::allow_rule rule;
      if (!bridge::parse_allow_rule(v, rule)) return "--allow: expected HOST:PORT, got " + v;
      out.egress_exceptions.push_back(rule);
    } else if (a == "--web") {
      out.web_root = v;
    } else if (a == "--tls-cert") {
      out.tls_certificate = v;
    } else if (a == "--tls-key") {
      out.tls_private_key = v;
    } else if (a == "--allow-port-25") {
      if (v != "yes" && v != "no") return "--allow-port-25: expected yes or no, got " + v;
      out.allow_port_25 = v == "yes";
    } else if (a == "--allow-origin") {
      out.allowed_origins.push_back(v);
    } else if (a == "--public-origin") {
      out.public_origin = v;
    } else {
      return "unknown argument " + a;
    }
  }
  if (out.data_dir.empty()) return "serve needs --data DIR";
  if (out.tls_certificate.empty() != out.tls_private_key.empty()) {
    return "TLS needs both --tls-cert and --tls-key";
  }
  if (!out.public_origin.empty()) {
    // scheme "://" host [ ":" port ], nothing after (RFC 6454 section 6.2 serialization).
    const std::string& o = out.public_origin;
    const bool scheme_ok = o.rfind("http://", 0) == 0 || o.rfind("https://", 0) == 0;
    const std::size_t host_at = o.find("://") + 3;
    if (!scheme_ok || host_at >= o.size() || o.find('/', host_at) != std::string::npos ||
        o.find_first_of("?#@ ", host_at) != std::string::npos) {
      return "public_origin: expected http(s)://HOST[:PORT], got " + o;
    }
  }
  if (out.worker_threads < 1 || out.worker_threads > 256) return "worker_threads: 1 to 256";
  return {};
}

bridge::egress_policy make_egress_policy(const serve_config& config) {
  bridge::egress_policy policy;
  if (config.allow_port_25) policy.allow_port(25);
  for (const auto& rule : config.egress_exceptions) policy.add_exception(rule);
  policy.set_host_addresses(&net::host_addresses);
  return policy;
}

}  // namespace junction::serve
