#pragma once
// Decode times for a stream that carries only presentation times. RTP stamps each access unit with
// its presentation time; with B-frames the units arrive in decode order and their presentation times
// go back and forth. MP4 needs a decode time per sample that increases strictly and never exceeds the
// sample's presentation time (the difference is the composition offset in the fragment's trun).
//
// With a reorder depth N (from the SPS: how many frames may precede a frame in decode order and
// follow it in presentation order), the k-th frame in decode order is presented no earlier than the
// (k-N)-th presentation time of the stream. So its decode time is that time: the (k-N)-th smallest
// presentation time seen so far, which no later frame can undercut. The first N frames of a run get
// times before the first presentation time, spaced by the smallest step between the first N+1
// presentation times (the frame interval, or a multiple of it with a B-pyramid); to know it they
// are held until frame N arrives (N frames, at the start of a run only). A stream
// that reorders deeper than its SPS says raises N as it goes, retiming the offending frame's
// presentation to its decode time (counted): never a frame dropped.
//
// Not thread-safe: one per stream, on the thread that receives it.

#include <cstdint>
#include <queue>
#include <vector>

#include "ingest/internal/camera_writer.h"

namespace vigil::ingest::internal {

class DecodeTimes {
 public:
  // Takes the next frame in decode order (pts_ns set; dts_ns and duration_ns ignored) and appends to
  // `out` every frame whose decode time and duration are now known, in decode order.
  void Push(Frame f, std::vector<Frame>& out);
  // A run ended (connection lost, stream restarted): appends the frames still held, and starts over.
  void Flush(std::vector<Frame>& out);

  int depth() const { return depth_; }
  // Frames whose presentation time had to be moved to their decode time (the stream reordered
  // deeper than its SPS declared, or repeated a timestamp).
  int64_t retimed() const { return retimed_; }

 private:
  void Release(std::vector<Frame>& out);
  // The next decode time from the pending presentation times.
  int64_t NextDts();
  // Stamps `f` with `dts` (kept strictly increasing and at most its presentation time) and appends it.
  void Place(Frame& f, int64_t dts, std::vector<Frame>& out);

  int depth_ = 0;
  int slack_ = 0;  // decode times still to be placed between the last one and the pending minimum
  std::priority_queue<int64_t, std::vector<int64_t>, std::greater<>> pending_;  // unused pts
  std::vector<Frame> held_;  // the first frames of a run, until the frame interval is known
  bool started_ = false;
  bool have_last_ = false;
  int64_t last_dts_ = 0;
  int64_t interval_ns_ = 40'000'000;  // the last known frame interval
  int64_t retimed_ = 0;
};

}  // namespace vigil::ingest::internal
