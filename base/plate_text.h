#pragma once
// Plate text as vigil stores and searches it: China GA 36 plates written without the separator dot
// ("云A12345", "粤BD12345", "云A1234警"). Shared by the index (search) and analytics (reading).
//
// Confusable characters: an OCR reader, a witness or a dirty plate swaps characters that look alike.
// The table is explicit (kConfusableGroups) and tested; it is an equivalence relation, so every plate
// has a class key (each character replaced by its group's first member) and two plates differ only
// by confusable substitutions exactly when their class keys are equal. The index looks class keys up
// instead of scanning.

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace vigil::plate {

// Groups of characters read for one another. Sources: the DESIGN.md/issue list (0/D/Q/O, 8/B, 2/Z,
// 5/S, 1/I/L, 6/G) plus 7/T, 4/A and U/V, frequent in published Chinese LPR confusion matrices.
// Groups must stay disjoint.
inline constexpr std::array<std::u32string_view, 9> kConfusableGroups = {
    U"0DQO", U"1IL", U"2Z", U"4A", U"5S", U"6G", U"7T", U"8B", U"UV"};

// Province (and equivalent) characters that open a plate.
inline constexpr std::u32string_view kProvinces =
    U"京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
// Characters that close special plates: trailer, coach, police, embassy, consulate, HK, Macau.
inline constexpr std::u32string_view kSuffixes = U"挂学警使领港澳";

// Longest plate (new-energy: province, letter, six serial characters).
inline constexpr int kMaxPlateLength = 8;

std::u32string Decode(std::string_view utf8);  // invalid bytes become U+FFFD
std::string Encode(std::u32string_view text);

// Drops separators (· • . - _ space), folds full-width ASCII to ASCII and lowercase to uppercase.
// Keeps every other character, wildcards included.
std::u32string Normalize(std::string_view text);

// A character that may appear in a plate: province, A-Z, 0-9 or a suffix character.
bool IsPlateChar(char32_t c);

// The first member of c's confusable group, or c itself.
char32_t ClassOf(char32_t c);
// Class key of a normalised plate (UTF-8), used as the fuzzy-search index key.
std::string ClassKey(std::u32string_view plate);

// Positions where a and b differ, when they have equal length and every difference is a confusable
// pair; nullopt otherwise.
std::optional<int> ConfusableSubstitutions(std::u32string_view a, std::u32string_view b);

// A whole plate given to an exact or fuzzy search: normalised, 2..kMaxPlateLength plate characters.
// InvalidArgument names the offending character.
Result<std::u32string> ParsePlate(std::string_view text);

// A wildcard pattern: '?' is one character, '*' any run (also empty).
struct Pattern {
  std::u32string text;    // normalised, runs of '*' collapsed
  std::u32string prefix;  // literal characters before the first wildcard
  std::u32string suffix;  // literal characters after the last wildcard
  int literals = 0;       // non-wildcard characters
  int min_length = 0;     // shortest plate it can match
  bool has_star = false;
};

// Parses a wildcard pattern. InvalidArgument when it is empty, has a character no plate has, has
// more than kMaxPlateLength fixed positions, or fixes fewer than two characters (it would match
// nearly every plate: ask for a time range of reads instead).
Result<Pattern> ParsePattern(std::string_view text);

bool Matches(const Pattern& pattern, std::u32string_view plate);

}  // namespace vigil::plate
