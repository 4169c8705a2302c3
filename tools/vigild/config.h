#pragma once
// vigild's configuration file (TOML). Reference: docs/config.md. Every problem is refused at start
// with "FILE:LINE: reason", never guessed around: an unknown key (a typo would silently disable what
// the operator asked for), a malformed URL, a duplicate camera id, a value out of range.

#include <string>
#include <string_view>
#include <vector>

#include <map>

#include "analytics/plate_camera.h"
#include "analytics/rules.h"
#include "base/status.h"
#include "base/toml_reader.h"
#include "index/types.h"
#include "ingest/recording_config.h"

namespace vigil::vigild {

struct ApiConfig {
  std::string requests = "tcp://127.0.0.1:7700";
  std::string events = "tcp://127.0.0.1:7701";
  int64_t workers = 2;                          // request workers, each with its own index reader
  int64_t max_clip_ns = 2 * 3600 * kNsPerSec;   // max_clip_minutes: longest clip one export may ask
  int64_t export_concurrency = 2;               // clips written at once; later exports wait
  // The server's key pair and the authorised keys (proto/keys.h); empty: <data_dir>/keys. Absolute
  // after loading.
  std::string keys_dir;
  int64_t exports_per_user = 4;                 // exports one user may have in progress
  int64_t export_quota_bytes = 50LL << 30;      // the export area's size limit
  int64_t export_user_quota_bytes = 10LL << 30;  // what one user's exports may hold of it
  int64_t export_days = 30;                     // exports older are deleted (0: kept)
  int64_t connections_per_peer = 256;           // API connections one address may hold
  int64_t max_connections = 4096;               // API connections in all
};

struct AnalyticsNodeConfig {
  int64_t workers = 1;     // analysis threads shared by all cameras
  bool snapshots = true;   // JPEG snapshot (frame with box) and crop per event
};

// [plates]: the node's plate readers and what a watchlist hit sends to dispatch.
struct PlatesNodeConfig {
  int64_t workers = 1;                      // plate-reading threads shared by all plate cameras
  std::string model;                        // the plate network; default analytics::DefaultPlateModel()
  int64_t nearest = 5;                      // other cameras an alert lists, nearest first
  int64_t clip_before_ns = 15 * kNsPerSec;  // the alert's ready clip request around the pass
  int64_t clip_after_ns = 15 * kNsPerSec;
  int64_t duplicate_ns = 120 * kNsPerSec;   // the same plate and watch entry on the same camera
                                            // within this is the same vehicle: one alert
  std::string local_provinces;              // e.g. "云": an uncertain first character goes there
  double local_province_weight = 4;
};

struct Config {
  std::string path;  // the file it came from
  ApiConfig api;
  AnalyticsNodeConfig analytics_node;
  // Cameras with an [cameras.analytics] table that does not say enabled = false.
  std::map<std::string, analytics::AnalyticsConfig> analytics;
  PlatesNodeConfig plates_node;
  // Cameras with a [cameras.plates] table that does not say enabled = false.
  std::map<std::string, analytics::PlatesConfig> plates;
  ingest::RecordingOptions recording;  // recording.data_dir is absolute after loading
  std::vector<ingest::CameraConfig> cameras;
  // [[zones]]: rapid-response zones, written to the index at start (zones added through the API
  // stay; a zone listed here is reset to what the file says at each start).
  std::vector<index::ResponseZone> zones;
  std::string log_level = "info";
};

// Reads and validates `path`. A relative data_dir is taken relative to the config file's directory.
// Errors are InvalidArgument (NotFound for a missing file) with "path:line: reason".
Result<Config> LoadConfig(const std::string& path);
// The same from text; `path` names it in errors and anchors a relative data_dir.
Result<Config> ParseConfig(std::string_view text, const std::string& path);

// Checks an RTSP URL: rtsp:// or rtsps://, optional user:password@, a host, an optional port 1-65535.
Status ValidateRtspUrl(const std::string& url);
// trace, debug, info, warn, error, critical.
bool ValidLogLevel(const std::string& level);
using ::vigil::ParseByteSize;  // base/toml_reader.h

}  // namespace vigil::vigild
