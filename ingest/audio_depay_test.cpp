// The audio depacketizer against GStreamer's own payloaders (rtpmp4gpay, rtppcmapay) on real encoder
// output: every frame's bytes and time.

#include "ingest/audio_depay.h"

#include <gst/app/gstappsink.h>

#include <doctest/doctest.h>

#include "base/gst_ptr.h"

namespace vigil::ingest {
namespace {

struct Payloaded {
  std::vector<Bytes> packets;
  std::vector<Bytes> frames;  // what went into the payloader
  std::vector<int64_t> frame_pts;
  std::string caps;           // the payloader's output caps (SDP parameters)
};

Payloaded Payload(const std::string& encode, const std::string& pay) {
  EnsureGstInit();
  std::string desc = fmt::format(
      "audiotestsrc num-buffers=50 samplesperbuffer=1600 ! {} ! tee name=t "
      "t. ! queue ! appsink name=ref sync=false t. ! queue ! {} ! appsink name=rtp sync=false",
      encode, pay);
  GError* raw = nullptr;
  GstPtr<GstElement> pipeline(gst_parse_launch(desc.c_str(), &raw));
  GstPtr<GError> err(raw);
  REQUIRE_MESSAGE(pipeline, desc);
  GstPtr<GstElement> ref(gst_bin_get_by_name(GST_BIN(pipeline.get()), "ref"));
  GstPtr<GstElement> rtp(gst_bin_get_by_name(GST_BIN(pipeline.get()), "rtp"));
  REQUIRE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  Payloaded out;
  // Both branches run at once: pull them alternately until both end.
  std::vector<Bytes> r, p;
  std::vector<int64_t> rp;
  for (bool more = true; more;) {
    more = false;
    if (GstPtr<GstSample> s{gst_app_sink_try_pull_sample(GST_APP_SINK(ref.get()), GST_SECOND / 2)}) {
      GstBuffer* b = gst_sample_get_buffer(s.get());
      Bytes d(gst_buffer_get_size(b));
      gst_buffer_extract(b, 0, d.data(), d.size());
      r.push_back(std::move(d));
      rp.push_back(static_cast<int64_t>(GST_BUFFER_PTS(b)));
      more = true;
    }
    if (GstPtr<GstSample> s{gst_app_sink_try_pull_sample(GST_APP_SINK(rtp.get()), GST_SECOND / 2)}) {
      GstBuffer* b = gst_sample_get_buffer(s.get());
      Bytes d(gst_buffer_get_size(b));
      gst_buffer_extract(b, 0, d.data(), d.size());
      p.push_back(std::move(d));
      if (out.caps.empty()) {
        GstCaps* c = gst_sample_get_caps(s.get());
        GstPtr<gchar> text(gst_caps_to_string(c));
        out.caps = text.get();
      }
      more = true;
    }
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  out.frames = std::move(r);
  out.frame_pts = std::move(rp);
  out.packets = std::move(p);
  return out;
}

// A caps field's value: config=(string)1408, → "1408".
std::string CapsField(const std::string& caps, const std::string& name) {
  auto at = caps.find(name + "=(string)");
  if (at == std::string::npos) return "";
  at += name.size() + 9;
  auto end = caps.find_first_of(",; ", at);
  std::string v = caps.substr(at, end == std::string::npos ? std::string::npos : end - at);
  if (!v.empty() && v.front() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

TEST_CASE("audio depacketizer: AAC from rtpmp4gpay, every frame and its time") {
  auto pl = Payload("audio/x-raw,rate=16000,channels=1 ! avenc_aac ! aacparse ! audio/mpeg,stream-format=raw",
                    "rtpmp4gpay");
  REQUIRE(pl.frames.size() > 20);
  REQUIRE(!pl.packets.empty());
  std::map<std::string, std::string> fmtp{{"mode", CapsField(pl.caps, "mode")},
                                          {"config", CapsField(pl.caps, "config")},
                                          {"sizelength", CapsField(pl.caps, "sizelength")},
                                          {"indexlength", CapsField(pl.caps, "indexlength")},
                                          {"indexdeltalength", CapsField(pl.caps, "indexdeltalength")}};
  CAPTURE(pl.caps);
  auto format = AudioFormatOf("MPEG4-GENERIC", 96, 16000, 1, fmtp);
  REQUIRE_MESSAGE(format.ok(), format.status().ToString());
  CHECK(format->codec == AudioCodec::kAac);
  CHECK(format->config.size() * 2 == CapsField(pl.caps, "config").size());  // the AudioSpecificConfig
  AudioDepacketizer depay(*format);
  std::vector<AudioFrame> got;
  for (const Bytes& p : pl.packets) REQUIRE(depay.Push(p.data(), p.size(), got).ok());
  REQUIRE(got.size() == pl.frames.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i].data == pl.frames[i]);
    CHECK(std::llabs((got[i].media_ns - got[0].media_ns) - (pl.frame_pts[i] - pl.frame_pts[0])) < 100'000);
    CHECK(got[i].duration_ns == 64'000'000);  // 1024 samples at 16 kHz
  }
  CHECK(depay.lost_packets() == 0);
}

TEST_CASE("audio depacketizer: G.711 A-law from rtppcmapay, every sample in order") {
  auto pl = Payload("audio/x-raw,rate=8000,channels=1 ! alawenc", "rtppcmapay");
  auto format = AudioFormatOf("", 8, 8000, 0, {});  // static payload type 8, no rtpmap
  REQUIRE(format.ok());
  CHECK(format->codec == AudioCodec::kPcma);
  AudioDepacketizer depay(*format);
  std::vector<AudioFrame> got;
  for (const Bytes& p : pl.packets) REQUIRE(depay.Push(p.data(), p.size(), got).ok());
  Bytes want, have;
  for (const auto& f : pl.frames) want.insert(want.end(), f.begin(), f.end());
  for (size_t i = 0; i < got.size(); ++i) {
    have.insert(have.end(), got[i].data.begin(), got[i].data.end());
    // Each packet's time is where its first sample lies in the stream.
    CHECK(got[i].media_ns == static_cast<int64_t>(have.size() - got[i].data.size()) * 125'000);
    CHECK(got[i].duration_ns == static_cast<int64_t>(got[i].data.size()) * 125'000);
  }
  CHECK(have == want);
}

TEST_CASE("audio formats the recorder does not take are named") {
  auto opus = AudioFormatOf("OPUS", 111, 48000, 2, {});
  REQUIRE_FALSE(opus.ok());
  CHECK(opus.error().message().find("OPUS") != std::string::npos);
  auto celp = AudioFormatOf("MPEG4-GENERIC", 96, 16000, 1, {{"mode", "CELP-cbr"}, {"config", "1408"}});
  REQUIRE_FALSE(celp.ok());
  CHECK(celp.error().message().find("CELP-cbr") != std::string::npos);
  auto noconfig = AudioFormatOf("MPEG4-GENERIC", 96, 16000, 1, {{"mode", "AAC-hbr"}});
  CHECK_FALSE(noconfig.ok());
  // Garbage never crashes the depacketizer.
  AudioDepacketizer depay(AudioFormatOf("MPEG4-GENERIC", 96, 16000, 1, {{"mode", "AAC-hbr"}, {"config", "1408"}}).value());
  std::vector<AudioFrame> out;
  Bytes pkt = {0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 1, 2};
  CHECK_FALSE(depay.Push(pkt.data(), pkt.size(), out).ok());
  CHECK(out.empty());
}

}  // namespace vigil::ingest
