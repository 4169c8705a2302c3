#pragma once
// Maps a camera's media clock (RTP timestamps, nanoseconds) to server wall time, segment by segment,
// as Moonfire NVR does: the two clocks are kept apart because a camera's clock drifts (tens of ppm)
// and its frames arrive with variable delay, in bursts after a (re)connect.
//
// - Each frame's delay estimate is arrival_wall - media; the least-delayed frame of a segment gives
//   the segment's offset (a burst of late frames cannot squeeze time).
// - The first segment of a connection takes that offset outright.
// - Every later segment starts exactly where the previous one ended, and its wall duration differs
//   from its media duration by at most max_slew_ppm: drift is followed gently, a step of the server
//   clock never reorders or overlaps footage.
//
// Not thread-safe; one per camera writer.

#include <algorithm>
#include <cstdint>
#include <limits>

namespace vigil::ingest {

struct WallSpan {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
};

class WallClockMapper {
 public:
  explicit WallClockMapper(int64_t max_slew_ppm = 500) : max_slew_ppm_(max_slew_ppm) {}

  // A new connection: the next segment's offset is measured afresh.
  void NewRun() {
    anchored_ = false;
  }

  // A segment starts at media time `media_ns`.
  void BeginSegment(int64_t media_ns) {
    seg_media_start_ = media_ns;
    min_offset_ = std::numeric_limits<int64_t>::max();
  }

  // A frame of the current segment, received at server wall time `arrival_wall_ns`.
  void Observe(int64_t media_ns, int64_t arrival_wall_ns) {
    min_offset_ = std::min(min_offset_, arrival_wall_ns - media_ns);
  }

  // Best current guess of a frame's wall time (before its segment ends).
  int64_t Provisional(int64_t media_ns) const {
    if (min_offset_ != std::numeric_limits<int64_t>::max()) return media_ns + min_offset_;
    return media_ns + last_offset_;
  }

  // The segment ends at media time `media_end_ns`; returns its wall span.
  WallSpan EndSegment(int64_t media_end_ns) {
    int64_t offset = min_offset_ == std::numeric_limits<int64_t>::max() ? last_offset_ : min_offset_;
    WallSpan span;
    int64_t dur = media_end_ns - seg_media_start_;
    if (!anchored_) {
      span.start_ns = seg_media_start_ + offset;
      span.end_ns = media_end_ns + offset;
      anchored_ = true;
    } else {
      span.start_ns = last_end_;
      int64_t natural_end = span.start_ns + dur;
      int64_t max_corr = dur * max_slew_ppm_ / 1'000'000;
      int64_t corr = std::clamp(media_end_ns + offset - natural_end, -max_corr, max_corr);
      span.end_ns = natural_end + corr;
    }
    last_end_ = span.end_ns;
    last_offset_ = span.end_ns - media_end_ns;
    return span;
  }

  bool anchored() const { return anchored_; }

 private:
  int64_t max_slew_ppm_;
  bool anchored_ = false;
  int64_t seg_media_start_ = 0;
  int64_t min_offset_ = std::numeric_limits<int64_t>::max();
  int64_t last_offset_ = 0;
  int64_t last_end_ = 0;
};

}  // namespace vigil::ingest
