#include "index/footage.h"

#include <algorithm>
#include <random>

#include <doctest/doctest.h>

namespace vigil::index {
namespace {

Segment Seg(const std::string& cam, int64_t start, int64_t end, SegmentState st = SegmentState::kClosed) {
  Segment s;
  s.camera = cam;
  s.start_ns = start;
  s.end_ns = end;
  s.state = st;
  s.bytes = end - start;
  return s;
}

TEST_CASE("touching segments merge into one span per camera; holes and open segments split them") {
  std::vector<Segment> segs = {
      Seg("b", 0, 100), Seg("a", 100, 200), Seg("a", 0, 100), Seg("a", 200, 300),
      Seg("a", 500, 600),                                   // after a hole
      Seg("a", 600, 700, SegmentState::kOpen),              // still being written
      Seg("a", 700, 800, SegmentState::kRecovered)};
  auto spans = MergeFootage(segs, 0);
  REQUIRE(spans.size() == 4);
  CHECK(spans[0].camera == "a");
  CHECK(spans[0].start_ns == 0);
  CHECK(spans[0].end_ns == 300);
  CHECK(spans[0].segments == 3);
  CHECK(spans[1].start_ns == 500);
  CHECK(spans[1].end_ns == 600);
  CHECK(spans[2].start_ns == 700);  // the open segment in between is not footage yet
  CHECK(spans[3].camera == "b");
}

TEST_CASE("merged spans cover exactly the union of the segments (randomised against a bitmap)") {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<Segment> segs;
    std::vector<bool> covered(1000, false);
    int64_t t = 0;
    while (t < 900) {
      t += rng() % 3 == 0 ? 1 + rng() % 20 : 0;  // sometimes a hole
      int64_t len = 1 + rng() % 40;
      if (t + len > 1000) break;
      segs.push_back(Seg("x", t, t + len));
      for (int64_t i = t; i < t + len; ++i) covered[static_cast<size_t>(i)] = true;
      t += len;
    }
    std::shuffle(segs.begin(), segs.end(), rng);
    auto spans = MergeFootage(segs, 0);
    std::vector<bool> from_spans(1000, false);
    for (size_t i = 0; i < spans.size(); ++i) {
      if (i > 0) CHECK(spans[i].start_ns > spans[i - 1].end_ns);  // disjoint, sorted, not touching
      for (int64_t k = spans[i].start_ns; k < spans[i].end_ns; ++k) from_spans[static_cast<size_t>(k)] = true;
    }
    CHECK(from_spans == covered);
  }
}

}  // namespace
}  // namespace vigil::index
