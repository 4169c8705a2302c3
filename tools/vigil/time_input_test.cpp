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

}  // namespace
}  // namespace vigil::cli
