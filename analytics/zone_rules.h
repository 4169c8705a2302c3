#pragma once
// Zone intrusion, directed line crossing and loitering over confirmed tracks.
//
// - Intrusion is a state of the zone, as a monitoring room sees it: it starts when a confirmed object
//   (at least min_size tall) has had its foot point inside for min_dwell_s (the event starts at its
//   entry), and ends when the zone has been empty for 1 s and no object that stepped out of it can
//   still resume its stay (2 s). Two people walking in together are
//   one intrusion; a track that breaks and resumes does not raise a second one.
// - A line crossing is instant: the foot point goes from one side to the other across the segment,
//   with a hysteresis band so that jitter on the line is not a crossing. Its time is interpolated
//   between the two positions. The same track crossing the same way again within 1 s is one crossing.
// - Loitering is per track: one track inside the zone for loiter_s (brief exits under 2 s forgiven)
//   starts the event at its entry; it ends when the track leaves for good.
//
// Positions of a track are processed once each, in time order; a track becoming confirmed has its
// earlier positions processed then, so events carry the true entry and crossing times.
//
// Not thread-safe; one per camera.

#include <map>
#include <set>
#include <vector>

#include "analytics/detection.h"
#include "analytics/rules.h"
#include "analytics/tracker.h"

namespace vigil::analytics {

class ZoneRules {
 public:
  ZoneRules(const AnalyticsConfig& config, cv::Size frame_size, int64_t* next_key);

  // Processes the tracks after an Update at `t_ns`; appends detections to `out`.
  void Process(const std::vector<Track>& live, const std::vector<Track>& ended, int64_t t_ns,
               std::vector<Detection>& out);
  // Ends every open event at its last seen time (tracking stopped: tamper, shutdown).
  void Flush(std::vector<Detection>& out);

 private:
  struct ZoneArea {
    Zone zone;
    Polygon px;  // frame pixels
    // Intrusion state.
    bool active = false;
    int64_t key = 0;
    int64_t since_ns = 0;
    int64_t last_occupied_ns = 0;
    int64_t track = 0;
    cv::Rect box;
  };
  struct LinePx {
    Line line;
    cv::Point2d a, b;
    double length = 0;
  };
  struct TrackZone {
    bool inside = false;
    int64_t entered_ns = 0;     // current stay, exits shorter than the grace included
    int64_t last_inside_ns = 0;
    bool loitering = false;
    int64_t loiter_key = 0;
  };
  struct TrackLine {
    int side = 0;  // -1 side A, +1 side B, 0 not yet known
    int64_t side_ns = 0;
    double side_dist = 0;
    cv::Point2d side_pt;  // last position on `side`
    int64_t last_cross_ns = 0;
    int last_cross_dir = 0;
  };
  struct TrackState {
    int64_t processed_ns = -1;
    std::vector<TrackZone> zones;
    std::vector<TrackLine> lines;
  };

  void Step(const Track& track, const TrackPoint& p, TrackState& st, std::vector<Detection>& out);
  void EndTrack(int64_t id, TrackState& st, std::vector<Detection>& out);

  cv::Size frame_size_;
  double hysteresis_px_;
  int64_t* next_key_;
  std::vector<ZoneArea> zones_;
  std::vector<LinePx> lines_;
  std::map<int64_t, TrackState> states_;
};

}  // namespace vigil::analytics
