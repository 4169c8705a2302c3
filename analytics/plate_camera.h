#pragma once
// A plate camera's processor: every decoded main-stream frame searched for plates (PlateFinder),
// the reads tracked and voted into one read per vehicle pass (PlateTracker), each pass reported as a
// kVehicle detection carrying its plate and the frame of its best read.
//
// Not thread-safe (CameraProcessor): the Engine drives it from one worker at a time.

#include <map>
#include <memory>
#include <string>

#include <toml++/toml.h>

#include "analytics/plate_finder.h"
#include "analytics/plate_tracker.h"
#include "analytics/processor.h"
#include "analytics/rules.h"

namespace vigil::analytics {

struct PlatesConfig {
  bool enabled = false;
  double fps = 8;                 // main-stream frames searched a second
  double min_confidence = 0.5;    // a frame's read below this is not used
  double pass_confidence = 0.6;   // a voted pass below this is not reported
  int min_sightings = 2;          // reads a pass needs
  double gap_s = 1.5;             // a plate unseen this long has passed
  int work_width = 960;           // frames are searched at this width (read at full size)
  // Reads that agree this often (voted confidence >= pass_confidence) are reported at once, as a
  // Phase::kStart detection, so that a watchlist alert need not wait for the vehicle to leave;
  // 0: only whole passes (Phase::kInstant) are reported. Counted as at least min_sightings: with
  // the two equal, a pass is announced on the first frame its read would qualify as a whole pass.
  int early_sightings = 2;
  // Areas of the picture (fractions, 0..1) where nothing is a plate: an on-screen caption, a shop
  // sign, the opposite lane. A plate whose box centre falls inside one is not read.
  std::vector<Polygon> masks;
  // Not in the TOML: regions unchanged from the frame before keep its outcome for up to this many
  // frames (PlateFinderOptions::still_reuse_frames); 0, every region read in every frame (the
  // baseline of tools/bench/lpr).
  int still_reuse_frames = 40;
  // Not in the TOML: the whole frame is searched for plates every this many frames, between them only
  // where it changed (PlateFinderOptions::whole_search_frames); 1, every frame whole.
  int whole_search_frames = 8;
};

// Reads a [cameras.plates] table: enabled, fps, min_confidence, pass_confidence, min_sightings,
// gap_seconds, work_width, early_sightings, masks. Unknown keys and bad values are InvalidArgument with "path:line".
Status ParsePlates(const std::string& path, const toml::table& table, const std::string& camera,
                   PlatesConfig& out);

class PlateCamera : public CameraProcessor {
 public:
  PlateCamera(const PlatesConfig& config, std::unique_ptr<PlateReader> reader);

  void Process(const Frame& frame, std::vector<Detection>& out) override;
  void Flush(std::vector<Detection>& out) override;
  const cv::Mat& last_frame() const override { return last_; }
  const PlateFinder& finder() const { return finder_; }
  cv::Size frame_size() const override { return {}; }
  double fps() const override { return config_.fps; }

 private:
  void Report(std::vector<PlatePass>& passes, std::vector<Detection>& out);
  // A vehicle detection of a pass (kInstant: ended; kStart: announced early, up to end_ns), with the
  // frame of its best read when kept.
  Detection PassDetection(const PlatePass& p, Phase phase, int64_t end_ns) const;

  PlatesConfig config_;
  PlateFinder finder_;
  PlateTracker tracker_;
  std::map<int64_t, cv::Mat> best_;  // open track -> frame of its best read
  cv::Mat last_;
};

}  // namespace vigil::analytics
