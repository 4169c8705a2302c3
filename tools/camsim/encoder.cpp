#include "tools/camsim/encoder.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

namespace vigil::camsim {

Result<std::unique_ptr<Encoder>> Encoder::Create(Codec codec, cv::Size size, int fps,
                                                 int gop_frames, int kbps, Sink sink, int bframes) {
  EnsureGstInit();
  std::string enc;
  switch (codec) {
    case Codec::kH264:
      // By default no B-frames (zerolatency); scene-cut keyframes off so that GOPs are exactly
      // gop_frames.
      enc = fmt::format(
          "x264enc {} speed-preset=ultrafast key-int-max={} bitrate={} bframes={} b-pyramid={} "
          "byte-stream=true threads=1 option-string=scenecut=0:keyint-min={} ! "
          "video/x-h264,stream-format=byte-stream,alignment=au",
          bframes > 0 ? "" : "tune=zerolatency", gop_frames, kbps, bframes, bframes > 1 ? "true" : "false",
          gop_frames);
      break;
    case Codec::kH265:
      enc = fmt::format(
          "x265enc {} speed-preset=ultrafast key-int-max={} bitrate={} "
          "option-string=bframes={}:open-gop=0:scenecut=0:repeat-headers=1:pools=1:frame-threads=1:min-keyint={} "
          "! video/x-h265,stream-format=byte-stream,alignment=au",
          bframes > 0 ? "" : "tune=zerolatency", gop_frames, kbps, bframes, gop_frames);
      break;
    case Codec::kMjpeg:
      enc = "jpegenc quality=75 ! image/jpeg";
      break;
  }
  std::string desc = fmt::format(
      "appsrc name=src format=time block=true max-bytes={} "
      "caps=video/x-raw,format=I420,width={},height={},framerate={}/1 ! {} ! "
      "appsink name=sink sync=false",
      size.width * size.height * 3, size.width, size.height, fps, enc);
  GError* raw_err = nullptr;
  GstPtr<GstElement> pipeline(gst_parse_launch(desc.c_str(), &raw_err));
  GstPtr<GError> err(raw_err);
  if (!pipeline || err) {
    return Status::FailedPrecondition(fmt::format(
        "cannot build {} encoder ({}): is the GStreamer plugin installed? (tools/setup)",
        CodecName(codec), err ? err->message : "unknown error"));
  }
  auto e = std::unique_ptr<Encoder>(new Encoder());
  e->fps_ = fps;
  e->sink_ = std::move(sink);
  e->appsrc_ = gst_bin_get_by_name(GST_BIN(pipeline.get()), "src");
  g_object_unref(e->appsrc_);  // the pipeline keeps it alive; we borrow
  GstPtr<GstElement> appsink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  GstAppSinkCallbacks cbs{};
  cbs.new_sample = [](GstAppSink* s, gpointer self) { return OnSample(GST_ELEMENT(s), self); };
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink.get()), &cbs, e.get(), nullptr);
  e->pipeline_ = std::move(pipeline);
  if (gst_element_set_state(e->pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    return Status::Internal(fmt::format("{} encoder pipeline failed to start", CodecName(codec)));
  }
  return e;
}

Encoder::~Encoder() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
}

GstFlowReturn Encoder::OnSample(GstElement* sink, gpointer self) {
  auto* e = static_cast<Encoder*>(self);
  GstPtr<GstSample> sample(gst_app_sink_pull_sample(GST_APP_SINK(sink)));
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  bool key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  e->sink_(buf, key);
  return GST_FLOW_OK;
}

Status Encoder::Push(const cv::Mat& i420, int64_t frame_index) {
  size_t bytes = i420.total() * i420.elemSize();
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, bytes, nullptr);
  gst_buffer_fill(buf, 0, i420.data, bytes);
  GstClockTime dur = GST_SECOND / static_cast<uint64_t>(fps_);
  GST_BUFFER_PTS(buf) = static_cast<GstClockTime>(frame_index) * dur;
  GST_BUFFER_DURATION(buf) = dur;
  if (gst_app_src_push_buffer(GST_APP_SRC(appsrc_), buf) != GST_FLOW_OK) {
    return Status::Internal("encoder refused a frame");
  }
  return Status::Ok();
}

Status Encoder::Finish() {
  gst_app_src_end_of_stream(GST_APP_SRC(appsrc_));
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
  GstPtr<GstMessage> msg(gst_bus_timed_pop_filtered(
      bus.get(), 120 * GST_SECOND,
      static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  if (!msg) return Status::Internal("encoder did not finish within 120 s");
  if (GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_ERROR) {
    GError* raw = nullptr;
    gst_message_parse_error(msg.get(), &raw, nullptr);
    GstPtr<GError> err(raw);
    return Status::Internal(fmt::format("encoder failed: {}", err ? err->message : "?"));
  }
  return Status::Ok();
}

}  // namespace vigil::camsim
