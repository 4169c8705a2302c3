#include "ingest/internal/rtsp_source.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gst/rtsp/rtsp.h>

#include "base/gst_ptr.h"
#include "ingest/internal/rtp_pass.h"
#include "ingest/rtsp_session.h"

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

// The password of a camera on plain rtsp:// is kept from rtspsrc until a DESCRIBE without it shows
// that the camera offers Digest: rtspsrc answers whichever challenge comes, Basic too (the password
// in clear), and its connection adds the header after any hook vigil has. The probe runs in
// rtspsrc's own thread, from its first "before-send", so that no supervisor waits on a camera.
struct CredentialGuard {
  std::string url;  // without credentials
  std::string user, password;
  gint64 timeout_us = 0;
  std::atomic<bool> probed{false};
};

// The WWW-Authenticate challenges a DESCRIBE of `url` without credentials is answered with (none:
// the camera asks for no password, or could not be reached: rtspsrc will say so itself).
std::vector<std::string> ProbeChallenges(const std::string& url, gint64 timeout_us) {
  std::vector<std::string> out;
  GstRTSPUrl* parsed = nullptr;
  if (gst_rtsp_url_parse(url.c_str(), &parsed) != GST_RTSP_OK) return out;
  GstRTSPConnection* conn = nullptr;
  const bool made = gst_rtsp_connection_create(parsed, &conn) == GST_RTSP_OK;
  gst_rtsp_url_free(parsed);
  if (!made) return out;
  GstRTSPMessage* req = nullptr;
  GstRTSPMessage* resp = nullptr;
  if (gst_rtsp_connection_connect_usec(conn, timeout_us) == GST_RTSP_OK &&
      gst_rtsp_message_new_request(&req, GST_RTSP_DESCRIBE, url.c_str()) == GST_RTSP_OK) {
    gst_rtsp_message_add_header(req, GST_RTSP_HDR_CSEQ, "1");
    gst_rtsp_message_add_header(req, GST_RTSP_HDR_ACCEPT, "application/sdp");
    gst_rtsp_message_add_header(req, GST_RTSP_HDR_USER_AGENT, "vigil");
    gst_rtsp_message_new(&resp);
    if (gst_rtsp_connection_send_usec(conn, req, timeout_us) == GST_RTSP_OK &&
        gst_rtsp_connection_receive_usec(conn, resp, timeout_us) == GST_RTSP_OK) {
      GstRTSPStatusCode code = GST_RTSP_STS_INVALID;
      gst_rtsp_message_parse_response(resp, &code, nullptr, nullptr);
      gchar* value = nullptr;
      for (gint i = 0; code == GST_RTSP_STS_UNAUTHORIZED &&
                       gst_rtsp_message_get_header(resp, GST_RTSP_HDR_WWW_AUTHENTICATE, &value, i) == GST_RTSP_OK;
           ++i) {
        out.emplace_back(value);
      }
    }
  }
  if (req) gst_rtsp_message_free(req);
  if (resp) gst_rtsp_message_free(resp);
  gst_rtsp_connection_close(conn);
  gst_rtsp_connection_free(conn);
  return out;
}

gboolean OnBeforeSend(GstElement* src, GstRTSPMessage*, gpointer data) {
  auto* guard = static_cast<CredentialGuard*>(data);
  if (guard->probed.exchange(true)) return TRUE;
  bool digest = false, basic = false;
  for (const std::string& c : ProbeChallenges(guard->url, guard->timeout_us)) {
    const std::string scheme = c.substr(0, c.find(' '));
    digest = digest || g_ascii_strcasecmp(scheme.c_str(), "digest") == 0;
    basic = basic || g_ascii_strcasecmp(scheme.c_str(), "basic") == 0;
  }
  if (digest) {
    // rtspsrc prefers Digest whenever it is offered.
    g_object_set(src, "user-id", guard->user.c_str(), "user-pw", guard->password.c_str(), nullptr);
  } else if (basic) {
    GstStructure* st = gst_structure_new(
        "vigil-rtsp-refused", "reason", G_TYPE_STRING,
        BasicAuthRefused("RTSP DESCRIBE " + guard->url).c_str(), nullptr);
    gst_element_post_message(src, gst_message_new_application(GST_OBJECT(src), st));
  }
  return TRUE;
}

}  // namespace

const RtpVideoElements* RtpVideoElementsFor(const char* enc, bool decoding) {
  if (!enc) return nullptr;
  if (std::strcmp(enc, "H264") == 0) return &kH264;
  if (std::strcmp(enc, "H265") == 0 || std::strcmp(enc, "HEVC") == 0) return &kH265;
  if (decoding && std::strcmp(enc, "JPEG") == 0) return &kJpeg;
  return nullptr;
}

GstElement* MakeRtspSource(const std::string& url, bool allow_basic_auth, const RecordingOptions& options,
                           GCallback pad_added, gpointer owner, GCallback select_stream) {
  GstElement* src = gst_element_factory_make("rtspsrc", nullptr);
  if (!src) return nullptr;
  auto parsed = ParseRtspUrl(url);  // rtsp:// only: over rtsps:// Basic is as safe as the TLS
  if (parsed.ok() && !parsed->user.empty() && !allow_basic_auth) {
    auto* guard = new CredentialGuard;
    guard->url = parsed->url;
    guard->user = parsed->user;
    guard->password = parsed->password;
    guard->timeout_us = options.connect_timeout_ns / 1000;
    g_object_set_data_full(G_OBJECT(src), "vigil-credential-guard", guard,
                           [](gpointer p) { delete static_cast<CredentialGuard*>(p); });
    g_signal_connect(src, "before-send", G_CALLBACK(&OnBeforeSend), guard);
    g_object_set(src, "location", parsed->url.c_str(), nullptr);
  } else {
    g_object_set(src, "location", url.c_str(), nullptr);
  }
  g_object_set(src, "latency", static_cast<guint>(options.latency_ms), nullptr);
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
