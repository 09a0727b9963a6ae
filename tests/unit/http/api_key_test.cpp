// The admin key file: created once with mode 0600, then reused; clients
// only ever read it.
#include "http/api_key.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace gatehouse::http {
namespace {

namespace fs = std::filesystem;

struct TempDir {
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "gh-key-XXXXXX").string();
        path = mkdtemp(pattern.data());
    }
    ~TempDir() { fs::remove_all(path); }
    std::string path;
};

TEST(ApiKey, CreatedOnceWithMode0600) {
    TempDir dir;
    std::string data = dir.path + "/var";
    std::string key = load_or_create_api_key(data);
    EXPECT_EQ(key.size(), 64u);
    EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);

    struct stat st {};
    ASSERT_EQ(stat((data + "/admin.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    EXPECT_EQ(load_or_create_api_key(data), key);
    auto read = read_api_key(data);
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(*read, key);
    EXPECT_NE(load_or_create_api_key(dir.path + "/other"), key);
}

TEST(ApiKey, OperatorKeyIsKept) {
    TempDir dir;
    std::ofstream(dir.path + "/admin.key") << "  my-own-key \n";
    EXPECT_EQ(load_or_create_api_key(dir.path), "my-own-key");
}

TEST(ApiKey, ReadingNeverCreates) {
    TempDir dir;
    auto key = read_api_key(dir.path);
    ASSERT_FALSE(key.ok());
    EXPECT_NE(key.error().message.find(dir.path + "/admin.key"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir.path + "/admin.key"));

    std::ofstream(dir.path + "/admin.key") << "\n";
    EXPECT_NE(read_api_key(dir.path).error().message.find("empty"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::http
