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

// Access units received and not recorded, by why. Every one is also either inside a gap of the
// index (the run ended: outage, queue overflow, disk error) or counted on the segment it fell in.
struct FrameDrops {
  int64_t packet_loss = 0;     // broken by lost RTP packets (vigil's client)
  int64_t before_key = 0;      // before a key frame: a run's start, or after a break in the stream
  int64_t queue_overflow = 0;  // the disk fell behind: whole GOPs dropped, a gap recorded
  int64_t disk_error = 0;      // could not be written (disk full, unwritable directory)
  int64_t format_change = 0;   // new parameter sets mid-GOP: until the next key frame
  int64_t untimed = 0;         // no timestamp (GStreamer's client)

  int64_t Total() const {
    return packet_loss + before_key + queue_overflow + disk_error + format_change + untimed;
  }
};

// "12 dropped (3 broken by packet loss, 9 before a key frame)", or "0 dropped".
std::string DescribeDrops(const FrameDrops& drops);

struct CameraHealth {
  std::string camera;
  CameraState state = CameraState::kConnecting;
  double fps = 0;            // over the last few seconds
  double bitrate_bps = 0;    // over the last few seconds
  int64_t frames = 0;        // written since start
  int64_t bytes = 0;         // received since start
  int64_t frames_received = 0;  // access units received since start (written + dropped + queued)
  FrameDrops dropped;           // received (or broken in transit) and not written, by why
  int64_t lost_packets = 0;     // RTP packets the camera sent that never arrived (vigil's client)
  // Frames whose presentation time was moved to their decode time: the camera reordered frames
  // deeper than its SPS declared (kept, and counted).
  int64_t frames_retimed = 0;
  int64_t audio_frames = 0;   // audio frames written (cameras whose AAC audio is recorded)
  int64_t audio_dropped = 0;  // audio frames received and not written (outside any segment)
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
