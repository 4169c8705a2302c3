#include "base/log.h"

#include <doctest/doctest.h>

#include "base/clock.h"

namespace vigil {
namespace {

TEST_CASE("LogLimiter lets a burst through per window and counts what it held back") {
  LogLimiter limit(3, 60 * kNsPerSec);
  int64_t held = -1;
  int64_t t = 1'000 * kNsPerSec;
  for (int i = 0; i < 3; ++i) {
    CHECK(limit.Allow(t + i, &held));
    CHECK(held == 0);
  }
  for (int i = 0; i < 500; ++i) CHECK_FALSE(limit.Allow(t + 10 + i, &held));
  // The next window: the first line says how many were not logged, then they are counted afresh.
  CHECK(limit.Allow(t + 60 * kNsPerSec, &held));
  CHECK(held == 500);
  CHECK(limit.Allow(t + 61 * kNsPerSec, &held));
  CHECK(held == 0);
}

}  // namespace
}  // namespace vigil
