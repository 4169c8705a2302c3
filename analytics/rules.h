#pragma once
// A camera's analytics settings: what to analyse and the zones, lines and masks drawn on its view.
//
// Geometry is in normalised image coordinates: x from 0 (left edge) to 1 (right edge), y from 0 (top)
// to 1 (bottom), so one drawing fits the sub stream and the main stream alike. An object's position
// is its foot point (bottom centre of its box): zones and lines are drawn on the ground.
//
// Lines are directed: standing at `a` and looking towards `b`, side A is on the left and side B on
// the right. `direction` says which crossings count: a_to_b, b_to_a or both.

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <toml++/toml.h>

#include "base/event_type.h"
#include "base/status.h"

namespace vigil::analytics {

using Polygon = std::vector<cv::Point2d>;

// A closed area. An object inside for `min_dwell_s` raises an intrusion (when `intrusion`); one track
// staying `loiter_s` (> 0) raises loitering.
struct Zone {
  std::string name;
  Polygon polygon;
  bool intrusion = true;
  double min_dwell_s = 1.0;
  double min_size = 0.0;   // smallest object height counted, fraction of the frame height
  double loiter_s = 0.0;   // 0: no loitering rule
  std::vector<ObjectClass> classes;  // objects the zone's rules count; empty: every class
};

enum class Direction { kAToB, kBToA, kBoth };
const char* DirectionName(Direction direction);  // "a_to_b", "b_to_a", "both"

struct Line {
  std::string name;
  cv::Point2d a;
  cv::Point2d b;
  Direction direction = Direction::kBoth;
  std::vector<ObjectClass> classes;  // objects whose crossings count; empty: every class
};

struct MotionSettings {
  double sensitivity = 0.5;   // 0..1: higher finds fainter objects (and more noise)
  double min_object = 0.03;   // smallest object height counted, fraction of the frame height
  double hold_s = 2.0;        // a motion event ends after this long without a moving object
  double max_event_s = 60.0;  // ... or after this long, going on as a new one (a busy street)
  double warmup_s = 2.0;      // background learnt before any event
  // A tracked object that stands still is kept out of the background this long (a person waiting at
  // a door); then it becomes background (a parked car) and its track ends.
  double stationary_s = 60.0;
};

struct AnalyticsConfig {
  bool enabled = false;
  double fps = 5;             // analysis rate
  int width = 640;            // frames are scaled to this size for analysis
  int height = 360;
  bool motion_events = true;  // raise motion events (zones, lines and loitering work regardless)
  bool tamper = true;         // covered, defocused, moved
  MotionSettings motion;
  std::vector<Polygon> masks;  // areas ignored (on-screen clock, trees, a neighbour's window)
  std::vector<Zone> zones;
  std::vector<Line> lines;
};

// Checks the geometry and settings: polygons with at least 3 vertices, inside the frame, not
// self-intersecting, with an area; lines of non-zero length inside the frame; unique non-empty
// names across zones and lines. InvalidArgument naming the camera, the zone or line, and the reason.
Status ValidateRules(const AnalyticsConfig& config, const std::string& camera);

// Reads an analytics table (vigild's [cameras.analytics], a scene script's [analytics]):
//   enabled, fps, width, height, motion_events, tamper, sensitivity, min_object, hold_seconds,
//   stationary_seconds, motion_max_seconds,
//   masks = [[[x, y], ...], ...], [[zones]] {name, polygon, intrusion, min_dwell_seconds, min_size,
//   loiter_seconds, classes}, [[lines]] {name, from, to, direction, classes}.
// Unknown keys and bad values are InvalidArgument with "path:line"; then ValidateRules.
Status ParseAnalytics(const std::string& path, const toml::table& table, const std::string& camera,
                      AnalyticsConfig& out);

// Reads `masks = [[[x, y], ...], ...]` (fractions of the frame) into `out`, each checked as
// ValidateRules checks a mask; errors name the line.
Status ParseMasks(const std::string& path, const toml::node& node, const std::string& camera,
                  std::vector<Polygon>& out);

// Geometry helpers, in any consistent coordinates.
bool InsidePolygon(const Polygon& polygon, cv::Point2d p);
// Whether segments p1-p2 and q1-q2 intersect (touching counts).
bool SegmentsIntersect(cv::Point2d p1, cv::Point2d p2, cv::Point2d q1, cv::Point2d q2);
// > 0 when p is on side B of the directed line a→b (the right, image y pointing down), < 0 on side A.
double SideOf(cv::Point2d a, cv::Point2d b, cv::Point2d p);

}  // namespace vigil::analytics
