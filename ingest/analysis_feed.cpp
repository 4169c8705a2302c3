#include "ingest/internal/analysis_feed.h"
#include "ingest/internal/rtsp_source.h"

#include "ingest/rtsp_session.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <opencv2/imgproc.hpp>

namespace vigil::ingest::internal {
namespace {

GstElement* Make(const char* factory) { return gst_element_factory_make(factory, nullptr); }

std::string ErrorText(GstMessage* msg) {
  GError* raw = nullptr;
  gchar* raw_debug = nullptr;
  gst_message_parse_error(msg, &raw, &raw_debug);
  GstPtr<GError> err(raw);
  GstPtr<gchar> debug(raw_debug);
  std::string text = err ? err->message : "unknown error";
  if (!text.empty() && text.back() == '.') text.pop_back();
  // Which stage failed, when it is not the network: "(avdec_h264)" says the decoder gave up.
  GstObject* from = GST_MESSAGE_SRC(msg);
  if (from && GST_IS_ELEMENT(from)) {
    GstElementFactory* f = gst_element_get_factory(GST_ELEMENT(from));
    const char* kind = f ? gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(f)) : nullptr;
    if (kind && std::strcmp(kind, "rtspsrc") != 0) text += fmt::format(" ({})", kind);
  }
  return text;
}

}  // namespace

FeedSpec FeedSpec::Analysis(const CameraConfig& camera, const RecordingOptions& options) {
  FeedSpec s;
  s.purpose = "analysis";
  s.url = camera.sub_url.empty() ? camera.main_url : camera.sub_url;
  s.fps = camera.analysis_fps;
  s.width = camera.analysis_width;
  s.height = camera.analysis_height;
  s.sink = options.on_frame;
  s.state = &CameraHealth::analysis;
  s.error = &CameraHealth::analysis_error;
  s.frames = &CameraHealth::analysis_frames;
  s.dropped = &CameraHealth::analysis_dropped;
  return s;
}

FeedSpec FeedSpec::Plates(const CameraConfig& camera, const RecordingOptions& options) {
  FeedSpec s;
  s.purpose = "plates";
  s.url = camera.main_url;
  s.fps = camera.plates_fps;
  s.sink = options.on_plate_frame;
  s.state = &CameraHealth::plates;
  s.error = &CameraHealth::plates_error;
  s.frames = &CameraHealth::plates_frames;
  s.dropped = &CameraHealth::plates_dropped;
  return s;
}

AnalysisFeed::AnalysisFeed(const CameraConfig& camera, FeedSpec spec, const RecordingOptions& options,
                           Clock& clock, uint64_t seed, HealthUpdate update_health)
    : camera_(camera),
      spec_(std::move(spec)),
      options_(options),
      url_(spec_.url),
      clock_(clock),
      update_health_(std::move(update_health)),
      log_(Logger("ingest")),
      backoff_(options.retry_initial_ns, options.retry_max_ns, seed) {}

AnalysisFeed::~AnalysisFeed() { Shutdown(); }

void AnalysisFeed::Start() { StartPipeline(); }

void AnalysisFeed::NewConnection() {
  std::lock_guard lock(push_mu_);
  want_build_ = true;  // media time starts again with the new connection
}

void AnalysisFeed::Push(const internal::Frame& f) {
  std::lock_guard lock(push_mu_);
  if (!f.format) return;
  if (!appsrc_ || want_build_ || !built_format_ || !(*built_format_ == *f.format)) {
    if (!pending_format_ || !(*pending_format_ == *f.format)) pending_format_ = f.format;
    if (appsrc_ && built_format_ && !(*built_format_ == *f.format)) want_build_ = true;
    if (!appsrc_) want_build_ = true;
    return;  // the supervisor builds the decoder for this format; frames until then are skipped
  }
  if (waiting_key_ && !f.key) return;
  // A decoder that cannot keep up: skip to the next key frame rather than queue without bound (or
  // decode references that were skipped).
  if (gst_app_src_get_current_level_bytes(GST_APP_SRC(appsrc_)) > (8u << 20)) {
    waiting_key_ = true;
    update_health_([this](CameraHealth& h) { ++(h.*spec_.dropped); });
    return;
  }
  waiting_key_ = false;
  GstBuffer* b = gst_buffer_new_memdup(f.data.data(), f.data.size());
  // Media time may start below 0 (decode times before the first presentation time, B-frames
  // presented before the first key frame); GStreamer's cannot. Only differences of it are used.
  constexpr int64_t kBaseNs = int64_t{3600} * kNsPerSec;
  GST_BUFFER_PTS(b) = static_cast<GstClockTime>(std::max<int64_t>(0, f.pts_ns + kBaseNs));
  GST_BUFFER_DTS(b) = static_cast<GstClockTime>(std::max<int64_t>(0, f.dts_ns + kBaseNs));
  GST_BUFFER_DURATION(b) = static_cast<GstClockTime>(f.duration_ns);
  if (!f.key) GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
  gst_app_src_push_buffer(GST_APP_SRC(appsrc_), b);  // takes it
}

std::vector<GstElement*> AnalysisFeed::AddDecoderChain(GstBin* bin, GstElement* dec) {
  // One thread per decoder: a node decodes many small streams, and frame threads would add a
  // frame of delay each.
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(dec), "max-threads")) {
    g_object_set(dec, "max-threads", 1, nullptr);
  }
  GstElement* convert = Make("videoconvert");
  GstElement* filter = Make("capsfilter");
  GstElement* sink = Make("appsink");
  GstPtr<GstCaps> raw(gst_caps_from_string("video/x-raw,format=I420"));
  g_object_set(filter, "caps", raw.get(), nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, nullptr);
  GstAppSinkCallbacks cbs{};
  cbs.new_sample = &AnalysisFeed::OnSample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cbs, this, nullptr);
  gst_bin_add_many(bin, dec, convert, filter, sink, nullptr);
  gst_element_link_many(dec, convert, filter, sink, nullptr);
  return {sink, filter, convert, dec};  // downstream first, for syncing states
}

void AnalysisFeed::StartSharedPipeline() {
  std::shared_ptr<const StreamFormat> format;
  {
    std::lock_guard lock(push_mu_);
    format = pending_format_;
    want_build_ = false;
  }
  const int64_t now = clock_.MonotonicNs();
  last_frame_mono_ = now;
  decoded_ = 0;
  phase_ = Phase::kConnecting;
  phase_since_mono_ = now;
  have_offset_ = false;
  next_due_ns_ = -1;
  update_health_([this](CameraHealth& h) { h.*spec_.state = "connecting"; });
  if (!format) return;  // the recording has no frame yet: built at a later Tick
  const bool h264 = format->codec == VideoCodec::kH264;
  GstElement* dec = Make(h264 ? "avdec_h264" : "avdec_h265");
  if (!dec) {
    Fail(fmt::format("GStreamer element {} missing (tools/setup installs gstreamer1.0-libav)",
                     h264 ? "avdec_h264" : "avdec_h265"),
         true);
    return;
  }
  pipeline_.reset(gst_pipeline_new((camera_.id + "-" + spec_.purpose).c_str()));
  g_object_ref_sink(pipeline_.get());
  GstElement* src = Make("appsrc");
  GstPtr<GstBuffer> cd(gst_buffer_new_memdup(format->codec_data.data(), format->codec_data.size()));
  GstPtr<GstCaps> caps(gst_caps_new_simple(
      h264 ? "video/x-h264" : "video/x-h265", "stream-format", G_TYPE_STRING, h264 ? "avc" : "hvc1",
      "alignment", G_TYPE_STRING, "au", "codec_data", GST_TYPE_BUFFER, cd.get(), "width", G_TYPE_INT,
      format->width, "height", G_TYPE_INT, format->height, nullptr));
  g_object_set(src, "caps", caps.get(), "format", GST_FORMAT_TIME, "is-live", TRUE, nullptr);
  gst_bin_add(GST_BIN(pipeline_.get()), src);
  AddDecoderChain(GST_BIN(pipeline_.get()), dec);
  gst_element_link(src, dec);
  gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING);
  std::lock_guard lock(push_mu_);
  appsrc_ = src;
  built_format_ = format;
  waiting_key_ = true;
}

void AnalysisFeed::StartPipeline() {
  if (spec_.shared) {
    StartSharedPipeline();
    return;
  }
  pipeline_.reset(gst_pipeline_new((camera_.id + "-" + spec_.purpose).c_str()));
  g_object_ref_sink(pipeline_.get());
  GstElement* src = MakeRtspSource(url_, camera_.allow_basic_auth, options_, G_CALLBACK(&AnalysisFeed::OnPadAdded), this);
  if (!src) {
    Fail("GStreamer element rtspsrc missing (tools/setup)", true);
    return;
  }
  gst_bin_add(GST_BIN(pipeline_.get()), src);
  linked_video_ = false;
  have_offset_ = false;
  next_due_ns_ = -1;
  const int64_t now = clock_.MonotonicNs();
  last_frame_mono_ = now;
  decoded_ = 0;
  phase_ = Phase::kConnecting;
  phase_since_mono_ = now;
  update_health_([this](CameraHealth& h) { h.*spec_.state = "connecting"; });
  gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING);
}

void AnalysisFeed::OnPadAdded(GstElement*, GstPad* pad, gpointer self_ptr) {
  auto* self = static_cast<AnalysisFeed*>(self_ptr);
  GstPtr<GstCaps> caps(gst_pad_get_current_caps(pad));
  if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
  const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
  const char* media = gst_structure_get_string(s, "media");
  const char* enc = gst_structure_get_string(s, "encoding-name");
  GstBin* bin = GST_BIN(self->pipeline_.get());
  const bool video = media && std::strcmp(media, "video") == 0 && !self->linked_video_;
  const RtpVideoElements* elements = video ? RtpVideoElementsFor(enc, /*decoding=*/true) : nullptr;
  if (!elements) {
    SinkAway(bin, pad);
    if (video) PostUnsupportedCodec(self->pipeline_.get(), enc);
    return;
  }
  const char *depay_name = elements->depay, *parse_name = elements->parse, *dec_name = elements->decoder;
  self->linked_video_ = true;
  int rate = 0;
  gst_structure_get_int(s, "clock-rate", &rate);
  self->stamper_.Reset(rate);
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, &RtpStamper::Probe, &self->stamper_, nullptr);
  GstElement* depay = Make(depay_name);
  GstElement* parse = Make(parse_name);
  GstElement* dec = Make(dec_name);
  if (!depay || !parse || !dec) {
    GstStructure* st = gst_structure_new("vigil-missing-decoder", "element", G_TYPE_STRING, dec_name,
                                         nullptr);
    gst_element_post_message(self->pipeline_.get(),
                             gst_message_new_application(GST_OBJECT(self->pipeline_.get()), st));
    for (GstElement* e : {depay, parse, dec}) {
      if (e) gst_object_unref(e);
    }
    return;
  }
  const std::vector<GstElement*> tail = self->AddDecoderChain(bin, dec);
  gst_bin_add_many(bin, depay, parse, nullptr);
  gst_element_link_many(depay, parse, dec, nullptr);
  for (GstElement* e : tail) gst_element_sync_state_with_parent(e);
  for (GstElement* e : {parse, depay}) gst_element_sync_state_with_parent(e);
  GstPtr<GstPad> sinkpad(gst_element_get_static_pad(depay, "sink"));
  gst_pad_link(pad, sinkpad.get());
}

GstFlowReturn AnalysisFeed::OnSample(GstAppSink* sink, gpointer self_ptr) {
  auto* self = static_cast<AnalysisFeed*>(self_ptr);
  GstPtr<GstSample> sample(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  GstCaps* caps = gst_sample_get_caps(sample.get());
  if (!buf || !caps || !GST_BUFFER_PTS_IS_VALID(buf)) return GST_FLOW_OK;
  const int64_t arrival = self->clock_.WallNs();
  self->last_frame_mono_ = self->clock_.MonotonicNs();
  ++self->decoded_;
  const int64_t media = static_cast<int64_t>(GST_BUFFER_PTS(buf));
  // Least-delayed arrival wins; the offset may creep up 100 ppm of media time to follow drift.
  const int64_t seen = arrival - media;
  if (!self->have_offset_) {
    self->offset_ns_ = seen;
    self->have_offset_ = true;
  } else {
    int64_t leak = std::max<int64_t>(0, media - self->last_media_ns_) / 10'000;
    self->offset_ns_ = std::min(self->offset_ns_ + leak, seen);
  }
  self->last_media_ns_ = media;

  const int64_t interval = static_cast<int64_t>(kNsPerSec / self->spec_.fps);
  // Half a frame of slack: at 25 fps and 5 fps every fifth frame is due exactly.
  if (self->next_due_ns_ >= 0 && media + 5 * kNsPerMs < self->next_due_ns_) return GST_FLOW_OK;
  self->next_due_ns_ = self->next_due_ns_ < 0 || media - self->next_due_ns_ > interval
                           ? media + interval
                           : self->next_due_ns_ + interval;

  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, caps)) return GST_FLOW_OK;
  GstVideoFrame vf;
  if (!gst_video_frame_map(&vf, &info, buf, GST_MAP_READ)) return GST_FLOW_OK;
  const int w = GST_VIDEO_INFO_WIDTH(&info), h = GST_VIDEO_INFO_HEIGHT(&info);
  // Planes (strides may be padded) into one contiguous I420 picture, then BGR.
  cv::Mat i420(h * 3 / 2, w, CV_8UC1);
  auto copy_plane = [&](int plane, uint8_t* dst, int pw, int ph) {
    const auto* src = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&vf, plane));
    int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, plane);
    for (int y = 0; y < ph; ++y) std::memcpy(dst + static_cast<size_t>(y) * pw, src + static_cast<size_t>(y) * stride, pw);
  };
  uint8_t* dst = i420.data;
  copy_plane(0, dst, w, h);
  copy_plane(1, dst + w * h, w / 2, h / 2);
  copy_plane(2, dst + w * h + (w / 2) * (h / 2), w / 2, h / 2);
  gst_video_frame_unmap(&vf);
  cv::Mat bgr;
  cv::cvtColor(i420, bgr, cv::COLOR_YUV2BGR_I420);
  const cv::Size want(self->spec_.width, self->spec_.height);
  if (!want.empty() && bgr.size() != want) {
    cv::Mat scaled;
    cv::resize(bgr, scaled, want, 0, 0, cv::INTER_AREA);
    bgr = scaled;
  }
  vigil::Frame frame;
  frame.camera = self->camera_.id;
  frame.wall_ns = media + self->offset_ns_;
  frame.sequence = ++self->sequence_;
  frame.bgr = std::move(bgr);
  bool taken = self->spec_.sink(std::move(frame));
  self->update_health_([self, taken](CameraHealth& hl) {
    ++(hl.*self->spec_.frames);
    if (!taken) ++(hl.*self->spec_.dropped);
  });
  return GST_FLOW_OK;
}

void AnalysisFeed::StopPipeline() {
  {
    std::lock_guard lock(push_mu_);
    appsrc_ = nullptr;
  }
  if (!pipeline_) return;
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  pipeline_.reset();
}

void AnalysisFeed::Fail(const std::string& reason, bool slow_retry) {
  StopPipeline();
  int64_t delay = slow_retry ? options_.retry_max_ns : backoff_.Next();
  int64_t now = clock_.MonotonicNs();
  retry_at_mono_ = now + delay;
  phase_ = Phase::kWaiting;
  phase_since_mono_ = now;
  log_->warn("camera {}: {} stream {}: {}; recording goes on, {} retried in {:.1f} s", camera_.id,
             spec_.purpose, RedactUrl(url_), reason, spec_.purpose, static_cast<double>(delay) / kNsPerSec);
  update_health_([&](CameraHealth& h) {
    h.*spec_.state = "degraded";
    h.*spec_.error = reason;
  });
}

void AnalysisFeed::Tick() {
  if (phase_ == Phase::kIdle) return;
  const int64_t now = clock_.MonotonicNs();
  if (phase_ == Phase::kWaiting) {
    if (now >= retry_at_mono_) StartPipeline();
    return;
  }
  if (spec_.shared) {
    bool rebuild;
    {
      std::lock_guard lock(push_mu_);
      rebuild = want_build_ && pending_format_;
    }
    if (rebuild) {
      StopPipeline();
      StartSharedPipeline();
      return;
    }
    if (!pipeline_) {
      // Waiting for the recording connection's first frame: its own state says why.
      phase_since_mono_ = now;
      last_frame_mono_ = now;
      return;
    }
  }
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
  while (GstPtr<GstMessage> msg{gst_bus_pop(bus.get())}) {
    switch (GST_MESSAGE_TYPE(msg.get())) {
      case GST_MESSAGE_ERROR:
        Fail(ErrorText(msg.get()), false);
        return;
      case GST_MESSAGE_EOS:
        Fail("the camera ended the stream", false);
        return;
      case GST_MESSAGE_APPLICATION: {
        const GstStructure* s = gst_message_get_structure(msg.get());
        if (gst_structure_has_name(s, "vigil-rtsp-refused")) {
          Fail(gst_structure_get_string(s, "reason"), false);
          return;
        }
        if (gst_structure_has_name(s, "vigil-unsupported-codec")) {
          Fail(fmt::format("cannot decode {} for analysis (H.264, H.265, JPEG)",
                           gst_structure_get_string(s, "encoding")),
               true);
          return;
        }
        if (gst_structure_has_name(s, "vigil-missing-decoder")) {
          Fail(fmt::format("GStreamer element {} missing (tools/setup installs gstreamer1.0-libav)",
                           gst_structure_get_string(s, "element")),
               true);
          return;
        }
        break;
      }
      default:
        break;
    }
  }
  if (phase_ == Phase::kConnecting) {
    if (decoded_ > 0) {
      phase_ = Phase::kStreaming;
      backoff_.Reset();
      update_health_([this](CameraHealth& h) {
        h.*spec_.state = spec_.purpose == "plates" ? "reading" : "analysing";
        (h.*spec_.error).clear();
      });
    } else if (now - phase_since_mono_ > options_.connect_timeout_ns) {
      Fail(fmt::format("no decoded frame within {} s of connecting",
                       options_.connect_timeout_ns / kNsPerSec),
           false);
    }
    return;
  }
  if (now - last_frame_mono_ > options_.stall_ns) {
    Fail(fmt::format("stalled: no decoded frame for {} s", options_.stall_ns / kNsPerSec), false);
  }
}

void AnalysisFeed::Shutdown() {
  StopPipeline();
  phase_ = Phase::kIdle;
}

}  // namespace vigil::ingest::internal
