// Tests for tls/: certificate generation and reuse, a real TLS handshake
// between the server and client contexts over loopback, and the error
// messages an operator sees for a bad key path.
#include "tls/tls.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gatehouse::tls {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "gh-tls-XXXXXX").string();
        path_ = mkdtemp(pattern.data());
    }
    ~TempDir() { fs::remove_all(path_); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string error_of(const CertPaths& paths) {
    try {
        make_server_context(paths);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

TEST(SelfSigned, GeneratesKeyAndCertificate) {
    TempDir dir;
    std::string sub = dir.path() + "/tls";
    CertPaths paths = ensure_self_signed(sub, "mx.example.org");
    EXPECT_EQ(paths.cert, sub + "/cert.pem");
    EXPECT_EQ(paths.key, sub + "/key.pem");

    struct stat st {};
    ASSERT_EQ(stat(paths.key.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    FILE* f = fopen(paths.cert.c_str(), "r");
    ASSERT_NE(f, nullptr);
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    fclose(f);
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(X509_check_host(cert, "mx.example.org", 0, 0, nullptr), 1);
    EXPECT_NE(X509_check_host(cert, "other.example.org", 0, 0, nullptr), 1);
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    EXPECT_STREQ(cn, "mx.example.org");
    EVP_PKEY* pub = X509_get0_pubkey(cert);
    EXPECT_EQ(EVP_PKEY_get_bits(pub), 256);
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert));
    EXPECT_EQ(days, 3650);
    X509_free(cert);

    // No temporary files left behind.
    int entries = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(sub)) ++entries;
    EXPECT_EQ(entries, 2);
}

TEST(SelfSigned, SecondCallReusesFiles) {
    TempDir dir;
    CertPaths first = ensure_self_signed(dir.path(), "mx.example.org");
    std::string cert = read_all(first.cert);
    std::string key = read_all(first.key);
    CertPaths second = ensure_self_signed(dir.path(), "mx.example.org");
    EXPECT_EQ(read_all(second.cert), cert);
    EXPECT_EQ(read_all(second.key), key);
}

TEST(SelfSigned, MissingCertificateRegeneratesBoth) {
    TempDir dir;
    CertPaths first = ensure_self_signed(dir.path(), "mx.example.org");
    std::string key = read_all(first.key);
    fs::remove(first.cert);
    CertPaths second = ensure_self_signed(dir.path(), "mx.example.org");
    EXPECT_NE(read_all(second.key), key);
    EXPECT_NO_THROW(make_server_context(second));
}

TEST(ServerContext, BadKeyPathNamesThePath) {
    TempDir dir;
    CertPaths paths = ensure_self_signed(dir.path(), "mx.example.org");
    paths.key = dir.path() + "/no-such-key.pem";
    std::string err = error_of(paths);
    EXPECT_NE(err.find(paths.key), std::string::npos) << err;
}

TEST(ServerContext, GarbageCertificateNamesThePath) {
    TempDir dir;
    CertPaths paths = ensure_self_signed(dir.path(), "mx.example.org");
    paths.cert = dir.path() + "/garbage.pem";
    std::ofstream(paths.cert) << "not a certificate\n";
    std::string err = error_of(paths);
    EXPECT_NE(err.find(paths.cert), std::string::npos) << err;
}

TEST(ServerContext, MismatchedKeyIsRefused) {
    TempDir a, b;
    CertPaths pa = ensure_self_signed(a.path(), "a.example.org");
    CertPaths pb = ensure_self_signed(b.path(), "b.example.org");
    std::string err = error_of({pa.cert, pb.key});
    EXPECT_NE(err.find("does not match"), std::string::npos) << err;
}

TEST(Handshake, ServerAndClientContextsTalkOverLoopback) {
    TempDir dir;
    auto server_ctx = make_server_context(ensure_self_signed(dir.path(), "mx.example.org"));
    auto client_ctx = make_client_context();

    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    auto endpoint = acceptor.local_endpoint();
    std::string server_desc, client_desc, received;

    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto sock = co_await acceptor.async_accept(asio::use_awaitable);
            asio::ssl::stream<asio::ip::tcp::socket> tls(std::move(sock), *server_ctx);
            co_await tls.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
            server_desc = describe(tls.native_handle());
            char buf[5];
            co_await asio::async_read(tls, asio::buffer(buf), asio::use_awaitable);
            received.assign(buf, sizeof buf);
        },
        asio::detached);

    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            asio::ssl::stream<asio::ip::tcp::socket> tls(io, *client_ctx);
            SSL_set_tlsext_host_name(tls.native_handle(), "mx.example.org");
            co_await tls.next_layer().async_connect(endpoint, asio::use_awaitable);
            co_await tls.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
            client_desc = describe(tls.native_handle());
            co_await asio::async_write(tls, asio::buffer("hello", 5), asio::use_awaitable);
        },
        asio::detached);

    io.run_for(std::chrono::seconds(10));
    EXPECT_EQ(received, "hello");
    EXPECT_EQ(server_desc, client_desc);
    EXPECT_EQ(server_desc.rfind("TLSv1.3 TLS_", 0), 0u) << server_desc;
}

TEST(Describe, NullHandle) {
    EXPECT_EQ(describe(nullptr), "none");
}

}  // namespace
}  // namespace gatehouse::tls
