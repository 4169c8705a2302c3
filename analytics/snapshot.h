#pragma once
// Event snapshots: the full frame with the event's box drawn, and the box's crop, as JPEG.

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "base/status.h"

namespace vigil::analytics {

// JPEG of `bgr` with `box` outlined (no outline for an empty box). Internal on an encoder failure.
Result<std::vector<uint8_t>> EncodeSnapshot(const cv::Mat& bgr, const cv::Rect& box, int quality = 85);
// JPEG of the box grown by 20 % on each side, clipped to the frame. InvalidArgument for an empty box.
Result<std::vector<uint8_t>> EncodeCrop(const cv::Mat& bgr, const cv::Rect& box, int quality = 90);

}  // namespace vigil::analytics
