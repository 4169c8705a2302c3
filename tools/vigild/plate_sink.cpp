#include "tools/vigild/plate_sink.h"

#include <algorithm>

#include <fmt/ranges.h>

#include "base/clock.h"
#include "base/plate_text.h"
#include "proto/convert.h"
#include "tools/vigild/event_sink.h"

namespace vigil::vigild {
namespace {

// The watchlist is re-read at most this often: entries added through the API alert within a second.
constexpr int64_t kWatchlistRefreshNs = kNsPerSec;

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

// The plate read a pass's detection stands for (no id, no snapshot yet).
index::PlateRead ReadOf(const analytics::Detection& d, const std::string& camera) {
  const auto& p = *d.plate;
  index::PlateRead read;
  read.camera = camera;
  read.time_ns = p.best_ns;
  read.plate = p.text;
  read.color = index::ParsePlateColor(p.color).value_or(index::PlateColor::kUnknown);
  read.confidence = p.confidence;
  read.box = {d.box.x, d.box.y, d.box.width, d.box.height};
  read.track = d.track;
  return read;
}

}  // namespace

PlateSink::PlateSink(index::Store& store, const Config& config, Publish publish, const Clock& clock)
    : store_(store),
      clock_(clock),
      data_dir_(config.recording.data_dir),
      options_(config.plates_node),
      publish_(std::move(publish)) {
  for (const auto& c : config.cameras) cameras_[c.id] = c;
}

int64_t PlateSink::reads() const {
  std::lock_guard lock(mu_);
  return reads_;
}
int64_t PlateSink::alerts() const {
  std::lock_guard lock(mu_);
  return alerts_;
}
int64_t PlateSink::suppressed() const {
  std::lock_guard lock(mu_);
  return suppressed_;
}

std::vector<index::WatchEntry> PlateSink::Watchlist(int64_t now_ns) {
  std::lock_guard lock(mu_);
  if (watchlist_at_ns_ < 0 || now_ns - watchlist_at_ns_ >= kWatchlistRefreshNs) {
    auto list = store_.Watchlist();
    if (list.ok()) {
      watchlist_ = std::move(*list);
      watchlist_at_ns_ = now_ns;
    } else {
      log_->error("watchlist: {} (matching against the last one read)", list.error());
    }
  }
  return watchlist_;
}

void PlateSink::OnPass(const analytics::Detection& d, const Frame& frame) {
  if (!d.plate) return;
  const auto& p = *d.plate;
  if (d.phase == analytics::Phase::kStart) {
    OnEarlyRead(d, frame);
    return;
  }
  std::string crop;
  std::string snapshot = WriteEventPictures(data_dir_, frame.camera, p.best_ns, "plate", d.key,
                                            frame.bgr, d.box, crop);
  index::Event e;
  e.camera = frame.camera;
  e.start_ns = d.start_ns;
  e.end_ns = d.end_ns;
  e.type = index::EventType::kVehicle;
  e.track = d.track;
  e.score = d.score;
  e.box = {d.box.x, d.box.y, d.box.width, d.box.height};
  e.snapshot = snapshot;
  e.attributes = fmt::format(R"({{"plate":"{}","color":"{}","sightings":{},"frame_ns":{},"crop":"{}"}})",
                             JsonEscape(p.text), p.color, p.sightings, p.best_ns, JsonEscape(crop));
  if (auto id = store_.AddEvent(e); !id.ok()) {
    log_->error("camera {}: vehicle event: {}", e.camera, id.error());
  }
  index::PlateRead read = ReadOf(d, frame.camera);
  read.snapshot = crop.empty() ? snapshot : crop;
  auto id = store_.AddPlateRead(read);
  if (!id.ok()) {
    log_->error("camera {}: plate read {}: {}", read.camera, read.plate, id.error());
    return;
  }
  read.id = *id;
  read.snapshot = snapshot;  // the live message points at the whole picture
  {
    std::lock_guard lock(mu_);
    ++reads_;
  }
  if (publish_) {
    api::v1::LiveMessage m;
    api::ToPb(read, m.mutable_plate());
    publish_("plate." + read.camera, std::move(m));
  }
  // Alerts raised on this pass's early read get the pass's read; they are not raised again.
  std::vector<std::pair<int64_t, int64_t>> early;  // (watch entry, alert)
  {
    std::lock_guard lock(mu_);
    auto it = early_alerts_.find({read.camera, d.track});
    if (it != early_alerts_.end()) {
      early = std::move(it->second.alerts);
      if (it->second.plate != read.plate) {
        log_->warn("camera {}: pass {} was announced as {} and ended as {} (alerts {} keep the early read)",
                   read.camera, d.track, it->second.plate, read.plate, early.size());
      }
      early_alerts_.erase(it);
    }
  }
  for (const auto& [entry, alert] : early) {
    if (alert <= 0) continue;
    if (Status st = store_.LinkAlertRead(alert, read.id); !st.ok()) {
      log_->error("camera {}: alert {}: linking plate read {}: {}", read.camera, alert, read.id, st);
    }
  }
  const std::u32string text = plate::Decode(read.plate);
  const int64_t now = clock_.WallNs();
  for (const auto& entry : Watchlist(now)) {
    bool done = std::any_of(early.begin(), early.end(), [&](const auto& e) { return e.first == entry.id; });
    if (!done && index::WatchMatches(entry, text, read.time_ns)) Alert(read, entry, d, d.end_ns);
  }
}

void PlateSink::OnEarlyRead(const analytics::Detection& d, const Frame& frame) {
  const auto& p = *d.plate;
  const int64_t t_in = clock_.WallNs();
  const std::u32string text = plate::Decode(p.text);
  std::vector<index::WatchEntry> matches;
  for (const auto& entry : Watchlist(t_in)) {
    if (index::WatchMatches(entry, text, d.end_ns)) matches.push_back(entry);
  }
  {
    std::lock_guard lock(mu_);
    // A pass announced again (its vote changed its mind): entries it already alerted on stay quiet.
    if (auto it = early_alerts_.find({frame.camera, d.track}); it != early_alerts_.end()) {
      std::erase_if(matches, [&](const index::WatchEntry& e) {
        return std::any_of(it->second.alerts.begin(), it->second.alerts.end(),
                           [&](const auto& done) { return done.first == e.id; });
      });
    }
    // Passes that never ended (camera gone) must not pile up: drop entries older than an hour.
    for (auto it = early_alerts_.begin(); it != early_alerts_.end();) {
      it = d.end_ns - it->second.at_ns > 3600 * kNsPerSec ? early_alerts_.erase(it) : std::next(it);
    }
  }
  if (matches.empty()) return;
  // The alert's picture: the best frame of the pass so far, with the plate boxed.
  std::string crop;
  std::string snapshot = WriteEventPictures(data_dir_, frame.camera, p.best_ns, "plate", d.key,
                                            frame.bgr, d.box, crop);
  index::PlateRead read = ReadOf(d, frame.camera);  // not stored: the pass's read is, when it ends
  read.snapshot = snapshot;
  const int64_t t_pic = clock_.WallNs();
  for (const auto& entry : matches) {
    // Recorded even when it was a duplicate (alert 0): the pass's end does not ask again.
    int64_t alert = Alert(read, entry, d, d.end_ns);
    std::lock_guard lock(mu_);
    EarlyPass& pass = early_alerts_[{read.camera, d.track}];
    pass.plate = read.plate;
    pass.at_ns = d.end_ns;
    pass.alerts.emplace_back(entry.id, alert);
  }
  // Dispatch is promised alerts within a fraction of a second: say where the time went when not.
  const int64_t t_out = clock_.WallNs();
  const bool slow = t_out - d.end_ns > 250 * kNsPerMs;
  log_->log(slow ? spdlog::level::warn : spdlog::level::debug,
            "camera {}: alert on {} took {:.0f} ms from its frame: {:.0f} ms to the sink (decode, queue, "
            "reading), {:.0f} ms pictures, {:.0f} ms stored and published",
            frame.camera, p.text, static_cast<double>(t_out - d.end_ns) / 1e6,
            static_cast<double>(t_in - d.end_ns) / 1e6, static_cast<double>(t_pic - t_in) / 1e6,
            static_cast<double>(t_out - t_pic) / 1e6);
}

int64_t PlateSink::Alert(const index::PlateRead& read, const index::WatchEntry& entry,
                         const analytics::Detection& d, int64_t trigger_ns) {
  {
    std::lock_guard lock(mu_);
    auto key = std::make_tuple(read.camera, entry.id, read.plate);
    auto it = last_alert_.find(key);
    if (it != last_alert_.end() && read.time_ns - it->second < options_.duplicate_ns) {
      ++suppressed_;
      log_->info("camera {}: {} matches watchlist #{} again within {} s: same vehicle, no new alert",
                 read.camera, read.plate, entry.id, options_.duplicate_ns / kNsPerSec);
      return 0;
    }
    last_alert_[key] = read.time_ns;
  }
  const ingest::CameraConfig* cam = nullptr;
  if (auto c = cameras_.find(read.camera); c != cameras_.end()) cam = &c->second;
  index::Alert a;
  a.camera = read.camera;
  a.time_ns = trigger_ns;  // the frame that decided it: latency is measured from here
  a.kind = "watchlist";
  a.plate_read_id = read.id;
  a.watch_id = entry.id;
  a.message = fmt::format("{} ({}) seen by {}{}: watchlist #{} P{} — {}", read.plate,
                          index::PlateColorName(read.color), read.camera,
                          cam && !cam->place.empty() ? " at " + cam->place : "", entry.id, entry.priority,
                          entry.reason);
  a.raised_ns = clock_.WallNs();
  auto stored = store_.RaiseAlert(a);
  if (!stored.ok()) {
    log_->error("camera {}: alert for {}: {}", read.camera, read.plate, stored.error());
    return 0;
  }
  a = std::move(*stored);
  {
    std::lock_guard lock(mu_);
    ++alerts_;
  }
  const int64_t alert_id = a.id;
  log_->warn("ALERT {}: {}{}", a.id, a.message,
             a.zone.empty() ? std::string() : fmt::format(" [zone {} → {}]", a.zone, fmt::join(a.units, ", ")));
  if (!publish_) return alert_id;
  api::v1::LiveMessage m;
  auto* pb = m.mutable_alert();
  api::ToPb(a, pb);
  pb->set_plate(read.plate);
  pb->set_color(std::string(index::PlateColorName(read.color)));
  pb->set_snapshot(read.snapshot);
  pb->set_priority(entry.priority);
  pb->set_reason(entry.reason);
  if (cam) {
    pb->set_place(cam->place);
    pb->mutable_position()->set_lat(cam->lat);
    pb->mutable_position()->set_lon(cam->lon);
    if (options_.nearest > 0 && (cam->lat != 0 || cam->lon != 0)) {
      auto near = store_.NearestCameras({cam->lat, cam->lon}, static_cast<int>(options_.nearest) + 1);
      if (near.ok()) {
        int n = 0;
        for (const auto& cd : *near) {
          if (cd.camera.id == read.camera || n >= options_.nearest) continue;
          auto* out = pb->add_nearest();
          api::ToPb(cd.camera, out->mutable_camera());
          out->set_distance_m(cd.distance_m);
          ++n;
        }
      }
    }
  }
  auto* clip = pb->mutable_clip();
  clip->mutable_range()->set_from_ns(d.start_ns - options_.clip_before_ns);
  // An early alert's pass is still going on: twice the margin after the deciding frame.
  const bool early = d.phase == analytics::Phase::kStart;
  clip->mutable_range()->set_to_ns(d.end_ns + (early ? 2 : 1) * options_.clip_after_ns);
  clip->add_cameras(read.camera);
  clip->set_case_ref(fmt::format("alert {}", a.id));
  // The zone's units first (they act on it), then the monitoring room.
  for (const auto& unit : a.units) publish_("unit." + unit, m);
  publish_("alert." + read.camera, std::move(m));
  return alert_id;
}

}  // namespace vigil::vigild
