#pragma once
// One camera's recording: a connection of vigil's RTSP client (or, for UDP and on request, a GStreamer
// pipeline rtspsrc → depay → parse → appsink), no decode, no re-encode, feeding a bounded queue, and a
// writer thread draining it into a CameraWriter.
//
// Threads: Tick() is called by the node's supervisor thread only, Shutdown() by it or by one stopping
// thread per camera (never both); the receiving callbacks (RTSP reader thread, or GStreamer's
// streaming thread) never block (they only queue); Health() may be called from any thread.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <gst/app/gstappsink.h>

#include "base/gst_ptr.h"
#include "ingest/audio_depay.h"
#include "ingest/backoff.h"
#include "ingest/internal/camera_writer.h"
#include "ingest/internal/decode_times.h"
#include "ingest/internal/analysis_feed.h"
#include "ingest/internal/rtp_pass.h"
#include "ingest/internal/rtsp_reactor.h"

namespace vigil::ingest::internal {

class CameraRecorder {
 public:
  // `reactor`: vigil's RTSP client records the main stream (else GStreamer's rtspsrc); it must
  // outlive this object.
  CameraRecorder(const CameraConfig& camera, const RecordingOptions& options, index::Store& store,
                 Clock& clock, uint64_t seed, RtspReactor* reactor);
  ~CameraRecorder();
  CameraRecorder(const CameraRecorder&) = delete;
  CameraRecorder& operator=(const CameraRecorder&) = delete;

  // Starts the writer thread (after reading this camera's past from the index) and the first
  // connection attempt.
  // `delay_ns`: wait this long before the first connection.
  Status Start(bool crashed, int64_t delay_ns = 0);
  // Supervises: drains the bus, detects stalls, reconnects after backoff.
  void Tick();
  // Stops the pipelines, then lets the writer close the open segment and stop. A pipeline that does
  // not reach NULL within `pipeline_timeout_ns` (a GStreamer teardown stuck) is left to its thread,
  // logged with every thread's stack, and the segment is closed regardless; returns false then, and
  // this object must never be destroyed (the stuck thread still refers to it).
  bool Shutdown(int64_t pipeline_timeout_ns = 10 * kNsPerSec);

  CameraHealth Health() const;
  const std::string& id() const { return camera_.id; }
  // Whether the camera should be recording and is not (for the periodic audit).
  bool Recording() const;

 private:
  enum class Phase { kIdle, kConnecting, kStreaming, kWaiting };

  Status StartPipeline();
  Status StartConnection();  // vigil's RTSP client
  void OnUnits(std::vector<AccessUnit>& units, int64_t wall_ns, const DepayCounts& counts);  // reactor thread
  void Stamp(Frame f, int64_t now_mono);                            // the thread receiving
  void DeliverStamped(int64_t now_mono);                            // the thread receiving
  void FlushStamps();  // supervisor thread, with no connection running
  void Deliver(Frame f, int64_t now_mono);                          // the thread receiving
  void StopPipeline();
  void Fail(const std::string& reason, bool slow_retry);
  void Enqueue(WriterItem item, size_t bytes);
  void WriterLoop();
  void UpdateHealth(const std::function<void(CameraHealth&)>& fn);

  static void OnPadAdded(GstElement* src, GstPad* pad, gpointer self);
  RtspReactor* const reactor_;
  uint64_t connection_ = 0;  // supervisor thread
  std::mutex ended_mu_;
  std::optional<Status> ended_;  // set by the reactor when the connection ends
  std::atomic<int64_t> playing_since_mono_{0};  // when the camera answered PLAY; 0: not yet
  RtpStamper stamper_;  // streaming thread only
  bool abandoned_ = false;  // a pipeline stop did not return (Shutdown)
  std::unique_ptr<AnalysisFeed> feed_;        // cameras with analysis_fps > 0
  std::unique_ptr<AnalysisFeed> plate_feed_;  // cameras with plates_fps > 0
  std::vector<AnalysisFeed*> shared_feeds_;  // of those, the ones fed by the recording connection
  static GstFlowReturn OnSample(GstAppSink* sink, gpointer self);
  static GstFlowReturn OnAudioSample(GstAppSink* sink, gpointer self);
  void LinkAudio(GstPad* pad, const GstStructure* caps);  // rtspsrc's pad-added
  static gboolean OnSelectStream(GstElement* src, guint num, GstCaps* caps, gpointer self);

  const CameraConfig camera_;
  const RecordingOptions options_;
  Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  CameraWriter writer_;
  Backoff backoff_;

  // Supervisor thread only.
  GstPtr<GstElement> pipeline_;
  Phase phase_ = Phase::kIdle;
  int64_t phase_since_mono_ = 0;
  int64_t retry_at_mono_ = 0;
  bool connected_once_ = false;  // a connection was attempted (later ones count as reconnects)
  int64_t window_start_mono_ = 0;
  int64_t window_frames_ = 0;
  int64_t window_bytes_ = 0;

  // Streaming thread (one pipeline at a time), read by the supervisor through atomics.
  std::atomic<int64_t> last_sample_mono_{0};
  std::atomic<int64_t> samples_{0};
  std::atomic<int64_t> bytes_in_{0};
  std::atomic<int64_t> received_{0};  // frames handed to the writer queue since start
  GstPtr<GstCaps> last_caps_;  // held, so that a new caps object can never reuse its address
  std::shared_ptr<const StreamFormat> format_;
  DecodeTimes decode_times_;     // decode times for the presentation times RTP carries
  std::vector<Frame> stamped_;    // scratch: frames whose decode times are known
  int64_t retimed_seen_ = 0;
  DepayCounts depay_seen_;  // this connection's, as last counted in health
  bool overflowing_ = false;
  std::atomic<bool> linked_video_{false};
  std::atomic<bool> linked_audio_{false};
  RtpStamper audio_stamper_;  // the audio stream's streaming thread only
  std::mutex audio_mu_;       // guards audio_format_ (set at pad-added, read by the streaming threads)
  std::optional<AudioFormat> audio_format_;

  // Writer queue.
  std::mutex mu_;  // guards the members below
  std::condition_variable cv_;
  std::deque<WriterItem> queue_;
  size_t queued_bytes_ = 0;
  bool writer_stop_ = false;
  bool writer_wake_ = false;  // take the queue now, not at the next round
  std::thread writer_thread_;

  mutable std::mutex health_mu_;
  CameraHealth health_;
};

}  // namespace vigil::ingest::internal
