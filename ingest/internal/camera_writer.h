#pragma once
// The disk side of one camera: turns the stream of access units into segments, segment rows and gap
// rows, in the crash-safe order of docs/storage.md. Runs on the camera's writer thread only; not
// thread-safe. Health updates go through the callback.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "base/clock.h"
#include "base/gst_ptr.h"
#include "base/log.h"
#include "index/store.h"
#include "ingest/health.h"
#include "ingest/recording_config.h"
#include "ingest/segment_writer.h"
#include "ingest/wall_clock.h"

namespace vigil::ingest::internal {

struct Frame {
  std::vector<uint8_t> data;  // the access unit: NAL units with 4-byte lengths
  std::shared_ptr<const StreamFormat> format;
  int64_t dts_ns = 0;  // media clock (the camera's RTP clock), ns
  int64_t pts_ns = 0;
  int64_t duration_ns = 0;
  int64_t arrival_wall_ns = 0;  // server wall time the frame was received
  bool key = false;
  bool audio = false;  // an audio frame (pts_ns on the video's clock, duration_ns)
};

struct WriterItem {
  // kLoss: `lost` frames broken in transit (packet loss) between the frames around it.
  enum class Kind { kFrame, kDiscontinuity, kStop, kLoss } kind = Kind::kFrame;
  int64_t lost = 0;
  Frame frame;
  std::string reason;  // kDiscontinuity: why frames stopped (becomes the gap's reason)
  int64_t wall_ns = 0;
};

class CameraWriter {
 public:
  using HealthUpdate = std::function<void(const std::function<void(CameraHealth&)>&)>;

  CameraWriter(const CameraConfig& camera, const RecordingOptions& options, index::Store& store,
               Clock& clock, HealthUpdate health);

  // Reads where this camera's footage ended before (last segment end, open gap) from the index.
  // `crashed`: the previous run of vigild died with this camera's segment open.
  Status Init(bool crashed);
  void Handle(WriterItem& item);

 private:
  void OnFrame(Frame& f);
  void OnAudio(Frame& f);
  void WriteAudio(const Frame& f);
  void OnDiscontinuity(const std::string& reason, int64_t wall_ns);
  Status OpenSegment(const Frame& f);
  // Closes the open segment at media time `media_end_ns` (the next segment's first frame, or the
  // end of the last frame).
  void CloseSegment(int64_t media_end_ns);
  void EndRun(const std::string& reason, int64_t wall_ns);
  // Opens the gap for an outage that began at wall_ns (or at the end of the last footage), split in
  // two when the previous footage predates this vigild's start.
  void OpenOutage(const std::string& reason, int64_t wall_ns);
  void FootageResumed(int64_t start_wall_ns);
  void DiskError(const Status& st, int64_t wall_ns);
  void OpenGapIfNone(int64_t start_ns, const std::string& reason);

  const CameraConfig camera_;
  const RecordingOptions options_;
  index::Store& store_;
  Clock& clock_;
  HealthUpdate health_;
  std::shared_ptr<spdlog::logger> log_;

  std::unique_ptr<SegmentWriter> segment_;
  index::Segment row_;
  std::shared_ptr<const StreamFormat> format_;
  WallClockMapper wall_;
  int64_t seg_first_dts_ = 0;
  int64_t seg_lost_ = 0;
  std::deque<Frame> pending_audio_;  // audio that came before its segment opened
  bool pending_open_audio_ = false;  // the segment just opened: write pending_audio_ after its first frame  // frames lost while the open segment was being written (its frames_lost)
  std::optional<int64_t> prev_dts_;        // media time of the last frame written this run
  int64_t prev_end_media_ = 0;             // its end (dts + duration)
  std::optional<int64_t> last_end_wall_;  // end of the last footage indexed (this run or before)
  std::optional<int64_t> open_gap_id_;
  // The gap closed by the current run's first segment: its end is refined when that segment's wall
  // start is known exactly.
  std::optional<int64_t> gap_to_refine_;
  // Set when a connection's first segment opens; cleared once its first fragment is on disk.
  std::optional<int64_t> resume_at_;
  std::string startup_gap_reason_;  // cleared once this run's footage or first failure is recorded
  int64_t started_wall_ = 0;        // when this vigild began recording the camera
  int64_t disk_retry_mono_ = 0;
  std::string last_disk_error_;
};

}  // namespace vigil::ingest::internal
