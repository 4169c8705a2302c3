#pragma once
// Footage spans: what an investigator asks first ("what do we have from camera 12 between 21:00 and
// 21:30?"). Consecutive segments that touch are merged into one span; the gaps say why the rest is
// missing.

#include <cstdint>
#include <string>
#include <vector>

#include "index/types.h"

namespace vigil::index {

struct FootageSpan {
  std::string camera;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t segments = 0;
  int64_t bytes = 0;
};

struct FootageResult {
  std::vector<FootageSpan> spans;  // by camera, then start
  std::vector<Gap> gaps;           // by camera, then start
  std::string next_token;          // empty when there is no more
};

// Merges segments (any order, any cameras) into spans per camera, sorted by camera then start.
// Segments closer than `tolerance_ns` (default: one frame at 25 fps) are one span. Segments still
// being written (open) or being deleted are left out.
std::vector<FootageSpan> MergeFootage(std::vector<Segment> segments,
                                      int64_t tolerance_ns = 40'000'000);

}  // namespace vigil::index
