#pragma once
// China GA 36-2018 plate grammar: which character sequences are plates, of which layout, and which
// background colours go with them. Used by the plate reader (a read that breaks the grammar is not
// a plate), by the synthetic plate generator and by camsim. Text is normalised (base/plate_text.h).
//
// Rules, from GA 36-2018 as summarised in ../shared/DOMAIN.md and public plate-recognition code:
// - a province character, then the issuing-authority letter, then the serial;
// - serial characters are digits and letters except I and O (read as 1 and 0); vigil applies the
//   same rule to the authority letter (京O-style plates of a few provinces are not read);
// - new-energy plates have 6 serial characters: small vehicles D or F then a letter or digit then
//   4 digits; large vehicles 5 digits then D or F;
// - special plates end in a suffix character: 挂 trailer and 学 coach (yellow), 警 police (white),
//   港 澳 Hong Kong/Macau and 领 consulate (black); embassy plates are 使 + 6 digits (black).

#include <optional>
#include <span>
#include <string_view>

#include "base/status.h"

namespace vigil::plate {

enum class Layout {
  kStandard,        // 云A12345: blue (small vehicle) or yellow (large vehicle)
  kSuffixed,        // 云A1234挂 / 学 / 警 / 港 / 澳 / 领
  kNewEnergySmall,  // 粤BD12345: green
  kNewEnergyLarge,  // 粤B12345D: yellow-green
  kEmbassy,         // 使014578: black
};
const char* LayoutName(Layout layout);

// Background colour names match index::PlateColor: blue, yellow, green, white, black.
enum class Background { kBlue, kYellow, kGreen, kWhite, kBlack };
const char* BackgroundName(Background background);

// Every character a plate can hold, in the reader's class order (provinces, letters without I and
// O, digits, suffixes). The recogniser's output classes are this list plus a CTC blank.
std::u32string_view PlateAlphabet();

inline constexpr std::u32string_view kSerialLetters = U"ABCDEFGHJKLMNPQRSTUVWXYZ";

// The layout of a normalised plate, or InvalidArgument naming the position and what was expected.
Result<Layout> CheckGrammar(std::u32string_view plate);

// Whether a plate of this text may have this background (警 is white, 8 characters green, ...).
bool BackgroundAllowed(std::u32string_view plate, Layout layout, Background background);

// The colour a plate's text implies when there is only one (警 → white, new-energy → green,
// 挂/学 → yellow, 港/澳/领/使 → black); nullopt for standard plates (blue or yellow).
std::optional<Background> ImpliedBackground(std::u32string_view plate, Layout layout);

// Whether a plate is also made in two rows (province and authority letter above, the serial below,
// 440 x 220 mm): the yellow rear plates of large vehicles and of 挂 trailers.
bool TwoRowsAllowed(std::u32string_view plate, Background background);

}  // namespace vigil::plate
