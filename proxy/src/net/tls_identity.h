// The two TLS chores every client connection of the proxy shares (its own runs and the
// browser's bridge): telling OpenSSL which server it must be talking to, and naming a
// certificate by its SHA-256 fingerprint (what a user pins for a self-signed server).
#pragma once

#include <openssl/ssl.h>

#include <string>

namespace junction::net {

// SNI and host-name verification for a name; for an IP literal, verification of the IP
// (no SNI, which RFC 6066 forbids for addresses). Wildcards match one whole label only.
// False when OpenSSL could not take the identity (an IPv6 zone id, a NUL in the name, ...):
// the caller must then not handshake, or any certificate from a trusted CA would pass.
[[nodiscard]] bool expect_server_identity(SSL* ssl, const std::string& host);

// Lower-case hex SHA-256 of the DER certificate; empty for none.
std::string certificate_sha256(X509* cert);
std::string peer_certificate_sha256(SSL* ssl);

}  // namespace junction::net
