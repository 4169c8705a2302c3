#include "tools/camsim/script.h"

#include <filesystem>
#include <set>

#include <doctest/doctest.h>
#include <opencv2/imgproc.hpp>

using namespace vigil;
using namespace vigil::camsim;

namespace {
Script Parse(const std::string& text) {
  auto s = ParseScript(text, "scene.toml");
  REQUIRE_MESSAGE(s.ok(), s.error().ToString());
  return *s;
}

std::vector<TruthEvent> Of(const std::vector<TruthEvent>& all, EventType type) {
  std::vector<TruthEvent> out;
  for (const auto& e : all) {
    if (e.type == type) out.push_back(e);
  }
  return out;
}
}  // namespace

TEST_CASE("ground truth follows the script's geometry") {
  // A person walks right along y = 0.8 from x = 0 (t = 10) to x = 1 (t = 30): 0.05 of the width a
  // second. It crosses x = 0.5 at t = 20, is in the zone x 0.3..0.6 from t = 16 to t = 22.
  Script s = Parse(R"(
name = "t"
duration = 40
[analytics]
[[analytics.zones]]
name = "z"
polygon = [[0.3, 0.7], [0.6, 0.7], [0.6, 0.9], [0.3, 0.9]]
loiter_seconds = 5
[[analytics.lines]]
name = "ab"
from = [0.5, 0.5]
to = [0.5, 1.0]
direction = "b_to_a"
[[analytics.lines]]
name = "ba"
from = [0.5, 0.5]
to = [0.5, 1.0]
direction = "a_to_b"
[[actors]]
path = [[10, 0.0, 0.8], [30, 1.0, 0.8]]
[[effects]]
kind = "blur"
from = 33
to = 36
)");
  auto truth = ComputeTruth(s);
  auto lines = Of(truth, EventType::kTripwire);
  REQUIRE(lines.size() == 1);
  // Looking down the line (from y 0.5 to 1.0), side A is on the right (x > 0.5): moving right is B → A.
  CHECK(lines[0].zone == "ab");
  CHECK(lines[0].direction == "b_to_a");
  CHECK(lines[0].start == doctest::Approx(20.0).epsilon(0.001));
  auto intrusions = Of(truth, EventType::kIntrusion);
  REQUIRE(intrusions.size() == 1);
  CHECK(intrusions[0].start == doctest::Approx(16.0).epsilon(0.002));
  CHECK(intrusions[0].end == doctest::Approx(22.0).epsilon(0.002));
  auto loiter = Of(truth, EventType::kLoitering);
  REQUIRE(loiter.size() == 1);
  CHECK(loiter[0].start == doctest::Approx(16.0).epsilon(0.002));
  auto motion = Of(truth, EventType::kMotion);
  REQUIRE(motion.size() == 1);
  CHECK(motion[0].start == doctest::Approx(10.0).epsilon(0.02));
  auto blur = Of(truth, EventType::kTamperDefocused);
  REQUIRE(blur.size() == 1);
  CHECK(blur[0].start == 33);
  CHECK(blur[0].end == 36);
}

TEST_CASE("an actor hidden by a mask is not in view, and short exits do not split a stay") {
  Script s = Parse(R"(
name = "t"
duration = 30
[analytics]
masks = [[[0, 0.5], [1, 0.5], [1, 1], [0, 1]]]
[[analytics.zones]]
name = "z"
polygon = [[0.2, 0.1], [0.8, 0.1], [0.8, 0.45], [0.2, 0.45]]
min_dwell_seconds = 1
loiter_seconds = 8
[[actors]]
path = [[5, 0.5, 0.9], [15, 0.5, 0.95]]
[[actors]]
path = [[16, 0.5, 0.3], [20, 0.5, 0.3], [20.5, 0.5, 0.48], [21.5, 0.5, 0.48], [22, 0.5, 0.3], [28, 0.5, 0.3]]
)");
  auto truth = ComputeTruth(s);
  auto motion = Of(truth, EventType::kMotion);
  REQUIRE(motion.size() == 1);  // the first actor is masked throughout
  CHECK(motion[0].start == doctest::Approx(16.0).epsilon(0.01));
  // Out of the zone for ~1.4 s (under the 2 s grace): one stay, loitering from t = 16.
  auto loiter = Of(truth, EventType::kLoitering);
  REQUIRE(loiter.size() == 1);
  CHECK(loiter[0].start == doctest::Approx(16.0).epsilon(0.01));
  // The zone, though, was empty over its 1 s hold: two intrusions.
  CHECK(Of(truth, EventType::kIntrusion).size() == 2);
}

TEST_CASE("a bad scene script is refused with the file, the line and the reason") {
  auto bad = [](const std::string& text) {
    auto s = ParseScript(text, "scene.toml");
    REQUIRE_FALSE(s.ok());
    return s.error().message();
  };
  CHECK(bad("duration = 10\n").find("needs 'name'") != std::string::npos);
  CHECK(bad("name = \"x\"\nduration = 10\n[[actors]]\npath = [[1, 0, 0]]\n").find("at least 2 keyframes") !=
        std::string::npos);
  CHECK(bad("name = \"x\"\nduration = 10\n[[actors]]\npath = [[2, 0, 0], [1, 1, 1]]\n").find("scene.toml:4") !=
        std::string::npos);
  CHECK(bad("name = \"x\"\nduration = 10\n[[effects]]\nkind = \"smoke\"\nfrom = 1\nto = 2\n").find("cover, blur, turn") !=
        std::string::npos);
  CHECK(bad("name = \"x\"\nduration = 10\n[analytics]\n[[analytics.lines]]\nname = \"l\"\nfrom = [0.5, 0.5]\nto = [0.5, 0.5]\n")
            .find("zero length") != std::string::npos);
}

TEST_CASE("every scene of the suite loads and the suite covers every event type") {
  // The suite's own files (samples/scenes), as the scene test plays them.
  const char* dir = std::getenv("VIGIL_SCENES");
  if (!dir) return;  // run by meson with the variable set
  int scenes = 0;
  std::set<EventType> types;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".toml") continue;
    auto s = LoadScript(e.path());
    REQUIRE_MESSAGE(s.ok(), s.error().ToString());
    ++scenes;
    for (const auto& t : ComputeTruth(*s)) types.insert(t.type);
  }
  CHECK(scenes >= 50);
  for (auto t : {EventType::kIntrusion, EventType::kTripwire, EventType::kLoitering,
                 EventType::kMotion, EventType::kTamperCovered,
                 EventType::kTamperDefocused, EventType::kTamperMoved}) {
    CHECK_MESSAGE(types.count(t), EventTypeName(t));
  }
}

TEST_CASE("plate vehicles: truth per pass, plates drawn on the bumper, bad plates refused") {
  const std::string text =
      "name = \"p\"\nduration = 10\n"
      "[[actors]]\nkind = \"vehicle\"\nheight = 0.35\nplate = \"云A·12345\"\nplate_angle = 10\n"
      "path = [[2, 0.5, 0.45], [4, 0.5, 1.25]]\n"
      "[[actors]]\nkind = \"vehicle\"\nheight = 0.35\nplate = \"粤BD12345\"\n"
      "path = [[5, 0.3, 0.45], [7, 0.3, 1.25]]\n"
      "[[actors]]\nkind = \"vehicle\"\npath = [[1, 0, 0.5], [3, 1, 0.5]]\n";
  auto s = ParseScript(text, "plates.toml");
  REQUIRE_MESSAGE(s.ok(), s.error().message());
  auto truth = ComputePlateTruth(*s);
  REQUIRE(truth.size() == 2);  // the third vehicle shows no plate
  CHECK(truth[0].plate == "云A12345");
  CHECK(truth[0].color == "blue");
  CHECK(truth[0].start == doctest::Approx(2));
  CHECK(truth[0].end == doctest::Approx(4));
  CHECK(truth[1].plate == "粤BD12345");
  CHECK(truth[1].color == "green");  // implied by the new-energy text
  std::string json = TruthJson({{"cam1", &*s}}, 1'000'000'000);
  CHECK(json.find("\"plates\": [") != std::string::npos);
  CHECK(json.find("\"plate\": \"粤BD12345\", \"color\": \"green\"") != std::string::npos);

  // Drawn: at t = 2.5 s the blue plate sits on the first vehicle's bumper.
  ScriptedScene scene(std::make_shared<Script>(*s), {1920, 1080}, "cam1");
  cv::Mat frame;
  scene.Render(2.5, "", frame);
  // The vehicle: foot at y = 0.45 + 0.8 / 4 of the frame, 0.35 of the frame tall, 1.3 times as wide.
  const int h = 378, w = h * 13 / 10, foot = static_cast<int>(0.65 * 1080);
  cv::Rect vehicle(960 - w / 2, foot - h, w, h);
  cv::Mat hsv, blue;
  cv::cvtColor(frame(vehicle), hsv, cv::COLOR_BGR2HSV);
  cv::inRange(hsv, cv::Scalar(100, 150, 80), cv::Scalar(125, 255, 255), blue);
  cv::Rect plate = cv::boundingRect(blue) + vehicle.tl();
  CHECK(plate.width > 100);  // a quarter of the vehicle's width
  CHECK(plate.width < 170);
  CHECK(std::abs(plate.x + plate.width / 2 - 960) < 20);
  CHECK(plate.y > vehicle.y + h * 2 / 3);  // on the bumper

  auto bad = [](const std::string& actor) {
    auto r = ParseScript("name = \"x\"\nduration = 10\n[[actors]]\n" + actor +
                             "path = [[1, 0, 0], [2, 1, 1]]\n",
                         "bad.toml");
    REQUIRE_FALSE(r.ok());
    return r.error().message();
  };
  CHECK(bad("kind = \"vehicle\"\nplate = \"云A1O345\"\n").find("bad.toml:") != std::string::npos);
  CHECK(bad("kind = \"vehicle\"\nplate = \"云A1O345\"\n").find("no I or O") != std::string::npos);
  CHECK(bad("kind = \"vehicle\"\nplate = \"云A12345\"\nplate_color = \"green\"\n").find("cannot be green") !=
        std::string::npos);
  CHECK(bad("kind = \"vehicle\"\nplate = \"云A12345\"\nplate_color = \"pink\"\n").find("pink") !=
        std::string::npos);
  CHECK(bad("kind = \"person\"\nplate = \"云A12345\"\n").find("only a vehicle") != std::string::npos);
  // Two-row plates: a lorry's or trailer's yellow rear plate, 2:1; a blue plate has no two-row form.
  auto lorry = ParseScript("name = \"x\"\nduration = 10\n[[actors]]\nkind = \"vehicle\"\nplate = \"鲁B1234挂\"\n"
                           "plate_rows = 2\npath = [[1, 0, 0], [2, 1, 1]]\n",
                           "lorry.toml");
  REQUIRE_MESSAGE(lorry.ok(), lorry.error().message());
  const cv::Mat& two = lorry->actors[0].plate_image;
  CHECK(two.cols == 2 * two.rows);
  CHECK(lorry->actors[0].plate_color == "yellow");
  CHECK(bad("kind = \"vehicle\"\nplate = \"云A12345\"\nplate_rows = 2\n").find("no two-row form") !=
        std::string::npos);
  CHECK(bad("kind = \"vehicle\"\nplate = \"云A12345\"\nplate_rows = 3\n").find("plate_rows") != std::string::npos);
}
