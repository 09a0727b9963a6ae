#include "queue/dsn.hpp"

#include <gtest/gtest.h>

namespace gatehouse::queue {

TEST(Dsn, StatusFromReply) {
    EXPECT_EQ(status_from_reply("550 5.1.1 no such user", "5.0.0"), "5.1.1");
    EXPECT_EQ(status_from_reply("554 transaction failed", "5.0.0"), "5.0.0");
    EXPECT_EQ(status_from_reply("451 4.7.1 later", "4.4.7"), "4.7.1");
    EXPECT_EQ(status_from_reply("550 4.1.1 mismatched class", "5.0.0"), "5.0.0");
    EXPECT_EQ(status_from_reply("", "4.4.7"), "4.4.7");
}

TEST(Dsn, Rfc3464Structure) {
    Envelope env;
    env.queue_id = "0123456789ABCDEF";
    env.sender = "alice@example.org";
    env.envid = "ENV123";
    env.arrival_ms = 1764780000000;
    env.client.helo = "client.example.org";
    DsnInput in;
    in.reporting_mta = "gw.example.net";
    in.dsn_message_id = "X.dsn@gw.example.net";
    in.now_ms = 1764783600000;
    in.original = &env;
    in.recipients.push_back({"bob@example.com", "rfc822;bob@example.com", "failed", "5.1.1",
                             "550 5.1.1 no such user\r\nevil: header", "mx.example.com"});
    in.original_headers = "Subject: hello\r\nMessage-ID: <a@b>\r\n";
    std::string dsn = build_dsn(in);

    EXPECT_NE(dsn.find("Content-Type: multipart/report; report-type=delivery-status;"),
              std::string::npos);
    EXPECT_NE(dsn.find("Content-Type: message/delivery-status\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Reporting-MTA: dns; gw.example.net\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Original-Envelope-Id: ENV123\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Final-Recipient: rfc822; bob@example.com\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Original-Recipient: rfc822;bob@example.com\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Action: failed\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Status: 5.1.1\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Remote-MTA: dns; mx.example.com\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Content-Type: text/rfc822-headers"), std::string::npos);
    EXPECT_NE(dsn.find("Subject: hello\r\n"), std::string::npos);
    // A CR/LF in the remote reply must not inject a header into the report.
    EXPECT_EQ(dsn.find("\r\nevil: header"), std::string::npos);
    // Every line ends in CRLF.
    for (std::size_t i = 0; i < dsn.size(); ++i) {
        if (dsn[i] == '\n') {
            ASSERT_TRUE(i > 0 && dsn[i - 1] == '\r') << "bare LF at " << i;
        }
    }
    EXPECT_TRUE(dsn.ends_with("--=_gatehouse_X.dsn@gw.example.net--\r\n"));
}

}  // namespace gatehouse::queue
