#include "analytics/classifier.h"

#include <cstdlib>
#include <filesystem>

#include <doctest/doctest.h>
#include <opencv2/videoio.hpp>

#include "analytics/zone_rules.h"
#include "base/clock.h"

using namespace vigil;
using namespace vigil::analytics;

namespace {

// The real clips of ../shared/data/video-real, or "" (the test says it skipped).
std::string RealClip(const std::string& name) {
  std::string dir;
  if (const char* env = std::getenv("VIGIL_SHARED_DATA"); env && *env) {
    dir = env;
  } else if (const char* src = std::getenv("VIGIL_SOURCE_DIR"); src && *src) {
    dir = std::string(src) + "/../shared/data";
  }
  std::string path = dir + "/video-real/" + name;
  return !dir.empty() && std::filesystem::exists(path) ? path : "";
}

cv::Mat FrameAt(const std::string& path, double t_s) {
  cv::VideoCapture v(path);
  REQUIRE(v.isOpened());
  v.set(cv::CAP_PROP_POS_MSEC, t_s * 1000);
  cv::Mat f;
  REQUIRE(v.read(f));
  return f;
}

// A confirmed track walking along `foots` (one a second from t = 1 s), `height` pixels tall.
Track Walker(int64_t id, ObjectClass cls, const std::vector<cv::Point2d>& foots, int height) {
  Track t;
  t.id = id;
  t.confirmed = true;
  t.object_class = cls;
  t.class_confidence = 0.9;
  t.max_height = height;
  t.first_ns = kNsPerSec;
  for (size_t i = 0; i < foots.size(); ++i) {
    cv::Rect box(static_cast<int>(foots[i].x) - height / 4, static_cast<int>(foots[i].y) - height, height / 2, height);
    t.path.push_back({static_cast<int64_t>(i + 1) * kNsPerSec, foots[i], box, true});
    t.box = box;
    t.last_seen_ns = t.path.back().t_ns;
  }
  return t;
}

// Runs the rules over the tracks' paths, one second at a time; returns every detection.
std::vector<Detection> Rules(const AnalyticsConfig& c, const std::vector<Track>& full) {
  int64_t key = 1;
  ZoneRules rules(c, {640, 360}, &key);
  std::vector<Detection> out;
  size_t steps = 0;
  for (const auto& t : full) steps = std::max(steps, t.path.size());
  for (size_t i = 1; i <= steps + 3; ++i) {
    std::vector<Track> live, ended;
    for (const auto& t : full) {
      if (i > t.path.size() + 1) continue;
      Track now = t;
      now.path.resize(std::min(i, t.path.size()));
      now.box = now.path.back().box;
      (i <= t.path.size() ? live : ended).push_back(now);
    }
    rules.Process(live, ended, static_cast<int64_t>(i) * kNsPerSec, out);
  }
  rules.Flush(out);
  return out;
}

int Count(const std::vector<Detection>& ds, EventType type, Phase phase) {
  int n = 0;
  for (const auto& d : ds) n += d.type == type && d.phase == phase;
  return n;
}

}  // namespace

TEST_CASE("zones and lines with classes count only objects of those classes") {
  // A person and a car each cross the zone (x 200-440) and the line (x = 320, pointing down).
  std::vector<cv::Point2d> path;
  for (int x = 100; x <= 540; x += 40) path.emplace_back(x, 300);
  Track person = Walker(1, ObjectClass::kPerson, path, 120);
  Track car = Walker(2, ObjectClass::kVehicle, path, 80);
  AnalyticsConfig c;
  c.zones.push_back({"pavement", {{0.3, 0.5}, {0.7, 0.5}, {0.7, 1.0}, {0.3, 1.0}}, true, 1.0, 0, 0,
                     {ObjectClass::kPerson}});
  c.lines.push_back({"kerb", {0.5, 0.0}, {0.5, 1.0}, Direction::kBoth, {ObjectClass::kVehicle, ObjectClass::kTwoWheeler}});

  auto car_only = Rules(c, {car});
  CHECK(Count(car_only, EventType::kIntrusion, Phase::kStart) == 0);  // a car on the pavement rule
  REQUIRE(Count(car_only, EventType::kTripwire, Phase::kInstant) == 1);
  for (const auto& d : car_only) {
    if (d.type == EventType::kTripwire) CHECK(d.object_class == ObjectClass::kVehicle);
  }

  auto person_only = Rules(c, {person});
  CHECK(Count(person_only, EventType::kTripwire, Phase::kInstant) == 0);
  REQUIRE(Count(person_only, EventType::kIntrusion, Phase::kStart) == 1);
  for (const auto& d : person_only) {
    if (d.type == EventType::kIntrusion && d.phase == Phase::kStart) {
      CHECK(d.object_class == ObjectClass::kPerson);
      CHECK(d.class_confidence == doctest::Approx(0.9));
    }
  }

  // Without classes every object counts.
  c.zones[0].classes.clear();
  c.lines[0].classes.clear();
  auto both = Rules(c, {car});
  CHECK(Count(both, EventType::kIntrusion, Phase::kStart) == 1);
  CHECK(Count(both, EventType::kTripwire, Phase::kInstant) == 1);
}

TEST_CASE("a track is looked at when confirmed, then once a second, at most max_looks times") {
  ObjectClassifier cls({3, 1.0}, {640, 360});
  cv::Mat frame(360, 640, CV_8UC3, cv::Scalar(90, 90, 90));
  std::vector<cv::Point2d> path;
  for (int x = 100; x <= 540; x += 10) path.emplace_back(x, 300);
  std::vector<Track> tracks{Walker(1, ObjectClass::kUnknown, path, 60)};
  tracks[0].confirmed = false;
  cls.Update(tracks, frame, kNsPerSec);
  CHECK(tracks[0].class_looks == 0);  // not confirmed: not looked at
  tracks[0].confirmed = true;
  int64_t t = 2 * kNsPerSec;
  cls.Update(tracks, frame, t);
  CHECK(tracks[0].class_looks == 1);
  CHECK(tracks[0].object_class != ObjectClass::kUnknown);
  CHECK(tracks[0].class_confidence > 0);
  CHECK(tracks[0].class_confidence <= 1);
  cls.Update(tracks, frame, t + kNsPerSec / 2);
  CHECK(tracks[0].class_looks == 1);  // not yet due
  for (int i = 1; i <= 5; ++i) cls.Update(tracks, frame, t + i * kNsPerSec);
  CHECK(tracks[0].class_looks == 3);
  tracks[0].coasting = true;
  tracks[0].class_looks = 0;
  cls.Update(tracks, frame, t + 10 * kNsPerSec);
  CHECK(tracks[0].class_looks == 0);  // a coasting track's box is a guess: not looked at
}

TEST_CASE("on real footage the people detector tells a standing person from a car seen from above") {
  const std::string room = RealClip("one-by-one-person-detection.mp4");
  const std::string road = RealClip("car-detection.mp4");
  if (room.empty() || road.empty()) {
    MESSAGE("SKIPPED: ../shared/data/video-real is absent (set VIGIL_SHARED_DATA)");
    return;
  }
  ObjectClassifier cls({}, {640, 360});
  // Boxes from vigil-analyse on these clips (analysis pixels × 1.2 = the clips' 768×432).
  // The first person standing at the table, 9.8 s in.
  ClassLook person = cls.Look(FrameAt(room, 9.8), {389, 17, 130, 384}, 2.9, 0.0);
  CHECK(person.people_svm > 0.5);
  CHECK(person.p[0] > 0.8);
  // The second car, wholly in view, 16 s in.
  ClassLook car = cls.Look(FrameAt(road, 16.0), {98, 40, 173, 230}, 1.3, 1.0);
  CHECK(car.people_svm < -1.0);
  CHECK(car.p[1] > car.p[0]);
}
