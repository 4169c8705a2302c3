#pragma once
// Times as people type them at the command line, to UTC nanoseconds:
//   now | -30s -30m -2h -1d, +7d (relative to now) | 21:00 (today, local) | yesterday 21:00 |
//   2026-11-22 21:00[:05] (local) | 2026-11-22T13:00:05Z (UTC, RFC 3339)

#include <cstdint>
#include <string>

#include "base/status.h"

namespace vigil::cli {

// `now_ns` anchors relative and day-relative forms. InvalidArgument names the text on failure.
Result<int64_t> ParseTimeInput(const std::string& text, int64_t now_ns);

// A length of time: "0", "90s", "3m", "1.5h", "1d", "1w" → nanoseconds. InvalidArgument names the text.
Result<int64_t> ParseDuration(const std::string& text);

// A length of time for people: "42 s", "3 min 05 s", "2 h 10 min", "1 d 4 h".
std::string FormatDuration(int64_t ns);

}  // namespace vigil::cli
