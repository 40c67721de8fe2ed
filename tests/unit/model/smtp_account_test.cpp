// The SMTP account model: its JSON form (parse, to_json, unknown keys), its defaults, the
// checks that name the bad field, and agreement with shared/schemas/smtp_account.schema.json.
#if defined(__GNUC__) && !defined(__clang__)
// See retrieval_task_schema_test.cpp: a false positive of g++ 12 inside <regex>.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/smtp_account.h"

namespace junction::model {
namespace {

using nlohmann::json;

smtp_account valid_account() {
  smtp_account account;
  account.display_name = "Jane Doe";
  account.server = "smtp.example.com";
  account.port = 587;
  account.encryption = smtp_encryption::starttls;
  account.email = "jdoe@example.com";
  account.password = "secret";
  return account;
}

std::vector<std::string> problems(const smtp_account& account) {
  std::vector<std::string> out;
  for (const field_error& error : validate(account)) out.push_back(to_string(error));
  return out;
}

std::vector<std::string> parse_problems(const std::string& text) {
  std::vector<std::string> out;
  for (const field_error& error : parse_smtp_account(text).errors) out.push_back(to_string(error));
  return out;
}

// The fields of the errors, for checks that only care which field is named.
std::vector<std::string> fields_of(const std::vector<field_error>& errors) {
  std::vector<std::string> out;
  for (const field_error& error : errors) out.push_back(error.field);
  return out;
}

// ---- Defaults and enums ------------------------------------------------------------------

TEST(SmtpAccount, DefaultsFollowTheIssue) {
  const smtp_account account;
  EXPECT_EQ(account.port, 25);
  EXPECT_EQ(account.encryption, smtp_encryption::none);
  EXPECT_TRUE(account.auth);
  EXPECT_EQ(account.username, "");
  EXPECT_TRUE(account.extra.is_object());
  EXPECT_TRUE(account.extra.empty());
}

TEST(SmtpAccount, EffectiveUsernameFallsBackToTheEmail) {
  smtp_account account = valid_account();
  EXPECT_EQ(account.effective_username(), "jdoe@example.com");
  account.username = "jdoe";
  EXPECT_EQ(account.effective_username(), "jdoe");
}

TEST(SmtpAccount, DefaultPortsPerEncryption) {
  EXPECT_EQ(default_smtp_port(smtp_encryption::none), 25);
  EXPECT_EQ(default_smtp_port(smtp_encryption::starttls), 587);
  EXPECT_EQ(default_smtp_port(smtp_encryption::ssl), 465);
}

TEST(SmtpAccount, EncryptionNames) {
  for (const auto& [value, name] :
       std::vector<std::pair<smtp_encryption, std::string>>{{smtp_encryption::none, "none"},
                                                            {smtp_encryption::starttls, "starttls"},
                                                            {smtp_encryption::ssl, "ssl"}}) {
    EXPECT_EQ(to_string(value), name);
    smtp_encryption parsed = smtp_encryption::none;
    EXPECT_TRUE(from_string(name, parsed));
    EXPECT_EQ(parsed, value);
  }
  smtp_encryption out = smtp_encryption::ssl;
  for (const char* wrong : {"SSL", "tls", "", "starttls "}) {
    EXPECT_FALSE(from_string(wrong, out)) << wrong;
    EXPECT_EQ(out, smtp_encryption::ssl) << "unchanged on failure";
  }
}

// ---- Parsing -------------------------------------------------------------------------------

TEST(SmtpAccountParse, TheIssueExample) {
  const smtp_parse_result result = parse_smtp_account(
      R"({"display_name": "Jane Doe", "server": "smtp.example.com", "port": 587,
          "encryption": "starttls", "email": "jdoe@example.com", "auth": true,
          "username": "jdoe@example.com", "password": "secret"})");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(fields_of(result.errors));
  const smtp_account& account = *result.account;
  EXPECT_EQ(account.display_name, "Jane Doe");
  EXPECT_EQ(account.server, "smtp.example.com");
  EXPECT_EQ(account.port, 587);
  EXPECT_EQ(account.encryption, smtp_encryption::starttls);
  EXPECT_EQ(account.email, "jdoe@example.com");
  EXPECT_TRUE(account.auth);
  EXPECT_EQ(account.username, "jdoe@example.com");
  EXPECT_EQ(account.password, "secret");
  EXPECT_TRUE(account.extra.empty());
  EXPECT_TRUE(problems(account).empty());
}

TEST(SmtpAccountParse, OmittedFieldsTakeTheirDefaults) {
  const smtp_parse_result result =
      parse_smtp_account(R"({"server": "smtp.example.com", "email": "a@example.com"})");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.account->port, 25);
  EXPECT_EQ(result.account->encryption, smtp_encryption::none);
  EXPECT_TRUE(result.account->auth);
  EXPECT_EQ(result.account->username, "");
  EXPECT_EQ(result.account->effective_username(), "a@example.com");
  EXPECT_EQ(result.account->display_name, "");
  // Parses, but auth without a password is not a valid account.
  EXPECT_EQ(problems(*result.account), std::vector<std::string>{"password: is required"});
}

TEST(SmtpAccountParse, EveryFieldWithTheWrongTypeIsNamed) {
  const smtp_parse_result result = parse_smtp_account(
      R"({"id": 1, "display_name": false, "server": [], "port": "587", "encryption": "tls",
          "email": {}, "auth": "yes", "username": 2, "password": null,
          "pinned_cert_sha256": 3})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(fields_of(result.errors),
            (std::vector<std::string>{"id", "display_name", "server", "port", "encryption", "email",
                                      "auth", "username", "password", "pinned_cert_sha256"}));
  EXPECT_EQ(to_string(result.errors[3]), "port: must be a whole number from 1 to 65535");
  EXPECT_EQ(to_string(result.errors[4]), "encryption: must be one of none, starttls, ssl");
  EXPECT_EQ(to_string(result.errors[6]), "auth: must be true or false");
  EXPECT_EQ(to_string(result.errors[0]), "id: must be a string");
}

TEST(SmtpAccountParse, PortRange) {
  for (const char* port : {"1", "25", "465", "587", "65535", "587.0"}) {
    const smtp_parse_result result = parse_smtp_account(std::string(R"({"port": )") + port + "}");
    EXPECT_TRUE(result.ok()) << port;
  }
  for (const char* port : {"0", "-1", "65536", "587.5", "1e20", "true", "null"}) {
    EXPECT_EQ(parse_problems(std::string(R"({"port": )") + port + "}"),
              std::vector<std::string>{"port: must be a whole number from 1 to 65535"})
        << port;
  }
}

TEST(SmtpAccountParse, DocumentProblemsHaveNoField) {
  EXPECT_EQ(fields_of(parse_smtp_account("[1, 2]").errors), std::vector<std::string>{""});
  EXPECT_EQ(parse_problems("[1, 2]"), std::vector<std::string>{"must be a JSON object"});
  const smtp_parse_result broken = parse_smtp_account("{\"server\": ");
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_EQ(broken.errors[0].field, "");
  EXPECT_NE(broken.errors[0].message.find("parse error"), std::string::npos)
      << broken.errors[0].message;
  EXPECT_EQ(broken.errors[0].message.find("[json.exception"), std::string::npos);
}

TEST(SmtpAccountParse, LimitsOnTextSizeAndNesting) {
  parse_limits limits;
  limits.max_text_bytes = 100;
  const std::string big = R"({"server": ")" + std::string(200, 'a') + R"("})";
  const smtp_parse_result too_big = parse_smtp_account(big, limits);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.errors[0].message.find("the limit is 100"), std::string::npos);

  std::string deep = R"({"x": )";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  EXPECT_EQ(parse_problems(deep), std::vector<std::string>{"nesting deeper than 32 levels"});
  // The same limit for a document handed over already parsed.
  const smtp_parse_result parsed = parse_smtp_account(json::parse(deep));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.errors[0].message, "nesting deeper than 32 levels");
}

TEST(SmtpAccountParse, UnknownKeysAreKeptAndWrittenBack) {
  const smtp_parse_result result = parse_smtp_account(
      R"({"server": "smtp.example.com", "email": "a@example.com", "password": "p",
          "signature": "-- \nJane", "future": {"nested": [1, 2, {"x": null}]}})");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(
      result.account->extra,
      json::parse(R"({"signature": "-- \nJane", "future": {"nested": [1, 2, {"x": null}]}})"));
  const json out = to_json(*result.account);
  EXPECT_EQ(out["signature"], "-- \nJane");
  EXPECT_EQ(out["future"]["nested"][2]["x"], nullptr);
}

TEST(SmtpAccountParse, ExtraNeverOverridesAKnownField) {
  smtp_account account = valid_account();
  account.extra = json{{"password", "from extra"}, {"port", 1}, {"other", true}};
  const json without_secrets = to_json(account, false);
  EXPECT_FALSE(without_secrets.contains("password"));
  EXPECT_EQ(without_secrets["port"], 587);
  EXPECT_EQ(without_secrets["other"], true);
  EXPECT_EQ(to_json(account)["password"], "secret");
}

// ---- to_json and the round trip ----------------------------------------------------------

TEST(SmtpAccountJson, WritesTheShapeOfTheIssue) {
  smtp_account account = valid_account();
  account.username = "jdoe@example.com";
  EXPECT_EQ(to_json(account), json::parse(R"({"display_name": "Jane Doe",
      "server": "smtp.example.com", "port": 587, "encryption": "starttls",
      "email": "jdoe@example.com", "auth": true, "username": "jdoe@example.com",
      "password": "secret"})"));
}

TEST(SmtpAccountJson, IdAndPinOnlyWhenSetPasswordOnlyWithSecrets) {
  smtp_account account = valid_account();
  EXPECT_FALSE(to_json(account).contains("id"));
  EXPECT_FALSE(to_json(account).contains("pinned_cert_sha256"));
  account.id = "s1";
  account.pinned_cert_sha256 = std::string(64, 'a');
  const json out = to_json(account, false);
  EXPECT_EQ(out["id"], "s1");
  EXPECT_EQ(out["pinned_cert_sha256"], std::string(64, 'a'));
  EXPECT_FALSE(out.contains("password"));
  // An empty username stays empty: it keeps following the email address.
  EXPECT_EQ(out["username"], "");
}

TEST(SmtpAccountJson, RoundTrip) {
  std::vector<smtp_account> accounts{smtp_account{}, valid_account()};
  smtp_account full = valid_account();
  full.id = "smtp-7";
  full.display_name = "Jörg Müller, \"JM\"";
  full.server = "[2001:db8::25]";
  full.port = 465;
  full.encryption = smtp_encryption::ssl;
  full.email = "jörg@müller.example";
  full.auth = false;
  full.username = "joerg";
  full.password = "pä ss";
  full.pinned_cert_sha256 = std::string(32, 'A') + std::string(32, '0');
  full.extra = json{{"later", {{"a", 1}}}};
  accounts.push_back(full);
  for (const smtp_account& account : accounts) {
    const smtp_parse_result again = parse_smtp_account(to_json(account));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again.account, account) << to_json(account).dump();
    // Through the text as well, as the CLI and the API read it.
    const smtp_parse_result from_text = parse_smtp_account(to_json(account).dump());
    ASSERT_TRUE(from_text.ok());
    EXPECT_EQ(*from_text.account, account);
  }
}

// ---- validate ----------------------------------------------------------------------------

TEST(SmtpAccountValidate, ValidAccountsHaveNoProblems) {
  EXPECT_TRUE(problems(valid_account()).empty());
  smtp_account no_auth = valid_account();
  no_auth.auth = false;
  no_auth.password = "";
  EXPECT_TRUE(problems(no_auth).empty()) << "no password needed without auth";
  smtp_account no_name = valid_account();
  no_name.display_name = "";
  EXPECT_TRUE(problems(no_name).empty());
}

TEST(SmtpAccountValidate, EmptyAccountNamesEveryRequiredField) {
  EXPECT_EQ(problems(smtp_account{}),
            (std::vector<std::string>{"server: is required", "email: is required",
                                      "password: is required"}));
}

TEST(SmtpAccountValidate, ServerUsesTheSharedHostCheck) {
  smtp_account account = valid_account();
  for (const char* good : {"smtp.example.com", "192.0.2.25", "[2001:db8::1]", "localhost"}) {
    account.server = good;
    EXPECT_TRUE(problems(account).empty()) << good;
  }
  for (const char* bad :
       {"smtp.example.com:587", "smtp://x", "a b", "mäil.example", "-a.example", "010.1.1.1"}) {
    account.server = bad;
    const std::vector<field_error> errors = validate(account);
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0].field, "server");
    EXPECT_EQ(errors[0].message, host_problem(bad));
  }
}

TEST(SmtpAccountValidate, PortZeroOnlyFromCode) {
  smtp_account account = valid_account();
  account.port = 0;
  EXPECT_EQ(problems(account),
            std::vector<std::string>{"port: must be a whole number from 1 to 65535"});
}

TEST(SmtpAccountValidate, EmailAddresses) {
  smtp_account account = valid_account();
  for (const std::string& good : std::vector<std::string>{
           "a@b.example", "jdoe@example.com", "first.last+tag@sub.example.co.uk",
           "!#$%&'*+-/=?^_`{|}~@example.com", "user@localhost", "user@[192.0.2.1]",
           "user@[IPv6:2001:db8::1]", "jörg@example.de", "用户@例子.广告", "a@xn--bcher-kva.ch",
           std::string(64, 'l') + "@example.com",
           "a@" + std::string(63, 'b') + "." + std::string(63, 'c') + "." + std::string(63, 'd') +
               "." + std::string(59, 'e')}) {
    account.email = good;
    EXPECT_TRUE(problems(account).empty())
        << good << ": " << ::testing::PrintToString(problems(account));
  }
  const std::vector<std::pair<std::string, std::string>> bad{
      {"", "is required"},
      {"jdoe", "must look like name@example.com"},
      {"@example.com", "has nothing before '@'"},
      {"jdoe@", "has no domain after '@'"},
      {"j doe@example.com", "must not contain spaces or control characters"},
      {"jdoe@example.com\r\nRCPT TO:<x@y>", "must not contain spaces or control characters"},
      {"jdoe\n@example.com", "must not contain spaces or control characters"},
      {"<jdoe@example.com>", "the part before '@' must not contain '<'"},
      {"jdoe@example.com>", "the domain may hold only letters, digits, '-' and '.'"},
      {"a,b@example.com", "the part before '@' must not contain ','"},
      {"a@b@example.com", "the part before '@' must not contain '@'"},
      {"\"a b\"@example.com", "must not contain spaces or control characters"},
      {"\"ab\"@example.com", "quoted names before '@' are not supported"},
      {".a@example.com", "the part before '@' must not start or end with '.' or hold \"..\""},
      {"a.@example.com", "the part before '@' must not start or end with '.' or hold \"..\""},
      {"a..b@example.com", "the part before '@' must not start or end with '.' or hold \"..\""},
      {std::string(65, 'l') + "@example.com", "the part before '@' is longer than 64 bytes"},
      {"a@" + std::string(253, 'b'), "is 255 bytes long, the limit is 254"},
      {"a@example.com.", "the domain must not end with '.'"},
      {"a@192.0.2.1", "write an IP address after '@' in brackets, like [192.0.2.1]"},
      {"a@[192.0.2.256]", "the address literal after '@' is not an IPv4 or [IPv6:...] address"},
      {"a@[2001:db8::1]", "the address literal after '@' is not an IPv4 or [IPv6:...] address"},
      {"a@[192.0.2.1", "the address literal after '@' must end with ']'"},
      {"a@-x.example", "the domain part 1 of the name must not start or end with '-'"},
      {"a@x..example", "the domain part 2 of the name is empty"},
      {"a@ex_ample.com", "the domain may hold only letters, digits, '-' and '.'"},
      {"a@bü..example", "the domain has an empty part"},
      {"a@bü_x.example", "the domain may hold only letters, digits, '-' and '.'"},
      {"a@-bü.example", "a part of the domain must not start or end with '-'"},
      {"a@bü." + std::string(64, 'x'), "a part of the domain is longer than 63 bytes"},
      {"j\xC3@example.com", "invalid UTF-8 at byte 1"},
      {"a@b\x7f.example", "must not contain spaces or control characters"},
      {"a@b\xC2\x85.example", "must not contain spaces or control characters"},
  };
  for (const auto& [address, message] : bad) {
    account.email = address;
    EXPECT_EQ(problems(account), std::vector<std::string>{"email: " + message}) << address;
    EXPECT_EQ(email_address_problem(address), message);
    EXPECT_FALSE(is_valid_email_address(address));
  }
}

TEST(SmtpAccountValidate, DisplayName) {
  smtp_account account = valid_account();
  for (const char* good : {"", "Jane Doe", "Doe, Jane \"JD\"", "Jörg Müller", "山田太郎"}) {
    account.display_name = good;
    EXPECT_TRUE(problems(account).empty()) << good;
  }
  account.display_name = "Jane\r\nBcc: x@y.example";
  EXPECT_EQ(
      problems(account),
      std::vector<std::string>{"display_name: must not contain control characters or line breaks"});
  account.display_name = "Jane\tDoe";
  EXPECT_EQ(fields_of(validate(account)), std::vector<std::string>{"display_name"});
  account.display_name = "J\xFF";
  EXPECT_EQ(problems(account), std::vector<std::string>{"display_name: invalid UTF-8 at byte 1"});
  account.display_name = std::string(257, 'x');
  EXPECT_EQ(problems(account),
            std::vector<std::string>{"display_name: is 257 bytes long, the limit is 256"});
  account.display_name = std::string(256, 'x');
  EXPECT_TRUE(problems(account).empty());
}

TEST(SmtpAccountValidate, Credentials) {
  smtp_account account = valid_account();
  account.password = "";
  EXPECT_EQ(problems(account), std::vector<std::string>{"password: is required"});
  account.password = "a\nb";
  EXPECT_EQ(problems(account),
            std::vector<std::string>{"password: must not contain line breaks or NUL characters"});
  account.password = std::string("a\0b", 3);
  EXPECT_EQ(fields_of(validate(account)), std::vector<std::string>{"password"});
  account.password = std::string(1025, 'p');
  EXPECT_EQ(problems(account),
            std::vector<std::string>{"password: is 1025 bytes long, the limit is 1024"});
  account.password = std::string(1024, 'p');
  EXPECT_TRUE(problems(account).empty());

  account.username = "user\r\nAUTH";
  EXPECT_EQ(problems(account),
            std::vector<std::string>{"username: must not contain line breaks or NUL characters"});
  account.username = std::string(257, 'u');
  EXPECT_EQ(problems(account),
            std::vector<std::string>{"username: is 257 bytes long, the limit is 256"});
  account.username = "\xC0\x80";
  EXPECT_EQ(problems(account), std::vector<std::string>{"username: invalid UTF-8 at byte 0"});
  // Without auth they are not required, but a value given is still checked.
  account = valid_account();
  account.auth = false;
  account.password = "bad\r";
  EXPECT_EQ(fields_of(validate(account)), std::vector<std::string>{"password"});
}

TEST(SmtpAccountValidate, PinnedCertificate) {
  smtp_account account = valid_account();
  account.pinned_cert_sha256 = std::string(64, 'f');
  EXPECT_TRUE(problems(account).empty());
  account.pinned_cert_sha256 = "AB:CD";
  EXPECT_EQ(
      problems(account),
      std::vector<std::string>{"pinned_cert_sha256: must be 64 hex digits without ':' separators"});
  account.pinned_cert_sha256 = std::string(63, 'f') + "g";
  EXPECT_EQ(problems(account),
            std::vector<std::string>{
                "pinned_cert_sha256: must be 64 hex digits (a SHA-256 fingerprint) or empty"});
}

TEST(SmtpAccountValidate, ReportsEveryProblemAtOnce) {
  smtp_account account;
  account.display_name = "a\nb";
  account.server = "bad host";
  account.port = 0;
  account.email = "nope";
  account.username = "u\n";
  account.pinned_cert_sha256 = "x";
  EXPECT_EQ(fields_of(validate(account)),
            (std::vector<std::string>{"display_name", "server", "port", "email", "username",
                                      "password", "pinned_cert_sha256"}));
}

// ---- The schema --------------------------------------------------------------------------

json load_schema() {
  const std::string path =
      std::string(JUNCTION_FIXTURES) + "/../../shared/schemas/smtp_account.schema.json";
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return json::parse(text.str(), nullptr, false);
}

TEST(SmtpAccountSchema, DescribesTheFieldsDefaultsAndEnumsOfTheModel) {
  const json schema = load_schema();
  ASSERT_TRUE(schema.is_object()) << "schema is not valid JSON";
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(schema["additionalProperties"], true);
  smtp_account full = valid_account();
  full.id = "x";
  full.pinned_cert_sha256 = std::string(64, 'a');
  std::set<std::string> written;
  // A named object: items() of a temporary would outlive it.
  const json full_json = to_json(full);
  for (const auto& [key, value] : full_json.items()) written.insert(key);
  std::set<std::string> described;
  for (const auto& [key, value] : schema["properties"].items()) described.insert(key);
  EXPECT_EQ(written, described);

  const json defaults = to_json(smtp_account{});
  for (const auto& [key, property] : schema["properties"].items()) {
    if (property.contains("default")) {
      EXPECT_EQ(property["default"], defaults[key]) << key;
    }
  }
  json names = json::array();
  for (const auto value :
       {smtp_encryption::none, smtp_encryption::starttls, smtp_encryption::ssl}) {
    names.push_back(to_string(value));
  }
  EXPECT_EQ(schema["properties"]["encryption"]["enum"], names);
  EXPECT_EQ(schema["properties"]["port"]["minimum"], 1);
  EXPECT_EQ(schema["properties"]["port"]["maximum"], 65535);
  EXPECT_EQ(schema["properties"]["display_name"]["maxLength"], max_display_name_bytes);
  EXPECT_EQ(schema["properties"]["email"]["maxLength"], max_email_bytes);
  EXPECT_EQ(schema["properties"]["username"]["maxLength"], max_username_bytes);
  EXPECT_EQ(schema["properties"]["password"]["maxLength"], max_password_bytes);
}

TEST(SmtpAccountSchema, EmailPatternIsLooserThanTheModelNeverStricter) {
  const json schema = load_schema();
  ASSERT_TRUE(schema.is_object());
  // ASCII samples only: std::regex works on bytes, the schema's pattern on characters.
  // std::regex's char ranges are signed, so the C1 range (irrelevant to ASCII) is cut back to
  // DEL before compiling it here.
  std::string text = schema["properties"]["email"]["pattern"].get<std::string>();
  const std::string c1 = "\\u007F-\\u009F";
  for (std::size_t at = text.find(c1); at != std::string::npos; at = text.find(c1)) {
    text.replace(at, c1.size(), "\\u007F");
  }
  const std::regex pattern(text, std::regex::ECMAScript);
  for (const char* good : {"a@b.example", "first.last+tag@sub.example.co.uk", "user@[192.0.2.1]",
                           "user@[IPv6:2001:db8::1]", "!#$%&'*+-/=?^_`{|}~@example.com"}) {
    EXPECT_TRUE(is_valid_email_address(good)) << good;
    EXPECT_TRUE(std::regex_match(std::string(good), pattern)) << good;
  }
  for (const char* bad : {"jdoe", "a b@example.com", "<a@example.com>", "a@b@example.com",
                          "a@example.com\r\n", "@example.com", "a@"}) {
    EXPECT_FALSE(is_valid_email_address(bad)) << bad;
    EXPECT_FALSE(std::regex_match(std::string(bad), pattern)) << bad;
  }
}

}  // namespace
}  // namespace junction::model
