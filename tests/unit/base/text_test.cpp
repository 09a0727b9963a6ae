#include "base/text.hpp"

#include <gtest/gtest.h>

namespace gatehouse {

TEST(LogEscape, EscapesControlAndCapsLength) {
    EXPECT_EQ(log_escape("a\r\nb\"c\\"), "a\\x0d\\x0ab\\\"c\\\\");
    EXPECT_EQ(log_escape(std::string(300, 'x'), 10), std::string(10, 'x') + "...");
    EXPECT_EQ(log_escape("\xff"), "\\xff");
}

TEST(Text, DomainOfAndCase) {
    EXPECT_EQ(domain_of("User@Example.COM"), "example.com");
    EXPECT_EQ(domain_of(""), "");
    EXPECT_TRUE(iequals("MAIL", "mail"));
    EXPECT_TRUE(istarts_with("mail from:", "MAIL FROM"));
    EXPECT_EQ(trim("  x \r\n"), "x");
}

}  // namespace gatehouse
