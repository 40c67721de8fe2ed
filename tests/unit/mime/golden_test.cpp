// Golden fixtures: tests/fixtures/mime/<name>.eml with the expected summary in
// <name>.expected. Each is read with LF and with CRLF line ends, whole, split at every offset
// and byte at a time; all must give the expected summary. On a mismatch the actual summary
// is written to <name>.actual beside the fixture for review.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mime_test_support.h"

namespace junction::mime::test {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(JUNCTION_FIXTURES) / "mime";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kFixtures, ec)) {
    if (entry.path().extension() == ".eml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(MimeGolden, FixturesGiveTheExpectedSummaryHoweverTheyAreFed) {
  const std::vector<std::string> names = fixture_names();
  ASSERT_GE(names.size(), 15u) << "fixtures missing under " << kFixtures;
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string eml = read_file(kFixtures / (name + ".eml"));
    const std::string expected = read_file(kFixtures / (name + ".expected"));
    ASSERT_FALSE(expected.empty()) << name << ".expected is missing";
    const fs::path actual_path = kFixtures / (name + ".actual");
    bool all_match = true;
    for (const std::string& message : {to_lf(eml), to_crlf(eml)}) {
      const bool crlf = message.find("\r\n") != std::string::npos;
      SCOPED_TRACE(crlf ? "CRLF" : "LF");
      const std::string whole = read_whole(message);
      if (whole != expected) {
        all_match = false;
        std::ofstream(actual_path, std::ios::binary) << whole;
        ADD_FAILURE() << "summary differs from " << name << ".expected; actual written to "
                      << actual_path << "\n"
                      << whole;
        continue;
      }
      EXPECT_TRUE(is_utf8(whole));
      for (std::size_t at = 0; at <= message.size(); ++at) {
        const std::string split = read_split(message, at);
        if (split != whole) {
          all_match = false;
          ADD_FAILURE() << "split at byte " << at << " gives\n" << split;
          break;
        }
      }
      EXPECT_EQ(read_bytewise(message), whole);
    }
    if (all_match) fs::remove(actual_path);
  }
}

}  // namespace
}  // namespace junction::mime::test
