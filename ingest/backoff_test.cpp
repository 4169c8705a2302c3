#include "ingest/backoff.h"

#include <doctest/doctest.h>

namespace vigil::ingest {
namespace {

TEST_CASE("reconnect delays double up to the cap, with at most 10 % jitter, and reset") {
  const int64_t ms = 1'000'000;
  Backoff b(500 * ms, 4000 * ms, 42);
  int64_t expected[] = {500, 1000, 2000, 4000, 4000, 4000};
  for (int64_t e : expected) {
    int64_t d = b.Next();
    CHECK(d >= e * ms);
    CHECK(d <= e * ms * 11 / 10);
  }
  b.Reset();
  int64_t d = b.Next();
  CHECK(d >= 500 * ms);
  CHECK(d <= 550 * ms);
}

}  // namespace
}  // namespace vigil::ingest
