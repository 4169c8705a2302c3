#include "ingest/internal/rtsp_source.h"

#include <cstdlib>
#include <cstring>

#include "base/gst_ptr.h"
#include "ingest/internal/rtp_pass.h"

namespace vigil::ingest::internal {
namespace {

const RtpVideoElements kH264{"rtph264depay", "h264parse", "avdec_h264", "video/x-h264,stream-format=avc,alignment=au"};
const RtpVideoElements kH265{"rtph265depay", "h265parse", "avdec_h265", "video/x-h265,stream-format=hvc1,alignment=au"};
const RtpVideoElements kJpeg{"rtpjpegdepay", "jpegparse", "jpegdec", nullptr};

GstElement* OnRequestJitterbuffer(GstElement*, guint, gpointer) { return MakeRtpPass(); }

void OnNewManager(GstElement*, GstElement* manager, gpointer) {
  g_signal_connect(manager, "request-jitterbuffer", G_CALLBACK(&OnRequestJitterbuffer), nullptr);
}

gboolean OnSelectStream(GstElement*, guint, GstCaps* caps, gpointer) {
  // Only video; skipping the other streams in SETUP saves their work.
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const char* media = gst_structure_get_string(s, "media");
  return media && std::strcmp(media, "video") == 0;
}

}  // namespace

const RtpVideoElements* RtpVideoElementsFor(const char* enc, bool decoding) {
  if (!enc) return nullptr;
  if (std::strcmp(enc, "H264") == 0) return &kH264;
  if (std::strcmp(enc, "H265") == 0 || std::strcmp(enc, "HEVC") == 0) return &kH265;
  if (decoding && std::strcmp(enc, "JPEG") == 0) return &kJpeg;
  return nullptr;
}

GstElement* MakeRtspSource(const std::string& url, const RecordingOptions& options, GCallback pad_added,
                           gpointer owner, GCallback select_stream) {
  GstElement* src = gst_element_factory_make("rtspsrc", nullptr);
  if (!src) return nullptr;
  g_object_set(src, "location", url.c_str(), "latency", static_cast<guint>(options.latency_ms), nullptr);
  gst_util_set_object_arg(G_OBJECT(src), "protocols", options.tcp ? "tcp" : "udp");
  // Timestamps from the camera's RTP clock, not arrival: a burst of frames after a (re)connect keeps
  // its true spacing. Wall time is mapped by the writer (ingest/wall_clock.h).
  gst_util_set_object_arg(G_OBJECT(src), "buffer-mode", "none");
  // The library's own timeouts match ours (the connect timeout): long enough for a camera server
  // answering a connection storm after a network outage, short enough that the backoff, not the
  // library, paces retries. Teardown of a dead camera must not hold the supervisor long.
  const auto timeout_us = static_cast<guint64>(options.connect_timeout_ns / 1000);
  g_object_set(src, "tcp-timeout", timeout_us, "timeout", timeout_us, "teardown-timeout",
               static_cast<guint64>(100 * GST_MSECOND), nullptr);
  g_signal_connect(src, "pad-added", pad_added, owner);
  if (select_stream) {
    g_signal_connect(src, "select-stream", select_stream, owner);
  } else {
    g_signal_connect(src, "select-stream", G_CALLBACK(&OnSelectStream), nullptr);
  }
  if (options.tcp && !std::getenv("VIGIL_JITTERBUFFER")) {
    // Over TCP, RTP packets arrive in order, without loss or duplicates: rtpbin's jitterbuffer has
    // nothing to do but costs a thread hand-off per packet (~30 % of the recording CPU). It is
    // replaced by a pass-through; the recorder stamps packets with their RTP time in the reading
    // thread (RtpStamper), as the jitterbuffer's buffer-mode "none" would.
    g_signal_connect(src, "new-manager", G_CALLBACK(&OnNewManager), nullptr);
  }
  return src;
}

void SinkAway(GstBin* bin, GstPad* pad) {
  GstElement* fake = gst_element_factory_make("fakesink", nullptr);
  gst_bin_add(bin, fake);
  gst_element_sync_state_with_parent(fake);
  GstPtr<GstPad> sinkpad(gst_element_get_static_pad(fake, "sink"));
  gst_pad_link(pad, sinkpad.get());
}

void PostUnsupportedCodec(GstElement* pipeline, const char* enc) {
  GstStructure* st =
      gst_structure_new("vigil-unsupported-codec", "encoding", G_TYPE_STRING, enc ? enc : "unknown", nullptr);
  gst_element_post_message(pipeline, gst_message_new_application(GST_OBJECT(pipeline), st));
}

}  // namespace vigil::ingest::internal
