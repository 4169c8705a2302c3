#include "analytics/rules.h"

#include <doctest/doctest.h>

using namespace vigil;
using namespace vigil::analytics;

namespace {
Status Parse(const std::string& text, AnalyticsConfig& out) {
  toml::table t;
  try {
    t = toml::parse(std::string_view(text), std::string_view("cam.toml"));
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(e.what());
  }
  return ParseAnalytics("cam.toml", t, "gate-3", out);
}
}  // namespace

TEST_CASE("an analytics table with zones, lines and masks is read") {
  AnalyticsConfig c;
  Status st = Parse(R"(
fps = 4
masks = [[[0, 0], [0.3, 0], [0.3, 0.1], [0, 0.1]]]
[[zones]]
name = "yard"
polygon = [[0.1, 0.5], [0.6, 0.5], [0.6, 0.95], [0.1, 0.95]]
min_dwell_seconds = 0.5
loiter_seconds = 20
[[lines]]
name = "gate"
from = [0.7, 0.4]
to = [0.7, 0.9]
direction = "a_to_b"
)", c);
  REQUIRE_MESSAGE(st.ok(), st.ToString());
  CHECK(c.enabled);
  CHECK(c.fps == 4);
  REQUIRE(c.zones.size() == 1);
  CHECK(c.zones[0].name == "yard");
  CHECK(c.zones[0].min_dwell_s == 0.5);
  CHECK(c.zones[0].loiter_s == 20);
  REQUIRE(c.lines.size() == 1);
  CHECK(c.lines[0].direction == Direction::kAToB);
  CHECK(c.masks.size() == 1);
}

TEST_CASE("bad analytics geometry is refused with the camera, the shape and the reason") {
  AnalyticsConfig c;
  SUBCASE("a zone outside the frame") {
    Status st = Parse("[[zones]]\nname = \"z\"\npolygon = [[0.1, 0.1], [1.4, 0.1], [0.5, 0.8]]\n", c);
    CHECK(st.code() == StatusCode::kInvalidArgument);
    CHECK(st.message().find("cam.toml:3") != std::string::npos);
    CHECK(st.message().find("gate-3") != std::string::npos);
    CHECK(st.message().find("zone 'z'") != std::string::npos);
    CHECK(st.message().find("outside the frame") != std::string::npos);
  }
  SUBCASE("a self-intersecting zone (bow tie)") {
    Status st = Parse("[[zones]]\nname = \"tie\"\npolygon = [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]\n", c);
    CHECK(st.code() == StatusCode::kInvalidArgument);
    CHECK(st.message().find("intersects itself") != std::string::npos);
  }
  SUBCASE("a zone of two points") {
    Status st = Parse("[[zones]]\nname = \"z\"\npolygon = [[0.1, 0.1], [0.9, 0.9]]\n", c);
    CHECK(st.message().find("at least 3") != std::string::npos);
  }
  SUBCASE("a line of zero length") {
    Status st = Parse("[[lines]]\nname = \"l\"\nfrom = [0.5, 0.5]\nto = [0.5, 0.5]\n", c);
    CHECK(st.code() == StatusCode::kInvalidArgument);
    CHECK(st.message().find("line 'l' has zero length") != std::string::npos);
  }
  SUBCASE("a bad direction") {
    Status st = Parse("[[lines]]\nname = \"l\"\nfrom = [0.1, 0.5]\nto = [0.5, 0.5]\ndirection = \"up\"\n", c);
    CHECK(st.message().find("a_to_b, b_to_a or both") != std::string::npos);
  }
  SUBCASE("an unknown key") {
    Status st = Parse("sensitivty = 0.3\n", c);
    CHECK(st.message().find("cam.toml:1: unknown key 'sensitivty'") != std::string::npos);
  }
  SUBCASE("two shapes with one name") {
    Status st = Parse("[[zones]]\nname = \"x\"\npolygon = [[0.1, 0.1], [0.9, 0.1], [0.5, 0.8]]\n"
                      "[[lines]]\nname = \"x\"\nfrom = [0.1, 0.5]\nto = [0.5, 0.5]\n", c);
    CHECK(st.message().find("named 'x'") != std::string::npos);
  }
  SUBCASE("a point that is not two numbers") {
    Status st = Parse("[[lines]]\nname = \"l\"\nfrom = [0.1]\nto = [0.5, 0.5]\n", c);
    CHECK(st.message().find("cam.toml:3") != std::string::npos);
    CHECK(st.message().find("[x, y]") != std::string::npos);
  }
}

TEST_CASE("side A of a directed line is on the left looking from a to b") {
  // a → b points right; with image y down, the left is up (smaller y).
  cv::Point2d a(0, 0), b(1, 0);
  CHECK(SideOf(a, b, {0.5, -1}) < 0);  // side A
  CHECK(SideOf(a, b, {0.5, 1}) > 0);   // side B
  Polygon square{{0, 0}, {1, 0}, {1, 1}, {0, 1}};
  CHECK(InsidePolygon(square, {0.5, 0.5}));
  CHECK_FALSE(InsidePolygon(square, {1.5, 0.5}));
  CHECK(SegmentsIntersect({0, 0}, {1, 1}, {0, 1}, {1, 0}));
  CHECK_FALSE(SegmentsIntersect({0, 0}, {1, 0}, {0, 1}, {1, 1}));
}

TEST_CASE("zones and lines take classes; unknown or empty class lists are refused with the line") {
  AnalyticsConfig c;
  Status st = Parse(R"(
[[zones]]
name = "bus-lane"
polygon = [[0.1, 0.5], [0.6, 0.5], [0.6, 0.95], [0.1, 0.95]]
classes = ["person", "two_wheeler", "person"]
[[lines]]
name = "gate"
from = [0.7, 0.4]
to = [0.7, 0.9]
classes = ["vehicle"]
)", c);
  REQUIRE_MESSAGE(st.ok(), st.ToString());
  REQUIRE(c.zones.size() == 1);
  CHECK(c.zones[0].classes == std::vector<ObjectClass>{ObjectClass::kPerson, ObjectClass::kTwoWheeler});
  REQUIRE(c.lines.size() == 1);
  CHECK(c.lines[0].classes == std::vector<ObjectClass>{ObjectClass::kVehicle});

  AnalyticsConfig bad;
  st = Parse("[[zones]]\nname = \"z\"\npolygon = [[0.1, 0.5], [0.6, 0.5], [0.6, 0.95]]\nclasses = [\"car\"]\n", bad);
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK(st.message().find("cam.toml:4") != std::string::npos);
  CHECK(st.message().find("unknown class 'car'") != std::string::npos);
  CHECK(st.message().find("two_wheeler") != std::string::npos);

  AnalyticsConfig empty;
  st = Parse("[[lines]]\nname = \"l\"\nfrom = [0.1, 0.1]\nto = [0.9, 0.9]\nclasses = []\n", empty);
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK(st.message().find("classes is empty") != std::string::npos);
}
