#pragma once
// A pass-through element that stands in for rtpbin's jitterbuffer on RTSP-over-TCP streams, where
// packets arrive in order, without loss or duplicates: it has a `latency` property (rtpbin sets it)
// and does nothing else, so packets go on in the reading thread instead of through the
// jitterbuffer's queue and thread. The recorder stamps them with their RTP time (camera_recorder.cpp).

#include <gst/gst.h>

namespace vigil::ingest {

GstElement* MakeRtpPass();

}  // namespace vigil::ingest
