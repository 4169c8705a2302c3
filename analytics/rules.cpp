#include "analytics/rules.h"

#include <cmath>
#include <set>

#include "base/toml_reader.h"

namespace vigil::analytics {

const char* DirectionName(Direction direction) {
  switch (direction) {
    case Direction::kAToB: return "a_to_b";
    case Direction::kBToA: return "b_to_a";
    case Direction::kBoth: return "both";
  }
  return "?";
}

double SideOf(cv::Point2d a, cv::Point2d b, cv::Point2d p) {
  return (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
}

namespace {

int Sign(double v) { return (v > 1e-12) - (v < -1e-12); }

bool OnSegment(cv::Point2d p, cv::Point2d q, cv::Point2d r) {
  return std::min(p.x, r.x) - 1e-12 <= q.x && q.x <= std::max(p.x, r.x) + 1e-12 &&
         std::min(p.y, r.y) - 1e-12 <= q.y && q.y <= std::max(p.y, r.y) + 1e-12;
}

std::string Pt(cv::Point2d p) { return fmt::format("[{:g}, {:g}]", p.x, p.y); }

bool InFrame(cv::Point2d p) { return p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1; }

double Area(const Polygon& poly) {
  double a = 0;
  for (size_t i = 0; i < poly.size(); ++i) {
    const auto& p = poly[i];
    const auto& q = poly[(i + 1) % poly.size()];
    a += p.x * q.y - q.x * p.y;
  }
  return std::abs(a) / 2;
}

Status CheckPolygon(const Polygon& poly, const std::string& what) {
  if (poly.size() < 3) {
    return Status::InvalidArgument(fmt::format("{} has {} vertices; a polygon needs at least 3", what,
                                               poly.size()));
  }
  for (const auto& p : poly) {
    if (!InFrame(p)) {
      return Status::InvalidArgument(fmt::format(
          "{}: vertex {} is outside the frame (coordinates are fractions of the image, 0..1)", what,
          Pt(p)));
    }
  }
  const size_t n = poly.size();
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      // Adjacent edges share a vertex; they are not a crossing.
      if (j == i + 1 || (i == 0 && j == n - 1)) continue;
      if (SegmentsIntersect(poly[i], poly[(i + 1) % n], poly[j], poly[(j + 1) % n])) {
        return Status::InvalidArgument(fmt::format(
            "{} intersects itself: edge {}-{} crosses edge {}-{}", what, Pt(poly[i]),
            Pt(poly[(i + 1) % n]), Pt(poly[j]), Pt(poly[(j + 1) % n])));
      }
    }
  }
  if (Area(poly) < 1e-4) {
    return Status::InvalidArgument(fmt::format("{} encloses no area", what));
  }
  return Status::Ok();
}

}  // namespace

bool SegmentsIntersect(cv::Point2d p1, cv::Point2d p2, cv::Point2d q1, cv::Point2d q2) {
  int o1 = Sign(SideOf(p1, p2, q1)), o2 = Sign(SideOf(p1, p2, q2));
  int o3 = Sign(SideOf(q1, q2, p1)), o4 = Sign(SideOf(q1, q2, p2));
  if (o1 != o2 && o3 != o4) return true;
  if (o1 == 0 && OnSegment(p1, q1, p2)) return true;
  if (o2 == 0 && OnSegment(p1, q2, p2)) return true;
  if (o3 == 0 && OnSegment(q1, p1, q2)) return true;
  if (o4 == 0 && OnSegment(q1, p2, q2)) return true;
  return false;
}

bool InsidePolygon(const Polygon& poly, cv::Point2d p) {
  bool inside = false;
  for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
    const auto& a = poly[i];
    const auto& b = poly[j];
    if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) {
      inside = !inside;
    }
  }
  return inside;
}

Status ValidateRules(const AnalyticsConfig& c, const std::string& camera) {
  auto bad = [&](const std::string& m) {
    return Status::InvalidArgument(fmt::format("camera {}: analytics: {}", camera, m));
  };
  if (!(c.fps > 0 && c.fps <= 30)) return bad(fmt::format("fps {} is not in (0, 30]", c.fps));
  if (c.width < 64 || c.height < 64 || c.width > 1920 || c.height > 1080 || c.width % 2 ||
      c.height % 2) {
    return bad(fmt::format("analysis size {}x{}: sides must be even, 64..1920 x 64..1080", c.width,
                           c.height));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < c.masks.size(); ++i) {
    if (Status st = CheckPolygon(c.masks[i], fmt::format("mask #{}", i + 1)); !st.ok()) {
      return bad(st.message());
    }
  }
  for (const Zone& z : c.zones) {
    if (z.name.empty()) return bad("a zone has no name");
    if (!names.insert(z.name).second) return bad(fmt::format("two zones or lines are named '{}'", z.name));
    if (Status st = CheckPolygon(z.polygon, fmt::format("zone '{}'", z.name)); !st.ok()) {
      return bad(st.message());
    }
    if (!z.intrusion && z.loiter_s <= 0) {
      return bad(fmt::format("zone '{}' raises nothing (intrusion = false and no loiter_seconds)",
                             z.name));
    }
  }
  for (const Line& l : c.lines) {
    if (l.name.empty()) return bad("a line has no name");
    if (!names.insert(l.name).second) return bad(fmt::format("two zones or lines are named '{}'", l.name));
    if (!InFrame(l.a) || !InFrame(l.b)) {
      return bad(fmt::format("line '{}' ({} to {}) leaves the frame (coordinates are 0..1)", l.name,
                             Pt(l.a), Pt(l.b)));
    }
    if (std::hypot(l.a.x - l.b.x, l.a.y - l.b.y) < 0.01) {
      return bad(fmt::format("line '{}' has zero length ({} to {})", l.name, Pt(l.a), Pt(l.b)));
    }
  }
  return Status::Ok();
}

namespace {

Result<cv::Point2d> ReadPoint(const std::string& path, const toml::node& n, const std::string& what) {
  const toml::array* a = n.as_array();
  if (!a || a->size() != 2 || !(*a)[0].is_number() || !(*a)[1].is_number()) {
    return Status::InvalidArgument(
        fmt::format("{}: {} must be a point [x, y] of two numbers", Where(path, n), what));
  }
  return cv::Point2d((*a)[0].value<double>().value_or(0), (*a)[1].value<double>().value_or(0));
}

Result<Polygon> ReadPolygon(const std::string& path, const toml::node& n, const std::string& what) {
  const toml::array* a = n.as_array();
  if (!a) {
    return Status::InvalidArgument(
        fmt::format("{}: {} must be a list of points [[x, y], ...]", Where(path, n), what));
  }
  Polygon poly;
  for (const auto& el : *a) {
    VIGIL_ASSIGN_OR_RETURN(auto p, ReadPoint(path, el, what + " vertex"));
    poly.push_back(p);
  }
  return poly;
}

// `classes = ["person", ...]` of a zone or line: known class names, at least one.
Status ReadClasses(const TomlReader& r, const std::string& what, std::vector<ObjectClass>& out) {
  std::vector<std::string> names;
  VIGIL_RETURN_IF_ERROR(r.Strings("classes", names));
  if (r.table().contains("classes") && names.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: {}: classes is empty (leave it out for every class)", r.Line("classes"), what));
  }
  for (const std::string& n : names) {
    auto c = ParseObjectClass(n);
    if (!c) {
      return Status::InvalidArgument(
          fmt::format("{}: {}: unknown class '{}' (person, vehicle, two_wheeler or other)",
                      r.Line("classes"), what, n));
    }
    if (std::find(out.begin(), out.end(), *c) == out.end()) out.push_back(*c);
  }
  return Status::Ok();
}

// Geometry errors point at the line that drew the shape.
Status At(const std::string& path, const toml::node& n, Status st) {
  if (st.ok()) return st;
  return Status::InvalidArgument(fmt::format("{}: {}", Where(path, n), st.message()));
}

}  // namespace

Status ParseMasks(const std::string& path, const toml::node& m, const std::string& camera,
                  std::vector<Polygon>& out) {
  const toml::array* arr = m.as_array();
  if (!arr) return Status::InvalidArgument(fmt::format("{}: masks must be a list of polygons", Where(path, m)));
  for (const auto& el : *arr) {
    VIGIL_ASSIGN_OR_RETURN(auto poly, ReadPolygon(path, el, "a mask"));
    out.push_back(std::move(poly));
    AnalyticsConfig one;
    one.masks = {out.back()};
    VIGIL_RETURN_IF_ERROR(At(path, el, ValidateRules(one, camera)));
  }
  return Status::Ok();
}

Status ParseAnalytics(const std::string& path, const toml::table& t, const std::string& camera,
                      AnalyticsConfig& out) {
  std::string ctx = fmt::format("the analytics of camera {}", camera);
  TomlReader r(path, t, ctx);
  VIGIL_RETURN_IF_ERROR(r.CheckKeys({"enabled", "fps", "width", "height", "motion_events", "tamper",
                                     "sensitivity", "min_object", "hold_seconds", "stationary_seconds",
                                     "motion_max_seconds", "masks", "zones", "lines"}));
  out.enabled = true;  // a table that is there means "analyse", unless it says otherwise
  VIGIL_RETURN_IF_ERROR(r.Bool("enabled", out.enabled));
  VIGIL_RETURN_IF_ERROR(r.Double("fps", out.fps, 0.1, 30));
  int64_t w = out.width, h = out.height;
  VIGIL_RETURN_IF_ERROR(r.Int("width", w, 64, 1920));
  VIGIL_RETURN_IF_ERROR(r.Int("height", h, 64, 1080));
  out.width = static_cast<int>(w);
  out.height = static_cast<int>(h);
  VIGIL_RETURN_IF_ERROR(r.Bool("motion_events", out.motion_events));
  VIGIL_RETURN_IF_ERROR(r.Bool("tamper", out.tamper));
  VIGIL_RETURN_IF_ERROR(r.Double("sensitivity", out.motion.sensitivity, 0, 1));
  VIGIL_RETURN_IF_ERROR(r.Double("min_object", out.motion.min_object, 0.005, 1));
  VIGIL_RETURN_IF_ERROR(r.Double("hold_seconds", out.motion.hold_s, 0.2, 600));
  VIGIL_RETURN_IF_ERROR(r.Double("stationary_seconds", out.motion.stationary_s, 0, 3600));
  VIGIL_RETURN_IF_ERROR(r.Double("motion_max_seconds", out.motion.max_event_s, 5, 86400));

  if (const toml::node* m = t.get("masks")) VIGIL_RETURN_IF_ERROR(ParseMasks(path, *m, camera, out.masks));
  auto tables = [&](std::string_view key, auto&& each) -> Status {
    const toml::node* n = t.get(key);
    if (!n) return Status::Ok();
    const toml::array* arr = n->as_array();
    if (!arr) {
      return Status::InvalidArgument(
          fmt::format("{}: {} must be a list of tables ([[...{}]])", Where(path, *n), key, key));
    }
    for (const auto& el : *arr) {
      const toml::table* tt = el.as_table();
      if (!tt) {
        return Status::InvalidArgument(
            fmt::format("{}: each of {} must be a table", Where(path, el), key));
      }
      VIGIL_RETURN_IF_ERROR(each(*tt));
    }
    return Status::Ok();
  };
  VIGIL_RETURN_IF_ERROR(tables("zones", [&](const toml::table& zt) -> Status {
    Zone z;
    TomlReader zr(path, zt, fmt::format("a zone of camera {}", camera));
    VIGIL_RETURN_IF_ERROR(zr.CheckKeys({"name", "polygon", "intrusion", "min_dwell_seconds",
                                        "min_size", "loiter_seconds", "classes"}));
    VIGIL_RETURN_IF_ERROR(zr.String("name", z.name, true));
    const toml::node* poly = zt.get("polygon");
    if (!poly) {
      return Status::InvalidArgument(fmt::format("{}:{}: zone '{}' needs 'polygon'", path,
                                                 zt.source().begin.line, z.name));
    }
    VIGIL_ASSIGN_OR_RETURN(z.polygon, ReadPolygon(path, *poly, fmt::format("zone '{}' polygon", z.name)));
    VIGIL_RETURN_IF_ERROR(zr.Bool("intrusion", z.intrusion));
    VIGIL_RETURN_IF_ERROR(zr.Double("min_dwell_seconds", z.min_dwell_s, 0, 3600));
    VIGIL_RETURN_IF_ERROR(zr.Double("min_size", z.min_size, 0, 1));
    VIGIL_RETURN_IF_ERROR(zr.Double("loiter_seconds", z.loiter_s, 0, 86400));
    VIGIL_RETURN_IF_ERROR(ReadClasses(zr, fmt::format("zone '{}'", z.name), z.classes));
    out.zones.push_back(z);
    AnalyticsConfig one;
    one.zones = {z};
    return At(path, *poly, ValidateRules(one, camera));
  }));
  VIGIL_RETURN_IF_ERROR(tables("lines", [&](const toml::table& lt) -> Status {
    Line l;
    TomlReader lr(path, lt, fmt::format("a line of camera {}", camera));
    VIGIL_RETURN_IF_ERROR(lr.CheckKeys({"name", "from", "to", "direction", "classes"}));
    VIGIL_RETURN_IF_ERROR(lr.String("name", l.name, true));
    for (auto [key, pt] : {std::pair{"from", &l.a}, std::pair{"to", &l.b}}) {
      const toml::node* n = lt.get(key);
      if (!n) {
        return Status::InvalidArgument(fmt::format("{}:{}: line '{}' needs '{}'", path,
                                                   lt.source().begin.line, l.name, key));
      }
      VIGIL_ASSIGN_OR_RETURN(*pt, ReadPoint(path, *n, fmt::format("line '{}' {}", l.name, key)));
    }
    std::string dir = "both";
    VIGIL_RETURN_IF_ERROR(lr.String("direction", dir));
    if (dir == "a_to_b") {
      l.direction = Direction::kAToB;
    } else if (dir == "b_to_a") {
      l.direction = Direction::kBToA;
    } else if (dir == "both") {
      l.direction = Direction::kBoth;
    } else {
      return Status::InvalidArgument(fmt::format(
          "{}: line '{}': direction must be a_to_b, b_to_a or both, not '{}'",
          lr.Line("direction"), l.name, dir));
    }
    VIGIL_RETURN_IF_ERROR(ReadClasses(lr, fmt::format("line '{}'", l.name), l.classes));
    out.lines.push_back(l);
    AnalyticsConfig one;
    one.lines = {l};
    return At(path, lt, ValidateRules(one, camera));
  }));
  return At(path, t, ValidateRules(out, camera));
}

}  // namespace vigil::analytics
