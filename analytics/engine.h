#pragma once
// Runs every analysed camera's CameraAnalytics on a pool of worker threads.
//
// Frames arrive from ingest's decoding threads through Submit, which never blocks: each camera has
// one waiting slot and a newer frame replaces a waiting one (newest wins; the replaced frame is
// counted as dropped), so analytics that cannot keep up loses frames, never slows recording. A camera
// is analysed by one worker at a time, in frame order.
//
// Detections go to the sink on the worker thread that found them, with the frame they were found in
// (for snapshots). The sink may block briefly (writing a JPEG, queueing an index row); it must not
// call back into the Engine.
//
// Thread-safety: all methods may be called from any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "analytics/detection.h"
#include "analytics/processor.h"
#include "analytics/rules.h"
#include "base/frame.h"
#include "base/status.h"

namespace vigil::analytics {

using DetectionSink = std::function<void(const Detection&, const Frame&)>;

struct CameraAnalyticsStats {
  int64_t frames_analysed = 0;
  int64_t frames_dropped = 0;    // replaced while waiting (analytics behind)
  int64_t detections = 0;
  double last_process_ms = 0;    // CPU time of the last frame's analysis
  double cpu_ms = 0;             // CPU time of all analysis so far
  int64_t last_frame_ns = 0;     // wall time of the last analysed frame
};

class Engine {
 public:
  Engine(int workers, DetectionSink sink);
  // Stop().
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Registers a camera. InvalidArgument for bad rules (ValidateRules), AlreadyExists for a second
  // registration.
  Status AddCamera(const std::string& camera, const AnalyticsConfig& config);
  // Registers a camera with its own processor (plate cameras). AlreadyExists for a second one.
  Status AddProcessor(const std::string& camera, std::unique_ptr<CameraProcessor> processor);
  // Hands a frame over (frame.camera names the camera). Returns false when the frame was not taken
  // as a new one: it replaced a waiting frame (a drop) or the camera is unknown or stopping.
  bool Submit(Frame frame);
  // The analysed size of a camera's frames, for the decoder; nullopt for an unknown camera.
  std::optional<cv::Size> FrameSize(const std::string& camera) const;
  std::optional<double> Fps(const std::string& camera) const;

  CameraAnalyticsStats Stats(const std::string& camera) const;
  // A copy of the frame the camera last analysed (live snapshot); nullopt before the first.
  std::optional<Frame> LatestFrame(const std::string& camera) const;

  // Finishes the frames being analysed, ends every open event (the sink hears the kEnds), stops the
  // workers. Idempotent.
  void Stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::analytics
