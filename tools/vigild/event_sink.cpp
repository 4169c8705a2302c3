#include "tools/vigild/event_sink.h"

#include <ctime>

#include "analytics/snapshot.h"
#include "base/clock.h"
#include "base/fs.h"

namespace vigil::vigild {

EventSink::EventSink(index::Store& store, std::string data_dir, bool snapshots, Publish publish)
    : store_(store), data_dir_(std::move(data_dir)), snapshots_(snapshots), publish_(std::move(publish)) {}

int64_t EventSink::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

std::string WriteEventPictures(const std::string& data_dir, const std::string& camera, int64_t start_ns,
                               std::string_view kind, int64_t key, const cv::Mat& bgr, const cv::Rect& box,
                               std::string& crop, const std::string& label) {
  auto log = Logger("vigild");
  if (bgr.empty()) return {};
  time_t secs = static_cast<time_t>(start_ns / kNsPerSec);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char day[16], hms[16];
  std::strftime(day, sizeof(day), "%Y-%m-%d", &tm);
  std::strftime(hms, sizeof(hms), "%H%M%S", &tm);
  std::string rel_dir = JoinPath(JoinPath("snapshots", camera), day);
  if (Status st = MakeDirs(JoinPath(data_dir, rel_dir)); !st.ok()) {
    log->error("snapshot: {}", st);
    return {};
  }
  std::string stem = fmt::format("{}.{:03d}-{}-{}", hms, (start_ns / kNsPerMs) % 1000, kind, key);
  std::string rel = JoinPath(rel_dir, stem + ".jpg");
  auto full = analytics::EncodeSnapshot(bgr, box, 85, label);
  if (!full.ok()) {
    log->error("snapshot of camera {}: {}", camera, full.error());
    return {};
  }
  if (Status st = WriteFile(JoinPath(data_dir, rel), full->data(), full->size()); !st.ok()) {
    log->error("snapshot: {}", st);
    return {};
  }
  if (!box.empty()) {
    auto c = analytics::EncodeCrop(bgr, box);
    std::string crop_rel = JoinPath(rel_dir, stem + "-crop.jpg");
    if (c.ok() && WriteFile(JoinPath(data_dir, crop_rel), c->data(), c->size()).ok()) crop = crop_rel;
  }
  return rel;
}

std::string EventSink::WriteSnapshots(const analytics::Detection& d, const Frame& frame,
                                      std::string& crop) {
  if (!snapshots_) return {};
  std::string label;
  if (d.object_class != ObjectClass::kUnknown) {
    label = fmt::format("{} {:.2f}", ObjectClassName(d.object_class), d.class_confidence);
  }
  return WriteEventPictures(data_dir_, frame.camera, d.start_ns, index::EventTypeName(d.type), d.key,
                            frame.bgr, d.box, crop, label);
}

void EventSink::OnDetection(const analytics::Detection& d, const Frame& frame) {
  const auto key = std::make_pair(frame.camera, d.key);
  if (d.phase == analytics::Phase::kEnd) {
    index::Event e;
    {
      std::lock_guard lock(mu_);
      auto it = open_.find(key);
      if (it == open_.end()) return;  // its start was not stored (logged then)
      e = std::move(it->second);
      open_.erase(it);
    }
    e.end_ns = std::max(d.end_ns, e.start_ns);
    // The object was looked at again while the event lasted: its class as known at the end.
    const bool reclass = d.object_class != ObjectClass::kUnknown &&
                         (d.object_class != e.object_class || d.class_confidence != e.class_confidence);
    if (reclass) {
      e.object_class = d.object_class;
      e.class_confidence = d.class_confidence;
    }
    if (Status st = store_.EndEvent(e.camera, e.start_ns, e.id, e.end_ns,
                                    reclass ? e.object_class : ObjectClass::kUnknown, e.class_confidence);
        !st.ok()) {
      log_->error("camera {}: end of {} event {}: {}", e.camera, index::EventTypeName(e.type), e.id, st);
    }
    if (publish_) publish_(e, false);
    return;
  }
  index::Event e;
  e.camera = frame.camera;
  e.start_ns = d.start_ns;
  e.end_ns = d.phase == analytics::Phase::kStart ? d.start_ns : d.end_ns;
  e.type = d.type;
  e.zone = d.zone;
  e.track = d.track;
  e.score = d.score;
  e.box = {d.box.x, d.box.y, d.box.width, d.box.height};
  e.object_class = d.object_class;
  e.class_confidence = d.class_confidence;
  std::string crop;
  e.snapshot = WriteSnapshots(d, frame, crop);
  // frame_ns: the wall time of the frame the event was seen in (a line crossing is timed between
  // two frames; an intrusion starts at the entry, seen min_dwell later).
  std::string attrs = fmt::format(R"("frame":[{},{}],"frame_ns":{})", frame.bgr.cols, frame.bgr.rows,
                                  frame.wall_ns);
  if (!crop.empty()) attrs += fmt::format(R"(,"crop":"{}")", crop);
  if (d.attributes.size() > 2) attrs += "," + d.attributes.substr(1, d.attributes.size() - 2);
  e.attributes = "{" + attrs + "}";
  auto id = store_.AddEvent(e);
  if (!id.ok()) {
    log_->error("camera {}: {} event lost: {}", e.camera, index::EventTypeName(e.type), id.error());
    return;
  }
  e.id = *id;
  {
    std::lock_guard lock(mu_);
    ++events_;
    if (d.phase == analytics::Phase::kStart) open_[key] = e;
  }
  if (publish_) publish_(e, d.phase == analytics::Phase::kStart);
}

}  // namespace vigil::vigild
