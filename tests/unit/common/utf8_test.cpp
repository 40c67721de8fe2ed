// utf8::sequence_length: the one well-formedness check the core and the proxy share.
#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace junction::utf8 {
namespace {

TEST(Utf8, AsciiIsOneByte) {
  EXPECT_EQ(sequence_length("a", 0), 1u);
  EXPECT_EQ(sequence_length(std::string_view("\0", 1), 0), 1u);
  EXPECT_EQ(sequence_length("a", 1), 0u);  // past the end
}

TEST(Utf8, WellFormedSequences) {
  EXPECT_EQ(sequence_length("\xc3\xa9", 0), 2u);          // é
  EXPECT_EQ(sequence_length("\xe2\x82\xac", 0), 3u);      // €
  EXPECT_EQ(sequence_length("\xf0\x9f\x98\x80", 0), 4u);  // U+1F600
  EXPECT_EQ(sequence_length("x\xc3\xa9", 1), 2u);
}

TEST(Utf8, IllFormedSequencesAreRefused) {
  EXPECT_EQ(sequence_length("\xc0\xaf", 0), 0u);          // overlong '/'
  EXPECT_EQ(sequence_length("\xe0\x80\xaf", 0), 0u);      // overlong, three bytes
  EXPECT_EQ(sequence_length("\xed\xa0\x80", 0), 0u);      // a surrogate
  EXPECT_EQ(sequence_length("\xf4\x90\x80\x80", 0), 0u);  // above U+10FFFF
  EXPECT_EQ(sequence_length("\x80", 0), 0u);              // a lone continuation byte
  EXPECT_EQ(sequence_length("\xe2\x82", 0), 0u);          // cut short
  EXPECT_EQ(sequence_length("\xc3\x41", 0), 0u);          // not a continuation
}

}  // namespace
}  // namespace junction::utf8
