#include "tools/vigil/time_input.h"

#include <cstdlib>
#include <ctime>

#include <doctest/doctest.h>

#include "base/clock.h"

namespace vigil::cli {
namespace {

TEST_CASE("times typed by people become UTC nanoseconds, in the local zone where no zone is given") {
  setenv("TZ", "Asia/Shanghai", 1);  // UTC+8, no daylight saving
  tzset();
  const int64_t now = 1'795'424'400LL * kNsPerSec;  // 2026-11-23T06:20:00Z = 14:20 in Kunming
  CHECK(ParseTimeInput("now", now).value() == now);
  CHECK(ParseTimeInput("-30m", now).value() == now - 1800 * kNsPerSec);
  CHECK(ParseTimeInput("-2h", now).value() == now - 7200 * kNsPerSec);
  CHECK(ParseTimeInput("-1d", now).value() == now - 86400 * kNsPerSec);
  CHECK(ParseTimeInput("+7d", now).value() == now + 7 * 86400 * kNsPerSec);
  CHECK_FALSE(ParseTimeInput("+7x", now).ok());
  CHECK(FormatUtc(ParseTimeInput("2026-11-22 21:00", now).value()) == "2026-11-22T13:00:00.000Z");
  CHECK(FormatUtc(ParseTimeInput("2026-11-22 21:00:05", now).value()) == "2026-11-22T13:00:05.000Z");
  CHECK(FormatUtc(ParseTimeInput("2026-11-22T13:00:05Z", now).value()) == "2026-11-22T13:00:05.000Z");
  CHECK(ParseTimeInput("2026-11-22T13:00:05.123456789Z", now).value() ==
        ParseTimeInput("2026-11-22T13:00:05Z", now).value() + 123'456'789);
  CHECK(FormatUtc(ParseTimeInput("2026-11-22T13:00:05.25Z", now).value()) == "2026-11-22T13:00:05.250Z");
  CHECK(FormatUtc(ParseTimeInput("21:00", now).value()) == "2026-11-23T13:00:00.000Z");
  CHECK(FormatUtc(ParseTimeInput("yesterday 21:00", now).value()) == "2026-11-22T13:00:00.000Z");
  for (const char* bad : {"tomorrowish", "-5x", "2026-13-01 10:00", "25:00", "", "2026-11-22T13:00:05.Z",
                          "2026-11-22T13:00:05", "2026-11-22T13:00:05Zjunk"}) {
    CAPTURE(bad);
    auto r = ParseTimeInput(bad, now);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message().find("cannot read time") != std::string::npos);
  }
  unsetenv("TZ");
  tzset();
}

TEST_CASE("durations are read with their unit and shown for people") {
  CHECK(ParseDuration("0").value() == 0);
  CHECK(ParseDuration("90s").value() == 90 * kNsPerSec);
  CHECK(ParseDuration("3m").value() == 180 * kNsPerSec);
  CHECK(ParseDuration("1.5h").value() == 5400 * kNsPerSec);
  CHECK(ParseDuration("1d").value() == 86400 * kNsPerSec);
  CHECK(ParseDuration("1w").value() == 7 * 86400 * kNsPerSec);
  for (const char* bad : {"", "3", "3x", "-3m", "3m ", "m", "1e9d"}) {
    CAPTURE(bad);
    auto r = ParseDuration(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message().find("duration") != std::string::npos);
  }
  CHECK(FormatDuration(42 * kNsPerSec) == "42 s");
  CHECK(FormatDuration(185 * kNsPerSec) == "3 min 05 s");
  CHECK(FormatDuration(7800 * kNsPerSec) == "2 h 10 min");
  CHECK(FormatDuration(100'800 * kNsPerSec) == "1 d 4 h");
}

}  // namespace
}  // namespace vigil::cli
