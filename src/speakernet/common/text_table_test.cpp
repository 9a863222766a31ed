#include "speakernet/common/text_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(SplitWhitespace, CollapsesRunsAndTrims) {
  EXPECT_THAT(SplitWhitespace("  a\tb  c\r\n"), ElementsAre("a", "b", "c"));
  EXPECT_TRUE(SplitWhitespace(" \t ").empty());
  EXPECT_TRUE(SplitWhitespace("").empty());
}

TEST(ReadTextTable, ReadsKeysFieldsAndLineNumbers) {
  test::ScratchDir dir("text_table_read");
  WriteFile(dir / "t", "u1 a.wav\n\n  \nu2  sox x.wav -t wav - |\r\n");
  const auto lines = ReadTextTable(dir / "t", 1);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].key, "u1");
  EXPECT_THAT(lines[0].fields, ElementsAre("a.wav"));
  EXPECT_EQ(lines[0].line_no, 1);
  EXPECT_EQ(lines[1].key, "u2");
  EXPECT_THAT(lines[1].fields, ElementsAre("sox", "x.wav", "-t", "wav", "-", "|"));
  EXPECT_EQ(lines[1].line_no, 4);
}

TEST(ReadTextTable, FieldCountErrorsNameFileAndLine) {
  test::ScratchDir dir("text_table_errors");
  const std::string path = dir / "utt2spk";
  WriteFile(path, "u1 s1\nu2\n");
  try {
    ReadTextTable(path, 1, 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path + ":2"));
  }
  WriteFile(path, "u1 s1\n\nu2 s2 extra\n");
  try {
    ReadTextTable(path, 1, 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path + ":3"));
  }
  EXPECT_EQ(ReadTextTable(path, 0, -1).size(), 2u);
}

TEST(ReadTextTable, MissingFileNamesPath) {
  try {
    ReadTextTable("/nonexistent/dir/wav.scp", 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/dir/wav.scp"));
  }
}

}  // namespace
}  // namespace speakernet
