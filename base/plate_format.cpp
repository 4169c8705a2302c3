#include "base/plate_format.h"

#include <fmt/format.h>

#include "base/plate_text.h"

namespace vigil::plate {
namespace {

constexpr std::u32string_view kAlphabet =
    U"京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
    U"ABCDEFGHJKLMNPQRSTUVWXYZ"
    U"0123456789"
    U"挂学警使领港澳";

bool IsProvince(char32_t c) { return kProvinces.find(c) != std::u32string_view::npos; }
bool IsLetter(char32_t c) { return kSerialLetters.find(c) != std::u32string_view::npos; }
bool IsDigit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool IsSerial(char32_t c) { return IsLetter(c) || IsDigit(c); }

Status Bad(std::u32string_view plate, size_t pos, std::string_view expected) {
  std::string got = pos < plate.size() ? Encode(plate.substr(pos, 1)) : "the end";
  return Status::InvalidArgument(fmt::format("plate '{}': character {} is '{}', expected {}",
                                             Encode(plate), pos + 1, got, expected));
}

}  // namespace

const char* LayoutName(Layout layout) {
  switch (layout) {
    case Layout::kStandard: return "standard";
    case Layout::kSuffixed: return "suffixed";
    case Layout::kNewEnergySmall: return "new_energy_small";
    case Layout::kNewEnergyLarge: return "new_energy_large";
    case Layout::kEmbassy: return "embassy";
  }
  return "?";
}

const char* BackgroundName(Background background) {
  switch (background) {
    case Background::kBlue: return "blue";
    case Background::kYellow: return "yellow";
    case Background::kGreen: return "green";
    case Background::kWhite: return "white";
    case Background::kBlack: return "black";
  }
  return "?";
}

std::u32string_view PlateAlphabet() { return kAlphabet; }

Result<Layout> CheckGrammar(std::u32string_view p) {
  if (!p.empty() && p[0] == U'使') {
    if (p.size() != 7) {
      return Status::InvalidArgument(
          fmt::format("plate '{}': embassy plates are 使 and 6 digits", Encode(p)));
    }
    for (size_t i = 1; i < 7; ++i) {
      if (!IsDigit(p[i])) return Bad(p, i, "a digit");
    }
    return Layout::kEmbassy;
  }
  if (p.size() != 7 && p.size() != 8) {
    return Status::InvalidArgument(
        fmt::format("plate '{}' has {} characters; plates have 7 (8 for new-energy)", Encode(p),
                    p.size()));
  }
  if (p.empty() || !IsProvince(p[0])) return Bad(p, 0, "a province character");
  if (!IsLetter(p[1])) return Bad(p, 1, "an issuing-authority letter (A-Z without I, O)");
  if (p.size() == 8) {
    // New energy: D/F first (small) or last (large).
    if (p[2] == U'D' || p[2] == U'F') {
      if (!IsSerial(p[3])) return Bad(p, 3, "a letter or digit");
      for (size_t i = 4; i < 8; ++i) {
        if (!IsDigit(p[i])) return Bad(p, i, "a digit (new-energy small vehicle)");
      }
      return Layout::kNewEnergySmall;
    }
    for (size_t i = 2; i < 7; ++i) {
      if (!IsDigit(p[i])) return Bad(p, i, "a digit, or D/F first (new-energy)");
    }
    if (p[7] != U'D' && p[7] != U'F') return Bad(p, 7, "D or F (new-energy large vehicle)");
    return Layout::kNewEnergyLarge;
  }
  for (size_t i = 2; i < 6; ++i) {
    if (!IsSerial(p[i])) return Bad(p, i, "a serial letter or digit (no I or O)");
  }
  if (IsSerial(p[6])) return Layout::kStandard;
  if (kSuffixes.find(p[6]) != std::u32string_view::npos && p[6] != U'使') return Layout::kSuffixed;
  return Bad(p, 6, "a serial character or one of 挂学警港澳领");
}

std::optional<Background> ImpliedBackground(std::u32string_view p, Layout layout) {
  switch (layout) {
    case Layout::kStandard: return std::nullopt;
    case Layout::kNewEnergySmall:
    case Layout::kNewEnergyLarge: return Background::kGreen;
    case Layout::kEmbassy: return Background::kBlack;
    case Layout::kSuffixed:
      switch (p.back()) {
        case U'挂':
        case U'学': return Background::kYellow;
        case U'警': return Background::kWhite;
        default: return Background::kBlack;
      }
  }
  return std::nullopt;
}

bool BackgroundAllowed(std::u32string_view p, Layout layout, Background background) {
  auto implied = ImpliedBackground(p, layout);
  if (implied) return *implied == background;
  return background == Background::kBlue || background == Background::kYellow;
}

bool TwoRowsAllowed(std::u32string_view plate, Background background) {
  auto layout = CheckGrammar(plate);
  if (!layout.ok() || background != Background::kYellow) return false;
  return *layout == Layout::kStandard || (*layout == Layout::kSuffixed && plate.back() == U'挂');
}

}  // namespace vigil::plate
