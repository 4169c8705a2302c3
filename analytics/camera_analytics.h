#pragma once
// One camera's chain of stages: tamper → motion (background model) → tracker → classifier →
// zones, lines and loitering, plus motion events. While a tamper is raised the object stages pause (their open events
// end, tracks are dropped) and the background is learnt afresh when it clears.
//
// Events carry their object's class: when they start, the class its track had then; when they
// end, the class it had when last seen (it is looked at a few times while it is tracked).
//
// Motion event: starts when a confirmed moving object appears (at its first sighting) and ends when
// none has been seen for hold_s, or after max_event_s, going on at once as a new (continued) one.
//
// Not thread-safe; the Engine gives each camera to one worker at a time.

#include <map>
#include <string>
#include <vector>

#include "analytics/classifier.h"
#include "analytics/detection.h"
#include "analytics/motion.h"
#include "analytics/processor.h"
#include "analytics/rules.h"
#include "analytics/tamper.h"
#include "analytics/tracker.h"
#include "analytics/zone_rules.h"
#include "base/frame.h"

namespace vigil::analytics {

class CameraAnalytics : public CameraProcessor {
 public:
  explicit CameraAnalytics(const AnalyticsConfig& config);

  // Analyses one frame (scaled to the configured size if it is not). Frames must come in time order.
  void Process(const Frame& frame, std::vector<Detection>& out) override;
  // Ends every open event (shutdown).
  void Flush(std::vector<Detection>& out) override;

  const AnalyticsConfig& config() const { return config_; }
  cv::Size frame_size() const override { return size_; }
  double fps() const override { return config_.fps; }
  // The frame last processed, at analysis size (for live snapshots).
  const cv::Mat& last_frame() const override { return scaled_; }
  // The tracker's live tracks and the motion stage's foreground after the last frame (tools, tests).
  const std::vector<Track>& tracks() const { return tracker_.tracks(); }
  const MotionDetector& motion() const { return motion_; }
  const ObjectClassifier& classifier() const { return classifier_; }

 private:
  void ProcessFrame(const Frame& frame, std::vector<Detection>& out);
  // Sets the class of the kEnd detections from out[first] on to their track's last known class.
  void EndClasses(std::vector<Detection>& out, size_t first) const;
  void EndMotion(std::vector<Detection>& out);
  // Starts a motion event at `start_ns` with `first` as its object; `continued`: it goes on from one
  // cut at motion_max_seconds.
  void StartMotion(const Track& first, int64_t start_ns, bool continued, std::vector<Detection>& out);

  AnalyticsConfig config_;
  cv::Size size_;
  int64_t next_key_ = 1;
  MotionDetector motion_;
  Tracker tracker_;
  ObjectClassifier classifier_;
  ZoneRules rules_;
  TamperDetector tamper_;
  bool was_tampered_ = false;
  // Motion event.
  bool motion_active_ = false;
  int64_t motion_key_ = 0;
  int64_t motion_start_ns_ = 0;
  int64_t last_motion_ns_ = 0;
  int64_t motion_track_ = 0;
  cv::Mat scaled_;
  std::vector<cv::Rect> hold_;  // boxes of tracked objects the background does not learn
  std::vector<int64_t> held_;   // their tracks
  std::map<int64_t, int64_t> last_active_;  // track → last frame something stirred in its box
  struct KnownClass {
    ObjectClass cls = ObjectClass::kUnknown;
    double confidence = 0;
    int64_t seen_ns = 0;
  };
  std::map<int64_t, KnownClass> known_class_;  // track → its class when last seen
};

}  // namespace vigil::analytics
