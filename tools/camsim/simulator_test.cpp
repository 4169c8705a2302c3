#include "tools/camsim/simulator.h"

extern "C" {
#include <libavformat/avformat.h>
}

#include <doctest/doctest.h>

#include "base/clock.h"

namespace vigil::camsim {
namespace {

// Opens `url` with libavformat's RTSP client (an independent implementation) and reads `packets`
// video packets; returns the error text, or "" on success. *first_key tells whether the first packet
// was a key frame.
std::string ReadRtsp(const std::string& url, int packets, bool* first_key = nullptr) {
  AVFormatContext* fmt = nullptr;
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "rtsp_transport", "tcp", 0);
  av_dict_set(&opts, "timeout", "5000000", 0);
  int rc = avformat_open_input(&fmt, url.c_str(), nullptr, &opts);
  av_dict_free(&opts);
  if (rc < 0) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(rc, buf, sizeof(buf));
    return buf;
  }
  AVPacket* pkt = av_packet_alloc();
  int got = 0;
  std::string err;
  while (got < packets) {
    if (av_read_frame(fmt, pkt) < 0) {
      err = "read failed";
      break;
    }
    if (got == 0 && first_key) *first_key = pkt->flags & AV_PKT_FLAG_KEY;
    ++got;
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&fmt);
  return err;
}

SimOptions Small() {
  SimOptions o;
  o.port = 0;
  o.replay = true;
  o.replay_seconds = 2;
  o.main_size = {320, 240};
  o.sub_size = {160, 96};
  o.main_kbps = 500;
  o.sub_kbps = 100;
  return o;
}

TEST_CASE("camsim serves main and sub streams that an independent RTSP client can play from a key frame") {
  avformat_network_init();
  auto sim = Simulator::Start(Small());
  REQUIRE_MESSAGE(sim.ok(), sim.status().ToString());
  CHECK((*sim)->port() > 0);
  bool key = false;
  CHECK(ReadRtsp((*sim)->Url(1, true), 30, &key) == "");
  CHECK(key);
  CHECK(ReadRtsp((*sim)->Url(1, false), 10) == "");
  CHECK((*sim)->Stats(1, true).frames_published >= 30);
  CHECK(ReadRtsp(fmt::format("rtsp://127.0.0.1:{}/cam7/main", (*sim)->port()), 1) != "");
}

TEST_CASE("a refusing camera answers 503 until it accepts again; bad commands are errors") {
  auto sim = Simulator::Start(Small());
  REQUIRE(sim.ok());
  REQUIRE((*sim)->Apply("refuse cam1").ok());
  std::string err = ReadRtsp((*sim)->Url(1, true), 1);
  CAPTURE(err);
  CHECK(err.find("5XX") != std::string::npos);  // libavformat folds 503 into its 5XX error
  REQUIRE((*sim)->Apply("accept cam1").ok());
  CHECK(ReadRtsp((*sim)->Url(1, true), 5) == "");
  CHECK((*sim)->Apply("explode cam1").code() == StatusCode::kInvalidArgument);
  CHECK((*sim)->Apply("stop cam9").code() == StatusCode::kNotFound);
  CHECK((*sim)->Apply("stop").code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a scripted scene in replay mode is encoded whole before serving and played from its time 0") {
  auto script = ParseScript(R"(name = "gate"
duration = 2.5
[[actors]]
kind = "person"
path = [[0, 0.1, 0.8], [2.5, 0.9, 0.8]]
)",
                            "gate.toml");
  REQUIRE_MESSAGE(script.ok(), script.status().ToString());
  SimOptions o = Small();
  o.cameras = 2;
  o.scenes[1] = std::make_shared<Script>(std::move(*script));
  const int64_t before = SystemClock().WallNs();
  auto sim = Simulator::Start(o);
  REQUIRE_MESSAGE(sim.ok(), sim.status().ToString());
  // Scene time 0 is when serving began, after the encoding.
  CHECK((*sim)->scene_start_wall_ns() > before);
  CHECK((*sim)->scene_start_wall_ns() <= SystemClock().WallNs());
  for (int cam : {1, 2}) {
    CAPTURE(cam);
    bool key = false;
    CHECK(ReadRtsp((*sim)->Url(cam, true), 20, &key) == "");
    CHECK(key);
  }
  // 2.5 s at 25 fps rounded up to whole 2 s GOPs: the scene loops every 100 frames; it keeps being sent.
  CHECK(ReadRtsp((*sim)->Url(1, true), 110) == "");
  CHECK((*sim)->Stats(1, true).frames_published >= 110);
}

TEST_CASE("a second simulator in the same process serves as well as the first") {
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    auto sim = Simulator::Start(Small());
    REQUIRE(sim.ok());
    CHECK(ReadRtsp((*sim)->Url(1, true), 5) == "");
  }
}

}  // namespace
}  // namespace vigil::camsim
