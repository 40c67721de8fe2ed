// The JSON form of a retrieval task: the contract between the CLI, the HTTP API and the web app.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/retrieval_task.h"

namespace junction::model {
namespace {

using nlohmann::json;

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(JUNCTION_FIXTURES) + "/model/" + name, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open fixture " << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> rendered(const std::vector<field_error>& errors) {
  std::vector<std::string> out;
  for (const field_error& error : errors) out.push_back(to_string(error));
  return out;
}

// Parses text that must parse; fails the test with the errors otherwise.
retrieval_task parsed(std::string_view text) {
  parse_result result = parse_retrieval_task(text);
  EXPECT_TRUE(result.ok()) << ::testing::PrintToString(rendered(result.errors));
  EXPECT_EQ(result.ok(), result.errors.empty());
  return result.task.value_or(retrieval_task{});
}

std::vector<std::string> parse_errors(std::string_view text) {
  parse_result result = parse_retrieval_task(text);
  EXPECT_FALSE(result.ok()) << "parsed although it should not: " << text;
  return rendered(result.errors);
}

TEST(RetrievalTaskJson, ANulByteIsRefusedNotTakenAsTheEnd) {
  // nlohmann's reader stops at a NUL: without the check, what follows it was never read.
  using namespace std::string_literals;
  EXPECT_FALSE(parse_retrieval_task("{\"type\":\"pop3\"}\0junk"s).ok());
  EXPECT_FALSE(parse_retrieval_task("{\"type\":\"pop3\",\0\"server\":1}"s).ok());
}

TEST(RetrievalTaskJson, EmptyObjectGivesTheDocumentedDefaults) {
  const retrieval_task task = parsed("{}");
  EXPECT_EQ(task.id, "");
  EXPECT_EQ(task.type, retrieval_type::pop3);
  EXPECT_EQ(task.server, "");
  EXPECT_EQ(task.port, 0);
  EXPECT_EQ(task.effective_port(), 995);
  EXPECT_EQ(task.username, "");
  EXPECT_EQ(task.password, "");
  EXPECT_EQ(task.encryption, encryption::ssl);
  EXPECT_EQ(task.method, retrieval_method::manual);
  EXPECT_EQ(task.interval_minutes, 10);
  EXPECT_EQ(task.destination_folder, "INBOX");
  EXPECT_FALSE(task.apop);
  EXPECT_FALSE(task.leave_on_server);
  EXPECT_FALSE(task.filtering);
  EXPECT_EQ(task.folder_transfer.mode, folder_transfer_mode::root);
  EXPECT_EQ(task.folder_transfer.parent, "");
  EXPECT_EQ(task.pinned_cert_sha256, "");
  EXPECT_EQ(task.extra, json::object());
  EXPECT_EQ(task, retrieval_task{});
}

TEST(RetrievalTaskJson, Pop3ExampleParsesAndValidates) {
  const retrieval_task task = parsed(read_fixture("retrieval_task_pop3.json"));
  EXPECT_EQ(task.type, retrieval_type::pop3);
  EXPECT_EQ(task.server, "mail.example.com");
  EXPECT_EQ(task.port, 995);
  EXPECT_EQ(task.username, "jdoe@example.com");
  EXPECT_EQ(task.password, "s3cret pass");
  EXPECT_EQ(task.encryption, encryption::ssl);
  EXPECT_EQ(task.method, retrieval_method::automatic);
  EXPECT_EQ(task.interval_minutes, 10);
  EXPECT_EQ(task.destination_folder, "INBOX");
  EXPECT_FALSE(task.apop);
  EXPECT_TRUE(task.leave_on_server);
  EXPECT_FALSE(task.filtering);
  EXPECT_EQ(task.id, "");
  EXPECT_EQ(task.extra, json::object());
  EXPECT_TRUE(validate(task).empty()) << ::testing::PrintToString(rendered(validate(task)));
}

TEST(RetrievalTaskJson, ImapExampleParsesAndValidates) {
  const retrieval_task task = parsed(read_fixture("retrieval_task_imap.json"));
  EXPECT_EQ(task.type, retrieval_type::imap);
  EXPECT_EQ(task.server, "mail.example.com");
  EXPECT_EQ(task.port, 143);
  EXPECT_EQ(task.username, "jdoe");
  EXPECT_EQ(task.password, "hunter2");
  EXPECT_EQ(task.encryption, encryption::starttls);
  EXPECT_EQ(task.method, retrieval_method::manual);
  EXPECT_EQ(task.folder_transfer.mode, folder_transfer_mode::subfolder);
  EXPECT_EQ(task.folder_transfer.parent, "External/Work");
  EXPECT_TRUE(task.filtering);
  EXPECT_TRUE(validate(task).empty()) << ::testing::PrintToString(rendered(validate(task)));
}

TEST(RetrievalTaskJson, ExamplesRoundTrip) {
  for (const char* name : {"retrieval_task_pop3.json", "retrieval_task_imap.json"}) {
    SCOPED_TRACE(name);
    const std::string text = read_fixture(name);
    const retrieval_task task = parsed(text);
    const json written = to_json(task);
    const parse_result again = parse_retrieval_task(written);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again.task, task);
    // Every key the user wrote comes back with the same value.
    const json original = json::parse(text);
    for (const auto& [key, value] : original.items()) {
      ASSERT_TRUE(written.contains(key)) << key;
      EXPECT_EQ(written[key], value) << key;
    }
  }
}

TEST(RetrievalTaskJson, EveryFieldSurvivesTheRoundTrip) {
  retrieval_task task;
  task.id = "t-42";
  task.type = retrieval_type::imap;
  task.server = "[2001:db8::1]";
  task.port = 10993;
  task.username = "jdoe";
  task.password = "p\xc3\xa4ss";
  task.encryption = encryption::none;
  task.method = retrieval_method::automatic;
  task.interval_minutes = 60;
  task.destination_folder = "Archive/2024";
  task.apop = true;
  task.leave_on_server = true;
  task.filtering = true;
  task.folder_transfer = {folder_transfer_mode::subfolder, "External/\xc3\x9c", {{"k", 1}}};
  task.pinned_cert_sha256 = std::string(64, 'a');
  task.extra = {{"color", "blue"}, {"future", {{"nested", json::array({1, 2})}}}};

  const json written = to_json(task);
  EXPECT_EQ(written["id"], "t-42");
  EXPECT_EQ(written["port"], 10993);
  EXPECT_EQ(written["encryption"], "none");
  EXPECT_EQ(written["method"], "automatic");
  EXPECT_EQ(written["folder_transfer"]["mode"], "subfolder");
  EXPECT_EQ(written["pinned_cert_sha256"], std::string(64, 'a'));
  const parse_result again = parse_retrieval_task(written);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again.task, task);
  // Also through text, as the API and the CLI see it.
  const parse_result from_text = parse_retrieval_task(std::string_view(written.dump()));
  ASSERT_TRUE(from_text.ok());
  EXPECT_EQ(*from_text.task, task);
}

TEST(RetrievalTaskJson, OptionalFieldsAreLeftOutWhenUnset) {
  const json written = to_json(retrieval_task{});
  EXPECT_FALSE(written.contains("id"));
  EXPECT_FALSE(written.contains("port"));
  EXPECT_FALSE(written.contains("pinned_cert_sha256"));
  EXPECT_TRUE(written.contains("password"));
  // "port": 0 is read as the default, like an absent port.
  const retrieval_task task = parsed(R"({"port": 0, "encryption": "none"})");
  EXPECT_EQ(task.port, 0);
  EXPECT_EQ(task.effective_port(), 110);
}

TEST(RetrievalTaskJson, WithoutSecretsThePasswordIsLeftOut) {
  retrieval_task task = parsed(read_fixture("retrieval_task_pop3.json"));
  task.extra["password"] = "smuggled";
  const json listed = to_json(task, false);
  EXPECT_FALSE(listed.contains("password"));
  EXPECT_EQ(listed.dump().find("s3cret"), std::string::npos);
  EXPECT_EQ(listed.dump().find("smuggled"), std::string::npos);
  EXPECT_EQ(listed["username"], "jdoe@example.com");
  EXPECT_TRUE(to_json(task, true).contains("password"));
}

TEST(RetrievalTaskJson, UnknownKeysArePreservedThroughTheRoundTrip) {
  const retrieval_task task = parsed(
      R"({"server": "h", "schedule": {"days": ["mon", "tue"]}, "label": "Work", "x": null,
          "folder_transfer": {"mode": "root", "skip": ["Spam"]}})");
  EXPECT_EQ(task.extra, json::parse(R"({"schedule": {"days": ["mon", "tue"]}, "label": "Work",
                                        "x": null})"));
  EXPECT_EQ(task.folder_transfer.extra, json::parse(R"({"skip": ["Spam"]})"));
  const json written = to_json(task);
  EXPECT_EQ(written["schedule"], json::parse(R"({"days": ["mon", "tue"]})"));
  EXPECT_EQ(written["label"], "Work");
  EXPECT_TRUE(written.contains("x"));
  EXPECT_EQ(written["folder_transfer"]["skip"], json::parse(R"(["Spam"])"));
  const parse_result again = parse_retrieval_task(written);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again.task, task);
}

TEST(RetrievalTaskJson, ExtraNeverOverridesAKnownField) {
  retrieval_task task;
  task.extra = {{"port", 25}, {"server", "evil.example"}, {"keep", true}};
  task.folder_transfer.extra = {{"mode", "subfolder"}};
  const json written = to_json(task);
  EXPECT_FALSE(written.contains("port"));
  EXPECT_EQ(written["server"], "");
  EXPECT_EQ(written["keep"], true);
  EXPECT_EQ(written["folder_transfer"]["mode"], "root");
  // An extra that is not an object (a caller's mistake) is not written.
  task.extra = 7;
  EXPECT_EQ(to_json(task), to_json(retrieval_task{}));
}

TEST(RetrievalTaskJson, WrongTypesNameTheirField) {
  EXPECT_EQ(parse_errors(R"({"port": "995"})"),
            std::vector<std::string>{"port: must be a whole number from 1 to 65535"});
  EXPECT_EQ(parse_errors(R"({"port": 65536})"),
            std::vector<std::string>{"port: must be a whole number from 1 to 65535"});
  EXPECT_EQ(parse_errors(R"({"port": -1})"),
            std::vector<std::string>{"port: must be a whole number from 1 to 65535"});
  EXPECT_EQ(parse_errors(R"({"port": 99.5})"),
            std::vector<std::string>{"port: must be a whole number from 1 to 65535"});
  EXPECT_EQ(parse_errors(R"({"port": 18446744073709551616})"),
            std::vector<std::string>{"port: must be a whole number from 1 to 65535"});
  EXPECT_EQ(parse_errors(R"({"encryption": "tls"})"),
            std::vector<std::string>{"encryption: must be one of none, starttls, ssl"});
  EXPECT_EQ(parse_errors(R"({"encryption": "SSL"})"),
            std::vector<std::string>{"encryption: must be one of none, starttls, ssl"});
  EXPECT_EQ(parse_errors(R"({"type": "exchange"})"),
            std::vector<std::string>{"type: must be one of pop3, imap"});
  EXPECT_EQ(parse_errors(R"({"method": 1})"),
            std::vector<std::string>{"method: must be one of manual, automatic"});
  EXPECT_EQ(parse_errors(R"({"interval_minutes": "10"})"),
            std::vector<std::string>{"interval_minutes: must be a whole number from 1 to 10080"});
  EXPECT_EQ(parse_errors(R"({"interval_minutes": 1e12})"),
            std::vector<std::string>{"interval_minutes: must be a whole number from 1 to 10080"});
  EXPECT_EQ(parse_errors(R"({"apop": "yes"})"),
            std::vector<std::string>{"apop: must be true or false"});
  EXPECT_EQ(parse_errors(R"({"leave_on_server": 1})"),
            std::vector<std::string>{"leave_on_server: must be true or false"});
  EXPECT_EQ(parse_errors(R"({"filtering": null})"),
            std::vector<std::string>{"filtering: must be true or false"});
  EXPECT_EQ(parse_errors(R"({"server": 12})"),
            std::vector<std::string>{"server: must be a string"});
  EXPECT_EQ(parse_errors(R"({"id": 12})"), std::vector<std::string>{"id: must be a string"});
  EXPECT_EQ(parse_errors(R"({"pinned_cert_sha256": false})"),
            std::vector<std::string>{"pinned_cert_sha256: must be a string"});
  EXPECT_EQ(parse_errors(R"({"folder_transfer": "root"})"),
            std::vector<std::string>{"folder_transfer: must be an object"});
  EXPECT_EQ(parse_errors(R"({"folder_transfer": {"mode": "flat", "parent": 3}})"),
            (std::vector<std::string>{"folder_transfer.mode: must be one of root, subfolder",
                                      "folder_transfer.parent: must be a string"}));
}

TEST(RetrievalTaskJson, EveryWrongFieldIsReportedAtOnce) {
  EXPECT_EQ(parse_errors(R"({"username": [], "password": {}, "destination_folder": 1})"),
            (std::vector<std::string>{"username: must be a string", "password: must be a string",
                                      "destination_folder: must be a string"}));
}

TEST(RetrievalTaskJson, WholeNumbersWrittenWithAFractionAreAccepted) {
  const retrieval_task task = parsed(R"({"port": 995.0, "interval_minutes": 3e1})");
  EXPECT_EQ(task.port, 995);
  EXPECT_EQ(task.interval_minutes, 30);
}

TEST(RetrievalTaskJson, InvalidJsonTextGivesTheParserMessage) {
  const parse_result result = parse_retrieval_task(std::string_view(R"({"server": "h",)"));
  ASSERT_FALSE(result.ok());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].field, "");
  EXPECT_NE(result.errors[0].message.find("parse error at line 1, column 16"), std::string::npos)
      << result.errors[0].message;
  EXPECT_EQ(result.errors[0].message.find("[json.exception"), std::string::npos);

  for (const std::string_view text :
       {std::string_view(""), std::string_view("{"), std::string_view("{\"a\":\"\xff\"}"),
        std::string_view("{\"a\": 1e999}"), std::string_view("{\"a\":1}{")}) {
    const parse_result bad = parse_retrieval_task(text);
    ASSERT_FALSE(bad.ok()) << text;
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_EQ(bad.errors[0].field, "");
    EXPECT_FALSE(bad.errors[0].message.empty());
  }
}

TEST(RetrievalTaskJson, DocumentMustBeAnObject) {
  EXPECT_EQ(parse_errors("[]"), std::vector<std::string>{"must be a JSON object"});
  EXPECT_EQ(parse_errors("\"pop3\""), std::vector<std::string>{"must be a JSON object"});
  EXPECT_FALSE(parse_retrieval_task(json()).ok());
}

TEST(RetrievalTaskJson, HostileNestingIsRefusedWithoutRecursion) {
  // Deep enough to overflow a recursive copy or comparison on WASM's stack.
  const std::string deep = "{\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(parse_errors(deep), std::vector<std::string>{"nesting deeper than 32 levels"});

  std::string ok_depth = "{\"x\":" + std::string(30, '[') + std::string(30, ']') + "}";
  EXPECT_TRUE(parse_retrieval_task(std::string_view(ok_depth)).ok());
  std::string too_deep = "{\"x\":" + std::string(32, '[') + std::string(32, ']') + "}";
  EXPECT_FALSE(parse_retrieval_task(std::string_view(too_deep)).ok());

  // The same bound holds for a document built in memory by the caller.
  json nested = json::array();
  for (int i = 0; i < 40; ++i) nested = json::array({std::move(nested)});
  EXPECT_FALSE(parse_retrieval_task(json{{"x", nested}}).ok());
}

TEST(RetrievalTaskJson, OversizedTextIsRefusedBeforeParsing) {
  const std::string big = "{\"x\":\"" + std::string(300 * 1024, 'a') + "\"}";
  const std::vector<std::string> errors = parse_errors(big);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("the limit is 262144"), std::string::npos) << errors[0];
  parse_limits roomy;
  roomy.max_text_bytes = 1024 * 1024;
  EXPECT_TRUE(parse_retrieval_task(std::string_view(big), roomy).ok());
}

TEST(RetrievalTaskJson, EffectivePortForEveryTypeAndEncryption) {
  struct expectation {
    retrieval_type type;
    encryption mode;
    std::uint16_t port;
  };
  for (const expectation& e : {expectation{retrieval_type::pop3, encryption::ssl, 995},
                               expectation{retrieval_type::pop3, encryption::starttls, 110},
                               expectation{retrieval_type::pop3, encryption::none, 110},
                               expectation{retrieval_type::imap, encryption::ssl, 993},
                               expectation{retrieval_type::imap, encryption::starttls, 143},
                               expectation{retrieval_type::imap, encryption::none, 143}}) {
    retrieval_task task;
    task.type = e.type;
    task.encryption = e.mode;
    EXPECT_EQ(task.effective_port(), e.port) << to_string(e.type) << "+" << to_string(e.mode);
    task.port = 2110;
    EXPECT_EQ(task.effective_port(), 2110);
  }
}

TEST(RetrievalTaskJson, EnumNamesConvertBothWays) {
  for (const encryption value : {encryption::none, encryption::starttls, encryption::ssl}) {
    encryption back = encryption::none;
    ASSERT_TRUE(from_string(to_string(value), back));
    EXPECT_EQ(back, value);
  }
  for (const retrieval_type value : {retrieval_type::pop3, retrieval_type::imap}) {
    retrieval_type back = retrieval_type::pop3;
    ASSERT_TRUE(from_string(to_string(value), back));
    EXPECT_EQ(back, value);
  }
  for (const retrieval_method value : {retrieval_method::manual, retrieval_method::automatic}) {
    retrieval_method back = retrieval_method::manual;
    ASSERT_TRUE(from_string(to_string(value), back));
    EXPECT_EQ(back, value);
  }
  for (const folder_transfer_mode value :
       {folder_transfer_mode::root, folder_transfer_mode::subfolder}) {
    folder_transfer_mode back = folder_transfer_mode::root;
    ASSERT_TRUE(from_string(to_string(value), back));
    EXPECT_EQ(back, value);
  }
  encryption unchanged = encryption::starttls;
  EXPECT_FALSE(from_string("TLS", unchanged));
  EXPECT_FALSE(from_string("", unchanged));
  EXPECT_EQ(unchanged, encryption::starttls);
  EXPECT_EQ(to_string(encryption::starttls), "starttls");
  EXPECT_EQ(to_string(retrieval_method::automatic), "automatic");
}

TEST(RetrievalTaskJson, EqualityLooksAtEveryField) {
  const retrieval_task base = parsed(read_fixture("retrieval_task_imap.json"));
  retrieval_task other = base;
  EXPECT_EQ(other, base);
  other.folder_transfer.parent = "External/Home";
  EXPECT_NE(other, base);
  other = base;
  other.extra["new"] = 1;
  EXPECT_NE(other, base);
  other = base;
  other.pinned_cert_sha256 = std::string(64, '0');
  EXPECT_NE(other, base);
}

}  // namespace
}  // namespace junction::model
