#pragma once
// Records kept by the index. Times are wall-clock UTC nanoseconds since the Unix epoch.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vigil::index {

struct Camera {
  std::string id;
  std::string name;
  std::string main_url;
  std::string sub_url;  // empty when the camera has no sub stream
  double lat = 0;
  double lon = 0;
  std::string place;
  std::string district;
  std::vector<std::string> tags;
};

// Life of a segment row; see docs/storage.md for the crash-safety order.
enum class SegmentState : int {
  kOpen = 0,       // file being written; row committed before the first byte
  kClosed = 1,     // file complete, fsynced, hashed
  kRecovered = 2,  // file was open at a crash; truncated to its last complete fragment, hashed
  kDeleting = 3,   // retention chose it; file removal pending, row removed after
};

struct Segment {
  int64_t id = 0;
  std::string camera;
  SegmentState state = SegmentState::kOpen;
  int64_t start_ns = 0;
  int64_t end_ns = 0;            // == start_ns while open
  std::string path;              // relative to the data directory
  int64_t bytes = 0;
  int64_t frames = 0;
  int64_t media_duration_90k = 0;  // from the stream's own timestamps
  std::string codec;             // "h264" or "h265"
  int width = 0;
  int height = 0;
  std::string sha256;            // lowercase hex of the whole file; empty while open
};

// A span without footage, and why.
struct Gap {
  int64_t id = 0;
  std::string camera;
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;  // empty while the outage goes on
  std::string reason;
};

struct SegmentFilter {
  std::optional<std::string> camera;
  std::optional<SegmentState> state;
  int64_t start_ns = INT64_MIN;  // segments ending after start_ns ...
  int64_t end_ns = INT64_MAX;    // ... and starting before end_ns
  int64_t limit = 1'000'000;
  bool oldest_first = true;
};

struct CameraUsage {
  std::string camera;
  int64_t bytes = 0;
  int64_t segments = 0;
  int64_t oldest_start_ns = 0;
};

}  // namespace vigil::index
