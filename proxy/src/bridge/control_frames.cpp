#include "bridge/control_frames.h"

#include <algorithm>

#include <boost/asio/ip/address_v6.hpp>
#include <nlohmann/json.hpp>

namespace junction::bridge {
namespace {

using json = nlohmann::json;

bool is_host_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
         c == '.' || c == '_';
}

bool is_v6_literal(const std::string& text) {
  // Zone ids are refused before asio sees them: it takes any text after '%'.
  if (text.find('%') != std::string::npos) return false;
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address_v6(text, ec);
  return !ec;
}

}  // namespace

bool offers_subprotocol(std::string_view header) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == subprotocol) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

std::string parse_open(const json& j, open_request& out) {
  const auto host_it = j.find("host");
  if (host_it == j.end() || !host_it->is_string()) return "open: \"host\" must be a string";
  std::string host = host_it->get<std::string>();
  if (host.empty() || host.size() > 253) {
    return "open: \"host\" must have 1 to 253 characters";
  }
  if (host.find('%') != std::string::npos) {
    return "open: \"host\" must not carry an IPv6 zone id";
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (!is_v6_literal(host)) return "open: \"host\" in brackets must be an IPv6 address";
  } else if (host.find(':') != std::string::npos) {
    if (!is_v6_literal(host)) return "open: \"host\" is neither a host name nor an IP address";
  } else if (!std::all_of(host.begin(), host.end(), is_host_char)) {
    return "open: \"host\" is neither a host name nor an IP address";
  }
  const auto port_it = j.find("port");
  if (port_it == j.end() || !port_it->is_number_integer()) {
    return "open: \"port\" must be an integer";
  }
  // An unsigned above INT64_MAX reads as negative here, and is refused all the same.
  const auto port = port_it->get<std::int64_t>();
  if (port < 1 || port > 65535) return "open: \"port\" must be between 1 and 65535";
  const auto tls_it = j.find("tls");
  if (tls_it == j.end() || !tls_it->is_string()) {
    return "open: \"tls\" must be \"none\" or \"implicit\"";
  }
  const auto& tls = tls_it->get_ref<const std::string&>();
  if (tls != "none" && tls != "implicit") return "open: \"tls\" must be \"none\" or \"implicit\"";
  std::string pin;
  const auto pin_it = j.find("pin_sha256");
  if (pin_it != j.end() && !pin_it->is_null()) {
    if (!pin_it->is_string()) return "open: \"pin_sha256\" must be 64 hexadecimal digits";
    pin = pin_it->get<std::string>();
    if (pin.size() != 64) return "open: \"pin_sha256\" must be 64 hexadecimal digits";
    for (char& c : pin) {
      if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return "open: \"pin_sha256\" must be 64 hexadecimal digits";
      }
    }
  }
  out.host = std::move(host);
  out.port = static_cast<std::uint16_t>(port);
  out.implicit_tls = tls == "implicit";
  out.pin = std::move(pin);
  return {};
}

std::string parse_open_frame(std::string_view text, open_request& out) {
  if (text.size() > max_control_frame) {
    return "a text frame may hold at most " + std::to_string(max_control_frame) +
           " bytes, this one has " + std::to_string(text.size());
  }
  const json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return "the first frame is not a JSON object";
  const auto op = j.find("op");
  if (op == j.end() || !op->is_string() || op->get_ref<const std::string&>() != "open") {
    return "the first frame must have \"op\":\"open\"";
  }
  return parse_open(j, out);
}

std::uint16_t close_code_for(std::string_view code) {
  if (code == "egress_denied" || code == "limit" || code == "bad_request") return 1008;
  return 1011;
}

std::string loggable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace junction::bridge
