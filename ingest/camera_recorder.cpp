#include "ingest/internal/camera_recorder.h"
#include "ingest/internal/rtp_pass.h"
#include "ingest/internal/rtsp_source.h"

#include "base/diagnostics.h"

#include <cstdlib>
#include <future>
#include <cstring>

namespace vigil::ingest::internal {
namespace {

// "Could not open resource ... (Failed to connect.)" → short reason with the library's detail.
std::string DescribeError(GstMessage* msg) {
  GError* raw = nullptr;
  gchar* raw_debug = nullptr;
  gst_message_parse_error(msg, &raw, &raw_debug);
  GstPtr<GError> err(raw);
  GstPtr<gchar> debug(raw_debug);
  std::string text = err ? err->message : "unknown error";
  if (!text.empty() && text.back() == '.') text.pop_back();
  if (debug) {
    std::string d = debug.get();
    auto nl = d.find_last_of('\n');
    std::string last = nl == std::string::npos ? d : d.substr(nl + 1);
    if (!last.empty() && last.find("gst") == std::string::npos) text += ": " + last;
  }
  return text;
}

GstElement* Make(const char* factory) { return gst_element_factory_make(factory, nullptr); }

}  // namespace

CameraRecorder::CameraRecorder(const CameraConfig& camera, const RecordingOptions& options,
                               index::Store& store, Clock& clock, uint64_t seed, RtspReactor* reactor)
    // rtsps:// (RTSP over TLS) is GStreamer's: vigil's client speaks plain TCP.
    : reactor_(camera.main_url.size() > 7 && g_ascii_strncasecmp(camera.main_url.c_str(), "rtsps://", 8) == 0
                   ? nullptr
                   : reactor),
      camera_(camera),
      options_(options),
      clock_(clock),
      log_(Logger("ingest")),
      writer_(camera, options, store, clock,
              [this](const std::function<void(CameraHealth&)>& fn) { UpdateHealth(fn); }),
      backoff_(options.retry_initial_ns, options.retry_max_ns, seed) {
  health_.camera = camera.id;
  health_.state = camera.record ? CameraState::kConnecting : CameraState::kDisabled;
  auto update = [this](const std::function<void(CameraHealth&)>& fn) { UpdateHealth(fn); };
  // A branch that decodes the main stream of a camera recorded by vigil's client decodes the
  // recording connection's frames: one RTSP session per stream.
  auto share = [&](FeedSpec spec) {
    spec.shared = reactor_ != nullptr && camera.record && spec.url == camera.main_url;
    return spec;
  };
  if (camera.analysis_fps > 0 && options.on_frame) {
    feed_ = std::make_unique<AnalysisFeed>(camera, share(FeedSpec::Analysis(camera, options)), options, clock,
                                           seed * 7919 + 1, update);
  }
  if (camera.plates_fps > 0 && options.on_plate_frame) {
    plate_feed_ = std::make_unique<AnalysisFeed>(camera, share(FeedSpec::Plates(camera, options)), options,
                                                 clock, seed * 7919 + 2, update);
  }
  for (AnalysisFeed* f : {feed_.get(), plate_feed_.get()}) {
    if (f && f->shared()) shared_feeds_.push_back(f);
  }
}

CameraRecorder::~CameraRecorder() { (void)Shutdown(); }

void CameraRecorder::UpdateHealth(const std::function<void(CameraHealth&)>& fn) {
  std::lock_guard lock(health_mu_);
  CameraState before = health_.state;
  fn(health_);
  if (health_.state != before && options_.on_state) options_.on_state(health_);
}

CameraHealth CameraRecorder::Health() const {
  std::lock_guard lock(health_mu_);
  CameraHealth h = health_;
  h.bytes = bytes_in_;  // live, not as of the last rate window
  h.frames_received += received_;
  return h;
}

bool CameraRecorder::Recording() const {
  return !camera_.record || Health().state == CameraState::kRecording;
}

Status CameraRecorder::Start(bool crashed, int64_t delay_ns) {
  if (feed_) feed_->Start();
  if (plate_feed_) plate_feed_->Start();
  if (!camera_.record) return Status::Ok();
  VIGIL_RETURN_IF_ERROR(writer_.Init(crashed));
  writer_thread_ = std::thread([this] { WriterLoop(); });
  if (delay_ns > 0) {
    // Connected by the supervisor's Tick once the delay is over (a node's cameras are not all
    // asked at the same instant).
    phase_ = Phase::kWaiting;
    retry_at_mono_ = clock_.MonotonicNs() + delay_ns;
    phase_since_mono_ = clock_.MonotonicNs();
    return Status::Ok();
  }
  Status st = StartPipeline();
  if (!st.ok()) Fail(st.message(), false);
  return Status::Ok();
}

Status CameraRecorder::StartPipeline() {
  connected_once_ = true;
  FlushStamps();  // nothing is held unless a run ended without Fail (a stop)
  overflowing_ = false;
  int64_t now = clock_.MonotonicNs();
  last_sample_mono_ = now;
  samples_ = 0;
  phase_ = Phase::kConnecting;
  phase_since_mono_ = now;
  UpdateHealth([](CameraHealth& h) {
    if (h.state != CameraState::kDiskError) h.state = CameraState::kConnecting;
  });
  if (reactor_) return StartConnection();
  pipeline_.reset(gst_pipeline_new(camera_.id.c_str()));
  g_object_ref_sink(pipeline_.get());
  GstElement* src =
      MakeRtspSource(camera_.main_url, camera_.allow_basic_auth, options_, G_CALLBACK(&CameraRecorder::OnPadAdded), this,
                     G_CALLBACK(&CameraRecorder::OnSelectStream));
  if (!src) return Status::FailedPrecondition("GStreamer element rtspsrc missing (tools/setup)");
  gst_bin_add(GST_BIN(pipeline_.get()), src);

  last_caps_.reset();
  linked_video_ = false;
  linked_audio_ = false;
  {
    std::lock_guard lock(audio_mu_);
    audio_format_.reset();
  }
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The bus holds the reason; Tick() reports it.
    log_->debug("camera {}: pipeline refused to start", camera_.id);
  }
  return Status::Ok();
}

Status CameraRecorder::StartConnection() {
  {
    std::lock_guard lock(ended_mu_);
    ended_.reset();
  }
  depay_seen_ = {};  // a new connection's depacketizer counts from 0
  VIGIL_ASSIGN_OR_RETURN(RtspUrl url, ParseRtspUrl(camera_.main_url));
  url.allow_basic = camera_.allow_basic_auth;
  for (AnalysisFeed* feed : shared_feeds_) feed->NewConnection();
  RtspReactor::Callbacks cb;
  playing_since_mono_ = 0;
  cb.units = [this](std::vector<AccessUnit>& units, int64_t wall_ns, const DepayCounts& counts) {
    OnUnits(units, wall_ns, counts);
  };
  cb.playing = [this] { playing_since_mono_ = clock_.MonotonicNs(); };
  cb.ended = [this](const Status& why) {
    std::lock_guard lock(ended_mu_);
    ended_ = why;
  };
  auto id = reactor_->Open(url, std::move(cb), options_.connect_timeout_ns);
  if (!id.ok()) {
    std::lock_guard lock(ended_mu_);
    ended_ = id.error();
    return Status::Ok();  // reported by Tick like any connection failure
  }
  connection_ = id.value();
  return Status::Ok();
}

void CameraRecorder::OnPadAdded(GstElement*, GstPad* pad, gpointer self_ptr) {
  auto* self = static_cast<CameraRecorder*>(self_ptr);
  GstPtr<GstCaps> caps(gst_pad_get_current_caps(pad));
  if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
  const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
  const char* media = gst_structure_get_string(s, "media");
  const char* enc = gst_structure_get_string(s, "encoding-name");
  GstBin* bin = GST_BIN(self->pipeline_.get());
  if (media && std::strcmp(media, "audio") == 0 && !self->linked_audio_) {
    self->LinkAudio(pad, s);
    return;
  }
  if (!media || std::strcmp(media, "video") != 0 || self->linked_video_) {
    SinkAway(bin, pad);
    return;
  }
  const RtpVideoElements* elements = RtpVideoElementsFor(enc, /*decoding=*/false);
  if (!elements) {
    SinkAway(bin, pad);
    PostUnsupportedCodec(self->pipeline_.get(), enc);
    return;
  }
  const char *depay_name = elements->depay, *parse_name = elements->parse, *out_caps = elements->recorded_caps;
  self->linked_video_ = true;
  if (self->options_.tcp && !std::getenv("VIGIL_JITTERBUFFER")) {
    int rate = 0;
    gst_structure_get_int(s, "clock-rate", &rate);
    guint base = 0;
    self->stamper_.Reset(rate, gst_structure_get_uint(s, "clock-base", &base) ? int64_t{base} : -1);
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, &RtpStamper::Probe, &self->stamper_, nullptr);
  }
  GstElement* depay = Make(depay_name);
  GstElement* parse = Make(parse_name);
  GstElement* filter = Make("capsfilter");
  GstElement* sink = Make("appsink");
  GstPtr<GstCaps> filter_caps(gst_caps_from_string(out_caps));
  g_object_set(filter, "caps", filter_caps.get(), nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, nullptr);
  GstAppSinkCallbacks cbs{};
  cbs.new_sample = &CameraRecorder::OnSample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cbs, self, nullptr);
  gst_bin_add_many(bin, depay, parse, filter, sink, nullptr);
  gst_element_link_many(depay, parse, filter, sink, nullptr);
  for (GstElement* e : {sink, filter, parse, depay}) gst_element_sync_state_with_parent(e);
  GstPtr<GstPad> sinkpad(gst_element_get_static_pad(depay, "sink"));
  gst_pad_link(pad, sinkpad.get());
}

namespace {

// The audio format of an RTP stream's caps (rtspsrc's, from the SDP).
Result<AudioFormat> AudioFormatOfCaps(const GstStructure* s) {
  const char* enc = gst_structure_get_string(s, "encoding-name");
  int pt = -1, rate = 0;
  gst_structure_get_int(s, "payload", &pt);
  gst_structure_get_int(s, "clock-rate", &rate);
  const char* params = gst_structure_get_string(s, "encoding-params");
  std::map<std::string, std::string> fmtp;
  for (const char* key : {"mode", "config", "sizelength", "indexlength", "indexdeltalength"}) {
    if (const char* v = gst_structure_get_string(s, key)) fmtp[key] = v;
  }
  return AudioFormatOf(enc ? enc : "", pt, rate, params ? std::atoi(params) : 0, fmtp);
}

}  // namespace

gboolean CameraRecorder::OnSelectStream(GstElement*, guint, GstCaps* caps, gpointer self_ptr) {
  // Video, and the first audio stream vigil stores: known here, at SETUP, before any frame, so that
  // the first segment already has its audio track.
  auto* self = static_cast<CameraRecorder*>(self_ptr);
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const char* media = gst_structure_get_string(s, "media");
  if (media && std::strcmp(media, "video") == 0) return TRUE;
  if (!media || std::strcmp(media, "audio") != 0) return FALSE;
  auto format = AudioFormatOfCaps(s);
  std::lock_guard lock(self->audio_mu_);
  if (!format.ok() || self->audio_format_) return FALSE;
  self->audio_format_ = *format;
  return TRUE;
}

void CameraRecorder::LinkAudio(GstPad* pad, const GstStructure* s) {
  GstBin* bin = GST_BIN(pipeline_.get());
  int rate = 0;
  gst_structure_get_int(s, "clock-rate", &rate);
  std::optional<AudioFormat> format;
  {
    std::lock_guard lock(audio_mu_);
    format = audio_format_;
  }
  if (!format) {
    SinkAway(bin, pad);
    return;
  }
  linked_audio_ = true;
  if (options_.tcp && !std::getenv("VIGIL_JITTERBUFFER")) {
    guint base = 0;
    audio_stamper_.Reset(rate, gst_structure_get_uint(s, "clock-base", &base) ? int64_t{base} : -1);
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, &RtpStamper::Probe, &audio_stamper_, nullptr);
  }
  std::vector<GstElement*> chain;
  if (format->codec == AudioCodec::kAac) {
    chain = {Make("rtpmp4gdepay"), Make("aacparse"), Make("capsfilter")};
    GstPtr<GstCaps> raw(gst_caps_from_string("audio/mpeg,stream-format=raw"));
    g_object_set(chain[2], "caps", raw.get(), nullptr);
  } else {
    chain = {Make(format->codec == AudioCodec::kPcma ? "rtppcmadepay" : "rtppcmudepay")};
  }
  GstElement* sink = Make("appsink");
  g_object_set(sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, nullptr);
  GstAppSinkCallbacks cbs{};
  cbs.new_sample = &CameraRecorder::OnAudioSample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cbs, this, nullptr);
  chain.push_back(sink);
  for (GstElement* e : chain) {
    if (!e) {
      PostUnsupportedCodec(pipeline_.get(), "audio (GStreamer element missing)");
      return;
    }
    gst_bin_add(bin, e);
  }
  for (size_t i = 0; i + 1 < chain.size(); ++i) gst_element_link(chain[i], chain[i + 1]);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) gst_element_sync_state_with_parent(*it);
  GstPtr<GstPad> sinkpad(gst_element_get_static_pad(chain.front(), "sink"));
  gst_pad_link(pad, sinkpad.get());
}

GstFlowReturn CameraRecorder::OnAudioSample(GstAppSink* sink, gpointer self_ptr) {
  auto* self = static_cast<CameraRecorder*>(self_ptr);
  GstPtr<GstSample> sample(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  if (!buf || !GST_BUFFER_PTS_IS_VALID(buf)) return GST_FLOW_OK;
  int rate = 8000, channels = 1;
  bool aac = true;
  {
    std::lock_guard lock(self->audio_mu_);
    if (!self->audio_format_) return GST_FLOW_OK;
    rate = self->audio_format_->sample_rate;
    channels = self->audio_format_->channels;
    aac = self->audio_format_->codec == AudioCodec::kAac;
  }
  Frame f;
  f.audio = true;
  f.pts_ns = f.dts_ns = static_cast<int64_t>(GST_BUFFER_PTS(buf));
  const size_t size = gst_buffer_get_size(buf);
  const int64_t samples = aac ? 1024 : static_cast<int64_t>(size) / std::max(channels, 1);
  f.duration_ns = samples * kNsPerSec / std::max(rate, 1);
  f.arrival_wall_ns = self->clock_.WallNs();
  f.data.resize(size);
  gst_buffer_extract(buf, 0, f.data.data(), size);
  WriterItem item;
  item.frame = std::move(f);
  self->Enqueue(std::move(item), size);
  return GST_FLOW_OK;
}

GstFlowReturn CameraRecorder::OnSample(GstAppSink* sink, gpointer self_ptr) {
  auto* self = static_cast<CameraRecorder*>(self_ptr);
  GstPtr<GstSample> sample(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  GstCaps* caps = gst_sample_get_caps(sample.get());
  if (!buf || !caps) return GST_FLOW_OK;
  const int64_t now_mono = self->clock_.MonotonicNs();
  if (caps != self->last_caps_.get()) {
    self->last_caps_.reset(gst_caps_ref(caps));
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    auto fmt = std::make_shared<StreamFormat>();
    fmt->codec = gst_structure_has_name(s, "video/x-h265") ? VideoCodec::kH265 : VideoCodec::kH264;
    gst_structure_get_int(s, "width", &fmt->width);
    gst_structure_get_int(s, "height", &fmt->height);
    const GValue* cd = gst_structure_get_value(s, "codec_data");
    if (cd && G_VALUE_HOLDS(cd, GST_TYPE_BUFFER)) {
      GstBuffer* cdb = gst_value_get_buffer(cd);
      fmt->codec_data.resize(gst_buffer_get_size(cdb));
      gst_buffer_extract(cdb, 0, fmt->codec_data.data(), fmt->codec_data.size());
      {
        std::lock_guard lock(self->audio_mu_);
        fmt->audio = self->audio_format_;
      }
      auto depth = ReorderDepthOfRecord(fmt->codec, fmt->codec_data);
      // Unreadable: the deepest any level allows (decode times only later than need be).
      fmt->reorder_depth = depth.ok() ? *depth : 16;
    }
    if (!self->format_ || !(*self->format_ == *fmt)) self->format_ = std::move(fmt);
  }
  // Presentation time: the running time of the buffer, which in buffer-mode none follows the RTP
  // timestamps. Decode times are derived from them (h264parse/h265parse leave DTS unset for RTP).
  GstClockTime ts = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : GST_BUFFER_DTS(buf);
  if (!GST_CLOCK_TIME_IS_VALID(ts)) {
    self->UpdateHealth([](CameraHealth& h) { ++h.dropped.untimed; });
    return GST_FLOW_OK;
  }
  Frame f;
  f.pts_ns = static_cast<int64_t>(ts);
  // The jitter buffer holds each frame `latency` before releasing it (buffer-mode none does not
  // re-pace frames, so this is the network arrival plus a constant).
  f.arrival_wall_ns = self->clock_.WallNs() - self->options_.latency_ms * kNsPerMs;
  f.key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  f.format = self->format_;
  const size_t size = gst_buffer_get_size(buf);
  f.data.resize(size);
  gst_buffer_extract(buf, 0, f.data.data(), size);
  self->Stamp(std::move(f), now_mono);
  return GST_FLOW_OK;
}

void CameraRecorder::Stamp(Frame f, int64_t now_mono) {
  stamped_.clear();
  decode_times_.Push(std::move(f), stamped_);
  DeliverStamped(now_mono);
}

void CameraRecorder::DeliverStamped(int64_t now_mono) {
  for (Frame& s : stamped_) {
    for (AnalysisFeed* feed : shared_feeds_) feed->Push(s);
    Deliver(std::move(s), now_mono);
  }
  stamped_.clear();
  if (decode_times_.retimed() != retimed_seen_) {
    const int64_t more = decode_times_.retimed() - std::exchange(retimed_seen_, decode_times_.retimed());
    UpdateHealth([&](CameraHealth& h) { h.frames_retimed += more; });
  }
}

void CameraRecorder::FlushStamps() {
  // The frames held at the start of a run (B-frame streams, until the frame interval is known) are
  // recorded before the run's end is.
  stamped_.clear();
  decode_times_.Flush(stamped_);
  DeliverStamped(clock_.MonotonicNs());
}

void CameraRecorder::OnUnits(std::vector<AccessUnit>& units, int64_t wall_ns, const DepayCounts& counts) {
  const int64_t now_mono = clock_.MonotonicNs();
  if (!(counts == depay_seen_)) {
    // The depacketizer's counts are per connection; health's are since start.
    const DepayCounts before = std::exchange(depay_seen_, counts);
    if (counts.broken_units > before.broken_units) {
      // In order with the frames around them: the writer counts them on the segment they fell in.
      WriterItem loss;
      loss.kind = WriterItem::Kind::kLoss;
      loss.lost = counts.broken_units - before.broken_units;
      Enqueue(std::move(loss), 0);
    }
    UpdateHealth([&](CameraHealth& h) {
      h.lost_packets += counts.lost_packets - before.lost_packets;
      h.dropped.packet_loss += counts.broken_units - before.broken_units;
      h.dropped.before_key += counts.before_key - before.before_key;
      h.audio_dropped += counts.audio_before_video - before.audio_before_video;
      h.audio_dropped += counts.audio_broken - before.audio_broken;
      h.frames_received += (counts.broken_units - before.broken_units) + (counts.before_key - before.before_key);
    });
  }
  for (AccessUnit& au : units) {
    Frame f;
    if (au.audio) {
      // Audio needs no decode times; it goes straight to the writer, as it came.
      f.audio = true;
      f.pts_ns = f.dts_ns = au.media_ns;
      f.duration_ns = au.duration_ns;
      f.arrival_wall_ns = wall_ns;
      f.data = std::move(au.data);
      const size_t size = f.data.size();
      WriterItem item;
      item.frame = std::move(f);
      Enqueue(std::move(item), size);
      continue;
    }
    f.pts_ns = au.media_ns;  // RTP time is presentation time
    f.arrival_wall_ns = wall_ns;
    f.key = au.key;
    f.format = std::move(au.format);
    f.data = std::move(au.data);
    decode_times_.Push(std::move(f), stamped_);
  }
  DeliverStamped(now_mono);
}

void CameraRecorder::Deliver(Frame f, int64_t now_mono) {
  const size_t size = f.data.size();
  last_sample_mono_ = now_mono;
  ++samples_;
  received_.fetch_add(1, std::memory_order_relaxed);
  bytes_in_ += static_cast<int64_t>(size);
  WriterItem item;
  item.kind = WriterItem::Kind::kFrame;
  item.frame = std::move(f);
  Enqueue(std::move(item), size);
}

void CameraRecorder::Enqueue(WriterItem item, size_t bytes) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (item.kind == WriterItem::Kind::kFrame) {
      // Never block the receiving thread. When the disk falls behind, drop whole GOPs and say so.
      bool full = queued_bytes_ + bytes > static_cast<size_t>(options_.queue_max_bytes);
      if (overflowing_ && item.frame.key && queued_bytes_ < static_cast<size_t>(options_.queue_max_bytes / 2)) {
        overflowing_ = false;
      } else if (full || overflowing_) {
        if (!overflowing_) {
          overflowing_ = true;
          WriterItem gap;
          gap.kind = WriterItem::Kind::kDiscontinuity;
          gap.reason = "recording queue overflow: the disk is too slow";
          gap.wall_ns = item.frame.arrival_wall_ns;
          queue_.push_back(std::move(gap));
        }
        UpdateHealth([](CameraHealth& h) { ++h.dropped.queue_overflow; });
        writer_wake_ = true;
        cv_.notify_one();
        return;
      }
      // Frames wait for the writer's next round (write_interval_ns) unless the queue is filling.
      wake = queued_bytes_ + bytes > static_cast<size_t>(options_.queue_max_bytes / 4);
    } else {
      wake = true;
    }
    queued_bytes_ += bytes;
    queue_.push_back(std::move(item));
    if (wake) writer_wake_ = true;
  }
  if (wake) cv_.notify_one();
}

void CameraRecorder::WriterLoop() {
  // The writer takes everything queued every write_interval_ns (or at once for a discontinuity, a
  // stop or a filling queue): a thread woken per frame costs more than the writing itself.
  std::deque<WriterItem> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::nanoseconds(options_.write_interval_ns),
                   [&] { return writer_wake_ || writer_stop_; });
      writer_wake_ = false;
      batch.swap(queue_);
      queued_bytes_ = 0;
    }
    for (WriterItem& item : batch) {
      writer_.Handle(item);
      if (item.kind == WriterItem::Kind::kStop) return;
    }
    batch.clear();
  }
}

void CameraRecorder::StopPipeline() {
  if (connection_) {
    reactor_->Close(connection_);
    connection_ = 0;
  }
  if (!pipeline_) return;
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  pipeline_.reset();
}

void CameraRecorder::Fail(const std::string& reason, bool slow_retry) {
  StopPipeline();
  FlushStamps();
  WriterItem item;
  item.kind = WriterItem::Kind::kDiscontinuity;
  item.reason = reason;
  item.wall_ns = clock_.WallNs();
  Enqueue(std::move(item), 0);
  int64_t delay = slow_retry ? options_.retry_max_ns : backoff_.Next();
  int64_t now = clock_.MonotonicNs();
  retry_at_mono_ = now + delay;
  phase_ = Phase::kWaiting;
  phase_since_mono_ = now;
  log_->warn("camera {}: {}; retrying in {:.1f} s", camera_.id, reason,
             static_cast<double>(delay) / kNsPerSec);
  UpdateHealth([&](CameraHealth& h) {
    if (h.state != CameraState::kDiskError) h.state = CameraState::kRetrying;
    h.last_error = reason;
    h.fps = 0;
    h.bitrate_bps = 0;
  });
}

void CameraRecorder::Tick() {
  if (feed_) feed_->Tick();
  if (plate_feed_) plate_feed_->Tick();
  if (!camera_.record || phase_ == Phase::kIdle) return;
  const int64_t now = clock_.MonotonicNs();
  if (phase_ == Phase::kWaiting) {
    if (now >= retry_at_mono_) {
      if (connected_once_) UpdateHealth([](CameraHealth& h) { ++h.reconnects; });
      Status st = StartPipeline();
      if (!st.ok()) Fail(st.message(), true);
    }
    return;
  }
  if (reactor_) {
    std::optional<Status> ended;
    {
      std::lock_guard lock(ended_mu_);
      ended.swap(ended_);
    }
    if (ended) {
      connection_ = 0;  // the reactor has closed it
      const bool slow = ended->code() == StatusCode::kFailedPrecondition;
      Fail(ended->ok() ? "the connection ended" : ended->message(), slow);
      return;
    }
  }
  // Drain the bus: errors and end-of-stream end this connection.
  GstPtr<GstBus> bus(reactor_ ? nullptr : gst_element_get_bus(pipeline_.get()));
  while (GstPtr<GstMessage> msg{bus ? gst_bus_pop(bus.get()) : nullptr}) {
    switch (GST_MESSAGE_TYPE(msg.get())) {
      case GST_MESSAGE_ERROR:
        Fail(DescribeError(msg.get()), false);
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
          Fail(fmt::format("unsupported codec {}: vigil records H.264 and H.265",
                           gst_structure_get_string(s, "encoding")),
               true);
          return;
        }
        break;
      }
      default:
        break;
    }
  }
  const int64_t samples = samples_;
  if (phase_ == Phase::kConnecting) {
    if (samples > 0) {
      phase_ = Phase::kStreaming;
      backoff_.Reset();
      window_start_mono_ = now;
      window_frames_ = samples;
      window_bytes_ = bytes_in_;
      log_->info("camera {}: receiving {} ({})", camera_.id, RedactUrl(camera_.main_url),
                 reactor_ ? "vigil RTSP client" : "GStreamer rtspsrc");
    } else if (reactor_) {
      // Until PLAY is answered, vigil's client times out each request itself (a camera server
      // answering a storm of connections slowly is not dead); then video must follow.
      const int64_t playing = playing_since_mono_;
      if (playing > 0 && now - playing > options_.connect_timeout_ns) {
        Fail(fmt::format("no video within {} s of PLAY", options_.connect_timeout_ns / kNsPerSec), false);
        return;
      }
    } else if (now - phase_since_mono_ > options_.connect_timeout_ns) {
      Fail(fmt::format("no video within {} s of connecting", options_.connect_timeout_ns / kNsPerSec),
           false);
      return;
    }
  }
  if (phase_ == Phase::kStreaming) {
    if (now - last_sample_mono_ > options_.stall_ns) {
      Fail(fmt::format("stalled: no frame for {} s", options_.stall_ns / kNsPerSec), false);
      return;
    }
    if (now - window_start_mono_ >= 2 * kNsPerSec) {
      double secs = static_cast<double>(now - window_start_mono_) / kNsPerSec;
      double fps = static_cast<double>(samples - window_frames_) / secs;
      double bps = static_cast<double>(bytes_in_ - window_bytes_) * 8 / secs;
      int64_t total = bytes_in_;
      UpdateHealth([&](CameraHealth& h) {
        h.fps = fps;
        h.bitrate_bps = bps;
        h.bytes = total;
      });
      window_start_mono_ = now;
      window_frames_ = samples;
      window_bytes_ = total;
    }
  }
}

bool CameraRecorder::Shutdown(int64_t pipeline_timeout_ns) {
  if (!abandoned_) {
    // On a helper thread, so that a teardown stuck inside GStreamer cannot keep the open segment
    // from being closed, nor vigild from exiting.
    auto done = std::make_shared<std::promise<void>>();
    auto stopped = done->get_future();
    // Which stage a stuck stop is in (said in the log).
    auto stage = std::make_shared<std::atomic<const char*>>("the analysis branch's GStreamer pipeline");
    std::thread stopper([this, done, stage] {
      if (feed_) feed_->Shutdown();
      *stage = "the plate branch's GStreamer pipeline";
      if (plate_feed_) plate_feed_->Shutdown();
      *stage = reactor_ ? "the RTSP connection (vigil's client)" : "the recording's GStreamer pipeline";
      StopPipeline();
      done->set_value();
    });
    if (stopped.wait_for(std::chrono::nanoseconds(pipeline_timeout_ns)) == std::future_status::ready) {
      stopper.join();
    } else {
      stopper.detach();
      abandoned_ = true;
      // The threads' stacks once per process: gdb takes seconds, and a node may have many cameras.
      static std::atomic<bool> stacks_shown{false};
      const bool show = !stacks_shown.exchange(true);
      log_->error("camera {}: {} did not stop within {} s; left behind, the segment is closed "
                  "regardless.{}{}",
                  camera_.id, stage->load(), pipeline_timeout_ns / kNsPerSec, show ? " Threads:\n" : "",
                  show ? ThreadStacks() : "");
    }
  }
  phase_ = Phase::kIdle;
  if (!abandoned_) FlushStamps();  // the receiving side is stopped: nothing else touches them
  if (writer_thread_.joinable()) {
    WriterItem stop;
    stop.kind = WriterItem::Kind::kStop;
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(stop));
      writer_stop_ = true;
    }
    cv_.notify_one();
    writer_thread_.join();
    CameraHealth h = Health();
    log_->info("camera {}: {} frames received, {} written in {} segments, {}, {} retimed, {} reconnects, "
               "{:.1f} MB received{}",
               camera_.id, h.frames_received, h.frames, h.segments, DescribeDrops(h.dropped), h.frames_retimed,
               h.reconnects, static_cast<double>(h.bytes) / 1e6,
               h.audio_frames || h.audio_dropped
                   ? fmt::format("; audio: {} frames written, {} dropped", h.audio_frames, h.audio_dropped)
                   : std::string());
  }
  return !abandoned_;
}

}  // namespace vigil::ingest::internal
