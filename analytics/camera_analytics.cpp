#include "analytics/camera_analytics.h"

#include <opencv2/imgproc.hpp>

#include "base/clock.h"

namespace vigil::analytics {

namespace {
// A held object whose box has had under kActiveShare of its pixels change between frames for
// kInactiveReleaseNs is let go into the background (a table pushed aside, a bag put down).
constexpr double kActiveShare = 0.01;
constexpr int64_t kInactiveReleaseNs = 5 * kNsPerSec;
}  // namespace

CameraAnalytics::CameraAnalytics(const AnalyticsConfig& config)
    : config_(config),
      size_(config.width, config.height),
      motion_(config.motion, size_, config.masks, config.fps),
      tracker_(TrackerSettings{}, size_),
      classifier_(ClassifierSettings{}, size_),
      rules_(config, size_, &next_key_),
      tamper_(TamperSettings{}, config.fps, config.masks, &next_key_) {}

void CameraAnalytics::EndMotion(std::vector<Detection>& out) {
  if (!motion_active_) return;
  motion_active_ = false;
  if (!config_.motion_events) return;
  Detection d;
  d.phase = Phase::kEnd;
  d.type = EventType::kMotion;
  d.track = motion_track_;
  d.start_ns = motion_start_ns_;
  d.end_ns = last_motion_ns_;
  d.key = motion_key_;
  out.push_back(d);
}

void CameraAnalytics::StartMotion(const Track& first, int64_t start_ns, bool continued,
                                  std::vector<Detection>& out) {
  motion_active_ = true;
  motion_key_ = next_key_++;
  motion_start_ns_ = start_ns;
  motion_track_ = first.id;
  if (!config_.motion_events) return;
  Detection d;
  d.phase = Phase::kStart;
  d.type = EventType::kMotion;
  d.track = first.id;
  d.start_ns = d.end_ns = start_ns;
  d.score = 1.0;
  d.box = first.box;
  d.object_class = first.object_class;
  d.class_confidence = first.class_confidence;
  d.key = motion_key_;
  if (continued) d.attributes = R"({"continued":true})";
  out.push_back(d);
}

void CameraAnalytics::Process(const Frame& frame, std::vector<Detection>& out) {
  const size_t first = out.size();
  ProcessFrame(frame, out);
  // Classes as known now: for the events ending in this frame, and kept a minute after their track
  // ends (an intrusion ends when its zone has been empty for a second).
  const int64_t t = frame.wall_ns;
  const Tracker& tracker = tracker_;
  for (const std::vector<Track>* tracks : {&tracker.tracks(), &tracker.ended()}) {
    for (const Track& tr : *tracks) {
      if (tr.object_class != ObjectClass::kUnknown) known_class_[tr.id] = {tr.object_class, tr.class_confidence, t};
    }
  }
  std::erase_if(known_class_, [&](const auto& kv) { return t - kv.second.seen_ns > 60 * kNsPerSec; });
  EndClasses(out, first);
}

void CameraAnalytics::EndClasses(std::vector<Detection>& out, size_t first) const {
  for (size_t i = first; i < out.size(); ++i) {
    Detection& d = out[i];
    if (d.phase != Phase::kEnd || d.track == 0) continue;
    auto it = known_class_.find(d.track);
    if (it == known_class_.end()) continue;
    d.object_class = it->second.cls;
    d.class_confidence = it->second.confidence;
  }
}

void CameraAnalytics::ProcessFrame(const Frame& frame, std::vector<Detection>& out) {
  if (frame.bgr.size() == size_) {
    scaled_ = frame.bgr;
  } else {
    cv::resize(frame.bgr, scaled_, size_, 0, 0, cv::INTER_AREA);
  }
  const int64_t t = frame.wall_ns;
  if (config_.tamper) {
    tamper_.Process(scaled_, t, out);
    if (tamper_.tampered()) {
      if (!was_tampered_) {
        // Whatever moves now is the tamper itself, not objects.
        rules_.Flush(out);
        EndMotion(out);
        tracker_.Clear();
        was_tampered_ = true;
      }
      return;
    }
    if (was_tampered_) {
      was_tampered_ = false;
      motion_.Reset();
    }
  }
  // Objects being tracked are kept out of the background while they stand still, for at most
  // stationary_s, and only while something stirs inside their box (see MotionDetector::Process).
  hold_.clear();
  held_.clear();
  const auto stationary = static_cast<int64_t>(config_.motion.stationary_s * kNsPerSec);
  for (const Track& tr : tracker_.tracks()) {
    if (!tr.confirmed || t - tr.still_since_ns >= stationary) continue;
    auto [it, fresh] = last_active_.try_emplace(tr.id, t);
    if (t - it->second >= kInactiveReleaseNs) continue;
    hold_.push_back(tr.path.back().box);
    held_.push_back(tr.id);
  }
  auto blobs = motion_.Process(scaled_, hold_);
  const auto& activity = motion_.hold_activity();
  for (size_t i = 0; i < held_.size() && i < activity.size(); ++i) {
    if (activity[i] >= kActiveShare) last_active_[held_[i]] = t;
  }
  tracker_.Update(blobs, t);
  classifier_.Update(tracker_.tracks(), frame.bgr, t);
  const std::vector<Track>& tracks = tracker_.tracks();
  rules_.Process(tracks, tracker_.ended(), t, out);
  for (const Track& tr : tracker_.ended()) last_active_.erase(tr.id);

  const Track* earliest = nullptr;
  bool seen = false;
  for (const Track& tr : tracks) {
    if (!tr.confirmed) continue;
    if (!tr.coasting) seen = true;
    if (!earliest || tr.first_ns < earliest->first_ns) earliest = &tr;
  }
  if (seen) last_motion_ns_ = t;
  if (!motion_active_ && earliest && seen) {
    StartMotion(*earliest, earliest->first_ns, false, out);
  } else if (motion_active_ && !seen &&
             t - last_motion_ns_ >= static_cast<int64_t>(config_.motion.hold_s * kNsPerSec)) {
    EndMotion(out);
  } else if (motion_active_ && seen &&
             t - motion_start_ns_ >= static_cast<int64_t>(config_.motion.max_event_s * kNsPerSec)) {
    // A busy street never goes still: the event is cut at its longest and goes on as a new one
    // (marked as continuing), so that motion search finds minutes, not one event of the whole day.
    EndMotion(out);
    StartMotion(*earliest, t, true, out);
  }
}

void CameraAnalytics::Flush(std::vector<Detection>& out) {
  const size_t first = out.size();
  rules_.Flush(out);
  EndMotion(out);
  tamper_.Flush(out);
  EndClasses(out, first);
}

}  // namespace vigil::analytics
