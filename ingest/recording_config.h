#pragma once
// What the recorder needs to know: the cameras and the node's recording policy. Parsed from vigild's
// TOML config (tools/vigild/config.h), built directly by tests.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/frame.h"
#include "ingest/health.h"

namespace vigil::ingest {

struct CameraConfig {
  std::string id;
  std::string name;
  std::string main_url;
  std::string sub_url;  // optional
  double lat = 0;
  double lon = 0;
  std::string place;
  std::string district;
  std::vector<std::string> tags;
  bool record = true;
  int64_t retain_days = 0;   // 0: no age limit
  int64_t retain_bytes = 0;  // 0: no per-camera size limit
  // Analysis branch: the sub stream (the main one when there is none) decoded, and `analysis_fps`
  // frames a second of it scaled to analysis_width x analysis_height handed to
  // RecordingOptions::on_frame. 0: not analysed.
  double analysis_fps = 0;
  int analysis_width = 640;
  int analysis_height = 360;
  // Plate branch: the main stream decoded and `plates_fps` frames a second of it, at full size (plates
  // are small), handed to RecordingOptions::on_plate_frame. 0: no plate reading.
  double plates_fps = 0;
  // Answer a camera's Basic authentication challenge over plain rtsp:// (the password crosses the
  // network in clear). Off: such a camera is reported and sent nothing, by either RTSP client (for
  // rtspsrc, ingest/internal/rtsp_source.h probes first). Digest is always fine.
  bool allow_basic_auth = false;
};

struct RecordingOptions {
  std::string data_dir;
  int64_t segment_ns = 60 * kNsPerSec;       // cut on the first key frame after this long
  int64_t fragment_ns = 500 * kNsPerMs;      // most media a crash can lose from an open segment
  int64_t stall_ns = 10 * kNsPerSec;         // no frame for this long: the stream is dead
  int64_t connect_timeout_ns = 10 * kNsPerSec;  // no first frame this long after (re)connecting
  int64_t retry_initial_ns = 500 * kNsPerMs;
  int64_t retry_max_ns = 10 * kNsPerSec;
  int latency_ms = 100;                      // RTP jitter buffer
  bool tcp = true;                           // RTP over the RTSP connection (interleaved)
  // Recording's RTSP client: vigil's own (ingest/rtsp_session.h; TCP only) or GStreamer's rtspsrc
  // (always used for UDP). The decoded analysis and plate branches always use GStreamer.
  bool gstreamer_rtsp = false;
  // vigil's client: how long a reading thread lets the sockets fill between reads (batching).
  int64_t read_interval_ns = 20 * kNsPerMs;
  // Cameras' first connections are spread out by this much each (200 cameras: 2 s), so that a
  // node starting does not hit a shared media gateway with every request at once.
  int64_t connect_spread_ns = 10 * kNsPerMs;
  int rtsp_threads = 0;  // vigil's client's reading threads; 0: a quarter of the cores, 1 to 8
  int64_t queue_max_bytes = 16 << 20;        // per camera, between network and disk (~30 s at 4 Mb/s)
  // How often a camera's writer thread takes the frames queued for it: one wake-up per round instead
  // of per frame. A crash loses at most fragment_ns plus this.
  int64_t write_interval_ns = 100 * kNsPerMs;
  // The node's quota over its footage, exports, index and WAL together; 0: none.
  int64_t max_bytes = 0;
  // Keep at least this free on the disk (oldest footage goes first); 0: no check.
  int64_t min_free_bytes = 256LL << 20;
  // A file of this size kept in data_dir (.vigil-reserve): on a full disk it is given up first, so
  // that retention can always commit its deletions and recording resumes by itself; made again
  // once there is room. 0: none.
  int64_t reserve_bytes = 64LL << 20;
  int64_t retention_interval_ns = 10 * kNsPerSec;
  int64_t audit_interval_ns = 60 * kNsPerSec;
  // Called on every change of a camera's state (connecting, recording, retrying, ...), in order per
  // camera, from the recorder's threads with the camera's health lock held: must not block (vigild
  // queues a message for the API's PUB socket).
  std::function<void(const CameraHealth&)> on_state;
  // Receives the decoded analysis frames of cameras with analysis_fps > 0, on GStreamer's streaming
  // thread: must not block (vigild hands them to analytics::Engine::Submit). Returns false when the
  // frame replaced one not yet analysed (counted as dropped in the camera's health).
  std::function<bool(Frame&&)> on_frame;
  // The same for the plate branch of cameras with plates_fps > 0.
  std::function<bool(Frame&&)> on_plate_frame;
};

}  // namespace vigil::ingest
