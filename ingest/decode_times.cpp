#include "ingest/internal/decode_times.h"

#include <algorithm>
#include <limits>

namespace vigil::ingest::internal {
namespace {

// One tick of the 90 kHz clock segments are written in, rounded up: the least step between two
// decode times that survives the segment's time base.
constexpr int64_t kTickNs = 1'000'000'000 / 90'000 + 1;
constexpr int kMaxDepth = 16;  // the most any H.264/H.265 level allows

}  // namespace

void DecodeTimes::Push(Frame f, std::vector<Frame>& out) {
  const int declared = f.format ? std::clamp(f.format->reorder_depth, 0, kMaxDepth) : 0;
  if (declared > depth_) {
    // A new SPS declaring deeper reordering: the next decode times fall between the last one and
    // the pending minimum instead of taking it.
    if (started_) slack_ += declared - depth_;
    depth_ = declared;
  }
  pending_.push(f.pts_ns);
  if (started_) {
    Place(f, NextDts(), out);
    return;
  }
  held_.push_back(std::move(f));
  if (static_cast<int>(held_.size()) > depth_) Release(out);
}

void DecodeTimes::Release(std::vector<Frame>& out) {
  // The held frames' presentation times, sorted: their smallest step is the frame interval.
  std::vector<int64_t> sorted;
  for (const Frame& h : held_) sorted.push_back(h.pts_ns);
  std::sort(sorted.begin(), sorted.end());
  int64_t step = std::numeric_limits<int64_t>::max();
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i] > sorted[i - 1]) step = std::min(step, sorted[i] - sorted[i - 1]);
  }
  if (step != std::numeric_limits<int64_t>::max()) interval_ns_ = step;
  std::vector<Frame> held = std::move(held_);
  held_.clear();
  started_ = true;
  const int64_t n = static_cast<int64_t>(held.size());
  // Whole: frames 0..N-1 one interval apart, ending one interval before the first presentation
  // time, which frame N takes. Short (flushed before frame N came): all before the first.
  const bool whole = n > depth_;
  const int64_t before = whole ? n - 1 : n;
  for (int64_t i = 0; i < n; ++i) {
    Frame& h = held[static_cast<size_t>(i)];
    Place(h, i < before ? sorted.front() - (before - i) * interval_ns_ : NextDts(), out);
  }
}

int64_t DecodeTimes::NextDts() {
  if (slack_ > 0) {
    // Deeper reordering than before: a time between the last decode time and the smallest pending
    // presentation time, leaving that one for a later frame.
    const int64_t room = pending_.top() - last_dts_;
    const int64_t dts = last_dts_ + std::max<int64_t>(room / (slack_ + 1), kTickNs);
    --slack_;
    return have_last_ ? dts : pending_.top() - interval_ns_;
  }
  const int64_t dts = pending_.top();
  pending_.pop();
  return dts;
}

void DecodeTimes::Place(Frame& f, int64_t dts, std::vector<Frame>& out) {
  if (have_last_ && dts <= last_dts_) dts = last_dts_ + kTickNs;
  if (f.pts_ns < dts) {
    // Reordered deeper than declared (or a repeated timestamp): the frame is presented at its
    // decode time, and one more frame of reordering is allowed from now on.
    f.pts_ns = dts;
    ++retimed_;
    if (depth_ < kMaxDepth) {
      ++depth_;
      ++slack_;
    }
  }
  // A frame's duration is the step from the previous decode time (what the writer needs only for
  // the last frame of a fragment); the first of a run takes the frame interval.
  f.duration_ns = have_last_ ? dts - last_dts_ : interval_ns_;
  f.dts_ns = dts;
  last_dts_ = dts;
  have_last_ = true;
  out.push_back(std::move(f));
}

void DecodeTimes::Flush(std::vector<Frame>& out) {
  if (!held_.empty()) Release(out);
  pending_ = {};
  started_ = false;
  have_last_ = false;
  slack_ = 0;
  depth_ = 0;
}

}  // namespace vigil::ingest::internal
