#pragma once
// A light multi-object tracker: boxes of one frame are matched to the tracks of the last by overlap
// and by distance to where each track should be now (constant velocity), greedily, best pair first.
// A track that finds no box coasts on its velocity for up to `coast_s` (an object passing behind
// another, two people merging into one blob) before it is dropped, so one object keeps one id.
//
// A track is confirmed once it has been seen in `confirm_hits` frames and its foot point (or, while
// the bottom of its box is cut by the frame's edge, its head point) has moved by half its own height
// (at most 7.5 % of the frame's: a person close to the camera walking up to a counter moves less
// than half their height) and by at least 2 % of the frame's width: foliage, flicker and ghosts of
// objects that left wobble in place and are never confirmed. Rules only act on confirmed tracks, from their first position on.
//
// Not thread-safe; one per camera.

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "analytics/motion.h"
#include "base/event_type.h"

namespace vigil::analytics {

struct TrackPoint {
  int64_t t_ns = 0;
  cv::Point2d foot;  // bottom centre of the box, frame pixels
  cv::Rect box;
  bool observed = true;  // false while coasting
};

struct Track {
  int64_t id = 0;
  cv::Rect box;
  cv::Point2d velocity;  // pixels per second of the foot point
  int64_t first_ns = 0;
  int64_t last_seen_ns = 0;
  int hits = 0;
  bool confirmed = false;
  bool coasting = false;
  std::vector<TrackPoint> path;  // every position since the track began (observed or predicted)
  double max_height = 0;
  // First observed foot point (bottom centre) and head point (top centre) where that edge of the box
  // was inside the frame: an object entering through the bottom edge (a person close to the camera,
  // a car on an overhead view) has its box's bottom on the frame's edge, not its own.
  std::optional<cv::Point2d> first_foot, first_head;
  double moved = 0;  // largest displacement of the foot or head point from those
  // Since when the box's centre has stayed within a quarter of its height of `anchor`.
  int64_t still_since_ns = 0;
  cv::Point2d anchor;
  // What it is (ObjectClassifier): kUnknown until its first look.
  ObjectClass object_class = ObjectClass::kUnknown;
  double class_confidence = 0;
  int class_looks = 0;
  int64_t last_look_ns = 0;
  std::array<double, 4> class_sum{};  // person, vehicle, two_wheeler, other: summed over the looks
};

struct TrackerSettings {
  int confirm_hits = 3;
  double coast_s = 1.6;
  double max_speed = 0.5;  // frame widths per second: faster matches are refused
};

class Tracker {
 public:
  Tracker(TrackerSettings settings, cv::Size frame_size);

  // Updates with the boxes of the frame at `t_ns`. Returns the live tracks (observed or coasting).
  const std::vector<Track>& Update(const std::vector<Blob>& blobs, int64_t t_ns);
  // Tracks dropped by the last Update (gone longer than coast_s).
  const std::vector<Track>& ended() const { return ended_; }
  // Drops every track (their ids are not reused); they appear in ended() of the next Update.
  void Clear();

  const std::vector<Track>& tracks() const { return tracks_; }
  // The live tracks, for stages that annotate them (the classifier); ids and positions are the
  // tracker's to change.
  std::vector<Track>& tracks() { return tracks_; }

 private:
  // Updates the track's first unclipped foot and head points and how far it has moved from them.
  void Observe(Track& track, const cv::Rect& box, int64_t t_ns) const;

  TrackerSettings settings_;
  cv::Size frame_size_;
  int64_t next_id_ = 1;
  int64_t last_ns_ = 0;
  std::vector<Track> tracks_;
  std::vector<Track> ended_;
  std::vector<Track> cleared_;
};

cv::Point2d FootOf(const cv::Rect& box);

}  // namespace vigil::analytics
