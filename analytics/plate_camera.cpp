#include "analytics/plate_camera.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/toml_reader.h"

namespace vigil::analytics {

Status ParsePlates(const std::string& path, const toml::table& table, const std::string& camera,
                   PlatesConfig& out) {
  TomlReader r(path, table, fmt::format("camera {}'s [cameras.plates]", camera));
  VIGIL_RETURN_IF_ERROR(r.CheckKeys({"enabled", "fps", "min_confidence", "pass_confidence",
                                     "min_sightings", "gap_seconds", "work_width",
                                     "early_sightings", "masks"}));
  out.enabled = true;
  VIGIL_RETURN_IF_ERROR(r.Bool("enabled", out.enabled));
  VIGIL_RETURN_IF_ERROR(r.Double("fps", out.fps, 0.5, 30));
  VIGIL_RETURN_IF_ERROR(r.Double("min_confidence", out.min_confidence, 0, 1));
  VIGIL_RETURN_IF_ERROR(r.Double("pass_confidence", out.pass_confidence, 0, 1));
  int64_t sightings = out.min_sightings, width = out.work_width, early = out.early_sightings;
  VIGIL_RETURN_IF_ERROR(r.Int("min_sightings", sightings, 1, 100));
  VIGIL_RETURN_IF_ERROR(r.Double("gap_seconds", out.gap_s, 0.2, 30));
  VIGIL_RETURN_IF_ERROR(r.Int("work_width", width, 320, 4096));
  VIGIL_RETURN_IF_ERROR(r.Int("early_sightings", early, 0, 100));
  out.early_sightings = static_cast<int>(early);
  if (const toml::node* m = table.get("masks")) VIGIL_RETURN_IF_ERROR(ParseMasks(path, *m, camera, out.masks));
  out.min_sightings = static_cast<int>(sightings);
  out.work_width = static_cast<int>(width);
  return Status::Ok();
}

namespace {

PlateFinderOptions FinderOptions(const PlatesConfig& c) {
  PlateFinderOptions o;
  o.work_width = c.work_width;
  o.min_confidence = c.min_confidence;
  o.still_reuse_frames = c.still_reuse_frames;
  o.whole_search_frames = c.whole_search_frames;
  return o;
}

PlateTrackerOptions TrackerOptions(const PlatesConfig& c) {
  PlateTrackerOptions o;
  o.gap_s = c.gap_s;
  o.min_sightings = c.min_sightings;
  o.early_sightings = c.early_sightings;
  o.early_confidence = c.pass_confidence;
  return o;
}

}  // namespace

PlateCamera::PlateCamera(const PlatesConfig& config, std::unique_ptr<PlateReader> reader)
    : config_(config),
      finder_(std::move(reader), FinderOptions(config)),
      tracker_(TrackerOptions(config)) {}

void PlateCamera::Process(const Frame& frame, std::vector<Detection>& out) {
  last_ = frame.bgr;
  auto found = finder_.FindNext(frame.bgr);
  std::vector<FoundPlate> finds = found.ok() ? std::move(*found) : std::vector<FoundPlate>{};
  if (!config_.masks.empty() && !frame.bgr.empty()) {
    std::erase_if(finds, [&](const FoundPlate& f) {
      const cv::Point2d centre((f.where.box.x + f.where.box.width / 2.0) / frame.bgr.cols,
                               (f.where.box.y + f.where.box.height / 2.0) / frame.bgr.rows);
      return std::any_of(config_.masks.begin(), config_.masks.end(),
                         [&](const Polygon& m) { return InsidePolygon(m, centre); });
    });
  }
  std::vector<PlatePass> passes, early;
  std::vector<int64_t> tracks;
  tracker_.Update(frame.wall_ns, finds, passes, &tracks, &early);
  for (int64_t t : tracks) {
    // The feed hands over a new picture per frame, so keeping the Mat keeps that frame.
    if (tracker_.BestNs(t) == frame.wall_ns) best_[t] = frame.bgr;
  }
  // Announced while the vehicle is still in view: start = first read, end = this frame.
  for (const PlatePass& p : early) out.push_back(PassDetection(p, Phase::kStart, frame.wall_ns));
  Report(passes, out);
  // Tracks that ended without a pass (too few reads) leave no picture behind.
  for (auto it = best_.begin(); it != best_.end();) {
    it = tracker_.BestNs(it->first) == 0 ? best_.erase(it) : std::next(it);
  }
}

Detection PlateCamera::PassDetection(const PlatePass& p, Phase phase, int64_t end_ns) const {
  Detection d;
  d.phase = phase;
  d.type = EventType::kVehicle;
  d.track = p.track;
  d.start_ns = p.first_ns;
  d.end_ns = end_ns;
  d.score = p.confidence;
  d.box = p.best_box;
  d.key = p.track;
  d.plate = Detection::Plate{p.plate, plate::BackgroundName(p.color), p.confidence, p.sightings, p.best_ns};
  if (auto pic = best_.find(p.track); pic != best_.end()) d.picture = pic->second;
  return d;
}

void PlateCamera::Flush(std::vector<Detection>& out) {
  std::vector<PlatePass> passes;
  tracker_.Flush(passes);
  Report(passes, out);
  best_.clear();
}

void PlateCamera::Report(std::vector<PlatePass>& passes, std::vector<Detection>& out) {
  for (const PlatePass& p : passes) {
    if (p.confidence >= config_.pass_confidence) out.push_back(PassDetection(p, Phase::kInstant, p.last_ns));
    best_.erase(p.track);
  }
}

}  // namespace vigil::analytics
