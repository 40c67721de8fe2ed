// Robustness over a corpus of real-world messages (odd charsets, 8-bit headers, broken MIME):
// tests/fixtures/mail-parser-eml, in the repository, so the test runs in every clone and a
// missing corpus is a failure, never a skip. JUNCTION_CORPUS names another folder of .eml
// files to run it over (native only: under WASM the environment is Emscripten's).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "mime_test_support.h"

namespace junction::mime::test {
namespace {

namespace fs = std::filesystem;

TEST(MimeCorpus, EveryRealWorldMessageYieldsAValidSummary) {
  const char* override_path = std::getenv("JUNCTION_CORPUS");
  const fs::path root = override_path != nullptr && *override_path != '\0'
                            ? fs::path(override_path)
                            : fs::path(JUNCTION_FIXTURES) / "mail-parser-eml";
  std::error_code ec;
  ASSERT_TRUE(fs::is_directory(root, ec)) << "corpus folder " << root << " is absent";
  std::size_t count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".eml") continue;
    SCOPED_TRACE(entry.path().string());
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    const std::string message = content.str();
    ++count;

    header_reader reader;
    reader.feed(message);
    reader.finish();
    EXPECT_TRUE(reader.done());
    EXPECT_FALSE(reader.error()) << reader.error().message;
    const message_summary& s = reader.summary();
    for (const std::string* field : {&s.message_id, &s.from, &s.to, &s.subject, &s.date}) {
      EXPECT_TRUE(is_utf8(*field)) << *field;
    }
    EXPECT_EQ(read_bytewise(message), render(reader));
  }
  ASSERT_FALSE(ec) << "reading " << root << ": " << ec.message();
  EXPECT_GT(count, 0u) << "no .eml files under " << root;
  // The copy in the repository is whole (tests/fixtures/mail-parser-eml/README.md).
  if (override_path == nullptr || *override_path == '\0') {
    EXPECT_EQ(count, 107u);
  }
}

}  // namespace
}  // namespace junction::mime::test
