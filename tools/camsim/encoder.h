#pragma once
// Encodes raw I420 frames with a real encoder (x264enc, x265enc, jpegenc) in a small GStreamer pipeline
// and hands each encoded access unit to a callback. Not thread-safe: one pushing thread.

#include <cstdint>
#include <functional>
#include <memory>

#include <gst/gst.h>
#include <opencv2/core.hpp>

#include "base/gst_ptr.h"
#include "base/status.h"
#include "tools/camsim/simulator.h"

namespace vigil::camsim {

class Encoder {
 public:
  // Called on the encoder's streaming thread with a borrowed buffer (ref it to keep it).
  using Sink = std::function<void(GstBuffer* au, bool key)>;

  // `bframes` > 0: B-frames with a pyramid (as libx264's defaults, and many cameras' "high profile"
  // setting); the output then comes in decode order, each buffer's PTS its frame's presentation.
  static Result<std::unique_ptr<Encoder>> Create(Codec codec, cv::Size size, int fps,
                                                 int gop_frames, int kbps, Sink sink, int bframes = 0);
  ~Encoder();

  // Pushes one I420 frame (height*3/2 rows of width bytes). Blocks when the encoder is behind.
  Status Push(const cv::Mat& i420, int64_t frame_index);
  // Sends end-of-stream and waits until every frame has come out.
  Status Finish();

 private:
  Encoder() = default;
  static GstFlowReturn OnSample(GstElement* sink, gpointer self);

  GstPtr<GstElement> pipeline_;
  GstElement* appsrc_ = nullptr;  // borrowed from pipeline_
  int fps_ = 25;
  Sink sink_;
};

}  // namespace vigil::camsim
