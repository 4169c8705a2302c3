#pragma once
// Clocks, injected so that time-dependent logic (backoff, stall detection, retention) can be tested on
// simulated time. Times are int64 nanoseconds: wall time since the Unix epoch (UTC), monotonic time
// since an arbitrary origin.

#include <cstdint>
#include <string>

namespace vigil {

constexpr int64_t kNsPerMs = 1'000'000;
constexpr int64_t kNsPerSec = 1'000'000'000;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t WallNs() const = 0;       // CLOCK_REALTIME: may step
  virtual int64_t MonotonicNs() const = 0;  // CLOCK_MONOTONIC: never steps backwards
};

// The process's real clocks. Thread-safe.
Clock& SystemClock();

// Formats UTC nanoseconds as RFC 3339 with milliseconds, e.g. "2026-11-23T09:30:12.345Z".
std::string FormatUtc(int64_t wall_ns);
// Formats as local time "2026-11-23 17:30:12" (for people; the index keeps UTC).
std::string FormatLocal(int64_t wall_ns);
// "2026-11-23" (UTC), used for recording directories.
std::string UtcDate(int64_t wall_ns);

}  // namespace vigil
