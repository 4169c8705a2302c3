#include "base/plate_text.h"

#include <fmt/format.h>

namespace vigil::plate {

std::u32string Decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + static_cast<size_t>(len) > s.size()) {
      out.push_back(U'\uFFFD');
      ++i;
      continue;
    }
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      auto cb = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((cb & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      c = (c << 6) | (cb & 0x3F);
    }
    if (!ok) {
      out.push_back(U'\uFFFD');
      ++i;
      continue;
    }
    out.push_back(c);
    i += static_cast<size_t>(len);
  }
  return out;
}

std::string Encode(std::u32string_view text) {
  std::string out;
  out.reserve(text.size() * 3);
  for (char32_t c : text) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::u32string Normalize(std::string_view text) {
  std::u32string out;
  for (char32_t c : Decode(text)) {
    if (c >= 0xFF01 && c <= 0xFF5E) c = c - 0xFF01 + 0x21;  // full-width ASCII
    if (c >= U'a' && c <= U'z') c = c - U'a' + U'A';
    if (c == U'·' || c == U'•' || c == U'・' || c == U'.' || c == U'-' || c == U'_' ||
        c == U' ' || c == U'\u3000' || c == U'\t') {
      continue;
    }
    out.push_back(c);
  }
  return out;
}

bool IsPlateChar(char32_t c) {
  return (c >= U'A' && c <= U'Z') || (c >= U'0' && c <= U'9') ||
         kProvinces.find(c) != std::u32string_view::npos ||
         kSuffixes.find(c) != std::u32string_view::npos;
}

char32_t ClassOf(char32_t c) {
  for (auto group : kConfusableGroups) {
    if (group.find(c) != std::u32string_view::npos) return group.front();
  }
  return c;
}

std::string ClassKey(std::u32string_view plate) {
  std::u32string key(plate);
  for (char32_t& c : key) c = ClassOf(c);
  return Encode(key);
}

std::optional<int> ConfusableSubstitutions(std::u32string_view a, std::u32string_view b) {
  if (a.size() != b.size()) return std::nullopt;
  int subs = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (ClassOf(a[i]) != ClassOf(b[i])) return std::nullopt;
    ++subs;
  }
  return subs;
}

namespace {

Status BadChar(std::string_view what, std::string_view text, char32_t c) {
  if (c == U'?' || c == U'*') {
    return Status::InvalidArgument(fmt::format(
        "{} '{}' has a wildcard '{}': use a wildcard search for ? and *", what, text,
        Encode(std::u32string(1, c))));
  }
  return Status::InvalidArgument(
      fmt::format("{} '{}' has '{}', which no plate has (provinces, A-Z, 0-9, {})", what, text,
                  Encode(std::u32string(1, c)), Encode(kSuffixes)));
}

}  // namespace

Result<std::u32string> ParsePlate(std::string_view text) {
  std::u32string p = Normalize(text);
  for (char32_t c : p) {
    if (!IsPlateChar(c)) return BadChar("plate", text, c);
  }
  if (p.size() < 2 || p.size() > static_cast<size_t>(kMaxPlateLength)) {
    return Status::InvalidArgument(fmt::format(
        "plate '{}' has {} characters; plates have 2 to {}", text, p.size(), kMaxPlateLength));
  }
  return p;
}

Result<Pattern> ParsePattern(std::string_view text) {
  Pattern p;
  for (char32_t c : Normalize(text)) {
    if (c == U'*') {
      if (!p.text.empty() && p.text.back() == U'*') continue;
      p.has_star = true;
    } else if (c == U'?') {
      ++p.min_length;
    } else if (IsPlateChar(c)) {
      ++p.literals;
      ++p.min_length;
    } else {
      return BadChar("plate pattern", text, c);
    }
    p.text.push_back(c);
  }
  if (p.text.empty()) return Status::InvalidArgument("plate pattern is empty");
  if (p.min_length > kMaxPlateLength) {
    return Status::InvalidArgument(fmt::format(
        "plate pattern '{}' fixes {} characters; plates have at most {}", text, p.min_length,
        kMaxPlateLength));
  }
  if (p.literals < 2) {
    return Status::InvalidArgument(fmt::format(
        "plate pattern '{}' gives {} plate character(s); give at least 2 (it would match nearly "
        "every plate)",
        text, p.literals));
  }
  size_t first = p.text.find_first_of(U"?*");
  size_t last = p.text.find_last_of(U"?*");
  if (first == std::u32string::npos) {
    p.prefix = p.text;
    p.suffix = p.text;
  } else {
    p.prefix = p.text.substr(0, first);
    p.suffix = p.text.substr(last + 1);
  }
  return p;
}

bool Matches(const Pattern& pattern, std::u32string_view s) {
  // Iterative glob with single-star backtracking: linear for one '*', O(n*m) at worst.
  const std::u32string& p = pattern.text;
  size_t pi = 0, si = 0, star = std::u32string::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == U'?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == U'*') {
      star = pi++;
      mark = si;
    } else if (star != std::u32string::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == U'*') ++pi;
  return pi == p.size();
}

}  // namespace vigil::plate
