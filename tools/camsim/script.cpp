#include "tools/camsim/script.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include <opencv2/imgproc.hpp>

#include "base/plate_format.h"
#include "base/plate_text.h"
#include "base/toml_reader.h"
#include "tools/plates/plate_render.h"

namespace vigil::camsim {

namespace {

// Foot point → box in pixels, as the renderer draws the actor.
cv::Rect BoxOf(const Actor& a, cv::Point2d foot, cv::Size size) {
  int h = static_cast<int>(std::lround(a.height * size.height));
  // Vehicles from the side are twice as wide as tall; from the front (plate cameras) 1.3 times.
  int w = a.vehicle ? (a.plate.empty() ? 2 * h : h * 13 / 10) : std::max(3, h * 2 / 5);
  int x = static_cast<int>(std::lround(foot.x * size.width)) - w / 2;
  int y = static_cast<int>(std::lround(foot.y * size.height)) - h;
  return {x, y, w, h};
}

Status Bad(const std::string& path, const toml::node& n, const std::string& what) {
  return Status::InvalidArgument(fmt::format("{}: {}", Where(path, n), what));
}

}  // namespace

bool Actor::At(double t, cv::Point2d& foot) const {
  if (path.empty() || t < path.front().t || t > path.back().t) return false;
  for (size_t i = 1; i < path.size(); ++i) {
    if (t <= path[i].t) {
      const auto& a = path[i - 1];
      const auto& b = path[i];
      double f = b.t > a.t ? (t - a.t) / (b.t - a.t) : 1.0;
      foot = a.foot + (b.foot - a.foot) * f;
      return true;
    }
  }
  foot = path.back().foot;
  return true;
}

Result<Script> ParseScript(std::string_view text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
  }
  Script s;
  s.path = path;
  TomlReader r(path, root, "the scene");
  VIGIL_RETURN_IF_ERROR(r.CheckKeys({"name", "seed", "duration", "night", "noise", "rain", "foliage",
                                     "light_ramp", "analytics", "actors", "effects"}));
  VIGIL_RETURN_IF_ERROR(r.String("name", s.name, true));
  int64_t seed = 1, rain = 0;
  VIGIL_RETURN_IF_ERROR(r.Int("seed", seed, 0, INT64_MAX));
  s.seed = static_cast<uint64_t>(seed);
  VIGIL_RETURN_IF_ERROR(r.Double("duration", s.duration, 1, 3600, true));
  VIGIL_RETURN_IF_ERROR(r.Bool("night", s.night));
  VIGIL_RETURN_IF_ERROR(r.Double("noise", s.noise, 0, 50));
  VIGIL_RETURN_IF_ERROR(r.Int("rain", rain, 0, 2000));
  s.rain = static_cast<int>(rain);
  auto numbers = [&](const toml::node& n, size_t count, const std::string& what) -> Result<std::vector<double>> {
    const toml::array* a = n.as_array();
    if (!a || a->size() != count) return Bad(path, n, fmt::format("{} must be {} numbers", what, count));
    std::vector<double> out;
    for (const auto& el : *a) {
      if (!el.is_number()) return Bad(path, el, fmt::format("{} must be {} numbers", what, count));
      out.push_back(el.value<double>().value_or(0));
    }
    return out;
  };
  if (const toml::node* f = root.get("foliage")) {
    const toml::array* a = f->as_array();
    if (!a) return Bad(path, *f, "foliage must be a list of [x, y, size]");
    for (const auto& el : *a) {
      VIGIL_ASSIGN_OR_RETURN(auto v, numbers(el, 3, "a bush"));
      s.foliage.push_back({{v[0], v[1]}, v[2]});
    }
  }
  if (const toml::node* l = root.get("light_ramp")) {
    VIGIL_ASSIGN_OR_RETURN(s.light_ramp, numbers(*l, 4, "light_ramp [t0, t1, gain0, gain1]"));
  }
  if (const toml::node* a = root.get("analytics")) {
    const toml::table* t = a->as_table();
    if (!t) return Bad(path, *a, "[analytics] must be a table");
    VIGIL_RETURN_IF_ERROR(analytics::ParseAnalytics(path, *t, s.name, s.analytics));
    s.analytics_table = *t;
  }
  std::mt19937_64 rng(s.seed);
  std::uniform_int_distribution<int> hue(0, 179);
  if (const toml::node* n = root.get("actors")) {
    const toml::array* arr = n->as_array();
    if (!arr) return Bad(path, *n, "actors must be [[actors]] tables");
    for (const auto& el : *arr) {
      const toml::table* t = el.as_table();
      if (!t) return Bad(path, el, "actors must be [[actors]] tables");
      TomlReader ar(path, *t, "an actor");
      VIGIL_RETURN_IF_ERROR(ar.CheckKeys({"kind", "height", "path", "colour", "plate", "plate_color",
                                          "plate_angle", "plate_rows"}));
      Actor a;
      std::string kind = "person";
      VIGIL_RETURN_IF_ERROR(ar.String("kind", kind));
      if (kind != "person" && kind != "vehicle") {
        return Bad(path, *t, fmt::format("actor kind '{}' (person or vehicle)", kind));
      }
      a.vehicle = kind == "vehicle";
      a.height = a.vehicle ? 0.12 : 0.16;
      VIGIL_RETURN_IF_ERROR(ar.Double("height", a.height, 0.01, 1));
      // A saturated colour of the actor's own, unless given.
      cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(hue(rng), 200, 220)), bgr;
      cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
      auto px = bgr.at<cv::Vec3b>(0, 0);
      a.colour = cv::Scalar(px[0], px[1], px[2]);
      // Trousers: jeans, khaki, grey or black.
      static const cv::Scalar kTrousers[] = {{140, 90, 45}, {90, 150, 170}, {125, 125, 125}, {25, 25, 28}};
      a.legs = kTrousers[std::uniform_int_distribution<int>(0, 3)(rng)];
      if (const toml::node* c = t->get("colour")) {
        VIGIL_ASSIGN_OR_RETURN(auto v, numbers(*c, 3, "colour [b, g, r]"));
        a.colour = cv::Scalar(v[0], v[1], v[2]);
      }
      const toml::node* p = t->get("path");
      if (!p || !p->as_array() || p->as_array()->size() < 2) {
        return Bad(path, *t, "an actor needs path = [[t, x, y], ...] with at least 2 keyframes");
      }
      for (const auto& k : *p->as_array()) {
        VIGIL_ASSIGN_OR_RETURN(auto v, numbers(k, 3, "a keyframe [t, x, y]"));
        if (!a.path.empty() && v[0] <= a.path.back().t) return Bad(path, k, "keyframe times must increase");
        a.path.push_back({v[0], {v[1], v[2]}});
      }
      std::string plate_text;
      VIGIL_RETURN_IF_ERROR(ar.String("plate", plate_text));
      VIGIL_RETURN_IF_ERROR(ar.String("plate_color", a.plate_color));
      VIGIL_RETURN_IF_ERROR(ar.Double("plate_angle", a.plate_angle, -60, 60));
      int64_t rows = 1;
      VIGIL_RETURN_IF_ERROR(ar.Int("plate_rows", rows, 1, 2));
      a.plate_two_rows = rows == 2;
      if (a.plate_two_rows && plate_text.empty()) return Bad(path, *t, "plate_rows without a plate");
      if (!plate_text.empty()) {
        if (!a.vehicle) return Bad(path, *t, "only a vehicle can carry a plate");
        std::u32string text = plate::Normalize(plate_text);
        auto layout = plate::CheckGrammar(text);
        if (!layout.ok()) return Bad(path, *t, layout.error().message());
        plate::Background bg = plate::ImpliedBackground(text, *layout).value_or(plate::Background::kBlue);
        if (!a.plate_color.empty()) {
          bool known = false;
          for (auto b : {plate::Background::kBlue, plate::Background::kYellow, plate::Background::kGreen,
                         plate::Background::kWhite, plate::Background::kBlack}) {
            if (a.plate_color == plate::BackgroundName(b)) {
              bg = b;
              known = true;
            }
          }
          if (!known) return Bad(path, *t, fmt::format("plate_color '{}' (blue, yellow, green, white, black)", a.plate_color));
          if (!plate::BackgroundAllowed(text, *layout, bg)) {
            return Bad(path, *t, fmt::format("plate '{}' cannot be {}", plate_text, a.plate_color));
          }
        }
        a.plate = plate::Encode(text);
        a.plate_color = plate::BackgroundName(bg);
        static thread_local std::unique_ptr<plates::PlateRenderer> renderer;
        if (!renderer) {
          auto r = plates::PlateRenderer::Create();
          if (!r.ok()) return Bad(path, *t, r.error().message());
          renderer = std::move(*r);
        }
        auto image = renderer->Render(text, bg, 0.6, {}, a.plate_two_rows);
        if (!image.ok()) return Bad(path, *t, image.error().message());  // e.g. two rows asked of a blue plate
        a.plate_image = std::move(*image);
      }
      s.actors.push_back(std::move(a));
    }
  }
  if (const toml::node* n = root.get("effects")) {
    const toml::array* arr = n->as_array();
    if (!arr) return Bad(path, *n, "effects must be [[effects]] tables");
    for (const auto& el : *arr) {
      const toml::table* t = el.as_table();
      if (!t) return Bad(path, el, "effects must be [[effects]] tables");
      TomlReader er(path, *t, "an effect");
      VIGIL_RETURN_IF_ERROR(er.CheckKeys({"kind", "from", "to", "dx", "dy", "angle"}));
      Effect e;
      std::string kind;
      VIGIL_RETURN_IF_ERROR(er.String("kind", kind, true));
      if (kind == "cover") {
        e.type = EventType::kTamperCovered;
      } else if (kind == "blur") {
        e.type = EventType::kTamperDefocused;
      } else if (kind == "turn") {
        e.type = EventType::kTamperMoved;
      } else {
        return Bad(path, *t, fmt::format("effect kind '{}' (cover, blur, turn)", kind));
      }
      VIGIL_RETURN_IF_ERROR(er.Double("from", e.from, 0, s.duration, true));
      VIGIL_RETURN_IF_ERROR(er.Double("to", e.to, e.from, s.duration, true));
      VIGIL_RETURN_IF_ERROR(er.Double("dx", e.dx, -1, 1));
      VIGIL_RETURN_IF_ERROR(er.Double("dy", e.dy, -1, 1));
      VIGIL_RETURN_IF_ERROR(er.Double("angle", e.angle, -180, 180));
      s.effects.push_back(e);
    }
  }
  return s;
}

Result<Script> LoadScript(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot read scene script {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseScript(ss.str(), path);
}

// ---- Ground truth ------------------------------------------------------------------------------

std::vector<TruthEvent> ComputeTruth(const Script& s) {
  constexpr double kDt = 0.01;
  constexpr double kStayGrace = 2.0;  // analytics/zone_rules.cpp
  constexpr double kZoneHold = 1.0;
  const cv::Size size(1000, static_cast<int>(1000.0 * s.analytics.height / s.analytics.width));
  const int steps = static_cast<int>(s.duration / kDt) + 1;
  const size_t n = s.actors.size();
  std::vector<TruthEvent> out;

  // Positions sampled once.
  std::vector<std::vector<std::optional<cv::Point2d>>> pos(n, std::vector<std::optional<cv::Point2d>>(steps));
  for (size_t a = 0; a < n; ++a) {
    for (int i = 0; i < steps; ++i) {
      cv::Point2d f;
      if (s.actors[a].At(i * kDt, f)) pos[a][i] = f;
    }
  }
  // Zones: per-actor stays, intrusion episodes, loitering.
  for (const auto& zone : s.analytics.zones) {
    std::vector<double> stay_start(n, -1), last_in(n, -1e9);
    std::vector<bool> in_now(n, false), loitering(n, false);
    std::vector<size_t> loiter_event(n);
    bool active = false;
    double since = 0, last_occ = 0;
    for (int i = 0; i < steps; ++i) {
      double t = i * kDt;
      bool occupied = false;
      double first = -1;
      for (size_t a = 0; a < n; ++a) {
        bool in = pos[a][i] && s.actors[a].height >= zone.min_size &&
                  analytics::InsidePolygon(zone.polygon, *pos[a][i]);
        if (in) {
          if (!in_now[a] && !(t - last_in[a] < kStayGrace)) stay_start[a] = t;
          last_in[a] = t;
          occupied = true;
          if (t - stay_start[a] >= zone.min_dwell_s && (first < 0 || stay_start[a] < first)) first = stay_start[a];
          if (zone.loiter_s > 0 && !loitering[a] && t - stay_start[a] >= zone.loiter_s) {
            loitering[a] = true;
            loiter_event[a] = out.size();
            out.push_back({EventType::kLoitering, zone.name, "", static_cast<int>(a), stay_start[a], t});
          }
        }
        in_now[a] = in;
        if (loitering[a]) {
          if (in) out[loiter_event[a]].end = t;
          if (!in && t - last_in[a] >= kStayGrace) loitering[a] = false;
        }
      }
      if (!zone.intrusion) continue;
      if (occupied) last_occ = t;
      if (!active && first >= 0) {
        active = true;
        since = first;
      } else if (active && !occupied && t - last_occ >= kZoneHold) {
        out.push_back({EventType::kIntrusion, zone.name, "", -1, since, last_occ});
        active = false;
      }
    }
    if (active) out.push_back({EventType::kIntrusion, zone.name, "", -1, since, last_occ});
  }
  // Lines: crossings of the segment.
  for (const auto& line : s.analytics.lines) {
    // In pixels of the analysed frame's aspect, as the detector sees it.
    auto px = [&](cv::Point2d p) { return cv::Point2d(p.x * size.width, p.y * size.height); };
    const cv::Point2d la = px(line.a), lb = px(line.b);
    for (size_t a = 0; a < n; ++a) {
      double last_t = -10;
      int last_dir = 0;
      // The last position off the line: a path may pass exactly through it.
      int prev = -1;
      double s0 = 0;
      for (int i = 0; i < steps; ++i) {
        if (!pos[a][i]) {
          prev = -1;
          continue;
        }
        cv::Point2d p1 = px(*pos[a][i]);
        double s1 = analytics::SideOf(la, lb, p1);
        if (s1 == 0) continue;
        if (prev < 0 || (s0 < 0) == (s1 < 0)) {
          prev = i;
          s0 = s1;
          continue;
        }
        cv::Point2d p0 = px(*pos[a][prev]);
        const int i0 = prev;
        const double side0 = s0;
        prev = i;
        s0 = s1;
        if (!analytics::SegmentsIntersect(p0, p1, la, lb)) continue;
        int dir = s1 > 0 ? 1 : -1;  // -1 → +1: side A to side B
        double t = i0 * kDt + (i - i0) * kDt * std::abs(side0) / (std::abs(side0) + std::abs(s1));
        bool wanted = line.direction == analytics::Direction::kBoth ||
                      (line.direction == analytics::Direction::kAToB) == (dir > 0);
        if (wanted && !(dir == last_dir && t - last_t < 1.0)) {
          out.push_back({EventType::kTripwire, line.name, dir > 0 ? "a_to_b" : "b_to_a",
                         static_cast<int>(a), t, t});
        }
        last_t = t;
        last_dir = dir;
      }
    }
  }
  // Motion: some actor in view: at least 40 % of its box inside the picture and outside the masks
  // (masked areas are not analysed, by the camera's own configuration).
  cv::Mat analysed(size, CV_8U, cv::Scalar(1));
  for (const auto& m : s.analytics.masks) {
    std::vector<cv::Point> pts;
    for (const auto& p : m) {
      pts.emplace_back(static_cast<int>(std::lround(p.x * size.width)),
                       static_cast<int>(std::lround(p.y * size.height)));
    }
    cv::fillPoly(analysed, std::vector<std::vector<cv::Point>>{pts}, cv::Scalar(0));
  }
  if (s.analytics.motion_events && n > 0) {
    bool active = false;
    double since = 0, last_seen = -1e9;
    for (int i = 0; i < steps; ++i) {
      double t = i * kDt;
      bool seen = false;
      for (size_t a = 0; a < n && !seen; ++a) {
        if (!pos[a][i]) continue;
        cv::Rect box = BoxOf(s.actors[a], *pos[a][i], size);
        cv::Rect in_frame = box & cv::Rect(0, 0, size.width, size.height);
        double visible = in_frame.empty() ? 0 : cv::countNonZero(analysed(in_frame));
        seen = visible >= 0.4 * box.area();
      }
      if (seen) {
        if (!active) {
          active = true;
          since = t;
        } else if (t - since >= s.analytics.motion.max_event_s) {
          out.push_back({EventType::kMotion, "", "", -1, since, t});  // cut; goes on as a new one
          since = t;
        }
        last_seen = t;
      } else if (active && t - last_seen >= s.analytics.motion.hold_s) {
        out.push_back({EventType::kMotion, "", "", -1, since, last_seen});
        active = false;
      }
    }
    if (active) out.push_back({EventType::kMotion, "", "", -1, since, last_seen});
  }
  for (const auto& e : s.effects) out.push_back({e.type, "", "", -1, e.from, e.to});
  std::sort(out.begin(), out.end(), [](const TruthEvent& a, const TruthEvent& b) { return a.start < b.start; });
  return out;
}

std::vector<PlateTruth> ComputePlateTruth(const Script& s) {
  std::vector<PlateTruth> out;
  for (size_t a = 0; a < s.actors.size(); ++a) {
    const Actor& actor = s.actors[a];
    if (actor.plate.empty()) continue;
    out.push_back({static_cast<int>(a), actor.plate, actor.plate_color,
                   std::max(0.0, actor.path.front().t), std::min(s.duration, actor.path.back().t)});
  }
  std::sort(out.begin(), out.end(), [](const PlateTruth& x, const PlateTruth& y) { return x.start < y.start; });
  return out;
}

namespace {
std::string JsonString(const std::string& in) {
  std::string out = "\"";
  for (char c : in) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string TruthJson(const std::vector<std::pair<std::string, const Script*>>& cameras,
                      int64_t start_wall_ns) {
  std::string out = fmt::format("{{\"start_ns\": {}, \"cameras\": [", start_wall_ns);
  bool first_cam = true;
  for (const auto& [camera, script] : cameras) {
    out += fmt::format("{}\n  {{\"camera\": {}, \"scene\": {}, \"file\": {}, \"duration_s\": {}, \"events\": [",
                       first_cam ? "" : ",", JsonString(camera), JsonString(script->name),
                       JsonString(script->path), script->duration);
    first_cam = false;
    bool first = true;
    for (const auto& e : ComputeTruth(*script)) {
      auto ns = [&](double t) { return start_wall_ns + static_cast<int64_t>(std::llround(t * 1e9)); };
      out += fmt::format("{}\n    {{\"type\": \"{}\", \"code\": {}, \"zone\": {}, \"direction\": {}, "
                         "\"actor\": {}, \"start_ns\": {}, \"end_ns\": {}}}",
                         first ? "" : ",", EventTypeName(e.type), static_cast<int>(e.type),
                         JsonString(e.zone), JsonString(e.direction), e.actor, ns(e.start), ns(e.end));
      first = false;
    }
    out += "], \"plates\": [";
    first = true;
    for (const auto& p : ComputePlateTruth(*script)) {
      auto ns = [&](double t) { return start_wall_ns + static_cast<int64_t>(std::llround(t * 1e9)); };
      out += fmt::format("{}\n    {{\"plate\": {}, \"color\": \"{}\", \"actor\": {}, \"start_ns\": {}, "
                         "\"end_ns\": {}}}",
                         first ? "" : ",", JsonString(p.plate), p.color, p.actor, ns(p.start), ns(p.end));
      first = false;
    }
    out += "]}";
  }
  return out + "\n]}\n";
}

// ---- Rendering ---------------------------------------------------------------------------------

namespace {

// A vehicle seen from the front or back: body, windscreen, lamps, bumper, and its plate on the
// bumper (a 440 mm plate on a ~1.8 m wide car: a quarter of the width), turned by plate_angle.
void DrawVehicleFront(cv::Mat& img, const Actor& a, const cv::Rect& b) {
  const cv::Rect frame(0, 0, img.cols, img.rows);
  int wheel_h = std::max(2, b.height / 10);
  cv::Rect body(b.x, b.y + b.height / 6, b.width, b.height * 5 / 6 - wheel_h);
  cv::rectangle(img, cv::Rect(b.x + b.width / 8, b.y, b.width * 3 / 4, b.height / 6 + 2) & frame, a.colour, cv::FILLED);
  cv::rectangle(img, body & frame, a.colour, cv::FILLED);
  cv::rectangle(img, cv::Rect(b.x + b.width / 7, b.y + b.height / 40, b.width * 5 / 7, b.height * 3 / 10) & frame,
                cv::Scalar(70, 60, 50), cv::FILLED);  // windscreen
  for (int side : {0, 1}) {
    int lx = side ? b.x + b.width * 4 / 5 : b.x + b.width / 5;
    cv::ellipse(img, {lx, b.y + b.height * 11 / 20}, {std::max(2, b.width / 10), std::max(1, b.height / 22)}, 0, 0,
                360, cv::Scalar(215, 230, 235), cv::FILLED);  // lamps
    cv::rectangle(img, cv::Rect(side ? b.x + b.width * 4 / 5 : b.x + b.width / 20, b.y + b.height - wheel_h,
                                b.width * 3 / 20, wheel_h) & frame,
                  cv::Scalar(20, 20, 20), cv::FILLED);  // tyres
  }
  cv::rectangle(img, cv::Rect(b.x, b.y + b.height * 7 / 10, b.width, b.height * 2 / 10) & frame,
                a.colour * 0.6, cv::FILLED);  // bumper
  if (a.plate_image.empty()) return;
  // The plate quad: centred on the bumper, foreshortened and sheared by its angle.
  double pw = b.width * 0.245, ph = pw * a.plate_image.rows / a.plate_image.cols;
  double yaw = a.plate_angle * CV_PI / 180;
  double half_w = pw / 2 * std::cos(yaw), lift = ph * 0.25 * std::sin(yaw);
  cv::Point2d c(b.x + b.width / 2.0, b.y + b.height * 0.8);
  std::vector<cv::Point2f> quad = {{float(c.x - half_w), float(c.y - ph / 2 + lift)},
                                   {float(c.x + half_w), float(c.y - ph / 2 - lift)},
                                   {float(c.x + half_w), float(c.y + ph / 2 + lift)},
                                   {float(c.x - half_w), float(c.y + ph / 2 - lift)}};
  cv::Rect roi = cv::boundingRect(quad) & frame;
  if (roi.width < 4 || roi.height < 2) return;
  for (auto& q : quad) q -= cv::Point2f(static_cast<float>(roi.x), static_cast<float>(roi.y));
  std::vector<cv::Point2f> src = {{0, 0},
                                  {float(a.plate_image.cols), 0},
                                  {float(a.plate_image.cols), float(a.plate_image.rows)},
                                  {0, float(a.plate_image.rows)}};
  cv::Mat h = cv::getPerspectiveTransform(src, quad);
  cv::Mat warped, mask;
  cv::warpPerspective(a.plate_image, warped, h, roi.size(), cv::INTER_AREA);
  cv::warpPerspective(cv::Mat(a.plate_image.size(), CV_8U, cv::Scalar(255)), mask, h, roi.size());
  cv::Mat dst = img(roi);
  warped.copyTo(dst, mask > 127);
}

}  // namespace

ScriptedScene::ScriptedScene(std::shared_ptr<const Script> script, cv::Size size, std::string label)
    : script_(std::move(script)),
      scene_(script_->seed, size, std::move(label), /*movers=*/false),
      rng_(script_->seed ^ 0xabcdefULL) {}

void ScriptedScene::Render(double t, const std::string& clock_text, cv::Mat& out) {
  const Script& s = *script_;
  const cv::Size size = scene_.size();
  const int w = size.width, h = size.height;
  scene_.Background(work_);
  // Foliage: bushes swaying in the wind, each with its own phase.
  for (size_t i = 0; i < s.foliage.size(); ++i) {
    const auto& f = s.foliage[i];
    double r = f.size * h;
    double sway = 0.12 * r * std::sin(t * 2 * M_PI / 1.7 + static_cast<double>(i) * 1.3);
    cv::Point base(static_cast<int>(f.at.x * w), static_cast<int>(f.at.y * h));
    cv::line(work_, base, base - cv::Point(0, static_cast<int>(r)), cv::Scalar(30, 50, 70),
             std::max(2, static_cast<int>(r / 8)));
    for (int k = 0; k < 9; ++k) {
      double ang = k * 2 * M_PI / 9;
      double lean = sway * (0.6 + 0.4 * std::sin(ang));
      cv::Point c(base.x + static_cast<int>(std::cos(ang) * r * 0.45 + lean),
                  base.y - static_cast<int>(r * 1.1 + std::sin(ang) * r * 0.35));
      cv::circle(work_, c, static_cast<int>(r * 0.35), cv::Scalar(30, 100 + 12 * k, 40), cv::FILLED);
    }
  }
  // Actors.
  for (const Actor& a : s.actors) {
    cv::Point2d foot;
    if (!a.At(t, foot)) continue;
    cv::Rect b = BoxOf(a, foot, size);
    if (a.vehicle && !a.plate.empty()) {
      DrawVehicleFront(work_, a, b);
    } else if (a.vehicle) {
      int wheel = std::max(2, b.height / 5);
      cv::rectangle(work_, {b.x, b.y, b.width, b.height - wheel}, a.colour, cv::FILLED);
      cv::rectangle(work_, {b.x + b.width / 5, b.y + b.height / 8, b.width * 3 / 5, b.height / 3},
                    cv::Scalar(60, 50, 40), cv::FILLED);
      cv::circle(work_, {b.x + b.width / 5, b.y + b.height - wheel}, wheel, cv::Scalar(20, 20, 20), cv::FILLED);
      cv::circle(work_, {b.x + b.width * 4 / 5, b.y + b.height - wheel}, wheel, cv::Scalar(20, 20, 20),
                 cv::FILLED);
    } else {
      int head = std::max(2, b.height / 9);
      cv::circle(work_, {b.x + b.width / 2, b.y + head}, head, cv::Scalar(120, 150, 190), cv::FILLED);
      cv::rectangle(work_, {b.x, b.y + 2 * head, b.width, b.height * 45 / 100}, a.colour, cv::FILLED);
      int stride = static_cast<int>(std::sin(t * 7) * b.width * 0.3);
      int hip_y = b.y + 2 * head + b.height * 45 / 100;
      int leg = std::max(2, b.width / 3);
      cv::line(work_, {b.x + b.width / 2, hip_y}, {b.x + b.width / 2 - stride, b.y + b.height},
               a.legs, leg);
      cv::line(work_, {b.x + b.width / 2, hip_y}, {b.x + b.width / 2 + stride, b.y + b.height},
               a.legs, leg);
    }
  }
  // The camera turned: the whole view shifts and rotates (the overlay does not: it is burned in
  // after the sensor).
  for (const Effect& e : s.effects) {
    if (e.type != EventType::kTamperMoved || t < e.from || t >= e.to) continue;
    cv::Mat m = cv::getRotationMatrix2D({w / 2.0f, h / 2.0f}, e.angle, 1.0);
    m.at<double>(0, 2) += e.dx * w;
    m.at<double>(1, 2) += e.dy * h;
    cv::Mat turned;
    cv::warpAffine(work_, turned, m, size, cv::INTER_LINEAR, cv::BORDER_REFLECT);
    work_ = turned;
  }
  double gain = s.night ? 0.35 : 1.0;
  if (s.light_ramp.size() == 4) {
    double f = std::clamp((t - s.light_ramp[0]) / std::max(1e-3, s.light_ramp[1] - s.light_ramp[0]), 0.0, 1.0);
    gain *= s.light_ramp[2] + (s.light_ramp[3] - s.light_ramp[2]) * f;
  }
  if (gain != 1.0) work_.convertTo(work_, -1, gain);
  if (s.night) {
    // Street lamps: fixed bright spots with a glow.
    for (int k = 0; k < 4; ++k) {
      cv::Point c(w * (2 * k + 1) / 8, h * 42 / 100);
      cv::circle(work_, c, h / 25, cv::Scalar(120, 190, 230), cv::FILLED);
    }
  }
  if (s.rain > 0) {
    // Rain: translucent, motion-blurred streaks, somewhere else every frame.
    rain_.create(size, CV_8U);
    rain_.setTo(0);
    int len = std::max(3, h / 30);
    for (int k = 0; k < s.rain; ++k) {
      cv::Point a(rng_.uniform(0, w), rng_.uniform(0, h));
      cv::line(rain_, a, a + cv::Point(len / 4, len), cv::Scalar(255), 1, cv::LINE_AA);
    }
    cv::Mat alpha, rain3;
    rain_.convertTo(alpha, CV_32F, 0.4 / 255.0);
    cv::cvtColor(alpha, rain3, cv::COLOR_GRAY2BGR);
    cv::Mat f;
    work_.convertTo(f, CV_32FC3);
    f = f.mul(cv::Scalar::all(1.0) - rain3) + rain3 * 200.0;
    f.convertTo(work_, CV_8UC3);
  }
  for (const Effect& e : s.effects) {
    if (t < e.from || t >= e.to) continue;
    if (e.type == EventType::kTamperDefocused) {
      // Defocus: a wide Gaussian, done at a quarter of the size (same look, a fraction of the cost).
      cv::Mat small;
      cv::resize(work_, small, {w / 4, h / 4}, 0, 0, cv::INTER_AREA);
      cv::GaussianBlur(small, small, {0, 0}, 0.012 * w / 4);
      cv::resize(small, work_, size, 0, 0, cv::INTER_LINEAR);
    } else if (e.type == EventType::kTamperCovered) {
      work_.setTo(cv::Scalar(18, 16, 16));
    }
  }
  if (s.noise > 0) {
    cv::Mat n(size, CV_16SC3), w16;
    rng_.fill(n, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(s.noise));
    work_.convertTo(w16, CV_16SC3);
    w16 += n;
    w16.convertTo(work_, CV_8UC3);
  }
  scene_.Overlay(clock_text, work_);
  work_.copyTo(out);
}

}  // namespace vigil::camsim
