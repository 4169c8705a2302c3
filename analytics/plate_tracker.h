#pragma once
// Turns per-frame plate reads into one read per vehicle pass: reads are associated into tracks (same
// place in the picture a moment later, or nearly the same text), and when a track has not been seen
// for `gap_s` its reads are voted into one plate: the most supported length, then per position the
// character with the most confidence behind it, the colour likewise. A pass needs `min_sightings`
// reads (one stray read of a poster is not a vehicle).
//
// Not thread-safe: one tracker per plate camera, driven in frame order.

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "analytics/plate_finder.h"

namespace vigil::analytics {

struct PlatePass {
  int64_t track = 0;
  std::string plate;  // voted, grammatical
  plate::Background color = plate::Background::kBlue;
  double confidence = 0;  // 0..1: agreement and certainty of the weakest position
  int64_t first_ns = 0, last_ns = 0;
  int64_t best_ns = 0;    // the frame of the most confident read (BestNs while the track was open)
  cv::Rect best_box;      // in that frame
  int sightings = 0;
};

struct PlateTrackerOptions {
  double gap_s = 1.5;          // a track unseen this long is a finished pass
  double max_jump = 2.5;       // box widths a plate may move between two sightings
  int min_sightings = 2;
  // Early reads, for alerts that cannot wait for the vehicle to leave: once a track has this many
  // sightings and its vote reaches early_confidence, it is announced while it goes on; again only
  // when later reads change the voted text. 0: no early reads.
  int early_sightings = 0;
  double early_confidence = 0.6;
};

class PlateTracker {
 public:
  explicit PlateTracker(PlateTrackerOptions options = {}) : options_(options) {}

  // One frame's finds (frames in time order). `tracks` (optional) gets each find's track id, so the
  // caller can keep the frame of a track's best read. Finished passes are appended to `done`; tracks
  // announced early by this frame (see early_sightings) to `early` (optional), with last_ns this
  // frame's time. A pass announced early is still reported in `done` when it ends, voted on all its
  // reads (its text may then differ).
  void Update(int64_t wall_ns, const std::vector<FoundPlate>& finds, std::vector<PlatePass>& done,
              std::vector<int64_t>* tracks = nullptr, std::vector<PlatePass>* early = nullptr);
  // Finishes every open track (shutdown, end of a file).
  void Flush(std::vector<PlatePass>& done);

  // The track's best read so far (for snapshot bookkeeping); 0 when unknown.
  int64_t BestNs(int64_t track) const;

 private:
  struct Sighting {
    int64_t ns;
    PlateText text;
    cv::Rect box;
  };
  struct Track {
    int64_t id;
    std::vector<Sighting> sightings;
    int64_t best_ns = 0;
    double best_conf = -1;
    std::string announced;  // the text last announced early
  };
  bool Vote(const Track& track, PlatePass& pass) const;

  PlateTrackerOptions options_;
  std::vector<Track> tracks_;
  int64_t next_id_ = 1;
};

// Positions at which two plates differ, counting a length difference as that many positions.
int PlateDistance(const std::u32string& a, const std::u32string& b);

}  // namespace vigil::analytics
