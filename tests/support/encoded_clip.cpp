#include "tests/support/encoded_clip.h"

#include <gst/app/gstappsink.h>

#include "base/gst_ptr.h"

namespace vigil::testing {

Result<EncodedClip> EncodeClip(ingest::VideoCodec codec, int frames, int gop, int width, int height,
                               const std::string& pattern, int kbps) {
  EnsureGstInit();
  std::string rate = kbps > 0 ? fmt::format("bitrate={} ", kbps) : "";
  std::string enc =
      codec == ingest::VideoCodec::kH264
          ? fmt::format("x264enc tune=zerolatency speed-preset=ultrafast key-int-max={} bframes=0 {}"
                        "option-string=scenecut=0 ! h264parse ! "
                        "video/x-h264,stream-format=avc,alignment=au",
                        gop, rate)
          : fmt::format("x265enc tune=zerolatency speed-preset=ultrafast key-int-max={} {}"
                        "option-string=bframes=0:scenecut=0 ! h265parse ! "
                        "video/x-h265,stream-format=hvc1,alignment=au",
                        gop, rate);
  std::string desc = fmt::format(
      "videotestsrc num-buffers={} pattern={} ! video/x-raw,width={},height={},framerate=25/1 ! "
      "{} ! appsink name=sink sync=false",
      frames, pattern, width, height, enc);
  GError* raw = nullptr;
  GstPtr<GstElement> pipeline(gst_parse_launch(desc.c_str(), &raw));
  GstPtr<GError> err(raw);
  if (!pipeline || err) return Status::Internal(err ? err->message : "parse_launch failed");
  GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  EncodedClip clip;
  clip.format.codec = codec;
  for (;;) {
    GstPtr<GstSample> sample(gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 30 * GST_SECOND));
    if (!sample) break;
    GstBuffer* buf = gst_sample_get_buffer(sample.get());
    if (clip.format.codec_data.empty()) {
      const GstStructure* s = gst_caps_get_structure(gst_sample_get_caps(sample.get()), 0);
      gst_structure_get_int(s, "width", &clip.format.width);
      gst_structure_get_int(s, "height", &clip.format.height);
      GstBuffer* cd = gst_value_get_buffer(gst_structure_get_value(s, "codec_data"));
      clip.format.codec_data.resize(gst_buffer_get_size(cd));
      gst_buffer_extract(cd, 0, clip.format.codec_data.data(), clip.format.codec_data.size());
    }
    AccessUnit au;
    au.data.resize(gst_buffer_get_size(buf));
    gst_buffer_extract(buf, 0, au.data.data(), au.data.size());
    au.pts_ns = static_cast<int64_t>(GST_BUFFER_PTS(buf));
    au.dts_ns = GST_BUFFER_DTS_IS_VALID(buf) ? static_cast<int64_t>(GST_BUFFER_DTS(buf)) : au.pts_ns;
    au.duration_ns = 40'000'000;
    au.key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    clip.units.push_back(std::move(au));
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  if (static_cast<int>(clip.units.size()) != frames) {
    return Status::Internal(fmt::format("encoder produced {} of {} frames", clip.units.size(), frames));
  }
  return clip;
}

}  // namespace vigil::testing
