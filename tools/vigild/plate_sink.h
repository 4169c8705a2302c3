#pragma once
// Where plate cameras' vehicle passes go in vigild: the pictures (frame of the best read with the
// plate boxed, and the plate crop) under <data_dir>/snapshots/, a vehicle event (type 01) and a
// plate read in the index, a live plate.<camera> message; and, when the plate matches the
// watchlist, an alert: stored (with its response zone), and published on unit.<unit> for the zone's
// units, then alert.<camera>, with what dispatch needs (camera, place, coordinates, plate, colour,
// picture, the nearest other cameras, a clip request of the pass). Alerts are raised on a pass's
// early read (while the vehicle is in view) when there is one, else when the pass ends. The same
// plate and watch entry on the same camera within duplicate_ns raise one alert.
//
// Thread-safety: OnPass may be called from any thread (the plate workers).

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "analytics/detection.h"
#include "base/clock.h"
#include "base/frame.h"
#include "base/log.h"
#include "index/store.h"
#include "proto/vigil.pb.h"
#include "tools/vigild/config.h"

namespace vigil::vigild {

class PlateSink {
 public:
  using Publish = std::function<void(const std::string& topic, api::v1::LiveMessage message)>;
  // `clock` times the alerts (raised_ns), the watchlist's re-reads and the latency log.
  PlateSink(index::Store& store, const Config& config, Publish publish, const Clock& clock = SystemClock());

  void OnPass(const analytics::Detection& d, const Frame& frame);

  int64_t reads() const;
  int64_t alerts() const;
  int64_t suppressed() const;  // duplicate alerts not raised

 private:
  // A pass announced early (analytics::PlatesConfig::early_sightings): watchlist alerts at once,
  // before the vehicle has left; the pass's read follows when it ends and is linked to them.
  void OnEarlyRead(const analytics::Detection& d, const Frame& frame);
  // Raises (stores and publishes) an alert; `trigger_ns` is the wall time of the frame that decided
  // it. Returns its id, or 0 when it was a duplicate or could not be stored.
  int64_t Alert(const index::PlateRead& read, const index::WatchEntry& entry, const analytics::Detection& d,
                int64_t trigger_ns);
  std::vector<index::WatchEntry> Watchlist(int64_t now_ns);

  index::Store& store_;
  const Clock& clock_;
  const std::string data_dir_;
  const PlatesNodeConfig options_;
  std::map<std::string, ingest::CameraConfig> cameras_;
  Publish publish_;
  std::shared_ptr<spdlog::logger> log_ = Logger("vigild");

  mutable std::mutex mu_;  // guards the members below
  std::vector<index::WatchEntry> watchlist_;
  int64_t watchlist_at_ns_ = -1;
  std::map<std::tuple<std::string, int64_t, std::string>, int64_t> last_alert_;  // (camera, watch, plate) → ns
  int64_t reads_ = 0, alerts_ = 0, suppressed_ = 0;
  struct EarlyPass {
    std::string plate;  // as announced
    int64_t at_ns = 0;
    std::vector<std::pair<int64_t, int64_t>> alerts;  // (watch entry, alert id)
  };
  std::map<std::pair<std::string, int64_t>, EarlyPass> early_alerts_;  // (camera, track) →
};

}  // namespace vigil::vigild
