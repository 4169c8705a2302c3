#pragma once
// One camera's analysis, as the Engine drives it: frames in, detections out. CameraAnalytics (motion,
// zones, lines, tamper on the sub stream) and PlateCamera (plates on the main stream) are the two.
//
// Not thread-safe: the Engine gives a camera's processor to one worker at a time, frames in order.

#include <vector>

#include <opencv2/core.hpp>

#include "analytics/detection.h"
#include "base/frame.h"

namespace vigil::analytics {

class CameraProcessor {
 public:
  virtual ~CameraProcessor() = default;
  // Analyses one frame; appends what it found.
  virtual void Process(const Frame& frame, std::vector<Detection>& out) = 0;
  // Ends whatever is open (shutdown).
  virtual void Flush(std::vector<Detection>& out) = 0;
  // The frame last processed as analysed (live snapshots, and the picture of detections that do
  // not carry their own).
  virtual const cv::Mat& last_frame() const = 0;
  virtual cv::Size frame_size() const = 0;  // 0x0: as decoded
  virtual double fps() const = 0;
};

}  // namespace vigil::analytics
