#include <cmath>
#include "base/toml_reader.h"

#include <algorithm>
#include <cctype>

namespace vigil {

Result<int64_t> ParseByteSize(const std::string& text) {
  double value = 0;
  size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (...) {
    return Status::InvalidArgument(fmt::format("'{}' is not a size (e.g. 500GB, 2TiB)", text));
  }
  std::string unit = text.substr(used);
  unit.erase(std::remove_if(unit.begin(), unit.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }), unit.end());
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1},        {"B", 1},          {"KB", 1e3},         {"MB", 1e6},
      {"GB", 1e9},    {"TB", 1e12},      {"KIB", 1024.0},     {"MIB", 1048576.0},
      {"GIB", 1073741824.0}, {"TIB", 1099511627776.0}};
  if (!std::isfinite(value)) {
    return Status::InvalidArgument(fmt::format("'{}' is not a size (e.g. 500GB, 2TiB)", text));
  }
  for (auto [name, mult] : kUnits) {
    if (unit == name) {
      if (value < 0) return Status::InvalidArgument(fmt::format("'{}' is negative", text));
      // Beyond this a byte count overflows arithmetic on it (2^62 bytes: 4 EiB).
      if (value * mult > 4.6e18) {
        return Status::InvalidArgument(fmt::format("'{}' is too large (at most 4 EiB)", text));
      }
      return static_cast<int64_t>(value * mult);
    }
  }
  return Status::InvalidArgument(fmt::format("'{}': unknown unit '{}' (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", text, unit));
}

}  // namespace vigil
