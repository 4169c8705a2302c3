#pragma once
// Scripted scenes for analytics: what a camera shows over time (people and vehicles on scripted
// paths, tamper, distractors) and the ground truth of the events it should raise, computed from the
// script's geometry alone (never from vigil's detectors).
//
// A script is TOML (samples/scenes/*.toml):
//   name, seed, duration (s), night (bool), noise (sensor noise sigma, grey levels), rain (streaks per
//   frame), foliage = [[x, y, size], ...] (swaying bushes), light_ramp = [t0, t1, gain0, gain1]
//   [analytics]   — the camera's rules, exactly as vigild's [cameras.analytics] reads them
//   [[actors]]    — kind = "person" | "vehicle", height (fraction of frame height),
//                   path = [[t, x, y], ...] foot point in normalised coordinates, linear between
//                   keyframes; the actor exists from the first keyframe to the last.
//                   A vehicle with plate = "云A12345" (plate_color: blue, yellow, green, white, black;
//                   default the one its text implies, else blue; plate_angle: degrees the plate is
//                   turned from the camera; plate_rows = 2: the two-row plate of a lorry's or
//                   trailer's rear, yellow) is drawn from the front or back, plate on its bumper, as
//                   a plate camera sees traffic; each such vehicle is one plate pass in the truth
//   [[effects]]   — kind = "cover" | "blur" | "turn", from, to (s); turn: dx, dy (fractions), angle (deg)
//
// Ground truth follows the definitions in analytics/zone_rules.h and camera_analytics.h: intrusion
// episodes per zone (stays of at least min_dwell, merged when the zone is empty under 1 s), line
// crossings in the allowed direction, loitering stays, motion episodes (some actor in view, merged
// over gaps under hold_seconds), and one tamper event per effect.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <toml++/toml.h>

#include "analytics/rules.h"
#include "base/status.h"
#include "base/event_type.h"
#include "tools/camsim/scene.h"

namespace vigil::camsim {

struct Keyframe {
  double t = 0;
  cv::Point2d foot;  // normalised
};

struct Actor {
  bool vehicle = false;
  double height = 0.15;  // fraction of frame height
  cv::Scalar colour;
  cv::Scalar legs;  // trousers (people)
  std::vector<Keyframe> path;
  std::string plate;      // normalised UTF-8; empty: no plate shown (side view)
  std::string plate_color;
  double plate_angle = 0;
  bool plate_two_rows = false;
  cv::Mat plate_image;    // the plate rendered flat (BGR), when there is one
  // Foot point at t, or false when the actor does not exist then.
  bool At(double t, cv::Point2d& foot) const;
};

struct Effect {
  EventType type = EventType::kTamperCovered;
  double from = 0;
  double to = 0;
  double dx = 0, dy = 0, angle = 0;  // turn
};

struct Foliage {
  cv::Point2d at;  // normalised
  double size = 0.1;
};

struct Script {
  std::string name;
  std::string path;
  uint64_t seed = 1;
  double duration = 30;
  bool night = false;
  double noise = 0;
  int rain = 0;
  std::vector<Foliage> foliage;
  std::vector<double> light_ramp;  // empty or {t0, t1, gain0, gain1}
  analytics::AnalyticsConfig analytics;
  toml::table analytics_table;  // as written, for vigild's config
  std::vector<Actor> actors;
  std::vector<Effect> effects;
};

// Reads and checks a script; InvalidArgument with "path:line: reason".
Result<Script> LoadScript(const std::string& path);
Result<Script> ParseScript(std::string_view text, const std::string& path);

struct TruthEvent {
  EventType type;
  std::string zone;       // zone or line name; empty for motion and tamper
  std::string direction;  // line crossings: a_to_b or b_to_a
  int actor = -1;         // index in the script, -1 when not one actor's
  double start = 0;       // seconds of scene time
  double end = 0;
};

std::vector<TruthEvent> ComputeTruth(const Script& script);

// One vehicle pass in front of a plate camera: the plate, and when the vehicle is in view.
struct PlateTruth {
  int actor = -1;
  std::string plate;
  std::string color;
  double start = 0;
  double end = 0;
};
std::vector<PlateTruth> ComputePlateTruth(const Script& script);

// The ground truth of scripted cameras as one JSON document, times in UTC ns from `start_wall_ns`
// (scene time 0): {"start_ns": ..., "cameras": [{"camera": "cam1", "scene": ..., "file": ...,
// "duration_s": ..., "events": [{"type", "code", "zone", "direction", "actor", "start_ns",
// "end_ns"}, ...], "plates": [{"plate", "color", "actor", "start_ns", "end_ns"}, ...]}, ...]}.
std::string TruthJson(const std::vector<std::pair<std::string, const Script*>>& cameras,
                      int64_t start_wall_ns);

// Renders a script's frames. Not thread-safe; one per render thread.
class ScriptedScene {
 public:
  ScriptedScene(std::shared_ptr<const Script> script, cv::Size size, std::string label);
  void Render(double t, const std::string& clock_text, cv::Mat& out);

 private:
  std::shared_ptr<const Script> script_;
  Scene scene_;  // background and overlay
  cv::RNG rng_;
  cv::Mat work_;
  cv::Mat rain_;
};

}  // namespace vigil::camsim
