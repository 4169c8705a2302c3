#include "analytics/tracker.h"

#include <algorithm>
#include <cmath>

#include "base/clock.h"

namespace vigil::analytics {

cv::Point2d FootOf(const cv::Rect& box) {
  return {box.x + box.width / 2.0, static_cast<double>(box.y + box.height)};
}

namespace {

double IoU(const cv::Rect& a, const cv::Rect& b) {
  double inter = (a & b).area();
  double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

}  // namespace

void Tracker::Observe(Track& tr, const cv::Rect& b, int64_t t_ns) const {
  const cv::Point2d centre(b.x + b.width / 2.0, b.y + b.height / 2.0);
  if (tr.still_since_ns == 0 || cv::norm(centre - tr.anchor) > 0.25 * b.height) {
    tr.anchor = centre;
    tr.still_since_ns = t_ns;
  }
  // An edge within 2 pixels of the frame's is the frame's.
  const bool bottom_cut = b.y + b.height >= frame_size_.height - 2;
  const bool top_cut = b.y <= 2;
  const cv::Point2d foot = FootOf(b), head(b.x + b.width / 2.0, b.y);
  if (!bottom_cut) {
    if (!tr.first_foot) tr.first_foot = foot;
    tr.moved = std::max(tr.moved, cv::norm(foot - *tr.first_foot));
  }
  if (!top_cut) {
    if (!tr.first_head) tr.first_head = head;
    tr.moved = std::max(tr.moved, cv::norm(head - *tr.first_head));
  }
}

Tracker::Tracker(TrackerSettings settings, cv::Size frame_size)
    : settings_(settings), frame_size_(frame_size) {}

void Tracker::Clear() {
  for (auto& t : tracks_) cleared_.push_back(std::move(t));
  tracks_.clear();
}

const std::vector<Track>& Tracker::Update(const std::vector<Blob>& blobs, int64_t t_ns) {
  ended_ = std::move(cleared_);
  cleared_.clear();
  const double dt = last_ns_ ? std::max(1e-3, static_cast<double>(t_ns - last_ns_) / kNsPerSec) : 0.2;
  last_ns_ = t_ns;

  // Candidate pairs (track, blob) with a score: overlap with the predicted box first, then nearness.
  struct Pair {
    double score;
    size_t track;
    size_t blob;
  };
  std::vector<Pair> pairs;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    const Track& tr = tracks_[i];
    double since = static_cast<double>(t_ns - tr.last_seen_ns) / kNsPerSec;
    cv::Point2d shift = tr.velocity * since;
    cv::Rect predicted = tr.box + cv::Point(static_cast<int>(shift.x), static_cast<int>(shift.y));
    cv::Point2d pfoot = FootOf(predicted);
    // Gate: how far the object can have gone, at least its own size (blob boxes breathe).
    double reach = std::max({static_cast<double>(tr.box.height), tr.box.width * 1.0,
                             settings_.max_speed * frame_size_.width * std::min(since, 0.5)});
    for (size_t j = 0; j < blobs.size(); ++j) {
      const cv::Rect& b = blobs[j].box;
      double iou = IoU(predicted, b);
      double dist = cv::norm(FootOf(b) - pfoot);
      if (iou <= 0 && dist > reach) continue;
      // Sizes must be comparable: a person's track does not jump onto a bus.
      double hr = static_cast<double>(b.height) / std::max(1, tr.box.height);
      if (hr > 3 || hr < 1.0 / 3) continue;
      pairs.push_back({iou + (1.0 - dist / (reach + 1)), i, j});
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.score > b.score; });
  std::vector<bool> track_used(tracks_.size()), blob_used(blobs.size());
  for (const Pair& p : pairs) {
    if (track_used[p.track] || blob_used[p.blob]) continue;
    track_used[p.track] = blob_used[p.blob] = true;
    Track& tr = tracks_[p.track];
    const cv::Rect& b = blobs[p.blob].box;
    cv::Point2d foot = FootOf(b);
    double since = std::max(1e-3, static_cast<double>(t_ns - tr.last_seen_ns) / kNsPerSec);
    cv::Point2d last_foot = FootOf(tr.box);
    cv::Point2d v = (foot - last_foot) * (1.0 / since);
    tr.velocity = tr.hits == 1 ? v : tr.velocity * 0.6 + v * 0.4;
    tr.box = b;
    tr.last_seen_ns = t_ns;
    tr.coasting = false;
    ++tr.hits;
    tr.max_height = std::max(tr.max_height, static_cast<double>(b.height));
    tr.path.push_back({t_ns, foot, b, true});
    Observe(tr, b, t_ns);
    if (!tr.confirmed && tr.hits >= settings_.confirm_hits &&
        tr.moved >= std::max(0.5 * std::min(tr.max_height, 0.15 * frame_size_.height),
                             0.02 * frame_size_.width)) {
      tr.confirmed = true;
    }
  }
  // Unmatched tracks coast or end.
  std::vector<Track> live;
  live.reserve(tracks_.size() + blobs.size());
  for (size_t i = 0; i < tracks_.size(); ++i) {
    Track& tr = tracks_[i];
    if (!track_used[i]) {
      double gone = static_cast<double>(t_ns - tr.last_seen_ns) / kNsPerSec;
      // Unconfirmed tracks do not coast: they are most often noise.
      if (gone > settings_.coast_s || !tr.confirmed) {
        ended_.push_back(std::move(tr));
        continue;
      }
      tr.coasting = true;
      cv::Point2d foot = FootOf(tr.box) + tr.velocity * gone;
      cv::Rect pbox = tr.box + cv::Point(static_cast<int>(foot.x - FootOf(tr.box).x),
                                         static_cast<int>(foot.y - FootOf(tr.box).y));
      tr.path.push_back({t_ns, foot, pbox, false});
    }
    live.push_back(std::move(tr));
  }
  for (size_t j = 0; j < blobs.size(); ++j) {
    if (blob_used[j]) continue;
    Track tr;
    tr.id = next_id_++;
    tr.box = blobs[j].box;
    tr.first_ns = tr.last_seen_ns = t_ns;
    tr.hits = 1;
    tr.max_height = blobs[j].box.height;
    tr.path.push_back({t_ns, FootOf(tr.box), tr.box, true});
    Observe(tr, tr.box, t_ns);
    live.push_back(std::move(tr));
  }
  (void)dt;
  tracks_ = std::move(live);
  return tracks_;
}

}  // namespace vigil::analytics
