#include "ingest/internal/decode_times.h"

#include <algorithm>
#include <random>

#include <doctest/doctest.h>

namespace vigil::ingest::internal {
namespace {

constexpr int64_t kFrame = 40'000'000;  // 25 fps

std::shared_ptr<const StreamFormat> Format(int depth) {
  auto f = std::make_shared<StreamFormat>();
  f->reorder_depth = depth;
  return f;
}

// Presentation indices in decode order of GOPs "I P B b b" with a B-pyramid (depth 2):
// I0 P4 B2 b1 b3 P8 B6 b5 b7 ...
std::vector<int64_t> PyramidOrder(int frames) {
  std::vector<int64_t> order{0};
  for (int base = 0; static_cast<int>(order.size()) < frames; base += 4) {
    for (int d : {4, 2, 1, 3}) order.push_back(base + d);
  }
  order.resize(static_cast<size_t>(frames));
  return order;
}

std::vector<Frame> Run(DecodeTimes& dt, const std::vector<int64_t>& pts, int depth) {
  std::vector<Frame> out;
  auto fmt = Format(depth);
  for (size_t i = 0; i < pts.size(); ++i) {
    Frame f;
    f.pts_ns = pts[i];
    f.format = fmt;
    f.data = {static_cast<uint8_t>(i)};
    dt.Push(std::move(f), out);
  }
  dt.Flush(out);
  return out;
}

void CheckSound(const std::vector<Frame>& out, size_t frames) {
  REQUIRE(out.size() == frames);
  for (size_t i = 0; i < out.size(); ++i) {
    CAPTURE(i);
    CHECK(out[i].data[0] == static_cast<uint8_t>(i));  // decode order kept, nothing lost
    CHECK(out[i].dts_ns <= out[i].pts_ns);
    if (i > 0) {
      CHECK(out[i].dts_ns > out[i - 1].dts_ns);
      CHECK(out[i].duration_ns == out[i].dts_ns - out[i - 1].dts_ns);
    }
  }
}

}  // namespace

TEST_CASE("a B-pyramid stream gets decode times one frame interval apart, presentation times kept") {
  // The first two frames (the depth) come before the first presentation time, spaced by the
  // smallest step seen among the first three (two intervals here: I0 P4 B2); the rest follow.
  auto order = PyramidOrder(101);
  std::vector<int64_t> pts;
  for (int64_t p : order) pts.push_back(1000 * kFrame + p * kFrame);
  DecodeTimes dt;
  auto out = Run(dt, pts, 2);
  CheckSound(out, pts.size());
  CHECK(dt.retimed() == 0);
  for (size_t i = 0; i < out.size(); ++i) {
    CHECK(out[i].pts_ns == pts[i]);
    // Decode time k is presentation time k-2: frames are decoded two intervals before shown.
    if (i >= 2) CHECK(out[i].dts_ns == 1000 * kFrame + (static_cast<int64_t>(i) - 2) * kFrame);
  }
  CHECK(out[0].dts_ns == 1000 * kFrame - 4 * kFrame);
  CHECK(out[1].dts_ns == 1000 * kFrame - 2 * kFrame);
}

TEST_CASE("a stream without B-frames has decode time = presentation time") {
  std::vector<int64_t> pts;
  for (int i = 0; i < 50; ++i) pts.push_back(i * kFrame + (i % 3) * 1000);  // a little jitter
  DecodeTimes dt;
  auto out = Run(dt, pts, 0);
  CheckSound(out, pts.size());
  for (size_t i = 0; i < out.size(); ++i) CHECK(out[i].dts_ns == pts[i]);
}

TEST_CASE("a camera that reorders deeper than its SPS declares loses no frame; the retimed ones are counted") {
  auto order = PyramidOrder(60);
  std::vector<int64_t> pts;
  for (int64_t p : order) pts.push_back(p * kFrame);
  DecodeTimes dt;
  auto out = Run(dt, pts, 0);  // declares 0, sends depth 2
  CheckSound(out, pts.size());
  CHECK(dt.retimed() > 0);
  CHECK(dt.retimed() <= 3);  // only until the depth has grown to what the stream needs
  CHECK(dt.depth() == 0);    // Flush starts over
}

TEST_CASE("a run cut before the reorder depth's frames arrived still records every frame") {
  DecodeTimes dt;
  auto out = Run(dt, {10 * kFrame, 12 * kFrame}, 4);
  CheckSound(out, 2);
  CHECK(out[1].pts_ns == 12 * kFrame);
}

TEST_CASE("random orders within the declared depth: times sound, never retimed") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int depth = static_cast<int>(rng() % 5);
    // A permutation where each frame moves at most `depth` places: shuffle within windows.
    std::vector<int64_t> idx(120);
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
    for (size_t at = 1; at + depth < idx.size(); at += static_cast<size_t>(depth) + 1) {
      std::shuffle(idx.begin() + static_cast<ptrdiff_t>(at), idx.begin() + static_cast<ptrdiff_t>(at + depth + 1),
                   rng);
    }
    std::vector<int64_t> pts;
    for (int64_t i : idx) pts.push_back(5 * kFrame + i * kFrame);
    DecodeTimes dt;
    auto out = Run(dt, pts, depth);
    CAPTURE(trial);
    CheckSound(out, pts.size());
    CHECK(dt.retimed() == 0);
  }
}

}  // namespace vigil::ingest::internal
