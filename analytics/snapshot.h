#pragma once
// Event snapshots: the full frame with the event's box drawn, and the box's crop, as JPEG.

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "base/status.h"

namespace vigil::analytics {

// JPEG of `bgr` with `box` outlined (no outline for an empty box) and `label` written on its top
// edge ("person 0.93"; none when empty). Internal on an encoder failure.
Result<std::vector<uint8_t>> EncodeSnapshot(const cv::Mat& bgr, const cv::Rect& box, int quality = 85,
                                            const std::string& label = {});
// JPEG of the box grown by 20 % on each side, clipped to the frame. InvalidArgument for an empty box.
Result<std::vector<uint8_t>> EncodeCrop(const cv::Mat& bgr, const cv::Rect& box, int quality = 90);

// One picture of a contact sheet: its label ("cam1  2026-11-23 21:03:05") and the picture, or an
// empty picture and the reason there is none.
struct SheetTile {
  std::string label;
  cv::Mat picture;  // BGR; empty: a grey tile with `missing`
  std::string missing;
};

// A grid of tiles `tile_width` wide (16:9), `columns` across, labels burned in: what a patrol tour
// saw, on one image. JPEG; InvalidArgument without tiles or with a bad size.
Result<std::vector<uint8_t>> ContactSheet(const std::vector<SheetTile>& tiles, int columns,
                                          int tile_width = 480, int quality = 85);

}  // namespace vigil::analytics
