// TLS set-up for STARTTLS (RFC 3207) on the server side and opportunistic
// TLS (RFC 7435) on the client side, plus the self-signed certificate that
// lets `gatehouse serve` offer STARTTLS with no configuration at all.
//
// Standards: TLS 1.2 (RFC 5246) and 1.3 (RFC 8446) only; certificate profile
// per RFC 5280 (X.509 v3, subjectAltName dNSName as RFC 6125 expects).
//
// Trust: nothing here reads network input. The files named by the operator
// are trusted as configuration; OpenSSL's own errors are passed on verbatim
// so the operator sees why a file was refused.
#include "tls/tls.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace gatehouse::tls {
namespace {

namespace fs = std::filesystem;

constexpr int kValidityDays = 3650;

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
struct NamesFree {
    void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, NamesFree>;

// Drains OpenSSL's thread-local error queue into one readable reason.
std::string openssl_reason() {
    std::string out;
    while (unsigned long code = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("tls: " + what + ": " + openssl_reason());
}

void check(int rc, const char* what) {
    if (rc != 1) fail(what);
}

// subjectAltName with one entry: an iPAddress for an IP literal, else a dNSName.
NamesPtr alt_names(const std::string& hostname) {
    NamesPtr names(sk_GENERAL_NAME_new_null());
    GENERAL_NAME* gen = GENERAL_NAME_new();
    if (!names || !gen) fail("allocate subjectAltName");

    unsigned char ip[16];
    ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
    int type = GEN_DNS;
    if (inet_pton(AF_INET, hostname.c_str(), ip) == 1) {
        type = GEN_IPADD;
        ASN1_OCTET_STRING_set(value, ip, 4);
    } else if (inet_pton(AF_INET6, hostname.c_str(), ip) == 1) {
        type = GEN_IPADD;
        ASN1_OCTET_STRING_set(value, ip, 16);
    } else {
        ASN1_STRING_free(value);
        value = ASN1_IA5STRING_new();
        ASN1_STRING_set(value, hostname.data(), static_cast<int>(hostname.size()));
    }
    GENERAL_NAME_set0_value(gen, type, value);
    sk_GENERAL_NAME_push(names.get(), gen);
    return names;
}

void add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) fail(std::string("build extension ") + OBJ_nid2sn(nid));
    int rc = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    check(rc, "add certificate extension");
}

X509Ptr make_certificate(EVP_PKEY* key, const std::string& hostname) {
    X509Ptr cert(X509_new());
    if (!cert) fail("allocate certificate");
    check(X509_set_version(cert.get(), 2), "set certificate version");  // 2 means v3

    // A random positive 64-bit serial, so two generated certificates never collide.
    unsigned char serial[8];
    check(RAND_bytes(serial, sizeof serial), "generate serial number");
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()))) {
        BN_free(bn);
        fail("set serial number");
    }
    BN_free(bn);

    std::time_t now = std::time(nullptr);
    if (!ASN1_TIME_adj(X509_getm_notBefore(cert.get()), now, 0, 0) ||
        !ASN1_TIME_adj(X509_getm_notAfter(cert.get()), now, kValidityDays, 0)) {
        fail("set validity");
    }

    X509_NAME* name = X509_get_subject_name(cert.get());
    const auto* cn = reinterpret_cast<const unsigned char*>(hostname.c_str());
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0), "set subject");
    check(X509_set_issuer_name(cert.get(), name), "set issuer");
    check(X509_set_pubkey(cert.get(), key), "set public key");

    NamesPtr names = alt_names(hostname);
    check(X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT),
          "add subjectAltName");
    add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
    add_extension(cert.get(), NID_subject_key_identifier, "hash");

    if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) fail("sign certificate");
    return cert;
}

// Writes PEM text to a fresh mode-0600 temporary file beside final_path and
// returns its name; the caller renames it into place.
template <class WriteFn>
std::string write_temp(const std::string& final_path, WriteFn write) {
    std::string tmp = final_path + ".tmp.XXXXXX";
    int fd = mkstemp(tmp.data());  // creates the file with mode 0600
    if (fd < 0) {
        throw std::runtime_error("tls: cannot create " + tmp + ": " + std::strerror(errno));
    }
    BIO* bio = BIO_new_fd(fd, BIO_NOCLOSE);
    bool written = bio && write(bio) == 1 && BIO_flush(bio) == 1;
    BIO_free(bio);
    bool synced = written && fsync(fd) == 0;
    close(fd);
    if (!synced) {
        unlink(tmp.c_str());
        fail("write " + final_path);
    }
    return tmp;
}

void rename_into_place(const std::string& tmp, const std::string& final_path) {
    if (std::rename(tmp.c_str(), final_path.c_str()) != 0) {
        int err = errno;
        unlink(tmp.c_str());
        throw std::runtime_error("tls: cannot rename " + tmp + " to " + final_path + ": " +
                                 std::strerror(err));
    }
}

void sync_directory(const std::string& dir) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

void generate(const CertPaths& paths, const std::string& dir, const std::string& hostname) {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) fail("generate EC P-256 key");
    X509Ptr cert = make_certificate(key.get(), hostname);

    std::string key_tmp = write_temp(paths.key, [&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    std::string cert_tmp;
    try {
        cert_tmp =
            write_temp(paths.cert, [&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
    } catch (...) {
        unlink(key_tmp.c_str());
        throw;
    }

    // The old certificate goes first: a crash between the two renames then
    // leaves the certificate missing (regenerated next start), never a new
    // key beside an old certificate.
    unlink(paths.cert.c_str());
    rename_into_place(key_tmp, paths.key);
    rename_into_place(cert_tmp, paths.cert);
    sync_directory(dir);
}

void require_readable(const std::string& path, const char* what) {
    if (access(path.c_str(), R_OK) != 0) {
        throw std::runtime_error(std::string("tls: cannot read ") + what + " " + path + ": " +
                                 std::strerror(errno));
    }
}

void restrict_versions(boost::asio::ssl::context& ctx) {
    ctx.set_options(boost::asio::ssl::context::default_workarounds |
                    boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                    boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1);
    check(SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION),
          "set minimum protocol version");
}

}  // namespace

CertPaths ensure_self_signed(const std::string& dir, const std::string& hostname) {
    CertPaths paths{(fs::path(dir) / "cert.pem").string(), (fs::path(dir) / "key.pem").string()};
    if (fs::exists(paths.cert) && fs::exists(paths.key)) return paths;
    if (hostname.empty()) throw std::runtime_error("tls: no hostname for the certificate");

    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("tls: cannot create " + dir + ": " + ec.message());
    ERR_clear_error();
    generate(paths, dir, hostname);
    return paths;
}

std::shared_ptr<boost::asio::ssl::context> make_server_context(const CertPaths& paths) {
    auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    ERR_clear_error();
    restrict_versions(*ctx);
    SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);

    require_readable(paths.cert, "certificate");
    require_readable(paths.key, "private key");
    if (SSL_CTX_use_certificate_chain_file(native, paths.cert.c_str()) != 1) {
        fail("cannot load certificate chain " + paths.cert);
    }
    if (SSL_CTX_use_PrivateKey_file(native, paths.key.c_str(), SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            fail("private key " + paths.key + " does not match certificate " + paths.cert);
        }
        fail("cannot load private key " + paths.key);
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        fail("private key " + paths.key + " does not match certificate " + paths.cert);
    }
    return ctx;
}

std::shared_ptr<boost::asio::ssl::context> make_client_context() {
    auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    ERR_clear_error();
    restrict_versions(*ctx);
    // Opportunistic TLS (RFC 7435): encrypt whatever the peer offers, since
    // refusing an unverifiable certificate would only push mail to cleartext.
    ctx->set_verify_mode(boost::asio::ssl::verify_none);
    return ctx;
}

std::string describe(const void* ssl_native_handle) {
    const SSL* ssl = static_cast<const SSL*>(ssl_native_handle);
    if (!ssl) return "none";
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    std::string out = SSL_get_version(ssl);
    out += ' ';
    out += cipher ? SSL_CIPHER_get_name(cipher) : "none";
    return out;
}

}  // namespace gatehouse::tls
