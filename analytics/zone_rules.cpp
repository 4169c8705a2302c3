#include "analytics/zone_rules.h"

#include <algorithm>
#include <cmath>

#include "base/clock.h"

namespace vigil::analytics {

namespace {
// A track that steps out of a zone and back within this is still on its first stay.
constexpr int64_t kStayGraceNs = 2 * kNsPerSec;
// An empty zone ends its intrusion after this.
constexpr int64_t kZoneHoldNs = 1 * kNsPerSec;
// The same track crossing the same line the same way again within this is the same crossing.
constexpr int64_t kRecrossNs = 1 * kNsPerSec;

double Score(const Track& t) {
  if (t.path.empty()) return 0;
  int observed = 0;
  for (const auto& p : t.path) observed += p.observed;
  return std::clamp(0.5 + 0.5 * observed / static_cast<double>(t.path.size()), 0.0, 1.0);
}
// Whether a rule for `classes` (all when empty) counts the track: its class as classified so far.
bool Counts(const std::vector<ObjectClass>& classes, const Track& t) {
  return classes.empty() || std::find(classes.begin(), classes.end(), t.object_class) != classes.end();
}
}  // namespace

ZoneRules::ZoneRules(const AnalyticsConfig& config, cv::Size frame_size, int64_t* next_key)
    : frame_size_(frame_size),
      hysteresis_px_(std::max(3.0, 0.01 * frame_size.width)),
      next_key_(next_key) {
  for (const Zone& z : config.zones) {
    ZoneArea za;
    za.zone = z;
    for (const auto& p : z.polygon) za.px.emplace_back(p.x * frame_size.width, p.y * frame_size.height);
    zones_.push_back(std::move(za));
  }
  for (const Line& l : config.lines) {
    LinePx lp;
    lp.line = l;
    lp.a = {l.a.x * frame_size.width, l.a.y * frame_size.height};
    lp.b = {l.b.x * frame_size.width, l.b.y * frame_size.height};
    lp.length = cv::norm(lp.b - lp.a);
    lines_.push_back(lp);
  }
}

void ZoneRules::Step(const Track& track, const TrackPoint& p, TrackState& st,
                     std::vector<Detection>& out) {
  // A box cut by the frame's bottom edge has its foot on that edge, which is the edge of a zone
  // drawn to the frame's border: half a pixel inside, it is in the zone.
  const cv::Point2d foot(std::clamp(p.foot.x, 0.5, frame_size_.width - 0.5),
                         std::clamp(p.foot.y, 0.5, frame_size_.height - 0.5));
  for (size_t i = 0; i < zones_.size(); ++i) {
    const ZoneArea& za = zones_[i];
    TrackZone& tz = st.zones[i];
    bool big_enough = track.max_height >= za.zone.min_size * frame_size_.height;
    bool in = big_enough && Counts(za.zone.classes, track) && InsidePolygon(za.px, foot);
    if (in) {
      if (!tz.inside && !(tz.last_inside_ns > 0 && p.t_ns - tz.last_inside_ns < kStayGraceNs)) {
        tz.entered_ns = p.t_ns;
      }
      tz.inside = true;
      tz.last_inside_ns = p.t_ns;
      if (za.zone.loiter_s > 0 && !tz.loitering &&
          p.t_ns - tz.entered_ns >= static_cast<int64_t>(za.zone.loiter_s * kNsPerSec)) {
        tz.loitering = true;
        tz.loiter_key = (*next_key_)++;
        Detection d;
        d.phase = Phase::kStart;
        d.type = EventType::kLoitering;
        d.zone = za.zone.name;
        d.track = track.id;
        d.start_ns = d.end_ns = tz.entered_ns;
        d.score = Score(track);
        d.box = track.box;
        d.object_class = track.object_class;
        d.class_confidence = track.class_confidence;
        d.key = tz.loiter_key;
        d.attributes = fmt::format(R"({{"loiter_seconds":{:g}}})", za.zone.loiter_s);
        out.push_back(d);
      }
    } else {
      tz.inside = false;
    }
  }
  for (size_t i = 0; i < lines_.size(); ++i) {
    const LinePx& lp = lines_[i];
    TrackLine& tl = st.lines[i];
    double d = SideOf(lp.a, lp.b, p.foot) / lp.length;
    if (std::abs(d) < hysteresis_px_) continue;
    int side = d > 0 ? 1 : -1;
    if (tl.side != 0 && side != tl.side && SegmentsIntersect(tl.side_pt, p.foot, lp.a, lp.b)) {
      // -1 → +1 is side A to side B.
      Direction dir = side > 0 ? Direction::kAToB : Direction::kBToA;
      double f = std::abs(tl.side_dist) / (std::abs(tl.side_dist) + std::abs(d));
      int64_t t = tl.side_ns + static_cast<int64_t>(f * static_cast<double>(p.t_ns - tl.side_ns));
      bool wanted = (lp.line.direction == Direction::kBoth || lp.line.direction == dir) &&
                    Counts(lp.line.classes, track);
      bool repeat = tl.last_cross_dir == side && t - tl.last_cross_ns < kRecrossNs;
      if (wanted && !repeat) {
        Detection det;
        det.phase = Phase::kInstant;
        det.type = EventType::kTripwire;
        det.zone = lp.line.name;
        det.track = track.id;
        det.start_ns = det.end_ns = t;
        det.score = Score(track);
        det.box = track.box;  // where it is now: the snapshot is of the current frame
        det.object_class = track.object_class;
        det.class_confidence = track.class_confidence;
        det.key = (*next_key_)++;
        det.attributes = fmt::format(R"({{"direction":"{}"}})", DirectionName(dir));
        out.push_back(det);
      }
      tl.last_cross_ns = t;
      tl.last_cross_dir = side;
    }
    tl.side = side;
    tl.side_ns = p.t_ns;
    tl.side_dist = d;
    tl.side_pt = p.foot;
  }
}

void ZoneRules::EndTrack(int64_t id, TrackState& st, std::vector<Detection>& out) {
  for (size_t i = 0; i < zones_.size(); ++i) {
    TrackZone& tz = st.zones[i];
    if (!tz.loitering) continue;
    Detection d;
    d.phase = Phase::kEnd;
    d.type = EventType::kLoitering;
    d.zone = zones_[i].zone.name;
    d.track = id;
    d.start_ns = tz.entered_ns;
    d.end_ns = tz.last_inside_ns;
    d.key = tz.loiter_key;
    out.push_back(d);
    tz.loitering = false;
  }
}

void ZoneRules::Process(const std::vector<Track>& live, const std::vector<Track>& ended,
                        int64_t t_ns, std::vector<Detection>& out) {
  for (const Track& track : live) {
    if (!track.confirmed) continue;
    auto [it, fresh] = states_.try_emplace(track.id);
    TrackState& st = it->second;
    if (fresh) {
      st.zones.resize(zones_.size());
      st.lines.resize(lines_.size());
    }
    for (const TrackPoint& p : track.path) {
      if (p.t_ns <= st.processed_ns) continue;
      st.processed_ns = p.t_ns;
      if (p.observed) Step(track, p, st, out);
    }
    for (size_t i = 0; i < zones_.size(); ++i) {
      TrackZone& tz = st.zones[i];
      if (tz.loitering && !tz.inside && t_ns - tz.last_inside_ns >= kStayGraceNs) {
        Detection d;
        d.phase = Phase::kEnd;
        d.type = EventType::kLoitering;
        d.zone = zones_[i].zone.name;
        d.track = track.id;
        d.start_ns = tz.entered_ns;
        d.end_ns = tz.last_inside_ns;
        d.key = tz.loiter_key;
        out.push_back(d);
        tz.loitering = false;
      }
    }
  }
  for (const Track& track : ended) {
    auto it = states_.find(track.id);
    if (it == states_.end()) continue;
    EndTrack(track.id, it->second, out);
    states_.erase(it);
  }
  // Zone occupancy → intrusion.
  for (size_t i = 0; i < zones_.size(); ++i) {
    ZoneArea& za = zones_[i];
    if (!za.zone.intrusion) continue;
    const int64_t dwell = static_cast<int64_t>(za.zone.min_dwell_s * kNsPerSec);
    const Track* first = nullptr;
    int64_t first_entry = 0;
    bool occupied = false;
    bool stepped_out = false;  // a track out of the zone for less than the stay grace
    for (const Track& track : live) {
      auto it = states_.find(track.id);
      if (it == states_.end()) continue;
      const TrackZone& tz = it->second.zones[i];
      if (!tz.inside) {
        // It may step back in and carry on its stay: the zone's intrusion waits for it, or the stay
        // would start a second intrusion at the first one's start.
        if (tz.last_inside_ns > 0 && t_ns - tz.last_inside_ns < kStayGraceNs) stepped_out = true;
        continue;
      }
      occupied = true;
      if (t_ns - tz.entered_ns < dwell) continue;
      if (!first || tz.entered_ns < first_entry) {
        first = &track;
        first_entry = tz.entered_ns;
      }
    }
    if (occupied) za.last_occupied_ns = t_ns;
    if (!za.active && first) {
      za.active = true;
      za.key = (*next_key_)++;
      za.since_ns = first_entry;
      za.track = first->id;
      Detection d;
      d.phase = Phase::kStart;
      d.type = EventType::kIntrusion;
      d.zone = za.zone.name;
      d.track = first->id;
      d.start_ns = d.end_ns = first_entry;
      d.score = Score(*first);
      d.box = first->box;
      d.object_class = first->object_class;
      d.class_confidence = first->class_confidence;
      d.key = za.key;
      out.push_back(d);
    } else if (za.active && !occupied && !stepped_out && t_ns - za.last_occupied_ns >= kZoneHoldNs) {
      Detection d;
      d.phase = Phase::kEnd;
      d.type = EventType::kIntrusion;
      d.zone = za.zone.name;
      d.track = za.track;
      d.start_ns = za.since_ns;
      d.end_ns = za.last_occupied_ns;
      d.key = za.key;
      out.push_back(d);
      za.active = false;
    }
  }
}

void ZoneRules::Flush(std::vector<Detection>& out) {
  for (auto& [id, st] : states_) EndTrack(id, st, out);
  states_.clear();
  for (ZoneArea& za : zones_) {
    if (!za.active) continue;
    Detection d;
    d.phase = Phase::kEnd;
    d.type = EventType::kIntrusion;
    d.zone = za.zone.name;
    d.track = za.track;
    d.start_ns = za.since_ns;
    d.end_ns = za.last_occupied_ns;
    d.key = za.key;
    out.push_back(d);
    za.active = false;
  }
}

}  // namespace vigil::analytics
