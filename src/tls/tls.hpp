// TLS set-up shared by the SMTP server (STARTTLS, RFC 3207) and the SMTP
// client: OpenSSL contexts, and the self-signed certificate that lets the
// embedded defaults offer STARTTLS with no configuration.
#pragma once

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace gatehouse::tls {

struct CertPaths {
    std::string cert;
    std::string key;
};

// Returns dir/cert.pem and dir/key.pem, creating them first (EC P-256,
// self-signed, CN and subjectAltName = hostname, valid 10 years, key file
// mode 0600) when either is missing. Throws std::runtime_error with the
// reason on failure.
CertPaths ensure_self_signed(const std::string& dir, const std::string& hostname);

// Server context for STARTTLS: TLS 1.2+, the given chain and key. Throws
// std::runtime_error naming the file on failure.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const CertPaths& paths);

// Client context for outbound SMTP: TLS 1.2+, no certificate verification
// (opportunistic TLS, RFC 7435); SNI is set per connection by the caller.
std::shared_ptr<boost::asio::ssl::context> make_client_context();

// "TLSv1.3 TLS_AES_256_GCM_SHA384" for a connected SSL*, for logs/events.
std::string describe(const void* ssl_native_handle);

}  // namespace gatehouse::tls
