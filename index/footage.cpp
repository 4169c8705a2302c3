#include "index/footage.h"

#include <algorithm>
#include <tuple>

namespace vigil::index {

std::vector<FootageSpan> MergeFootage(std::vector<Segment> segments, int64_t tolerance_ns) {
  std::erase_if(segments, [](const Segment& s) {
    return s.state != SegmentState::kClosed && s.state != SegmentState::kRecovered;
  });
  std::sort(segments.begin(), segments.end(), [](const Segment& a, const Segment& b) {
    return std::tie(a.camera, a.start_ns) < std::tie(b.camera, b.start_ns);
  });
  std::vector<FootageSpan> out;
  for (const Segment& s : segments) {
    if (!out.empty() && out.back().camera == s.camera && s.start_ns <= out.back().end_ns + tolerance_ns) {
      FootageSpan& span = out.back();
      span.end_ns = std::max(span.end_ns, s.end_ns);
      ++span.segments;
      span.bytes += s.bytes;
      continue;
    }
    out.push_back({s.camera, s.start_ns, s.end_ns, 1, s.bytes});
  }
  return out;
}

}  // namespace vigil::index
