#pragma once
// Moving-object detection: a per-pixel running Gaussian background on a downscaled colour image.
//
// What makes it usable outdoors (the false alarms users of other systems complain about):
// - global gain compensation: each frame is scaled so its brightness matches the background's (by
//   the median of per-pixel ratios, so a large bright object does not bias it), so a light ramp
//   (dusk, a cloud, auto exposure reacting to a white car) changes nothing;
// - per-pixel variance learnt over time: sensor noise and swaying foliage widen their own pixels'
//   tolerance instead of raising objects;
// - selective update: pixels under an object learn 20× slower, so a slow walker is not absorbed, and
//   not at all under the boxes of tracked objects (the caller's `hold`), so one standing still is not;
// - a morphological open removes speckle; an object must overlap what moved a frame earlier, which
//   rain streaks and splashes (somewhere else every frame) do not; masks blank what must be ignored;
// - a frame where most of the picture changed (lights switched, lens covered, camera turned) yields
//   no objects and, if it lasts, re-learns the background.
//
// Not thread-safe; one per camera.

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "analytics/rules.h"

namespace vigil::analytics {

struct Blob {
  cv::Rect box;  // in the analysed frame's pixels
  double area = 0;
};

class MotionDetector {
 public:
  // `frame_size`: the analysed frame; `masks` in normalised coordinates.
  MotionDetector(const MotionSettings& settings, cv::Size frame_size, const std::vector<Polygon>& masks,
                 double fps);

  // One frame (BGR or grey, frame_size). Returns the moving objects (empty during warm-up and on a
  // global change). `hold`: boxes (frame pixels) of objects being tracked, where the model does not
  // learn this frame: a person who walks in and stands at a counter stays an object, instead of
  // fading into the background in seconds and leaving a ghost where they stood when they go.
  std::vector<Blob> Process(const cv::Mat& frame, const std::vector<cv::Rect>& hold = {});
  // Per box of the last Process's `hold`, the share of its pixels that changed since the frame
  // before (by over 12 levels): a person standing at a counter shifts, breathes, turns a page; a
  // table pushed into a new place does not, and should become background.
  const std::vector<double>& hold_activity() const { return hold_activity_; }

  // Forgets the background: the next frames are learnt afresh (after tamper clears).
  void Reset();

  bool warming_up() const { return frames_ < warmup_frames_; }
  // The last frame changed over most of the picture.
  bool global_change() const { return global_change_; }
  // Foreground mask of the last frame, at the working scale (for tests and debugging).
  const cv::Mat& foreground() const { return fg_; }

 private:
  // A box in frame pixels as the work image's pixels it covers, clipped to the work image.
  cv::Rect ToWork(const cv::Rect& box) const;

  MotionSettings settings_;
  cv::Size frame_size_;
  cv::Size work_size_;
  double scale_ = 1;  // frame pixels per work pixel
  double fps_ = 5;
  int warmup_frames_ = 10;
  int64_t frames_ = 0;
  int global_frames_ = 0;
  bool global_change_ = false;
  cv::Mat mask_;   // CV_8U work size: 255 where analysed
  cv::Mat bg_;     // CV_32FC3
  cv::Mat var_;    // CV_32F
  cv::Mat fg_;     // CV_8U
  cv::Mat prev_clean_;  // cleaned foreground of the previous frame
  std::vector<cv::Rect> prev_boxes_;  // its objects of at least the minimum size
  cv::Mat grey_, small_, g32_, bg_sum_, g_sum_, hold_;
  std::vector<float> ratios_;
  std::vector<double> hold_activity_;
  cv::Mat step_, moved_, stirred_;  // hold activity's working images
  cv::Mat prev_small_;  // the previous frame at work size, gain compensated (CV_32FC3)
};

}  // namespace vigil::analytics
