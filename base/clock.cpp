#include "base/clock.h"

#include <time.h>

#include <fmt/format.h>

namespace vigil {
namespace {

int64_t Now(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

class RealClock final : public Clock {
 public:
  int64_t WallNs() const override { return Now(CLOCK_REALTIME); }
  int64_t MonotonicNs() const override { return Now(CLOCK_MONOTONIC); }
};

struct SplitTime {
  tm parts;
  int millis;
};

SplitTime Split(int64_t wall_ns, bool local) {
  int64_t secs = wall_ns / kNsPerSec;
  int64_t rem = wall_ns % kNsPerSec;
  if (rem < 0) {
    rem += kNsPerSec;
    --secs;
  }
  time_t t = static_cast<time_t>(secs);
  SplitTime s{};
  if (local) {
    localtime_r(&t, &s.parts);
  } else {
    gmtime_r(&t, &s.parts);
  }
  s.millis = static_cast<int>(rem / kNsPerMs);
  return s;
}

}  // namespace

Clock& SystemClock() {
  static RealClock clock;
  return clock;
}

std::string FormatUtc(int64_t wall_ns) {
  SplitTime s = Split(wall_ns, false);
  const tm& p = s.parts;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", p.tm_year + 1900, p.tm_mon + 1,
                     p.tm_mday, p.tm_hour, p.tm_min, p.tm_sec, s.millis);
}

std::string FormatLocal(int64_t wall_ns) {
  SplitTime s = Split(wall_ns, true);
  const tm& p = s.parts;
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", p.tm_year + 1900, p.tm_mon + 1, p.tm_mday,
                     p.tm_hour, p.tm_min, p.tm_sec);
}

std::string UtcDate(int64_t wall_ns) {
  SplitTime s = Split(wall_ns, false);
  return fmt::format("{:04}-{:02}-{:02}", s.parts.tm_year + 1900, s.parts.tm_mon + 1,
                     s.parts.tm_mday);
}

}  // namespace vigil
