#include "net/tls_identity.h"

#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "common/digest.h"

namespace junction::net {

bool expect_server_identity(SSL* ssl, const std::string& host) {
  // A zone id ("fe80::1%eth0") names no identity a certificate could carry, and
  // X509_VERIFY_PARAM_set1_ip_asc refuses it; NUL or empty names are refused by set1_host.
  if (host.empty() || host.find('%') != std::string::npos) return false;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (param == nullptr) return false;
  boost::system::error_code not_ip;
  (void)boost::asio::ip::make_address(host, not_ip);
  if (not_ip) {
    if (host.find('\0') != std::string::npos) return false;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1) return false;
    return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
  }
  return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
}

std::string certificate_sha256(X509* cert) {
  if (!cert) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
  return to_hex(md, n);
}

std::string peer_certificate_sha256(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  std::string out = certificate_sha256(cert);
  X509_free(cert);
  return out;
}

}  // namespace junction::net
