#pragma once
// GStreamer's RTSP client (rtspsrc) set up once for its two users: the recorder (RTP over UDP,
// rtsps://, or on request) and the analysis branches that decode a stream of their own. What differs
// between them (what follows the depayloader) stays with each.
//
// Functions run on the thread that builds the pipeline or, for the pad helpers, on GStreamer's
// streaming thread in a pad-added handler.

#include <string>

#include <gst/gst.h>

#include "ingest/recording_config.h"

namespace vigil::ingest::internal {

// The elements for one RTP video encoding.
struct RtpVideoElements {
  const char* depay;
  const char* parse;
  const char* decoder;
  const char* recorded_caps;  // the parser's output for recording (avcC/hvcC, whole access units)
};

// By the SDP's encoding name: H264, H265 (or HEVC), and JPEG when `decoding` (it cannot be
// recorded). nullptr for anything else.
const RtpVideoElements* RtpVideoElementsFor(const char* encoding, bool decoding);

// rtspsrc for `url` with vigil's settings: `options.latency_ms`, TCP or UDP, timestamps from the RTP
// clock (buffer-mode none), its timeouts at the connect timeout, a short teardown; over TCP the
// jitterbuffer is replaced by a pass-through (ingest/internal/rtp_pass.h); only video streams are
// set up. `pad_added(rtspsrc, pad, owner)` links what comes. Returns a floating element to add to a
// bin, or nullptr when GStreamer's RTSP plugin is missing.
// `select_stream(rtspsrc, index, caps, owner)`: which streams to set up; by default video only.
// A password in a plain rtsp:// `url` reaches rtspsrc only once a DESCRIBE without it shows the
// camera offers Digest (unless `allow_basic_auth`); a camera offering only Basic gets nothing and
// the application message "vigil-rtsp-refused" (field "reason") is posted on the bus.
GstElement* MakeRtspSource(const std::string& url, bool allow_basic_auth, const RecordingOptions& options,
                           GCallback pad_added, gpointer owner, GCallback select_stream = nullptr);

// Links `pad` to a fakesink added to `bin`: a stream nobody reads.
void SinkAway(GstBin* bin, GstPad* pad);

// Posts the application message "vigil-unsupported-codec" (field "encoding") on `pipeline`'s bus,
// for its bus handler to report.
void PostUnsupportedCodec(GstElement* pipeline, const char* encoding);

}  // namespace vigil::ingest::internal
