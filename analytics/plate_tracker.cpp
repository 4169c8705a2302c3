#include "analytics/plate_tracker.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "base/plate_text.h"

namespace vigil::analytics {
namespace {

double CentreDistance(const cv::Rect& a, const cv::Rect& b) {
  cv::Point2d ca(a.x + a.width / 2.0, a.y + a.height / 2.0), cb(b.x + b.width / 2.0, b.y + b.height / 2.0);
  return cv::norm(ca - cb);
}

}  // namespace

int PlateDistance(const std::u32string& a, const std::u32string& b) {
  size_t n = std::min(a.size(), b.size());
  int d = static_cast<int>(std::max(a.size(), b.size()) - n);
  for (size_t i = 0; i < n; ++i) d += a[i] != b[i];
  return d;
}

void PlateTracker::Update(int64_t wall_ns, const std::vector<FoundPlate>& finds,
                          std::vector<PlatePass>& done, std::vector<int64_t>* track_ids,
                          std::vector<PlatePass>* early) {
  const int64_t gap_ns = static_cast<int64_t>(options_.gap_s * 1e9);
  // Finish tracks unseen for too long.
  for (auto it = tracks_.begin(); it != tracks_.end();) {
    if (wall_ns - it->sightings.back().ns > gap_ns) {
      PlatePass pass;
      if (Vote(*it, pass)) done.push_back(std::move(pass));
      it = tracks_.erase(it);
    } else {
      ++it;
    }
  }
  if (track_ids) track_ids->assign(finds.size(), 0);
  // Greedy association, closest pairs first: text agreement counts most, then position.
  struct Pair {
    double cost;
    size_t find, track;
  };
  std::vector<Pair> pairs;
  for (size_t f = 0; f < finds.size(); ++f) {
    std::u32string text = plate::Decode(finds[f].text.plate);
    for (size_t t = 0; t < tracks_.size(); ++t) {
      const Sighting& last = tracks_[t].sightings.back();
      int dist = PlateDistance(text, plate::Decode(last.text.plate));
      double jump = CentreDistance(finds[f].where.box, last.box) / std::max(1, last.box.width);
      bool near = jump <= options_.max_jump;
      if (dist == 0 || (dist <= 2 && near) || (near && jump <= 1.0)) {
        pairs.push_back({dist + jump * 0.5, f, t});
      }
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.cost < b.cost; });
  std::vector<bool> find_used(finds.size(), false), track_used(tracks_.size(), false);
  auto add = [&](Track& track, const FoundPlate& f, size_t index) {
    track.sightings.push_back({wall_ns, f.text, f.where.box});
    if (f.text.confidence > track.best_conf) {
      track.best_conf = f.text.confidence;
      track.best_ns = wall_ns;
    }
    if (track_ids) (*track_ids)[index] = track.id;
  };
  for (const Pair& p : pairs) {
    if (find_used[p.find] || track_used[p.track]) continue;
    find_used[p.find] = track_used[p.track] = true;
    add(tracks_[p.track], finds[p.find], p.find);
  }
  for (size_t f = 0; f < finds.size(); ++f) {
    if (find_used[f]) continue;
    tracks_.push_back(Track{next_id_++, {}, 0, -1, {}});
    add(tracks_.back(), finds[f], f);
  }
  if (!early || options_.early_sightings <= 0) return;
  for (Track& t : tracks_) {
    if (t.sightings.back().ns != wall_ns ||
        static_cast<int>(t.sightings.size()) < std::max(options_.early_sightings, options_.min_sightings)) {
      continue;
    }
    PlatePass pass;
    if (Vote(t, pass) && pass.confidence >= options_.early_confidence && pass.plate != t.announced) {
      t.announced = pass.plate;
      early->push_back(std::move(pass));
    }
  }
}

void PlateTracker::Flush(std::vector<PlatePass>& done) {
  for (const Track& t : tracks_) {
    PlatePass pass;
    if (Vote(t, pass)) done.push_back(std::move(pass));
  }
  tracks_.clear();
}

int64_t PlateTracker::BestNs(int64_t track) const {
  for (const Track& t : tracks_) {
    if (t.id == track) return t.best_ns;
  }
  return 0;
}

bool PlateTracker::Vote(const Track& track, PlatePass& pass) const {
  if (static_cast<int>(track.sightings.size()) < options_.min_sightings) return false;
  // The length with the most confidence behind it.
  std::map<size_t, double> by_length;
  for (const auto& s : track.sightings) by_length[plate::Decode(s.text.plate).size()] += s.text.confidence;
  size_t length = std::max_element(by_length.begin(), by_length.end(),
                                   [](auto& a, auto& b) { return a.second < b.second; })->first;
  std::vector<std::map<char32_t, double>> votes(length);
  std::map<plate::Background, double> colors;
  int voters = 0;
  for (const auto& s : track.sightings) {
    std::u32string t = plate::Decode(s.text.plate);
    colors[s.text.color] += s.text.color_confidence;
    if (t.size() != length) continue;
    ++voters;
    for (size_t i = 0; i < length; ++i) {
      double c = i < s.text.char_confidence.size() ? s.text.char_confidence[i] : s.text.confidence;
      votes[i][t[i]] += c;
    }
  }
  std::u32string text;
  double confidence = 1;
  for (const auto& v : votes) {
    auto best = std::max_element(v.begin(), v.end(), [](auto& a, auto& b) { return a.second < b.second; });
    text.push_back(best->first);
    confidence = std::min(confidence, best->second / voters);
  }
  auto layout = plate::CheckGrammar(text);
  if (!layout.ok()) return false;  // the vote mixed two plates: no trustworthy read
  pass.track = track.id;
  pass.plate = plate::Encode(text);
  pass.confidence = confidence;
  pass.first_ns = track.sightings.front().ns;
  pass.last_ns = track.sightings.back().ns;
  pass.sightings = static_cast<int>(track.sightings.size());
  // Colour: most confidence among those the text allows.
  double best_color = -1;
  for (const auto& [color, weight] : colors) {
    if (plate::BackgroundAllowed(text, *layout, color) && weight > best_color) {
      best_color = weight;
      pass.color = color;
    }
  }
  if (best_color < 0) pass.color = plate::ImpliedBackground(text, *layout).value_or(plate::Background::kBlue);
  // The snapshot: the most confident sighting (the frame the caller kept for BestNs).
  for (const auto& s : track.sightings) {
    if (s.ns == track.best_ns) {
      pass.best_ns = s.ns;
      pass.best_box = s.box;
      break;
    }
  }
  return true;
}

}  // namespace vigil::analytics
