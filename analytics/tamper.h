#pragma once
// Camera tamper: the lens covered, the picture defocused, the camera moved. Each is measured against
// a reference learnt from the camera's own view after start (and again after each tamper clears), in
// ways a change of light does not move:
// - covered: the picture's contrast (coefficient of variation, std/mean) collapses to under a third
//   of the reference's — a hand, a bag, spray paint or a black frame; gain-invariant, so dusk is not
//   a cover;
// - defocused: normalised sharpness (variance of the Laplacian over the variance of the picture)
//   falls under a third of the reference's while the picture still has contrast;
// - moved: phase correlation with the reference finds a clear peak (≥ 0.3 of the reference's) at a
//   shift over 4 % of the width, or the
//   correlation peak collapses (a rotation, a new view) while a good part of the picture's structure
//   (over a quarter of its strongest edges, brightness matched) differs from the reference and the
//   picture holds still (under 2 % of it changing between frames). A car filling a quarter of a
//   plain overhead road collapses the peak too and covers as much structure, but it moves.
// A condition must hold for `confirm_s` to be raised (its event starts at its first frame) and be gone
// for `clear_s` to clear. Checks go in that order; a covered picture is not also "defocused".
//
// Not thread-safe; one per camera.

#include <cstdint>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "analytics/detection.h"
#include "analytics/rules.h"

namespace vigil::analytics {

struct TamperSettings {
  double learn_s = 2.0;
  double confirm_s = 1.0;
  double clear_s = 1.0;
};

// Measurements of one frame (exposed for tests and tuning).
struct TamperMeasure {
  double contrast = 0;   // std / mean
  double sharpness = 0;  // median over tiles of the tile's sharpness / its reference's (1: as learnt)
  cv::Point2d shift;     // vs reference, work pixels
  double response = 0;   // phase-correlation peak, 0..1
  double changed = 0;    // share of the reference's structure (its strongest edges) that differs now,
                         // brightness matched
  double unsteady = 0;   // share of the picture that changed since the frame before
};

class TamperDetector {
 public:
  // `masks` (normalised): areas left out of every measure (the on-screen clock and label would
  // otherwise keep a covered lens looking contrasted, and tick away the correlation).
  TamperDetector(TamperSettings settings, double fps, const std::vector<Polygon>& masks,
                 int64_t* next_key);

  // One frame (BGR or grey) at `t_ns`; appends raised (kStart) and cleared (kEnd) detections.
  void Process(const cv::Mat& frame, int64_t t_ns, std::vector<Detection>& out);
  // Ends an active tamper at its last frame (shutdown).
  void Flush(std::vector<Detection>& out);

  // Whether a tamper is raised (or being confirmed): object analytics should pause.
  bool tampered() const { return active_.has_value() || pending_.has_value(); }
  bool learning() const { return learnt_ < learn_frames_; }
  const TamperMeasure& last() const { return last_; }

 private:
  TamperMeasure Measure(const cv::Mat& grey);
  std::optional<EventType> Classify(const TamperMeasure& m) const;

  TamperSettings settings_;
  double fps_;
  int64_t* next_key_;
  int learn_frames_;
  int learnt_ = 0;
  // Reference.
  cv::Mat ref_;  // CV_32F, windowed
  cv::Mat ref_plain_;  // CV_32F, the same picture not windowed
  cv::Mat ref_edges_;  // CV_8U: its structure (StrongestEdges)
  cv::Mat prev_plain_;  // the previous frame's picture, as ref_plain_
  cv::Mat window_;
  cv::Mat mask_, lap_mask_, coarse_mask_;  // CV_8U: 255 where measured
  double ref_contrast_ = 0;
  std::vector<double> tile_sharpness_;      // this frame's, per tile
  std::vector<double> ref_tile_sharpness_;  // the reference's, per tile
  std::vector<std::vector<double>> learn_tiles_;
  double ref_response_ = 0;
  std::vector<double> learn_contrast_, learn_response_;
  // State.
  std::optional<EventType> pending_;
  int64_t pending_since_ = 0;
  int pending_frames_ = 0;
  std::optional<EventType> active_;
  int64_t active_since_ = 0;
  int64_t active_key_ = 0;
  int64_t last_bad_ns_ = 0;
  int64_t good_since_ = 0;
  int64_t last_ns_ = 0;
  TamperMeasure last_;
  cv::Mat grey_, small_, f32_, coarse_, plain_;
};

}  // namespace vigil::analytics
