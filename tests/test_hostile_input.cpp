// Hostile bytes in what users give: UTF-8 validation, CSV headers that are not UTF-8, and output names that are
// not UTF-8 (the metadata still gets written). Each ends in exit 0 or one located message with exit 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_support.hpp"
#include "hessa/detail/utf8.hpp"
#include "hessa/errors.hpp"

namespace hessa {
namespace {

using detail::first_invalid_utf8;

TEST(Utf8, AcceptsWellFormedTextAndFindsTheFirstBadByte) {
  EXPECT_EQ(first_invalid_utf8(""), 0u);
  EXPECT_EQ(first_invalid_utf8("x,y"), 3u);
  const std::string good = "\xCE\xB1,\xE2\x82\xAC,\xF0\x9F\x98\x80";  // alpha, euro, an emoji
  EXPECT_EQ(first_invalid_utf8(good), good.size());
  EXPECT_EQ(first_invalid_utf8("ab\xFFz"), 2u);           // never valid
  EXPECT_EQ(first_invalid_utf8("a\xC0\xAF"), 1u);         // overlong '/'
  EXPECT_EQ(first_invalid_utf8("a\xE0\x80\xAF"), 2u);     // overlong, three bytes: its second byte
  EXPECT_EQ(first_invalid_utf8("\xED\xA0\x80"), 1u);      // a UTF-16 surrogate
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 1u);  // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("ok\xE2\x82"), 2u);        // cut short
  EXPECT_EQ(first_invalid_utf8("\xCE\xB1\x80"), 2u);      // a stray continuation byte
}

TEST(LocatedMessage, AHugeLineIsShownAsAWindowAroundTheColumnWithTheCaretUnderIt) {
  std::string line(100000, 'a');
  line[50000] = '*';
  const std::string m = format_located_message("e.txt", 1, 50001, "unexpected '*'", line);
  EXPECT_LT(m.size(), 400u) << "the whole line was echoed";
  const std::size_t first_break = m.find('\n');
  const std::size_t second_break = m.find('\n', first_break + 1);
  const std::string shown = m.substr(first_break + 1, second_break - first_break - 1);
  const std::string caret = m.substr(second_break + 1);
  ASSERT_EQ(caret.back(), '^');
  EXPECT_EQ(shown[caret.size() - 1], '*') << "the caret is not under the column";
  EXPECT_EQ(shown.substr(0, 5), "  ...");
  EXPECT_EQ(shown.substr(shown.size() - 3), "...");
  // Short lines are shown whole; a column past the end points just after it; no window splits UTF-8.
  EXPECT_EQ(format_located_message("f", 2, 3, "m", "x +* y"), "f:2:3: m\n  x +* y\n    ^");
  EXPECT_EQ(format_located_message("f", 1, 99, "m", "ab"), "f:1:99: m\n  ab\n    ^");
  const std::string greek = std::string(70, 'x') + std::string(100, 'y') + "\xCE\xB1\xCE\xB1\xCE\xB1";
  EXPECT_EQ(first_invalid_utf8(format_located_message("f", 1, 112, "m", greek)),
            format_located_message("f", 1, 112, "m", greek).size());
}

class HostileInput : public test::ScratchDirTest {};

TEST_F(HostileInput, ACsvHeaderThatIsNotUtf8IsALocatedErrorNotAnInternalOne) {
  const std::string points = write("h.csv", "x,\xFFy\n1,2\n");
  const test::CliRun r =
      test::run_hessa("analyze --function \"x^2\" --points " + points + " --out " + path("o.csv") + " --backend cpu");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("h.csv:1:3: the header is not valid UTF-8 (byte 0xFF)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(path("o.csv")));
}

TEST_F(HostileInput, AFileNameThatIsNotUtf8StillGetsItsMetadata) {
  const std::string points = write("p\xFF.csv", "1,2\n");
  const test::CliRun r = test::run_hessa("analyze --function himmelblau --points '" + points + "' --out " +
                                         path("o.csv") + " --backend cpu --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream meta(path("o.csv.meta.json"));
  const std::string text((std::istreambuf_iterator<char>(meta)), {});
  EXPECT_NE(text.find("p\xEF\xBF\xBD.csv"), std::string::npos) << "the bad byte becomes U+FFFD";
}

}  // namespace
}  // namespace hessa
