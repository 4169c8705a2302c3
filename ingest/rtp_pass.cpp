#include "ingest/internal/rtp_pass.h"

#include <algorithm>

#include <gst/base/gstbasetransform.h>
#include <gst/rtp/gstrtpbuffer.h>

namespace {

struct VigilRtpPass {
  GstBaseTransform parent;
  guint latency;
};

struct VigilRtpPassClass {
  GstBaseTransformClass parent_class;
};

G_DEFINE_TYPE(VigilRtpPass, vigil_rtp_pass, GST_TYPE_BASE_TRANSFORM)

enum { kPropLatency = 1 };

void SetProperty(GObject* object, guint id, const GValue* value, GParamSpec* spec) {
  auto* self = reinterpret_cast<VigilRtpPass*>(object);
  if (id == kPropLatency) {
    self->latency = g_value_get_uint(value);
  } else {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, spec);
  }
}

void GetProperty(GObject* object, guint id, GValue* value, GParamSpec* spec) {
  auto* self = reinterpret_cast<VigilRtpPass*>(object);
  if (id == kPropLatency) {
    g_value_set_uint(value, self->latency);
  } else {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, spec);
  }
}

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

void vigil_rtp_pass_class_init(VigilRtpPassClass* klass) {
  GObjectClass* gobject = G_OBJECT_CLASS(klass);
  gobject->set_property = SetProperty;
  gobject->get_property = GetProperty;
  g_object_class_install_property(
      gobject, kPropLatency,
      g_param_spec_uint("latency", "Latency", "Accepted and ignored: TCP needs no jitter buffer", 0,
                        G_MAXUINT, 0, static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  GstElementClass* element = GST_ELEMENT_CLASS(klass);
  gst_element_class_set_static_metadata(element, "vigil RTP pass-through", "Filter/Network/RTP",
                                        "Stands in for a jitterbuffer on in-order RTP", "vigil");
  gst_element_class_add_static_pad_template(element, &sink_template);
  gst_element_class_add_static_pad_template(element, &src_template);
  GST_BASE_TRANSFORM_CLASS(klass)->passthrough_on_same_caps = TRUE;
}

void vigil_rtp_pass_init(VigilRtpPass* self) {
  self->latency = 0;
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}

}  // namespace

namespace vigil::ingest {

GstElement* MakeRtpPass() {
  return GST_ELEMENT(g_object_new(vigil_rtp_pass_get_type(), nullptr));
}

}  // namespace vigil::ingest

namespace vigil::ingest {

GstPadProbeReturn RtpStamper::Probe(GstPad*, GstPadProbeInfo* info, gpointer stamper) {
  auto* self = static_cast<RtpStamper*>(stamper);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  if (!gst_rtp_buffer_map(buf, GST_MAP_READ, &rtp)) return GST_PAD_PROBE_OK;
  uint32_t ts = gst_rtp_buffer_get_timestamp(&rtp);
  gst_rtp_buffer_unmap(&rtp);
  if (self->ext_ < 0) {
    self->ext_ = ts;
    self->first_ = self->clock_base_ < 0
                       ? int64_t{ts}
                       : int64_t{ts} - static_cast<int32_t>(ts - static_cast<uint32_t>(self->clock_base_));
  } else {
    // Unwrap: the nearest 64-bit value to the last one with these low 32 bits.
    int64_t delta = static_cast<int32_t>(ts - static_cast<uint32_t>(self->ext_));
    self->ext_ += delta;
  }
  buf = gst_buffer_make_writable(buf);
  GST_PAD_PROBE_INFO_DATA(info) = buf;
  // From an hour after 0 at the first packet: with B-frames, the frames after the first key frame
  // in the stream are presented before it, and GStreamer's times cannot be negative.
  const int64_t base = int64_t{3600} * self->clock_rate_;
  GST_BUFFER_PTS(buf) = gst_util_uint64_scale_int(
      static_cast<guint64>(std::max<int64_t>(0, self->ext_ - self->first_ + base)), GST_SECOND,
      self->clock_rate_);
  GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
  return GST_PAD_PROBE_OK;
}

}  // namespace vigil::ingest
