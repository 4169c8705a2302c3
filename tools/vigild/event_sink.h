#pragma once
// Where analytics' detections go in vigild: a snapshot and crop JPEG under
// <data_dir>/snapshots/<camera>/<YYYY-MM-DD>/, a row in the index (added when the event starts, its
// end set when it ends), and a live message on the API's PUB socket (topic event.<camera>; an
// ongoing event is published when it starts and again when it ends, with the same id).
//
// Thread-safety: OnDetection may be called from any thread (the analytics workers).

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "analytics/detection.h"
#include "base/frame.h"
#include "base/log.h"
#include "index/store.h"

namespace vigil::vigild {

// Writes <data_dir>/snapshots/<camera>/<YYYY-MM-DD>/<HHMMSS.mmm>-<kind>-<key>.jpg (the frame with
// `box` drawn, `label` on it) and, for a non-empty box, its -crop.jpg. Returns the snapshot's path
// relative to data_dir ("" when it could not be written: logged) and sets `crop` likewise.
std::string WriteEventPictures(const std::string& data_dir, const std::string& camera, int64_t start_ns,
                               std::string_view kind, int64_t key, const cv::Mat& bgr, const cv::Rect& box,
                               std::string& crop, const std::string& label = {});

class EventSink {
 public:
  // `publish` receives each event as stored (may be empty); `snapshots`: write JPEGs.
  using Publish = std::function<void(const index::Event& event, bool ongoing)>;
  EventSink(index::Store& store, std::string data_dir, bool snapshots, Publish publish);

  void OnDetection(const analytics::Detection& d, const Frame& frame);

  // Events written, for status and tests.
  int64_t events() const;

 private:
  std::string WriteSnapshots(const analytics::Detection& d, const Frame& frame, std::string& crop);

  index::Store& store_;
  const std::string data_dir_;
  const bool snapshots_;
  Publish publish_;
  std::shared_ptr<spdlog::logger> log_ = Logger("vigild");

  mutable std::mutex mu_;  // guards the members below
  std::map<std::pair<std::string, int64_t>, index::Event> open_;  // (camera, key) → started event
  int64_t events_ = 0;
};

}  // namespace vigil::vigild
