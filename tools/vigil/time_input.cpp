#include "tools/vigil/time_input.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "base/clock.h"

namespace vigil::cli {
namespace {

std::tm Parts(int y, int mo, int d, int h, int mi, int s) {
  std::tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = s;
  return t;
}

Result<int64_t> LocalToUtc(int y, int mo, int d, int h, int mi, int s) {
  std::tm t = Parts(y, mo, d, h, mi, s);
  t.tm_isdst = -1;
  std::time_t secs = std::mktime(&t);
  if (secs == -1) return Status::InvalidArgument("time out of range");
  return static_cast<int64_t>(secs) * kNsPerSec;
}

}  // namespace

Result<int64_t> ParseTimeInput(const std::string& text, int64_t now_ns) {
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "cannot read time '{}' (try \"2026-11-22 21:00\", \"-30m\", \"yesterday 21:00\", \"now\")",
        text));
  };
  if (text == "now") return now_ns;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    double n = 0;
    char unit = 0;
    if (std::sscanf(text.c_str() + 1, "%lf%c", &n, &unit) != 2 || n < 0) return bad();
    double mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : -1;
    if (mult < 0) return bad();
    int64_t delta = static_cast<int64_t>(n * mult * kNsPerSec);
    return text[0] == '-' ? now_ns - delta : now_ns + delta;
  }
  int y, mo, d, h, mi, s = 0;
  int used = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d%n", &y, &mo, &d, &h, &mi, &s, &used) == 6) {
    // RFC 3339 in UTC, as vigil's --json prints it: optional fraction of a second, then Z.
    int64_t frac_ns = 0, scale = kNsPerSec;
    size_t i = static_cast<size_t>(used);
    if (i < text.size() && text[i] == '.') {
      ++i;
      size_t digits = 0;
      for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
        if (digits < 9) {
          scale /= 10;
          frac_ns += (text[i] - '0') * scale;
        }
      }
      if (digits == 0) return bad();
    }
    if (i + 1 != text.size() || text[i] != 'Z') return bad();
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
    std::tm t = Parts(y, mo, d, h, mi, s);
    return static_cast<int64_t>(timegm(&t)) * kNsPerSec + frac_ns;
  }
  int n = std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s);
  if (n == 5 || n == 6) {
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
    return LocalToUtc(y, mo, d, h, mi, n == 6 ? s : 0);
  }
  if (n == 3) return LocalToUtc(y, mo, d, 0, 0, 0);
  bool yesterday = text.rfind("yesterday ", 0) == 0;
  std::string clock = yesterday ? text.substr(10) : text;
  s = 0;
  n = std::sscanf(clock.c_str(), "%d:%d:%d", &h, &mi, &s);
  if (n >= 2 && h <= 23 && mi <= 59) {
    std::time_t now = static_cast<std::time_t>(now_ns / kNsPerSec);
    std::tm t{};
    localtime_r(&now, &t);
    return LocalToUtc(t.tm_year + 1900, t.tm_mon + 1, t.tm_mday - (yesterday ? 1 : 0), h, mi, s);
  }
  return bad();
}

Result<int64_t> ParseDuration(const std::string& text) {
  if (text == "0") return 0;
  double n = 0;
  char unit = 0;
  int used = 0;
  if (std::sscanf(text.c_str(), "%lf%c%n", &n, &unit, &used) != 2 || used != static_cast<int>(text.size()) ||
      !(n >= 0) || n > 1e6) {
    return Status::InvalidArgument(
        fmt::format("cannot read duration '{}' (try \"90s\", \"3m\", \"6h\", \"1d\", \"1w\")", text));
  }
  double mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400
              : unit == 'w' ? 7 * 86400 : -1;
  if (mult < 0) {
    return Status::InvalidArgument(
        fmt::format("cannot read duration '{}': the unit is s, m, h, d or w", text));
  }
  return static_cast<int64_t>(std::llround(n * mult * static_cast<double>(kNsPerSec)));
}

std::string FormatDuration(int64_t ns) {
  const int64_t s = (ns + kNsPerSec / 2) / kNsPerSec;
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
  return fmt::format("{} d {} h", s / 86400, (s % 86400) / 3600);
}

}  // namespace vigil::cli
