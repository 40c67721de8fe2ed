// shared/schemas/retrieval_task.schema.json is what the web app checks a form against; it must
// say the same as the C++ model, or the page and the proxy disagree about what a task is.
#if defined(__GNUC__) && !defined(__clang__)
// g++ 12 with -fsanitize reports std::function inside <regex> as maybe uninitialized (a false
// positive in libstdc++'s regex compiler); the check runs late and attributes
// the warning to the header lines, so it has to be off before any header is read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "model/retrieval_task.h"

namespace junction::model {
namespace {

using nlohmann::json;

json load_schema() {
  const std::string path =
      std::string(JUNCTION_FIXTURES) + "/../../shared/schemas/retrieval_task.schema.json";
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return json::parse(text.str(), nullptr, false);
}

class RetrievalTaskSchema : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_ = load_schema();
    ASSERT_TRUE(schema_.is_object()) << "schema is not valid JSON";
    ASSERT_TRUE(schema_.contains("properties"));
    properties_ = schema_["properties"];
  }

  // A task with every optional field set, so that to_json writes every key.
  static json every_key() {
    retrieval_task task;
    task.id = "t1";
    task.port = 995;
    task.pinned_cert_sha256 = std::string(64, 'a');
    return to_json(task);
  }

  json schema_;
  json properties_;
};

TEST_F(RetrievalTaskSchema, IsDraft202012AndKeepsUnknownKeys) {
  EXPECT_EQ(schema_["$schema"], "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(schema_["type"], "object");
  EXPECT_EQ(schema_["additionalProperties"], true);
  EXPECT_EQ(properties_["folder_transfer"]["additionalProperties"], true);
}

TEST_F(RetrievalTaskSchema, DescribesExactlyTheFieldsTheModelWrites) {
  std::set<std::string> in_schema;
  for (const auto& [key, value] : properties_.items()) in_schema.insert(key);
  std::set<std::string> written;
  const json all = every_key();  // items() of a temporary would dangle
  for (const auto& [key, value] : all.items()) written.insert(key);
  EXPECT_EQ(in_schema, written);

  std::set<std::string> transfer_in_schema;
  for (const auto& [key, value] : properties_["folder_transfer"]["properties"].items()) {
    transfer_in_schema.insert(key);
  }
  EXPECT_EQ(transfer_in_schema, (std::set<std::string>{"mode", "parent"}));
}

TEST_F(RetrievalTaskSchema, DefaultsAreWhatAnEmptyTaskSerializesTo) {
  const json empty = to_json(retrieval_task{});
  int defaults_seen = 0;
  for (const auto& [key, property] : properties_.items()) {
    if (!property.contains("default")) continue;
    ++defaults_seen;
    ASSERT_TRUE(empty.contains(key)) << key << " has a default but an empty task omits it";
    EXPECT_EQ(property["default"], empty[key]) << key;
  }
  for (const auto& [key, property] : properties_["folder_transfer"]["properties"].items()) {
    ASSERT_TRUE(property.contains("default")) << "folder_transfer." << key;
    EXPECT_EQ(property["default"], empty["folder_transfer"][key]) << "folder_transfer." << key;
  }
  // Every field an empty task writes has a default in the schema, except those the user must
  // fill in (no default makes sense for them).
  const std::set<std::string> user_supplied{"server", "username", "password"};
  for (const auto& [key, value] : empty.items()) {
    if (user_supplied.count(key) != 0) continue;
    EXPECT_TRUE(properties_[key].contains("default")) << key << " has no default in the schema";
  }
  EXPECT_EQ(defaults_seen, 9);
}

TEST_F(RetrievalTaskSchema, EnumNamesMatchTheModel) {
  EXPECT_EQ(properties_["type"]["enum"],
            json::array({to_string(retrieval_type::pop3), to_string(retrieval_type::imap)}));
  EXPECT_EQ(properties_["encryption"]["enum"],
            json::array({to_string(encryption::none), to_string(encryption::starttls),
                         to_string(encryption::ssl)}));
  EXPECT_EQ(properties_["method"]["enum"], json::array({to_string(retrieval_method::manual),
                                                        to_string(retrieval_method::automatic)}));
  EXPECT_EQ(properties_["folder_transfer"]["properties"]["mode"]["enum"],
            json::array({to_string(folder_transfer_mode::root),
                         to_string(folder_transfer_mode::subfolder)}));
}

TEST_F(RetrievalTaskSchema, BoundsMatchTheModel) {
  EXPECT_EQ(properties_["port"]["minimum"], 0);
  EXPECT_EQ(properties_["port"]["maximum"], 65535);
  EXPECT_EQ(properties_["interval_minutes"]["minimum"], min_interval_minutes);
  EXPECT_EQ(properties_["interval_minutes"]["maximum"], max_interval_minutes);
  EXPECT_EQ(properties_["username"]["maxLength"], max_username_bytes);
  EXPECT_EQ(properties_["password"]["maxLength"], max_password_bytes);
  EXPECT_EQ(schema_["$defs"]["folder_path"]["maxLength"], max_folder_path_bytes);
  EXPECT_EQ(properties_["server"]["maxLength"], max_host_name_bytes + 1);  // trailing dot
}

// The schema's patterns are ECMAScript regular expressions, which std::regex also speaks.
TEST_F(RetrievalTaskSchema, ServerPatternAgreesWithValidation) {
  const std::regex pattern(properties_["server"]["pattern"].get<std::string>(),
                           std::regex::ECMAScript);
  for (const char* server : {"mail.example.com",
                             "localhost",
                             "mail.example.com.",
                             "x1.example",
                             "123.example",
                             "192.0.2.1",
                             "255.255.255.255",
                             "[2001:db8::1]",
                             "::1",
                             "2001:db8::1",
                             "999.1.1.1",
                             "127.1",
                             "2130706433",
                             "010.0.0.1",
                             "1.2.3.4.5",
                             "mail example.com",
                             "mail_x.example",
                             "mail.example.com:995",
                             "-a.example",
                             "a-.example",
                             "a..example",
                             ".example",
                             "http://mail.example.com",
                             "[mail.example.com]",
                             "[2001:db8::1"}) {
    const bool valid_in_core = host_problem(server).empty();
    EXPECT_EQ(std::regex_search(server, pattern), valid_in_core) << server;
  }
}

TEST_F(RetrievalTaskSchema, PinnedCertificatePatternAgreesWithValidation) {
  const std::regex pattern(properties_["pinned_cert_sha256"]["pattern"].get<std::string>(),
                           std::regex::ECMAScript);
  for (const std::string& pin :
       {std::string(), std::string(64, 'a'), std::string(64, 'F'), std::string(63, 'a'),
        std::string(65, 'a'), std::string(63, 'a') + "g", std::string("ab:cd")}) {
    retrieval_task task;
    task.server = "h";
    task.username = "u";
    task.password = "p";
    task.pinned_cert_sha256 = pin;
    EXPECT_EQ(std::regex_search(pin, pattern), validate(task).empty()) << pin;
  }
}

}  // namespace
}  // namespace junction::model
