// vigil's RTSP client, protocol side: URLs, SDP, authentication (RFC 2617's own example), and the
// depacketizer checked against GStreamer's independent packetizers (rtph264pay / rtph265pay) on
// real encoder output: every access unit, key flag, timestamp and the decoder configuration record.

#include "ingest/rtsp_session.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <random>

#include <doctest/doctest.h>

#include "base/clock.h"
#include "base/gst_ptr.h"
#include "ingest/h26x.h"
#include "ingest/rtp_depay.h"
#include "tests/support/encoded_clip.h"

namespace vigil::ingest {
namespace {

using Packets = std::vector<Bytes>;

// The clip's access units through GStreamer's RTP payloader; parameter sets in-band before each key
// frame (config-interval=-1), as cameras send them.
Packets Packetize(const testing::EncodedClip& clip, int mtu) {
  EnsureGstInit();
  const bool h264 = clip.format.codec == VideoCodec::kH264;
  std::string desc = fmt::format(
      "appsrc name=src format=time ! {} mtu={} config-interval=-1 ! appsink name=sink sync=false",
      h264 ? "rtph264pay" : "rtph265pay", mtu);
  GError* raw = nullptr;
  GstPtr<GstElement> pipeline(gst_parse_launch(desc.c_str(), &raw));
  GstPtr<GError> err(raw);
  REQUIRE(pipeline);
  GstPtr<GstElement> src(gst_bin_get_by_name(GST_BIN(pipeline.get()), "src"));
  GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  GstPtr<GstBuffer> cd(gst_buffer_new_memdup(clip.format.codec_data.data(), clip.format.codec_data.size()));
  GstPtr<GstCaps> caps(gst_caps_new_simple(h264 ? "video/x-h264" : "video/x-h265", "stream-format",
                                           G_TYPE_STRING, h264 ? "avc" : "hvc1", "alignment", G_TYPE_STRING,
                                           "au", "codec_data", GST_TYPE_BUFFER, cd.get(), "width", G_TYPE_INT,
                                           clip.format.width, "height", G_TYPE_INT, clip.format.height,
                                           "framerate", GST_TYPE_FRACTION, 25, 1, nullptr));
  g_object_set(src.get(), "caps", caps.get(), nullptr);
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  for (const auto& au : clip.units) {
    GstBuffer* b = gst_buffer_new_memdup(au.data.data(), au.data.size());
    GST_BUFFER_PTS(b) = static_cast<GstClockTime>(au.pts_ns);
    GST_BUFFER_DTS(b) = static_cast<GstClockTime>(au.dts_ns);
    if (!au.key) GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
    REQUIRE(gst_app_src_push_buffer(GST_APP_SRC(src.get()), b) == GST_FLOW_OK);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
  Packets out;
  while (GstPtr<GstSample> s{gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 10 * GST_SECOND)}) {
    GstBuffer* b = gst_sample_get_buffer(s.get());
    Bytes p(gst_buffer_get_size(b));
    gst_buffer_extract(b, 0, p.data(), p.size());
    out.push_back(std::move(p));
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  return out;
}

// The access unit without parameter sets and delimiters (what the depacketizer keeps).
Bytes SlicesOnly(const Bytes& au, VideoCodec codec) {
  Bytes out;
  for (size_t i = 0; i + 4 <= au.size();) {
    size_t len = static_cast<size_t>(au[i]) << 24 | static_cast<size_t>(au[i + 1]) << 16 |
                 static_cast<size_t>(au[i + 2]) << 8 | au[i + 3];
    const uint8_t* nal = au.data() + i + 4;
    int t = codec == VideoCodec::kH264 ? H264NalType(nal) : H265NalType(nal);
    bool drop = codec == VideoCodec::kH264 ? (t == h264::kSps || t == h264::kPps || t == h264::kAud)
                                           : (t >= h265::kVps && t <= h265::kAud);
    if (!drop) out.insert(out.end(), au.begin() + static_cast<ptrdiff_t>(i), au.begin() + static_cast<ptrdiff_t>(i + 4 + len));
    i += 4 + len;
  }
  return out;
}

void CheckRoundTrip(VideoCodec codec, int mtu) {
  auto clip = testing::EncodeClip(codec, 60, 25, 352, 288, "ball");
  REQUIRE(clip.ok());
  Packets packets = Packetize(clip.value(), mtu);
  REQUIRE(packets.size() > clip.value().units.size());  // fragmentation happened
  RtpDepacketizer depay(codec, 90000, {});
  std::vector<AccessUnit> units;
  for (const Bytes& p : packets) REQUIRE(depay.Push(p.data(), p.size(), units).ok());
  const auto& ref = clip.value().units;
  REQUIRE(units.size() == ref.size());
  CHECK(depay.lost_packets() == 0);
  CHECK(depay.dropped_units() == 0);
  for (size_t i = 0; i < ref.size(); ++i) {
    CAPTURE(i);
    CHECK(units[i].key == ref[i].key);
    CHECK(units[i].data == SlicesOnly(ref[i].data, codec));
    // RTP time is 90 kHz: 40 ms frames are exact.
    CHECK(units[i].media_ns == ref[i].pts_ns - ref[0].pts_ns);
  }
  const StreamFormat& f = *units[0].format;
  CHECK(f.codec == codec);
  CHECK(f.width == 352);
  CHECK(f.height == 288);
  if (codec == VideoCodec::kH264) {
    CHECK(f.codec_data == clip.value().format.codec_data);  // avcC byte for byte as h264parse makes it
  } else {
    // hvcC: the parameter-set arrays and the profile/tier/level bytes as h265parse makes them.
    const Bytes& theirs = clip.value().format.codec_data;
    REQUIRE(theirs.size() > 23);
    REQUIRE(f.codec_data.size() > 23);
    CHECK(Bytes(f.codec_data.begin(), f.codec_data.begin() + 13) == Bytes(theirs.begin(), theirs.begin() + 13));
    CHECK(f.codec_data[16] == theirs[16]);  // chroma_format_idc
    CHECK(f.codec_data[17] == theirs[17]);  // bit depths
    CHECK(f.codec_data[18] == theirs[18]);
    // The arrays without their completeness bit (h265parse leaves it 0; vigil sets it: in-band
    // parameter sets are kept out of the samples).
    auto arrays = [](Bytes b) {
      size_t i = 23;
      for (int a = 0; a < b[22] && i + 3 <= b.size(); ++a) {
        b[i] &= 0x7f;
        size_t n = static_cast<size_t>(b[i + 1] << 8 | b[i + 2]);
        i += 3;
        for (size_t k = 0; k < n && i + 2 <= b.size(); ++k) i += 2 + static_cast<size_t>(b[i] << 8 | b[i + 1]);
      }
      return Bytes(b.begin() + 22, b.end());
    };
    CHECK(arrays(f.codec_data) == arrays(theirs));
    CHECK((f.codec_data[23] & 0x80) != 0);
  }
  // A lost packet in the middle of a frame: that frame is dropped, counted, and the rest go on.
  RtpDepacketizer lossy(codec, 90000, {});
  std::vector<AccessUnit> got;
  // A fragmentation unit from the middle of a frame (neither its start nor its end).
  size_t lose = packets.size() / 2;
  auto middle_fragment = [&](const Bytes& p) {
    const uint8_t* pl = p.data() + 12;
    if (codec == VideoCodec::kH264) return H264NalType(pl) == 28 && (pl[1] & 0xc0) == 0;
    return H265NalType(pl) == 49 && (pl[2] & 0xc0) == 0;
  };
  while (lose < packets.size() && !middle_fragment(packets[lose])) ++lose;
  REQUIRE(lose < packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    if (i != lose) REQUIRE(lossy.Push(packets[i].data(), packets[i].size(), got).ok());
  }
  CHECK(lossy.lost_packets() == 1);
  CHECK(lossy.dropped_units() == 1);
  CHECK(got.size() == ref.size() - 1);
}

}  // namespace

TEST_CASE("RTSP URLs: credentials, ports, IPv6, errors") {
  auto u = ParseRtspUrl("rtsp://admin:p%40ss@10.1.2.3:8554/Streaming/Channels/101");
  REQUIRE(u.ok());
  CHECK(u.value().host == "10.1.2.3");
  CHECK(u.value().port == 8554);
  CHECK(u.value().user == "admin");
  CHECK(u.value().password == "p@ss");
  CHECK(u.value().url == "rtsp://10.1.2.3:8554/Streaming/Channels/101");
  auto v6 = ParseRtspUrl("rtsp://[fe80::1]/live");
  REQUIRE(v6.ok());
  CHECK(v6.value().host == "fe80::1");
  CHECK(v6.value().port == 554);
  CHECK(ParseRtspUrl("http://cam/x").error().message().find("not an rtsp://") != std::string::npos);
  CHECK(ParseRtspUrl("rtsp://cam:99999/x").error().message().find("bad port") != std::string::npos);
  CHECK(ParseRtspUrl("rtsp:///x").error().message().find("no host") != std::string::npos);
  CHECK(RedactUrl("rtsp://admin:p@ss@10.1.2.3:8554/a:b@c") == "rtsp://admin:***@10.1.2.3:8554/a:b@c");
  CHECK(RedactUrl("rtsp://admin@10.1.2.3/x") == "rtsp://admin@10.1.2.3/x");
  CHECK(RedactUrl("rtsp://10.1.2.3/x") == "rtsp://10.1.2.3/x");
}

TEST_CASE("SDP: the first video stream, its codec, parameter sets and control URLs") {
  // A 1270x714 stream (cropped: not a whole number of macroblocks) from x264.
  auto clip = testing::EncodeClip(VideoCodec::kH264, 1, 25, 1270, 714, "ball");
  REQUIRE(clip.ok());
  const Bytes& avcc = clip.value().format.codec_data;
  const size_t sps_len = static_cast<size_t>(avcc[6] << 8 | avcc[7]);
  const size_t pps_at = 8 + sps_len + 1;
  const size_t pps_len = static_cast<size_t>(avcc[pps_at] << 8 | avcc[pps_at + 1]);
  auto b64 = [](const uint8_t* p, size_t n) {
    gchar* t = g_base64_encode(p, n);
    std::string out = t;
    g_free(t);
    return out;
  };
  const std::string sdp = fmt::format(
      "v=0\r\no=- 1 1 IN IP4 10.1.2.3\r\ns=Media Presentation\r\nt=0 0\r\na=control:*\r\n"
      "m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=control:trackID=2\r\n"
      "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
      "a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets={},{}\r\n"
      "a=control:trackID=1\r\n",
      b64(avcc.data() + 8, sps_len), b64(avcc.data() + pps_at + 2, pps_len));
  Sdp s = ParseSdp(sdp, "rtsp://10.1.2.3/Streaming/Channels/101/");
  REQUIRE(s.media.size() == 2);
  CHECK(s.control == "rtsp://10.1.2.3/Streaming/Channels/101/");
  const SdpMedia& v = s.media[1];
  CHECK(v.media == "video");
  CHECK(v.encoding == "H264");
  CHECK(v.clock_rate == 90000);
  CHECK(v.control == "rtsp://10.1.2.3/Streaming/Channels/101/trackID=1");
  CHECK(v.fmtp.at("packetization-mode") == "1");
  auto sets = SpropParameterSets(VideoCodec::kH264, v.fmtp);
  REQUIRE(sets.ok());
  REQUIRE(sets.value().sps.size() == 1);
  REQUIRE(sets.value().pps.size() == 1);
  auto info = ParseH264Sps(sets.value().sps[0].data(), sets.value().sps[0].size());
  REQUIRE(info.ok());
  CHECK(info.value().width == 1270);
  CHECK(info.value().height == 714);
  auto fmt = MakeStreamFormat(VideoCodec::kH264, sets.value());
  REQUIRE(fmt.ok());
  CHECK(fmt.value().codec_data == avcc);
  CHECK(ResolveControl("rtsp://h/a", "rtsp://other/b") == "rtsp://other/b");
  CHECK(ResolveControl("rtsp://h/a", "") == "rtsp://h/a");
}

TEST_CASE("Digest authentication answers RFC 2617's example; Basic encodes the pair") {
  auto d = Authorization(
      "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
      "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
      "Mufasa", "Circle Of Life", "GET", "/dir/index.html", "0a4f113b", 1);
  REQUIRE(d.ok());
  CHECK(d.value().find("response=\"6629fae49393a05397450978507c4ef1\"") != std::string::npos);
  CHECK(d.value().find("nc=00000001") != std::string::npos);
  CHECK(d.value().find("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"") != std::string::npos);
  auto b = Authorization("Basic realm=\"cam\"", "Aladdin", "open sesame", "DESCRIBE", "rtsp://h/", "", 1);
  REQUIRE(b.ok());
  CHECK(b.value() == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  CHECK(!Authorization("Negotiate abc", "u", "p", "DESCRIBE", "rtsp://h/", "", 1).ok());
}

TEST_CASE("RTP depacketizer: H.264 from rtph264pay, every frame and the avcC") {
  CheckRoundTrip(VideoCodec::kH264, 400);
}

TEST_CASE("RTP depacketizer: H.265 from rtph265pay, every frame and the hvcC") {
  CheckRoundTrip(VideoCodec::kH265, 400);
}

TEST_CASE("RTSP session: 401 with Digest, DESCRIBE, SETUP, PLAY, then interleaved RTP") {
  auto url = ParseRtspUrl("rtsp://op:secret@127.0.0.1:8554/cam1/main");
  REQUIRE(url.ok());
  RtspSession s(url.value());
  std::vector<AccessUnit> units;
  s.Start(0);
  CHECK(s.outbox().rfind("DESCRIBE rtsp://127.0.0.1:8554/cam1/main RTSP/1.0\r\nCSeq: 1\r\n", 0) == 0);
  s.outbox().clear();
  auto feed = [&](const std::string& text) {
    return s.Receive(reinterpret_cast<const uint8_t*>(text.data()), text.size(), 0, units);
  };
  REQUIRE(feed("RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm=\"x\"\r\n"
               "WWW-Authenticate: Digest realm=\"x\", nonce=\"n1\"\r\n\r\n").ok());
  CHECK(s.outbox().find("DESCRIBE rtsp://127.0.0.1:8554/cam1/main") == 0);
  CHECK(s.outbox().find("Authorization: Digest username=\"op\"") != std::string::npos);
  s.outbox().clear();
  const std::string sdp = "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:stream=0\r\n";
  // The answer arrives in two pieces.
  std::string answer = fmt::format("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://127.0.0.1:8554/cam1/main/\r\n"
                                   "Content-Length: {}\r\n\r\n{}", sdp.size(), sdp);
  REQUIRE(feed(answer.substr(0, 50)).ok());
  CHECK(s.outbox().empty());
  REQUIRE(feed(answer.substr(50)).ok());
  CHECK(s.outbox().find("SETUP rtsp://127.0.0.1:8554/cam1/main/stream=0 RTSP/1.0") == 0);
  CHECK(s.outbox().find("interleaved=0-1") != std::string::npos);
  s.outbox().clear();
  REQUIRE(feed("RTSP/1.0 200 OK\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=2-3\r\n"
               "Session: ab12;timeout=30\r\n\r\n").ok());
  CHECK(s.outbox().find("PLAY rtsp://127.0.0.1:8554/cam1/main/ RTSP/1.0") == 0);
  CHECK(s.outbox().find("Session: ab12\r\n") != std::string::npos);
  s.outbox().clear();
  // The PLAY answer, then a single-NAL RTP packet on channel 2 carrying SPS... is enough to show the
  // framing: an SPS/PPS pair and one IDR slice, marker set, make one key access unit.
  auto clip = testing::EncodeClip(VideoCodec::kH264, 1, 25, 160, 120, "ball");
  REQUIRE(clip.ok());
  Packets pk = Packetize(clip.value(), 1400);
  std::string wire = "RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: ab12\r\n\r\n";
  for (const Bytes& p : pk) {
    wire += '$';
    wire += static_cast<char>(2);
    wire += static_cast<char>(p.size() >> 8);
    wire += static_cast<char>(p.size() & 0xff);
    wire.append(reinterpret_cast<const char*>(p.data()), p.size());
  }
  wire += "$";  // a packet's first byte: held until the rest comes
  // In pieces of every size from 1 byte to a few packets, as reads cut the stream.
  for (size_t at = 0, piece = 1; at < wire.size(); at += piece, piece = piece * 7 % 1531 + 1) {
    REQUIRE(feed(wire.substr(at, piece)).ok());
  }
  CHECK(s.playing());
  REQUIRE(units.size() == 1);
  CHECK(units[0].key);
  CHECK(units[0].format->width == 160);
  // Keep-alive at half the session timeout.
  REQUIRE(s.Tick(16 * kNsPerSec, 10 * kNsPerSec).ok());
  CHECK(s.outbox().find("OPTIONS rtsp://127.0.0.1:8554/cam1/main/ RTSP/1.0") == 0);
}

TEST_CASE("RTSP session: errors name the request and what the camera said") {
  auto url = ParseRtspUrl("rtsp://127.0.0.1/nope");
  REQUIRE(url.ok());
  std::vector<AccessUnit> units;
  {
    RtspSession s(url.value());
    s.Start(0);
    std::string r = "RTSP/1.0 404 Not Found\r\nCSeq: 1\r\n\r\n";
    Status st = s.Receive(reinterpret_cast<const uint8_t*>(r.data()), r.size(), 0, units);
    CHECK(st.message() == "RTSP DESCRIBE rtsp://127.0.0.1/nope: 404 Not Found");
  }
  {
    RtspSession s(url.value());
    s.Start(0);
    std::string r = "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\r\n";
    Status st = s.Receive(reinterpret_cast<const uint8_t*>(r.data()), r.size(), 0, units);
    CHECK(st.code() == StatusCode::kFailedPrecondition);
    CHECK(st.message().find("requires a user and password") != std::string::npos);
  }
  {
    RtspSession s(url.value());
    s.Start(0);
    const std::string sdp = "v=0\r\nm=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\n";
    std::string r = fmt::format("RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: {}\r\n\r\n{}", sdp.size(), sdp);
    Status st = s.Receive(reinterpret_cast<const uint8_t*>(r.data()), r.size(), 0, units);
    CHECK(st.code() == StatusCode::kFailedPrecondition);
    CHECK(st.message() == "unsupported codec JPEG: vigil records H.264 and H.265");
  }
  {
    RtspSession s(url.value());
    s.Start(0);
    CHECK(s.Tick(5 * kNsPerSec, 10 * kNsPerSec).ok());
    Status st = s.Tick(11 * kNsPerSec, 10 * kNsPerSec);
    CHECK(st.message() == "RTSP DESCRIBE rtsp://127.0.0.1/nope: no answer within 10 s");
  }
}

}  // namespace vigil::ingest

namespace vigil::ingest {

TEST_CASE("garbage from a camera is an error or is dropped, never a crash") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255), len(0, 1500);
  auto clip = testing::EncodeClip(VideoCodec::kH264, 10, 5, 160, 120, "ball");
  REQUIRE(clip.ok());
  Packets packets = Packetize(clip.value(), 300);
  int errors = 0;
  for (int round = 0; round < 300; ++round) {
    RtpDepacketizer depay(round % 2 ? VideoCodec::kH264 : VideoCodec::kH265, 90000, {});
    std::vector<AccessUnit> out;
    for (const Bytes& p : packets) {
      Bytes b = p;
      // Flip a few bytes (the header included), truncate some packets.
      for (int k = 0; k < 3; ++k) b[static_cast<size_t>(rng()) % b.size()] = static_cast<uint8_t>(byte(rng));
      if (rng() % 5 == 0) b.resize(static_cast<size_t>(rng()) % b.size());
      if (!depay.Push(b.data(), b.size(), out).ok()) ++errors;
    }
    for (const AccessUnit& au : out) CHECK(au.format != nullptr);
  }
  auto url = ParseRtspUrl("rtsp://127.0.0.1/x");
  REQUIRE(url.ok());
  for (int round = 0; round < 300; ++round) {
    RtspSession s(url.value());
    s.Start(0);
    std::vector<AccessUnit> out;
    std::string junk = round % 3 == 0 ? "RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 9999999\r\n\r\n" : "";
    for (int k = len(rng); k > 0; --k) junk += static_cast<char>(byte(rng));
    if (!s.Receive(reinterpret_cast<const uint8_t*>(junk.data()), junk.size(), 0, out).ok()) ++errors;
  }
  // Parameter sets: random SPS bodies parse or are refused.
  for (int round = 0; round < 2000; ++round) {
    Bytes sps(static_cast<size_t>(len(rng)) % 64 + 1);
    for (uint8_t& b : sps) b = static_cast<uint8_t>(byte(rng));
    ParameterSets sets;
    if (round % 2) {
      sps[0] = 0x67;
      sets.sps = {sps};
      sets.pps = {{0x68, 0xce}};
      auto f = MakeStreamFormat(VideoCodec::kH264, sets);
      if (f.ok()) CHECK(f.value().width > 0);
    } else {
      sps[0] = 0x42;
      if (sps.size() > 1) sps[1] = 0x01;
      sets.vps = {{0x40, 0x01, 0x0c}};
      sets.sps = {sps};
      sets.pps = {{0x44, 0x01, 0xc0}};
      auto f = MakeStreamFormat(VideoCodec::kH265, sets);
      if (f.ok()) CHECK(f.value().height > 0);
    }
  }
  CHECK(errors > 0);  // some of it was recognised as malformed
}

TEST_CASE("RTSP session: a camera flooding requests without reading the answers is cut off, memory bounded") {
  auto url = ParseRtspUrl("rtsp://127.0.0.1:8554/cam1/main");
  REQUIRE(url.ok());
  RtspSession s(url.value());
  std::vector<AccessUnit> units;
  s.Start(0);
  s.outbox().clear();
  // 100,000 GET_PARAMETER requests, never reading an answer (the outbox is never flushed).
  std::string flood;
  for (int i = 0; i < 1000; ++i) {
    flood += fmt::format("GET_PARAMETER rtsp://127.0.0.1:8554/cam1/main RTSP/1.0\r\nCSeq: {}\r\n\r\n", i);
  }
  Status st = Status::Ok();
  int rounds = 0;
  for (; rounds < 100 && st.ok(); ++rounds) {
    st = s.Receive(reinterpret_cast<const uint8_t*>(flood.data()), flood.size(), 0, units);
    CHECK(s.outbox().size() <= kMaxOutboxBytes + 256);
  }
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == StatusCode::kResourceExhausted);
  CHECK(st.message().find("faster than it read the answers") != std::string::npos);
  CHECK(rounds < 5);
}

}  // namespace vigil::ingest
