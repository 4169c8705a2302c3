#pragma once
// A camera's recording health, kept in memory for operators ("is camera 431 recording?") and the API.

#include <cstdint>
#include <string>

namespace vigil::ingest {

enum class CameraState {
  kConnecting,  // pipeline started, no frame yet
  kRecording,   // frames arriving and being written
  kRetrying,    // disconnected, waiting to reconnect
  kDiskError,   // frames arriving but cannot be written (disk full, unwritable directory)
  kDisabled,    // record = false
  kStopped,     // vigild shutting down
};

const char* CameraStateName(CameraState state);

struct CameraHealth {
  std::string camera;
  CameraState state = CameraState::kConnecting;
  double fps = 0;            // over the last few seconds
  double bitrate_bps = 0;    // over the last few seconds
  int64_t frames = 0;        // written since start
  int64_t bytes = 0;         // received since start
  int64_t frames_dropped = 0;  // lost between network and disk (queue overflow, disk errors)
  int64_t segments = 0;      // closed since start
  int64_t reconnects = 0;
  std::string codec;
  int width = 0;
  int height = 0;
  std::string last_error;
  int64_t last_frame_wall_ns = 0;
  int64_t last_gap_start_ns = 0;
  int64_t last_gap_end_ns = 0;  // 0 while the gap is open
  std::string last_gap_reason;
  // The analysis branch: "off", "connecting", "analysing" or "degraded" (its stream or decoder
  // failed: recording goes on, analysis is retried).
  std::string analysis = "off";
  std::string analysis_error;
  int64_t analysis_frames = 0;   // decoded frames handed to analytics
  int64_t analysis_dropped = 0;  // of those, replaced before analytics took them
  // The plate branch (main stream, full size), the same way.
  std::string plates = "off";
  std::string plates_error;
  int64_t plates_frames = 0;
  int64_t plates_dropped = 0;
};

}  // namespace vigil::ingest
