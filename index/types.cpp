#include "index/types.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "base/plate_text.h"

namespace vigil::index {
namespace {

constexpr std::string_view kColorNames[] = {"unknown", "blue", "yellow", "green", "white", "black"};
constexpr std::string_view kAlertStateNames[] = {"new", "acknowledged", "closed"};

}  // namespace

std::string_view PlateColorName(PlateColor color) {
  auto i = static_cast<size_t>(color);
  return i < std::size(kColorNames) ? kColorNames[i] : "unknown";
}

std::optional<PlateColor> ParsePlateColor(std::string_view name) {
  for (size_t i = 0; i < std::size(kColorNames); ++i) {
    if (kColorNames[i] == name) return static_cast<PlateColor>(i);
  }
  return std::nullopt;
}

std::string_view AlertStateName(AlertState state) {
  auto i = static_cast<size_t>(state);
  return i < std::size(kAlertStateNames) ? kAlertStateNames[i] : "unknown";
}

std::optional<AlertState> ParseAlertState(std::string_view name) {
  for (size_t i = 0; i < std::size(kAlertStateNames); ++i) {
    if (kAlertStateNames[i] == name) return static_cast<AlertState>(i);
  }
  if (name == "ack") return AlertState::kAcknowledged;
  return std::nullopt;
}

}  // namespace vigil::index

namespace vigil::index {

bool WatchMatches(const WatchEntry& entry, std::u32string_view plate, int64_t now_ns) {
  if (entry.expires_ns != 0 && now_ns >= entry.expires_ns) return false;
  switch (entry.match) {
    case PlateMatch::kExact:
      return plate::Normalize(entry.pattern) == plate;
    case PlateMatch::kFuzzy: {
      auto subs = plate::ConfusableSubstitutions(plate::Normalize(entry.pattern), plate);
      return subs && *subs <= entry.max_substitutions;
    }
    case PlateMatch::kWildcard: {
      auto pattern = plate::ParsePattern(entry.pattern);
      return pattern.ok() && plate::Matches(*pattern, plate);
    }
  }
  return false;
}

}  // namespace vigil::index

namespace vigil::index {

int64_t NearestRankPercentile(std::vector<int64_t>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // The smallest value with at least p % of the values at or below it: rank ceil(p/100 · n).
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

}  // namespace vigil::index
