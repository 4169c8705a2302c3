#pragma once
// A pass-through element that stands in for rtpbin's jitterbuffer on RTSP-over-TCP streams, where
// packets arrive in order, without loss or duplicates: it has a `latency` property (rtpbin sets it)
// and does nothing else, so packets go on in the reading thread instead of through the
// jitterbuffer's queue and thread. The recorder stamps them with their RTP time (camera_recorder.cpp).

#include <cstdint>

#include <gst/gst.h>

namespace vigil::ingest {

GstElement* MakeRtpPass();

// Stamps RTP packets with their RTP time (unwrapped to 64 bits, from 3600 s at the first packet: B-frames
// after it may be presented before it) as buffer PTS, in the thread that reads them: a pad probe for rtspsrc's source pad. One per stream;
// Reset() before a new connection. Streaming thread only.
class RtpStamper {
 public:
  // `clock_base`: the stream's RTP time at the start of PLAY (rtspsrc's "clock-base" from RTP-Info),
  // so that the streams of one camera share an origin (audio with video); -1: the first packet's.
  void Reset(int clock_rate, int64_t clock_base = -1) {
    ext_ = -1;
    clock_base_ = clock_base;
    if (clock_rate > 0) clock_rate_ = clock_rate;
  }
  // gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, &RtpStamper::Probe, stamper, nullptr).
  static GstPadProbeReturn Probe(GstPad* pad, GstPadProbeInfo* info, gpointer stamper);

 private:
  int64_t ext_ = -1;
  int64_t first_ = 0;
  int64_t clock_base_ = -1;
  int clock_rate_ = 90000;
};

}  // namespace vigil::ingest
