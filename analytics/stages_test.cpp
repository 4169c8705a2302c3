// The analytics stages driven with synthetic frames: a textured street-like background, objects as
// filled shapes at known positions, and the disturbances the stages must ignore.

#include <atomic>
#include <cmath>
#include <mutex>

#include <doctest/doctest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "analytics/camera_analytics.h"
#include "analytics/engine.h"
#include "analytics/snapshot.h"
#include "base/clock.h"

using namespace vigil;
using namespace vigil::analytics;

namespace {

constexpr double kFps = 5;
constexpr int64_t kT0 = 1'700'000'000LL * kNsPerSec;
const cv::Size kSize(640, 360);

int64_t At(double s) { return kT0 + static_cast<int64_t>(s * kNsPerSec); }

class Synth {
 public:
  explicit Synth(uint64_t seed) : rng_(seed) {
    bg_.create(kSize, CV_8UC3);
    bg_.setTo(cv::Scalar(120, 118, 115));
    for (int i = 0; i < 40; ++i) {
      cv::Rect r(rng_.uniform(0, kSize.width), rng_.uniform(0, kSize.height / 2),
                 rng_.uniform(20, 120), rng_.uniform(10, 80));
      cv::rectangle(bg_, r, cv::Scalar(rng_.uniform(40, 200), rng_.uniform(40, 200), rng_.uniform(40, 200)),
                    cv::FILLED);
    }
    cv::rectangle(bg_, {0, 200, kSize.width, 160}, cv::Scalar(80, 80, 82), cv::FILLED);
    cv::Mat noise(kSize, CV_8UC3);
    rng_.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(128), cv::Scalar::all(10));
    cv::addWeighted(bg_, 1.0, noise, 1.0, -128, bg_);
  }

  // The picture with people (foot points, 44 px tall) and the disturbances asked for.
  cv::Mat Render(const std::vector<cv::Point>& people, double gain = 1.0, double noise = 0,
                 const cv::Mat& overlay = {}) {
    cv::Mat f = bg_.clone();
    if (!overlay.empty()) overlay.copyTo(f, overlay > 0);
    for (const auto& p : people) {
      cv::rectangle(f, {p.x - 8, p.y - 44, 16, 44}, cv::Scalar(30, 40, 200), cv::FILLED);
      cv::circle(f, {p.x, p.y - 48}, 6, cv::Scalar(120, 160, 210), cv::FILLED);
    }
    if (gain != 1.0) f.convertTo(f, -1, gain);
    if (noise > 0) {
      cv::Mat n(kSize, CV_16SC3);
      rng_.fill(n, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(noise));
      cv::Mat f16;
      f.convertTo(f16, CV_16SC3);
      f16 += n;
      f16.convertTo(f, CV_8UC3);
    }
    return f;
  }

 private:
  cv::RNG rng_;
  cv::Mat bg_;
};

struct Run {
  std::vector<Detection> all;
  std::vector<Detection> Of(EventType type, Phase phase) const {
    std::vector<Detection> out;
    for (const auto& d : all) {
      if (d.type == type && d.phase == phase) out.push_back(d);
    }
    return out;
  }
};

AnalyticsConfig Config() {
  AnalyticsConfig c;
  c.enabled = true;
  c.fps = kFps;
  return c;
}

// Runs `seconds` of frames; `draw(t)` renders the frame at t seconds.
template <typename Draw>
Run Drive(CameraAnalytics& chain, double seconds, Draw draw) {
  Run run;
  for (int i = 0; i < static_cast<int>(seconds * kFps); ++i) {
    double t = i / kFps;
    Frame f{"cam", At(t), i + 1, draw(t)};
    chain.Process(f, run.all);
  }
  chain.Flush(run.all);
  return run;
}

double Sec(int64_t ns) { return static_cast<double>(ns - kT0) / kNsPerSec; }

}  // namespace

TEST_CASE("a walking person is found where it is and keeps one track id") {
  Synth s(1);
  MotionDetector motion(MotionSettings{}, kSize, {}, kFps);
  Tracker tracker({}, kSize);
  std::set<int64_t> ids;
  int found = 0;
  for (int i = 0; i < 60; ++i) {
    double t = i / kFps;
    std::vector<cv::Point> people;
    cv::Point foot(static_cast<int>(40 + (t - 3) * 90), 300);
    if (t >= 3) people.push_back(foot);
    auto blobs = motion.Process(s.Render(people, 1.0, 3));
    const auto& tracks = tracker.Update(blobs, At(t));
    if (t < 3.5 || foot.x > 620) continue;
    REQUIRE(blobs.size() == 1);
    ++found;
    CHECK(std::abs(blobs[0].box.x + blobs[0].box.width / 2 - foot.x) <= 6);
    CHECK(std::abs(blobs[0].box.y + blobs[0].box.height - foot.y) <= 6);
    CHECK(std::abs(blobs[0].box.height - 54) <= 8);
    for (const auto& tr : tracks) ids.insert(tr.id);
  }
  CHECK(found > 20);
  CHECK(ids.size() == 1);
}

TEST_CASE("sensor noise, a light ramp and swaying foliage raise nothing") {
  Synth s(2);
  auto chain = CameraAnalytics(Config());
  cv::Mat leaves(kSize, CV_8UC3, cv::Scalar(0, 0, 0));
  Run run = Drive(chain, 60, [&](double t) {
    // Foliage: a dark-green textured bush swaying ±10 px twice every 3 s.
    leaves.setTo(cv::Scalar(0, 0, 0));
    int dx = static_cast<int>(10 * std::sin(t * 2 * M_PI / 1.5));
    for (int k = 0; k < 12; ++k) {
      cv::circle(leaves, {500 + dx + (k % 4) * 14, 80 + (k / 4) * 16}, 12,
                 cv::Scalar(20, 90 + k * 5, 30), cv::FILLED);
    }
    double gain = 1.0 - 0.5 * std::clamp((t - 10) / 30, 0.0, 1.0);  // dusk over 30 s
    return s.Render({}, gain, 6, leaves);
  });
  for (const auto& d : run.all) {
    FAIL_CHECK("unexpected ", EventTypeName(d.type), " at ", Sec(d.start_ns), " s");
  }
}

TEST_CASE("an intrusion starts when the person enters the zone and ends when it leaves") {
  Synth s(3);
  AnalyticsConfig c = Config();
  c.zones.push_back({"yard", {{0.4, 0.6}, {0.7, 0.6}, {0.7, 1.0}, {0.4, 1.0}}, true, 1.0, 0.05, 0, {}});
  CameraAnalytics chain(c);
  // Walks right at 80 px/s from x = 40 starting at t = 4: enters at x = 256 (t = 6.7), leaves at
  // x = 448 (t = 9.1).
  Run run = Drive(chain, 16, [&](double t) {
    std::vector<cv::Point> p;
    if (t >= 4) p.push_back({static_cast<int>(40 + (t - 4) * 80), 320});
    return s.Render(p, 1.0, 3);
  });
  auto starts = run.Of(EventType::kIntrusion, Phase::kStart);
  auto ends = run.Of(EventType::kIntrusion, Phase::kEnd);
  REQUIRE(starts.size() == 1);
  REQUIRE(ends.size() == 1);
  CHECK(starts[0].zone == "yard");
  CHECK(Sec(starts[0].start_ns) == doctest::Approx(6.7).epsilon(0.05));
  CHECK(Sec(ends[0].end_ns) == doctest::Approx(9.1).epsilon(0.05));
  CHECK(ends[0].key == starts[0].key);
  CHECK(starts[0].track > 0);
  CHECK_FALSE(starts[0].box.empty());
  CHECK(run.Of(EventType::kMotion, Phase::kStart).size() == 1);
}

TEST_CASE("a directed line counts crossings in its direction only, at the time of crossing") {
  Synth s(4);
  AnalyticsConfig c = Config();
  // Pointing down the picture: side A is the right half, side B the left.
  c.lines.push_back({"gate", {0.5, 0.5}, {0.5, 1.0}, Direction::kAToB, {}});
  CameraAnalytics chain(c);
  // Right at 100 px/s from x = 100 (t = 3) crossing x = 320 at t = 5.2 (B → A), on to x = 500 at
  // t = 7, back left crossing at t = 8.8 (A → B).
  Run run = Drive(chain, 14, [&](double t) {
    std::vector<cv::Point> p;
    if (t >= 3 && t < 7) p.push_back({static_cast<int>(100 + (t - 3) * 100), 320});
    if (t >= 7) p.push_back({static_cast<int>(500 - (t - 7) * 100), 320});
    return s.Render(p, 1.0, 3);
  });
  auto crossings = run.Of(EventType::kTripwire, Phase::kInstant);
  REQUIRE(crossings.size() == 1);
  CHECK(crossings[0].zone == "gate");
  CHECK(Sec(crossings[0].start_ns) == doctest::Approx(8.8).epsilon(0.03));
  CHECK(crossings[0].attributes.find("a_to_b") != std::string::npos);

  c.lines[0].direction = Direction::kBoth;
  CameraAnalytics both(c);
  Synth s2(4);
  Run run2 = Drive(both, 14, [&](double t) {
    std::vector<cv::Point> p;
    if (t >= 3 && t < 7) p.push_back({static_cast<int>(100 + (t - 3) * 100), 320});
    if (t >= 7) p.push_back({static_cast<int>(500 - (t - 7) * 100), 320});
    return s2.Render(p, 1.0, 3);
  });
  auto two = run2.Of(EventType::kTripwire, Phase::kInstant);
  REQUIRE(two.size() == 2);
  CHECK(Sec(two[0].start_ns) == doctest::Approx(5.2).epsilon(0.03));
  CHECK(two[0].attributes.find("b_to_a") != std::string::npos);
}

TEST_CASE("a person wandering in a zone longer than loiter_seconds is loitering, once") {
  Synth s(5);
  AnalyticsConfig c = Config();
  c.zones.push_back({"doorway", {{0.3, 0.6}, {0.8, 0.6}, {0.8, 1.0}, {0.3, 1.0}}, false, 1.0, 0, 6, {}});
  CameraAnalytics chain(c);
  // Walks in from the left, crossing the zone's edge (x = 192) at t = 2.74, wanders between x = 250
  // and 450 until t = 16 (x = 333), then walks out left, leaving at t = 18.35.
  Run run = Drive(chain, 26, [&](double t) {
    std::vector<cv::Point> p;
    double x = t < 4 ? 100 + (t - 2) * 125
                     : t < 16 ? 350 + 100 * std::sin((t - 4) * 0.8)
                              : 350 + 100 * std::sin(12 * 0.8) - (t - 16) * 60;
    if (t >= 2 && x > 0) p.push_back({static_cast<int>(x), 320});
    return s.Render(p, 1.0, 3);
  });
  auto starts = run.Of(EventType::kLoitering, Phase::kStart);
  auto ends = run.Of(EventType::kLoitering, Phase::kEnd);
  REQUIRE(starts.size() == 1);
  REQUIRE(ends.size() == 1);
  CHECK(Sec(starts[0].start_ns) == doctest::Approx(2.74).epsilon(0.1));
  CHECK(Sec(ends[0].end_ns) == doctest::Approx(18.35).epsilon(0.02));
  CHECK(run.Of(EventType::kIntrusion, Phase::kStart).empty());  // intrusion = false
}

TEST_CASE("a person who walks in and stands still stays one object until they leave") {
  Synth s(11);
  AnalyticsConfig c = Config();
  c.zones.push_back({"counter", {{0.4, 0.6}, {0.6, 0.6}, {0.6, 1.0}, {0.4, 1.0}}, true, 1.0, 0, 10, {}});
  CameraAnalytics chain(c);
  // Walks right at 80 px/s from x = 40 at t = 3, enters the zone (x = 256) at t = 5.7, stands at
  // x = 300 from t = 6.25 to 26 shifting a pixel from foot to foot, walks on and leaves the zone
  // (x = 384) at t = 27.05. A background model that learnt the standing person (in about 11 s) would
  // end the intrusion while they are there and leave a ghost where they stood.
  Run run = Drive(chain, 36, [&](double t) {
    std::vector<cv::Point> p;
    double x = t < 6.25 ? 40 + (t - 3) * 80 : t < 26 ? 300 + (static_cast<int>(t * kFps) % 2) : 300 + (t - 26) * 80;
    if (t >= 3 && x < 640) p.push_back({static_cast<int>(x), 320});
    return s.Render(p, 1.0, 3);
  });
  auto starts = run.Of(EventType::kIntrusion, Phase::kStart);
  auto ends = run.Of(EventType::kIntrusion, Phase::kEnd);
  REQUIRE(starts.size() == 1);
  REQUIRE(ends.size() == 1);
  CHECK(Sec(starts[0].start_ns) == doctest::Approx(5.7).epsilon(0.05));
  CHECK(Sec(ends[0].end_ns) == doctest::Approx(27.05).epsilon(0.02));
  auto loiter = run.Of(EventType::kLoitering, Phase::kStart);
  REQUIRE(loiter.size() == 1);
  CHECK(loiter[0].track == starts[0].track);
  CHECK(run.Of(EventType::kMotion, Phase::kStart).size() == 1);
}

TEST_CASE("a thing pushed into place and left there becomes background") {
  Synth s(12);
  AnalyticsConfig c = Config();
  CameraAnalytics chain(c);
  // A crate pushed from x = 100 to x = 250 between t = 3 and 4, then left: nothing stirs in its box,
  // so after 5 s it is let go into the background and its track (and the motion event) ends.
  Run run = Drive(chain, 60, [&](double t) {
    cv::Mat f = s.Render({}, 1.0, 3);
    if (t >= 3) {
      int x = static_cast<int>(100 + std::min(t - 3, 1.0) * 150);
      cv::rectangle(f, {x, 270, 40, 30}, cv::Scalar(170, 160, 150), cv::FILLED);
    }
    return f;
  });
  auto starts = run.Of(EventType::kMotion, Phase::kStart);
  auto ends = run.Of(EventType::kMotion, Phase::kEnd);
  REQUIRE(starts.size() == 1);
  REQUIRE(ends.size() == 1);
  CHECK(Sec(starts[0].start_ns) == doctest::Approx(3.0).epsilon(0.1));
  // Seen last well before the run's end (60 s): let go after 5 s still, then learnt.
  CHECK(Sec(ends[0].end_ns) < 35);
  CHECK(chain.tracks().empty());
}

TEST_CASE("a large bright car crossing a plain overhead view as the exposure reacts is one object, not a tamper") {
  Synth s(13);
  CameraAnalytics chain(Config());
  // A white car (160×200 px, a seventh of the picture) drives up the picture at 150 px/s from t = 4;
  // while it is in view the camera's auto exposure darkens everything to 70 %.
  Run run = Drive(chain, 14, [&](double t) {
    cv::Mat f = s.Render({}, 1.0, 3);
    const int top = static_cast<int>(360 - (t - 4) * 150);
    const bool in_view = t >= 4 && top > -200;
    if (in_view) {
      cv::Rect car(240, top, 160, 200);
      car &= cv::Rect(0, 0, 640, 360);
      cv::rectangle(f, car, cv::Scalar(235, 235, 235), cv::FILLED);
      f.convertTo(f, -1, 0.7);
    }
    return f;
  });
  for (const auto& d : run.all) {
    const bool tamper = d.type == EventType::kTamperCovered || d.type == EventType::kTamperDefocused ||
                        d.type == EventType::kTamperMoved;
    CHECK_MESSAGE(!tamper, EventTypeName(d.type), " at ", Sec(d.start_ns), " s");
  }
  auto starts = run.Of(EventType::kMotion, Phase::kStart);
  REQUIRE(starts.size() == 1);
  CHECK(Sec(starts[0].start_ns) == doctest::Approx(4.2).epsilon(0.1));
}

TEST_CASE("a person close to the camera coming in through the bottom edge is an object in a zone drawn to the edge") {
  Synth s(14);
  AnalyticsConfig c = Config();
  c.zones.push_back({"floor", {{0.0, 0.6}, {1.0, 0.6}, {1.0, 1.0}, {0.0, 1.0}}, true, 1.0, 0, 0, {}});
  CameraAnalytics chain(c);
  // 300 px tall: from t = 3 the head rises from the bottom edge at 100 px/s to y = 60 (t = 6), the
  // feet stay below the picture; stands there to t = 15 and goes back down. The box's bottom is the
  // frame's edge the whole time: only its head point moves.
  Run run = Drive(chain, 22, [&](double t) {
    cv::Mat f = s.Render({}, 1.0, 3);
    double head = t < 6 ? 360 - (t - 3) * 100 : t < 15 ? 60 + (static_cast<int>(t * kFps) % 2) : 60 + (t - 15) * 100;
    if (t >= 3 && head < 358) {
      cv::rectangle(f, cv::Point(280, static_cast<int>(head) + 30), cv::Point(360, 400), cv::Scalar(40, 30, 150),
                    cv::FILLED);
      cv::circle(f, {320, static_cast<int>(head) + 15}, 15, cv::Scalar(120, 160, 210), cv::FILLED);
    }
    return f;
  });
  auto starts = run.Of(EventType::kIntrusion, Phase::kStart);
  REQUIRE(starts.size() == 1);
  CHECK(Sec(starts[0].start_ns) == doctest::Approx(3.2).epsilon(0.1));
  auto motion = run.Of(EventType::kMotion, Phase::kStart);
  REQUIRE(motion.size() == 1);
  CHECK(Sec(motion[0].start_ns) == doctest::Approx(3.2).epsilon(0.1));
}

TEST_CASE("on a street that never goes still a motion event is cut at motion_max_seconds and goes on") {
  Synth s(15);
  AnalyticsConfig c = Config();
  c.motion.max_event_s = 20;
  CameraAnalytics chain(c);
  // Someone is always walking up and down from t = 3 to the end (t = 50).
  Run run = Drive(chain, 50, [&](double t) {
    std::vector<cv::Point> p;
    if (t >= 3) p.push_back({static_cast<int>(320 + 220 * std::sin((t - 3) * 0.4)), 320});
    return s.Render(p, 1.0, 3);
  });
  auto starts = run.Of(EventType::kMotion, Phase::kStart);
  auto ends = run.Of(EventType::kMotion, Phase::kEnd);
  REQUIRE(starts.size() == 3);
  REQUIRE(ends.size() == 3);
  CHECK(Sec(starts[0].start_ns) == doctest::Approx(3.0).epsilon(0.1));
  CHECK(starts[0].attributes.empty());
  for (int i = 1; i < 3; ++i) {
    CAPTURE(i);
    CHECK(starts[i].attributes.find("\"continued\":true") != std::string::npos);
    CHECK(starts[i].start_ns == ends[i - 1].end_ns);  // no gap, no overlap
    CHECK(Sec(starts[i].start_ns) - Sec(starts[i - 1].start_ns) == doctest::Approx(20).epsilon(0.02));
  }
}

TEST_CASE("tamper is raised once at its start and cleared when the view recovers") {
  struct Case {
    const char* name;
    EventType type;
    std::function<cv::Mat(const cv::Mat&)> spoil;
  };
  std::vector<Case> cases = {
      {"covered", EventType::kTamperCovered,
       [](const cv::Mat& f) { return cv::Mat(f.size(), f.type(), cv::Scalar(12, 12, 14)); }},
      {"defocused", EventType::kTamperDefocused,
       [](const cv::Mat& f) {
         cv::Mat b;
         cv::GaussianBlur(f, b, cv::Size(0, 0), 5);
         return b;
       }},
      {"moved", EventType::kTamperMoved,
       [](const cv::Mat& f) {
         cv::Mat m = (cv::Mat_<double>(2, 3) << 1, 0, 70, 0, 1, 25);
         cv::Mat out;
         cv::warpAffine(f, out, m, f.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
         return out;
       }},
  };
  for (const auto& tc : cases) {
    CAPTURE(tc.name);
    Synth s(6);
    CameraAnalytics chain(Config());
    Run run = Drive(chain, 16, [&](double t) {
      cv::Mat f = s.Render({}, 1.0, 3);
      return t >= 5 && t < 10 ? tc.spoil(f) : f;
    });
    auto starts = run.Of(tc.type, Phase::kStart);
    auto ends = run.Of(tc.type, Phase::kEnd);
    REQUIRE(starts.size() == 1);
    REQUIRE(ends.size() == 1);
    CHECK(Sec(starts[0].start_ns) == doctest::Approx(5.0).epsilon(0.02));
    CHECK(Sec(ends[0].end_ns) == doctest::Approx(9.8).epsilon(0.03));
    // Nothing else: no motion from the tamper itself, no second kind of tamper.
    CHECK(run.all.size() == 2);
  }
}

TEST_CASE("snapshots decode and show the box; the crop is the box with a margin") {
  Synth s(7);
  cv::Mat f = s.Render({{300, 300}});
  cv::Rect box(292, 250, 16, 50);
  auto jpeg = EncodeSnapshot(f, box);
  REQUIRE(jpeg.ok());
  cv::Mat back = cv::imdecode(*jpeg, cv::IMREAD_COLOR);
  REQUIRE(back.size() == f.size());
  cv::Vec3b edge = back.at<cv::Vec3b>(box.y + 20, box.x);  // on the left edge of the outline
  CHECK(edge[2] > 180);
  CHECK(edge[1] < 80);
  auto crop = EncodeCrop(f, box);
  REQUIRE(crop.ok());
  cv::Mat c = cv::imdecode(*crop, cv::IMREAD_COLOR);
  CHECK(c.cols == 16 + 2 * 3);
  CHECK(c.rows == 50 + 2 * 10);
  CHECK_FALSE(EncodeCrop(f, cv::Rect()).ok());
}

TEST_CASE("the engine takes the newest frame when analytics is behind and counts the drops") {
  std::mutex mu;
  std::atomic<int> seen{0};
  Engine engine(1, [&](const Detection&, const Frame&) { ++seen; });
  REQUIRE(engine.AddCamera("cam", Config()).ok());
  CHECK(engine.AddCamera("cam", Config()).code() == StatusCode::kAlreadyExists);
  AnalyticsConfig bad = Config();
  bad.lines.push_back({"l", {0.5, 0.5}, {0.5, 0.5}, Direction::kBoth, {}});
  CHECK(engine.AddCamera("cam2", bad).code() == StatusCode::kInvalidArgument);
  Synth s(8);
  cv::Mat f = s.Render({});
  int taken = 0;
  const int n = 200;
  for (int i = 0; i < n; ++i) taken += engine.Submit(Frame{"cam", At(i / kFps), i + 1, f});
  CHECK_FALSE(engine.Submit(Frame{"nobody", At(0), 1, f}));
  engine.Stop();
  auto st = engine.Stats("cam");
  CHECK(st.frames_analysed + st.frames_dropped == n);
  CHECK(st.frames_dropped == n - taken);
  CHECK(st.frames_analysed >= 1);
  REQUIRE(engine.LatestFrame("cam").has_value());
  CHECK_FALSE(engine.Submit(Frame{"cam", At(100), n + 1, f}));
}
