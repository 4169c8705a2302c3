#include "base/plate_text.h"

#include <random>
#include <regex>

#include <doctest/doctest.h>

namespace vigil::plate {
namespace {

TEST_CASE("the confusable table is an explicit, disjoint set of groups") {
  // The pairs the issue names, and the extra ones documented in plate_text.h.
  const std::vector<std::pair<char32_t, char32_t>> confusable = {
      {U'0', U'D'}, {U'0', U'Q'}, {U'0', U'O'}, {U'D', U'Q'}, {U'8', U'B'}, {U'2', U'Z'},
      {U'5', U'S'}, {U'1', U'I'}, {U'1', U'L'}, {U'I', U'L'}, {U'6', U'G'}, {U'7', U'T'},
      {U'4', U'A'}, {U'U', U'V'}};
  for (auto [a, b] : confusable) {
    CAPTURE(Encode(std::u32string{a, U'/', b}));
    CHECK(ClassOf(a) == ClassOf(b));
  }
  const std::vector<std::pair<char32_t, char32_t>> distinct = {
      {U'0', U'8'}, {U'1', U'7'}, {U'B', U'D'}, {U'5', U'6'}, {U'2', U'S'}, {U'A', U'H'},
      {U'云', U'京'}, {U'M', U'N'}};
  for (auto [a, b] : distinct) {
    CAPTURE(Encode(std::u32string{a, U'/', b}));
    CHECK(ClassOf(a) != ClassOf(b));
  }
  // Disjoint: every character belongs to at most one group.
  std::u32string seen;
  for (auto g : kConfusableGroups) {
    for (char32_t c : g) {
      CHECK(seen.find(c) == std::u32string::npos);
      seen.push_back(c);
      CHECK(IsPlateChar(c));
    }
  }
}

TEST_CASE("plates are normalised: separators dropped, full-width and lowercase folded") {
  CHECK(Encode(Normalize("云A·12345")) == "云A12345");
  CHECK(Encode(Normalize(" 云a-123 45 ")) == "云A12345");
  CHECK(Encode(Normalize("京Ａ１２３４５")) == "京A12345");
  CHECK(Encode(Normalize("粤B•D1234?")) == "粤BD1234?");
  CHECK(Decode("\xff云") == std::u32string{U'\uFFFD', U'云'});
}

TEST_CASE("confusable substitutions count differing positions only when every one is confusable") {
  CHECK(ConfusableSubstitutions(U"云A12345", U"云A12345") == 0);
  CHECK(ConfusableSubstitutions(U"云A12345", U"云AI2345") == 1);
  CHECK(ConfusableSubstitutions(U"云A12345", U"云4I234S") == 3);
  CHECK_FALSE(ConfusableSubstitutions(U"云A12345", U"云A12346").has_value());
  CHECK_FALSE(ConfusableSubstitutions(U"云A12345", U"云A1234").has_value());
  CHECK(ClassKey(U"云AB0D5") == ClassKey(U"云48DQS"));
  CHECK(ClassKey(U"云AB0D5") != ClassKey(U"云AB0D6"));
}

TEST_CASE("bad plates and patterns are refused with the offending character named") {
  auto bad = ParsePlate("云A12#45");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == StatusCode::kInvalidArgument);
  CHECK(bad.error().message().find("'#'") != std::string::npos);
  CHECK_FALSE(ParsePlate("云A12?45").ok());  // wildcard in an exact plate
  CHECK_FALSE(ParsePlate("云").ok());
  CHECK_FALSE(ParsePlate("云A1234567").ok());
  CHECK(ParsePlate("云a·12345").ok());

  CHECK_FALSE(ParsePattern("").ok());
  CHECK_FALSE(ParsePattern("*").ok());
  CHECK_FALSE(ParsePattern("?*?").ok());
  CHECK_FALSE(ParsePattern("云*").ok());          // one literal: would match every 云 plate
  CHECK_FALSE(ParsePattern("云A1234567?").ok());  // too many fixed positions
  CHECK_FALSE(ParsePattern("云A%12").ok());
  auto p = ParsePattern("云A*12?45");
  REQUIRE(p.ok());
  CHECK(Encode(p->prefix) == "云A");
  CHECK(Encode(p->suffix) == "45");
  CHECK(p->has_star);
  CHECK(p->literals == 6);
  CHECK(Encode(ParsePattern("云A**1")->text) == "云A*1");
}

TEST_CASE("wildcard matching agrees with std::regex on thousands of random cases") {
  std::mt19937 rng(7);
  const std::u32string alphabet = U"云京A12B?*";
  auto pick = [&](const std::u32string& from) {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
  };
  int compared = 0;
  for (int i = 0; i < 5000; ++i) {
    std::u32string pat, plate;
    int pn = std::uniform_int_distribution(1, 7)(rng), sn = std::uniform_int_distribution(2, 8)(rng);
    for (int k = 0; k < pn; ++k) pat.push_back(pick(alphabet));
    for (int k = 0; k < sn; ++k) plate.push_back(pick(U"云京A12B"));
    auto parsed = ParsePattern(Encode(pat));
    if (!parsed.ok()) continue;
    std::string re;
    for (char32_t c : parsed->text) {
      re += c == U'?' ? "." : c == U'*' ? ".*" : Encode(std::u32string(1, c));
    }
    // Compare on a one-byte-per-character form so that '.' is one plate character.
    std::string re_ascii, plate_ascii;
    auto ascii = [](char32_t c) { return c == U'云' ? 'Y' : c == U'京' ? 'J' : static_cast<char>(c); };
    for (char32_t c : parsed->text) re_ascii += c == U'?' ? std::string(".") : c == U'*' ? std::string(".*") : std::string(1, ascii(c));
    for (char32_t c : plate) plate_ascii += ascii(c);
    bool expected = std::regex_match(plate_ascii, std::regex(re_ascii));
    CAPTURE(Encode(parsed->text));
    CAPTURE(Encode(plate));
    CHECK(Matches(*parsed, plate) == expected);
    ++compared;
  }
  CHECK(compared > 2000);
}

}  // namespace
}  // namespace vigil::plate
