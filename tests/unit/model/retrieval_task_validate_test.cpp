// Semantic checks of a retrieval task: what the user sees next to a field before saving.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/retrieval_task.h"

namespace junction::model {
namespace {

retrieval_task valid_pop3() {
  retrieval_task task;
  task.server = "mail.example.com";
  task.username = "jdoe@example.com";
  task.password = "secret";
  return task;
}

retrieval_task valid_imap() {
  retrieval_task task = valid_pop3();
  task.type = retrieval_type::imap;
  return task;
}

std::vector<std::string> problems(const retrieval_task& task) {
  std::vector<std::string> out;
  for (const field_error& error : validate(task)) out.push_back(to_string(error));
  return out;
}

std::vector<std::string> one(const std::string& text) {
  return {text};
}

TEST(RetrievalTaskValidate, ValidTasksHaveNoProblems) {
  EXPECT_TRUE(problems(valid_pop3()).empty());
  EXPECT_TRUE(problems(valid_imap()).empty());
}

TEST(RetrievalTaskValidate, EmptyTaskNamesEveryRequiredField) {
  EXPECT_EQ(problems(retrieval_task{}),
            (std::vector<std::string>{"server: is required", "username: is required",
                                      "password: is required"}));
}

TEST(RetrievalTaskValidate, ServerAcceptsHostNamesAndAddresses) {
  for (const char* server :
       {"mail.example.com", "localhost", "mail.example.com.", "a-b.c-d.example", "x1.example",
        "192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "[2001:db8::1]", "::1", "[::]",
        "::ffff:192.0.2.1", "[1:2:3:4:5:6:7:8]", "1:2:3:4:5:6:7::", "fe80::", "xn--bcher-kva.ch",
        "123.example"}) {
    retrieval_task task = valid_pop3();
    task.server = server;
    EXPECT_TRUE(problems(task).empty())
        << server << ": " << ::testing::PrintToString(problems(task));
  }
  retrieval_task task = valid_pop3();
  task.server = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                "." + std::string(61, 'd');  // 253 characters
  EXPECT_TRUE(problems(task).empty());
}

TEST(RetrievalTaskValidate, ServerRefusesWhatCannotBeAHost) {
  struct bad_server {
    std::string server;
    std::string message;
  };
  const std::vector<bad_server> cases = {
      {"mail example.com", "server: must not contain spaces or control characters"},
      {" mail.example.com", "server: must not contain spaces or control characters"},
      {"mail.example.com\r\n", "server: must not contain spaces or control characters"},
      {std::string("mail\0x", 6), "server: must not contain spaces or control characters"},
      {"mail.example.com:995", "server: must not include a port; use the port field"},
      {"m\xc3\xbcller.de", "server: use the ASCII form (xn--...) of an international domain name"},
      {"mail_server.example", "server: may hold only letters, digits, '-' and '.'"},
      {"http://mail.example.com", "server: must be a host name, not a URL"},
      {"mail..example.com", "server: part 2 of the name is empty"},
      {".example.com", "server: part 1 of the name is empty"},
      {"-mail.example.com", "server: part 1 of the name must not start or end with '-'"},
      {"mail-.example.com", "server: part 1 of the name must not start or end with '-'"},
      {std::string(64, 'a') + ".com", "server: part 1 of the name is longer than 63 characters"},
      {std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
           std::string(62, 'd'),
       "server: is longer than 253 characters"},
      {"999.1.1.1",
       "server: is not a valid IPv4 address (four numbers from 0 to 255, like "
       "192.0.2.1)"},
      {"127.1", "server: is not a valid IPv4 address (four numbers from 0 to 255, like 192.0.2.1)"},
      {"2130706433",
       "server: is not a valid IPv4 address (four numbers from 0 to 255, like 192.0.2.1)"},
      {"010.0.0.1",
       "server: is not a valid IPv4 address (four numbers from 0 to 255, like 192.0.2.1)"},
      {"1.2.3.4.5",
       "server: is not a valid IPv4 address (four numbers from 0 to 255, like 192.0.2.1)"},
      {"[2001:db8::1", "server: is not a valid IPv6 address"},
      {"[mail.example.com]", "server: is not a valid IPv6 address"},
      {"[]", "server: is not a valid IPv6 address"},
      {"1::2::3", "server: is not a valid IPv6 address"},
      {"1:2:3:4:5:6:7:8:9", "server: is not a valid IPv6 address"},
      {"1:2:3:4:5:6:7::8", "server: is not a valid IPv6 address"},
      {"12345::1", "server: is not a valid IPv6 address"},
      {":1:2:3:4:5:6:7", "server: is not a valid IPv6 address"},
      {"1:2:3:4:5:6:7:", "server: is not a valid IPv6 address"},
      {"fe80::1%eth0", "server: is not a valid IPv6 address"},
      {"::ffff:192.0.2.256", "server: is not a valid IPv6 address"},
      {"1:2:3:4:5:6:7:192.0.2.1", "server: is not a valid IPv6 address"},
  };
  for (const bad_server& c : cases) {
    retrieval_task task = valid_pop3();
    task.server = c.server;
    EXPECT_EQ(problems(task), one(c.message)) << c.server;
  }
}

TEST(RetrievalTaskValidate, UsernameRules) {
  retrieval_task task = valid_pop3();
  task.username = std::string(256, 'u');
  EXPECT_TRUE(problems(task).empty());
  task.username = std::string(257, 'u');
  EXPECT_EQ(problems(task), one("username: is 257 bytes long, the limit is 256"));
  for (const std::string& bad :
       {std::string("jdoe\r\nDELE 1"), std::string("jdoe\n"), std::string("jd\0oe", 5)}) {
    task.username = bad;
    EXPECT_EQ(problems(task), one("username: must not contain line breaks or NUL characters"));
  }
  task.username = "j\xc3\xb6rg";
  EXPECT_TRUE(problems(task).empty());
  task.username = "j\xf6rg";
  EXPECT_EQ(problems(task), one("username: invalid UTF-8 at byte 1"));
  task.username = "";
  EXPECT_EQ(problems(task), one("username: is required"));
}

TEST(RetrievalTaskValidate, PasswordRules) {
  retrieval_task task = valid_pop3();
  task.password = " spaces and \"quotes\" are fine ";
  EXPECT_TRUE(problems(task).empty());
  task.password = std::string(1024, 'p');
  EXPECT_TRUE(problems(task).empty());
  task.password = std::string(1025, 'p');
  EXPECT_EQ(problems(task), one("password: is 1025 bytes long, the limit is 1024"));
  task.password = "pass\rword";
  EXPECT_EQ(problems(task), one("password: must not contain line breaks or NUL characters"));
  task.password = std::string("pass\0word", 9);
  EXPECT_EQ(problems(task), one("password: must not contain line breaks or NUL characters"));
  task.password = "";
  EXPECT_EQ(problems(task), one("password: is required"));
}

TEST(RetrievalTaskValidate, IntervalIsAlwaysRangeChecked) {
  retrieval_task task = valid_pop3();
  for (const int minutes : {1, 10, 10080}) {
    task.interval_minutes = minutes;
    EXPECT_TRUE(problems(task).empty()) << minutes;
  }
  for (const retrieval_method method : {retrieval_method::manual, retrieval_method::automatic}) {
    task.method = method;
    for (const int minutes : {0, -5, 10081}) {
      task.interval_minutes = minutes;
      EXPECT_EQ(problems(task), one("interval_minutes: must be a whole number from 1 to 10080"))
          << minutes;
    }
  }
}

TEST(RetrievalTaskValidate, IntervalOutOfRangeParsesButDoesNotValidate) {
  const parse_result result =
      parse_retrieval_task(R"({"server":"h","username":"u","password":"p","interval_minutes":0})");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(problems(*result.task),
            one("interval_minutes: must be a whole number from 1 to 10080"));
}

TEST(RetrievalTaskValidate, DestinationFolderRulesForPop3) {
  retrieval_task task = valid_pop3();
  for (const char* folder : {"INBOX", "Archive/2024",
                             "Fr\xc3\xa9"
                             "d/\xe2\x9c\x89",
                             "a b/c.d", "...", ".hidden", "a/..b"}) {
    task.destination_folder = folder;
    EXPECT_TRUE(problems(task).empty()) << folder;
  }
  struct bad_folder {
    std::string folder;
    std::string message;
  };
  const std::vector<bad_folder> cases = {
      {"", "destination_folder: must not be empty"},
      {"/INBOX", "destination_folder: folder name 1 is empty (check for a doubled or outer '/')"},
      {"INBOX/", "destination_folder: folder name 2 is empty (check for a doubled or outer '/')"},
      {"a//b", "destination_folder: folder name 2 is empty (check for a doubled or outer '/')"},
      {"..", "destination_folder: folder name 1 is \"..\", which is not allowed"},
      {"a/../b", "destination_folder: folder name 2 is \"..\", which is not allowed"},
      {"a/.", "destination_folder: folder name 2 is \".\", which is not allowed"},
      {"In\tbox", "destination_folder: control character at byte 2"},
      {"In\x7f", "destination_folder: control character at byte 2"},
      {"In\xc2\x85", "destination_folder: control character at byte 2"},  // U+0085 (NEL)
      {std::string("a\0b", 3), "destination_folder: control character at byte 1"},
      {"a/\xff", "destination_folder: invalid UTF-8 at byte 2"},
      {"\xc0\xaf", "destination_folder: invalid UTF-8 at byte 0"},          // overlong '/'
      {"x\xed\xa0\x80", "destination_folder: invalid UTF-8 at byte 1"},     // surrogate
      {"\xf4\x90\x80\x80", "destination_folder: invalid UTF-8 at byte 0"},  // above U+10FFFF
      {"ab\xe2\x9c", "destination_folder: invalid UTF-8 at byte 2"},        // cut short
      {std::string(513, 'f'), "destination_folder: is 513 bytes long, the limit is 512"},
  };
  for (const bad_folder& c : cases) {
    task.destination_folder = c.folder;
    EXPECT_EQ(problems(task), one(c.message)) << c.folder;
  }
  task.destination_folder = std::string(512, 'f');
  EXPECT_TRUE(problems(task).empty());
}

TEST(RetrievalTaskValidate, Pop3OnlyFieldsAreIgnoredForImap) {
  retrieval_task task = valid_imap();
  task.destination_folder = "../nowhere";
  task.leave_on_server = true;
  EXPECT_TRUE(problems(task).empty());
}

TEST(RetrievalTaskValidate, ApopIsOnlyForPop3) {
  retrieval_task task = valid_pop3();
  task.apop = true;
  EXPECT_TRUE(problems(task).empty());
  task.type = retrieval_type::imap;
  EXPECT_EQ(problems(task), one("apop: only for POP3 tasks"));
}

TEST(RetrievalTaskValidate, SubfolderTransferNeedsAValidParent) {
  retrieval_task task = valid_imap();
  task.folder_transfer.mode = folder_transfer_mode::subfolder;
  EXPECT_EQ(problems(task), one("folder_transfer.parent: is required when mode is subfolder"));
  task.folder_transfer.parent = "External/Work";
  EXPECT_TRUE(problems(task).empty());
  task.folder_transfer.parent = "External//Work";
  EXPECT_EQ(problems(task), one("folder_transfer.parent: folder name 2 is empty (check for a "
                                "doubled or outer '/')"));
  task.folder_transfer.parent = "../Work";
  EXPECT_EQ(problems(task),
            one("folder_transfer.parent: folder name 1 is \"..\", which is not allowed"));
  // A parent is not looked at in root mode, nor for POP3 tasks.
  task.folder_transfer.mode = folder_transfer_mode::root;
  EXPECT_TRUE(problems(task).empty());
  task.type = retrieval_type::pop3;
  task.folder_transfer.mode = folder_transfer_mode::subfolder;
  task.folder_transfer.parent = "";
  EXPECT_TRUE(problems(task).empty());
}

TEST(RetrievalTaskValidate, PinnedCertificateIsEmptyOrSixtyFourHexDigits) {
  retrieval_task task = valid_pop3();
  task.pinned_cert_sha256 = "9F86D081884C7D659A2FEAA0C55AD015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  EXPECT_TRUE(problems(task).empty());
  task.pinned_cert_sha256 = std::string(63, 'a');
  EXPECT_EQ(problems(task),
            one("pinned_cert_sha256: must be 64 hex digits (a SHA-256 fingerprint) or empty"));
  task.pinned_cert_sha256 = std::string(63, 'a') + "g";
  EXPECT_EQ(problems(task),
            one("pinned_cert_sha256: must be 64 hex digits (a SHA-256 fingerprint) or empty"));
  task.pinned_cert_sha256 = std::string(65, 'a');
  EXPECT_EQ(problems(task),
            one("pinned_cert_sha256: must be 64 hex digits (a SHA-256 fingerprint) or empty"));
  task.pinned_cert_sha256 = "9F:86:D0:81";
  EXPECT_EQ(problems(task),
            one("pinned_cert_sha256: must be 64 hex digits without ':' separators"));
}

TEST(RetrievalTaskValidate, ProblemsInSeveralFieldsAreAllReported) {
  retrieval_task task = valid_imap();
  task.server = "bad host";
  task.interval_minutes = 0;
  task.apop = true;
  task.pinned_cert_sha256 = "xyz";
  EXPECT_EQ(
      problems(task),
      (std::vector<std::string>{
          "server: must not contain spaces or control characters",
          "interval_minutes: must be a whole number from 1 to 10080", "apop: only for POP3 tasks",
          "pinned_cert_sha256: must be 64 hex digits (a SHA-256 fingerprint) or empty"}));
}

TEST(FolderPath, HelperAgreesWithValidation) {
  EXPECT_TRUE(is_valid_folder_path("INBOX"));
  EXPECT_TRUE(is_valid_folder_path("External/Work"));
  EXPECT_FALSE(is_valid_folder_path(""));
  EXPECT_FALSE(is_valid_folder_path("a/"));
  EXPECT_FALSE(is_valid_folder_path("a/./b"));
  EXPECT_FALSE(is_valid_folder_path("a\nb"));
  EXPECT_FALSE(is_valid_folder_path("\xe2\x82"));
}

TEST(FieldError, RendersFieldAndMessage) {
  EXPECT_EQ(to_string(field_error{"folder_transfer.parent", "is required"}),
            "folder_transfer.parent: is required");
  EXPECT_EQ(to_string(field_error{"", "parse error"}), "parse error");
}

}  // namespace
}  // namespace junction::model
