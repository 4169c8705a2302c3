#pragma once
// A camera's analysis branch: its own GStreamer pipeline on the sub stream (the main one when the
// camera has none): rtspsrc → depay → parse → decoder (one thread) → appsink. Every frame is decoded
// (inter frames need their references) but only `analysis_fps` a second are converted to BGR, scaled
// and handed on, stamped with wall time. Separate from the recording pipeline, so a decoder that
// fails or a slow analysis never touches recording: the feed reports "degraded" in the camera's
// health and retries with backoff.
//
// Wall time of a frame: its RTP time plus the smallest (arrival − RTP time) seen on this connection,
// allowed to rise by 100 ppm of media time (the camera's clock drifts): network and decode delay do
// not stamp frames late, a burst after a reconnect does not squeeze time.
//
// Threads: Start/Tick/Shutdown on the recorder's supervisor thread; the appsink callback on
// GStreamer's streaming thread.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gst/app/gstappsink.h>

#include "base/gst_ptr.h"
#include "base/log.h"
#include "ingest/backoff.h"
#include "ingest/health.h"
#include "ingest/internal/camera_writer.h"
#include "ingest/internal/rtp_pass.h"
#include "ingest/recording_config.h"

namespace vigil::ingest::internal {

// Which decoded branch a feed is: its stream, rate and size, where its frames go, and the camera
// health fields it reports in.
struct FeedSpec {
  std::string purpose;  // "analysis", "plates": pipeline and log names
  std::string url;
  double fps = 5;
  int width = 0, height = 0;  // 0: as decoded
  // Decode the recording connection's access units (Push) instead of opening a connection of its
  // own: the plate branch of a camera recorded by vigil's RTSP client (one session per stream, as
  // cameras allow few, and no second copy of the main stream on the network).
  bool shared = false;
  std::function<bool(vigil::Frame&&)> sink;
  std::string CameraHealth::*state = nullptr;
  std::string CameraHealth::*error = nullptr;
  int64_t CameraHealth::*frames = nullptr;
  int64_t CameraHealth::*dropped = nullptr;

  // The analytics branch: sub stream (main without one), analysis_fps, analysis size, on_frame.
  static FeedSpec Analysis(const CameraConfig& camera, const RecordingOptions& options);
  // The plate branch: main stream, plates_fps, full size, on_plate_frame.
  static FeedSpec Plates(const CameraConfig& camera, const RecordingOptions& options);
};

class AnalysisFeed {
 public:
  using HealthUpdate = std::function<void(const std::function<void(CameraHealth&)>&)>;
  AnalysisFeed(const CameraConfig& camera, FeedSpec spec, const RecordingOptions& options,
               Clock& clock, uint64_t seed, HealthUpdate update_health);
  ~AnalysisFeed();
  AnalysisFeed(const AnalysisFeed&) = delete;
  AnalysisFeed& operator=(const AnalysisFeed&) = delete;

  void Start();
  void Tick();
  void Shutdown();

  // Shared feeds: an access unit of the recording connection (the receiving thread; never blocks),
  // and the start of a new connection (media time starts again: the decoder is rebuilt).
  void Push(const internal::Frame& f);
  void NewConnection();
  bool shared() const { return spec_.shared; }

 private:
  enum class Phase { kIdle, kConnecting, kStreaming, kWaiting };
  void StartPipeline();
  void StopPipeline();
  void Fail(const std::string& reason, bool slow_retry);

  static void OnPadAdded(GstElement* src, GstPad* pad, gpointer self);
  static GstFlowReturn OnSample(GstAppSink* sink, gpointer self);

  const CameraConfig camera_;
  const FeedSpec spec_;
  const RecordingOptions options_;
  const std::string url_;
  Clock& clock_;
  HealthUpdate update_health_;
  std::shared_ptr<spdlog::logger> log_;
  Backoff backoff_;

  // Supervisor thread.
  GstPtr<GstElement> pipeline_;
  Phase phase_ = Phase::kIdle;
  int64_t phase_since_mono_ = 0;
  int64_t retry_at_mono_ = 0;

  // Shared feeds: the appsrc being fed and what it was built for, under push_mu_.
  void StartSharedPipeline();
  // dec → videoconvert → I420 → appsink (OnSample), added to `bin` and linked; returns the four,
  // downstream first.
  std::vector<GstElement*> AddDecoderChain(GstBin* bin, GstElement* dec);
  std::mutex push_mu_;
  GstElement* appsrc_ = nullptr;  // owned by pipeline_
  std::shared_ptr<const StreamFormat> built_format_, pending_format_;
  bool want_build_ = false;
  bool waiting_key_ = true;

  // Streaming thread (one pipeline at a time).
  RtpStamper stamper_;
  bool linked_video_ = false;
  int64_t offset_ns_ = 0;
  bool have_offset_ = false;
  int64_t last_media_ns_ = 0;
  int64_t next_due_ns_ = -1;
  int64_t sequence_ = 0;
  std::atomic<int64_t> last_frame_mono_{0};
  std::atomic<int64_t> decoded_{0};
};

}  // namespace vigil::ingest::internal
