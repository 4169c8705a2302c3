#include "ingest/wall_clock.h"

#include <cmath>
#include <cstdlib>

#include <doctest/doctest.h>

namespace vigil::ingest {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kFrame = 40 * kMs;

TEST_CASE("a burst of late frames at connection start does not squeeze the first segment") {
  WallClockMapper m;
  m.NewRun();
  const int64_t wall0 = 1'800'000'000 * kSec;  // true wall time of media 0
  m.BeginSegment(0);
  // The first 12 frames were queued by the camera and arrive together 480 ms late.
  for (int i = 0; i < 250; ++i) {
    int64_t media = i * kFrame;
    int64_t arrival = i < 12 ? wall0 + 12 * kFrame + 5 * kMs : wall0 + media + 5 * kMs + (i % 7) * kMs;
    m.Observe(media, arrival);
  }
  WallSpan s = m.EndSegment(250 * kFrame);
  CHECK(s.end_ns - s.start_ns == 10 * kSec);             // media duration, not arrival spread
  CHECK(std::llabs(s.start_ns - (wall0 + 5 * kMs)) <= 1);  // least-delayed frame's offset
}

TEST_CASE("later segments are contiguous and follow a drifting camera clock within 500 ppm") {
  WallClockMapper m(500);
  m.NewRun();
  // The camera's clock runs 100 ppm fast: 60 s of its media time is 59.994 s of ours.
  const double rate = 1.0 / 1.0001;
  int64_t prev_end = 0;
  int64_t media = 0;
  for (int seg = 0; seg < 30; ++seg) {
    m.BeginSegment(media);
    for (int i = 0; i < 1500; ++i, media += kFrame) {
      int64_t truth = static_cast<int64_t>(static_cast<double>(media) * rate);
      m.Observe(media, truth + 3 * kMs + (i % 5) * kMs);
    }
    WallSpan s = m.EndSegment(media);
    if (seg > 0) CHECK(s.start_ns == prev_end);
    int64_t dur = s.end_ns - s.start_ns;
    CHECK(std::llabs(dur - 60 * kSec) <= 60 * kSec * 500 / 1'000'000);
    prev_end = s.end_ns;
    int64_t truth_end = static_cast<int64_t>(static_cast<double>(media) * rate);
    if (seg == 29) CHECK(std::llabs(s.end_ns - truth_end - 3 * kMs) < 2 * kMs);  // converged
  }
}

TEST_CASE("a server clock step is absorbed gently, never reordering footage") {
  WallClockMapper m(500);
  m.NewRun();
  int64_t media = 0, prev_end = 0;
  for (int seg = 0; seg < 4; ++seg) {
    m.BeginSegment(media);
    for (int i = 0; i < 1500; ++i, media += kFrame) {
      int64_t step = seg >= 2 ? -2 * kSec : 0;  // NTP steps the server clock back 2 s
      m.Observe(media, media + step);
    }
    WallSpan s = m.EndSegment(media);
    CHECK(s.end_ns > s.start_ns);
    if (seg > 0) CHECK(s.start_ns == prev_end);
    if (seg >= 2) CHECK(s.end_ns - s.start_ns >= 60 * kSec - 30 * kMs);
    prev_end = s.end_ns;
  }
}

}  // namespace
}  // namespace vigil::ingest
