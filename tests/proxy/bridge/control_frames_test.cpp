// The bridge's control frames without sockets (bridge/control_frames.h).
#include "bridge/control_frames.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace junction::bridge {
namespace {

using json = nlohmann::json;

TEST(ControlFrames, OffersSubprotocol) {
  EXPECT_TRUE(offers_subprotocol("junction-bridge.v1"));
  EXPECT_TRUE(offers_subprotocol("chat, junction-bridge.v1"));
  EXPECT_TRUE(offers_subprotocol(" \tjunction-bridge.v1\t ,other"));
  EXPECT_FALSE(offers_subprotocol(""));
  EXPECT_FALSE(offers_subprotocol("junction-bridge.v2"));
  EXPECT_FALSE(offers_subprotocol("junction-bridge.v1x"));
  EXPECT_FALSE(offers_subprotocol("Junction-Bridge.v1"));
  EXPECT_FALSE(offers_subprotocol("junction-bridge.v1;q=1"));
  EXPECT_FALSE(offers_subprotocol(",,,"));
}

TEST(ControlFrames, ParseOpenFrame) {
  open_request r;
  ASSERT_EQ(
      parse_open_frame(R"({"op":"open","host":"mail.example.com","port":993,"tls":"implicit"})", r),
      "");
  EXPECT_EQ(r.host, "mail.example.com");
  EXPECT_EQ(r.port, 993);
  EXPECT_TRUE(r.implicit_tls);
  EXPECT_EQ(r.pin, "");

  ASSERT_EQ(parse_open_frame(R"({"op":"open","host":"[2606:4700::1111]","port":143,"tls":"none",)"
                             R"("pin_sha256":")" +
                                 std::string(64, 'A') + R"(","extra":1})",
                             r),
            "");
  EXPECT_EQ(r.host, "2606:4700::1111");
  EXPECT_EQ(r.port, 143);
  EXPECT_FALSE(r.implicit_tls);
  EXPECT_EQ(r.pin, std::string(64, 'a'));

  ASSERT_EQ(parse_open_frame(
                R"({"op":"open","host":"::1","port":65535,"tls":"none","pin_sha256":null})", r),
            "");
  EXPECT_EQ(r.host, "::1");
}

TEST(ControlFrames, MalformedOpenFramesSayWhatIsWrongAndLeaveTheRequest) {
  const std::pair<std::string, std::string> cases[] = {
      {"{not json", "not a JSON object"},
      {"[]", "not a JSON object"},
      {R"({"host":"a.example","port":993,"tls":"none"})", "\"op\":\"open\""},
      {R"({"op":"starttls"})", "\"op\":\"open\""},
      {R"({"op":"open","host":"","port":993,"tls":"none"})", "1 to 253"},
      {R"({"op":"open","host":7,"port":993,"tls":"none"})", "must be a string"},
      {R"({"op":"open","host":"a b","port":993,"tls":"none"})", "neither"},
      {R"({"op":"open","host":"a\nb","port":993,"tls":"none"})", "neither"},
      {R"({"op":"open","host":"[nope]","port":993,"tls":"none"})", "in brackets"},
      {R"({"op":"open","host":"1:2:3","port":993,"tls":"none"})", "neither"},
      {R"({"op":"open","host":"a.example","port":0,"tls":"none"})", "between 1 and 65535"},
      {R"({"op":"open","host":"a.example","port":65536,"tls":"none"})", "between 1 and 65535"},
      {R"({"op":"open","host":"a.example","port":18446744073709551615,"tls":"none"})",
       "between 1 and 65535"},
      {R"({"op":"open","host":"a.example","port":9223372036854775808,"tls":"none"})",
       "between 1 and 65535"},
      {R"({"op":"open","host":"a.example","port":993.5,"tls":"none"})", "integer"},
      {R"({"op":"open","host":"a.example","port":"993","tls":"none"})", "integer"},
      {R"({"op":"open","host":"a.example","port":993,"tls":"maybe"})", "\"tls\""},
      {R"({"op":"open","host":"a.example","port":993})", "\"tls\""},
      {R"({"op":"open","host":"a.example","port":993,"tls":"none","pin_sha256":"abc"})", "64"},
      {R"({"op":"open","host":"a.example","port":993,"tls":"none","pin_sha256":")" +
           std::string(63, 'a') + "g\"}",
       "64"},
      {R"({"op":"open","host":")" + std::string(254, 'a') + R"(","port":993,"tls":"none"})",
       "1 to 253"},
      {std::string(max_control_frame + 1, ' '), "at most 4096 bytes"},
  };
  for (const auto& [frame, expected] : cases) {
    open_request r;
    r.host = "untouched";
    const auto problem = parse_open_frame(frame, r);
    EXPECT_NE(problem.find(expected), std::string::npos) << frame << " → " << problem;
    EXPECT_EQ(r.host, "untouched") << frame;
  }
}

// F13: asio takes any text after '%' as a zone; the frame parser refuses it first.
TEST(ControlFrames, ZoneIdsAreRefused) {
  for (const std::string host : {"2606:4700::1111%1", "[2606:4700::1111%1]", "fe80::1%eth0",
                                 "[fe80::1%25eth0]", "2001:db8::1%\nFAKE LOG LINE", "%"}) {
    open_request r;
    const json frame = {{"op", "open"}, {"host", host}, {"port", 993}, {"tls", "implicit"}};
    EXPECT_EQ(parse_open(frame, r), "open: \"host\" must not carry an IPv6 zone id") << host;
    EXPECT_EQ(parse_open_frame(frame.dump(), r), "open: \"host\" must not carry an IPv6 zone id")
        << host;
  }
}

TEST(ControlFrames, HostsCarryOnlyHostCharacters) {
  // Whatever passes parse_open is safe to log: letters, digits and . _ - : only.
  for (const std::string host : {"mail.example.com", "MAIL-1.example_x.com", "2130706433",
                                 "0x7f000001", "::ffff:127.0.0.1", "[::1]"}) {
    open_request r;
    ASSERT_EQ(parse_open(json{{"host", host}, {"port", 993}, {"tls", "none"}}, r), "") << host;
    for (char c : r.host) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
                  c == ':')
          << host;
    }
  }
}

TEST(ControlFrames, CloseCodes) {
  EXPECT_EQ(close_code_for("egress_denied"), 1008);
  EXPECT_EQ(close_code_for("limit"), 1008);
  EXPECT_EQ(close_code_for("bad_request"), 1008);
  for (const char* code :
       {"dns", "refused", "timeout", "tls_verify", "tls_handshake", "upstream_closed", ""}) {
    EXPECT_EQ(close_code_for(code), 1011) << code;
  }
}

TEST(ControlFrames, LoggableKeepsPrintableAsciiOnly) {
  EXPECT_EQ(loggable("mail.example.com:993"), "mail.example.com:993");
  EXPECT_EQ(loggable("a\r\nFAKE\x01\x7f\xff"), "a??FAKE???");
  EXPECT_EQ(loggable(std::string(500, 'x')).size(), 200u);
}

}  // namespace
}  // namespace junction::bridge
