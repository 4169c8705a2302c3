#include "index/geo.h"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

namespace vigil::index {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

}  // namespace

double DistanceM(LatLon a, LatLon b) {
  double dlat = (b.lat - a.lat) * kDeg;
  double dlon = (b.lon - a.lon) * kDeg;
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(a.lat * kDeg) * std::cos(b.lat * kDeg) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(h)));
}

BoundingBox BoxAround(LatLon c, double radius_m) {
  BoundingBox box;
  double dlat = radius_m / kEarthRadiusM / kDeg;
  box.min_lat = c.lat - dlat;
  box.max_lat = c.lat + dlat;
  if (box.min_lat <= -90 || box.max_lat >= 90) {
    box.valid = false;
    return box;
  }
  // Widest longitude span over the box's latitudes (at the latitude nearest a pole).
  double far_lat = std::max(std::abs(box.min_lat), std::abs(box.max_lat));
  double s = std::sin(radius_m / kEarthRadiusM) / std::cos(far_lat * kDeg);
  if (s >= 1) {
    box.valid = false;
    return box;
  }
  double dlon = std::asin(s) / kDeg;
  box.min_lon = c.lon - dlon;
  box.max_lon = c.lon + dlon;
  if (box.min_lon < -180 || box.max_lon > 180) box.valid = false;
  return box;
}

BoundingBox BoxOf(const std::vector<LatLon>& polygon) {
  BoundingBox box{90, -90, 180, -180, true};
  for (const auto& p : polygon) {
    box.min_lat = std::min(box.min_lat, p.lat);
    box.max_lat = std::max(box.max_lat, p.lat);
    box.min_lon = std::min(box.min_lon, p.lon);
    box.max_lon = std::max(box.max_lon, p.lon);
  }
  return box;
}

bool InsidePolygon(const std::vector<LatLon>& poly, LatLon p) {
  bool inside = false;
  for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
    const LatLon& a = poly[i];
    const LatLon& b = poly[j];
    if ((a.lat > p.lat) != (b.lat > p.lat)) {
      double lon_at = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
      if (p.lon < lon_at) inside = !inside;
    }
  }
  return inside;
}

double PolygonAreaM2(const std::vector<LatLon>& poly) {
  if (poly.size() < 3) return 0;
  double mean_lat = 0;
  for (const auto& p : poly) mean_lat += p.lat;
  mean_lat /= static_cast<double>(poly.size());
  const double kx = kDeg * kEarthRadiusM * std::cos(mean_lat * kDeg);
  const double ky = kDeg * kEarthRadiusM;
  double twice = 0;
  for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
    twice += (poly[j].lon * kx) * (poly[i].lat * ky) - (poly[i].lon * kx) * (poly[j].lat * ky);
  }
  return std::abs(twice) / 2;
}

Status ValidatePoint(LatLon p, std::string_view what) {
  if (!std::isfinite(p.lat) || !std::isfinite(p.lon) || p.lat < -90 || p.lat > 90 ||
      p.lon < -180 || p.lon > 180) {
    return Status::InvalidArgument(fmt::format(
        "{} ({}, {}) is not a latitude in [-90, 90] and a longitude in [-180, 180]", what, p.lat,
        p.lon));
  }
  return Status::Ok();
}

Status ValidateArea(const Area& area) {
  if (!area.polygon.empty()) {
    if (area.radius_m != 0) {
      return Status::InvalidArgument("an area is a circle or a polygon, not both");
    }
    if (area.polygon.size() < 3) {
      return Status::InvalidArgument(
          fmt::format("a polygon needs at least 3 vertices, got {}", area.polygon.size()));
    }
    for (size_t i = 0; i < area.polygon.size(); ++i) {
      VIGIL_RETURN_IF_ERROR(ValidatePoint(area.polygon[i], fmt::format("polygon vertex {}", i + 1)));
    }
    return Status::Ok();
  }
  VIGIL_RETURN_IF_ERROR(ValidatePoint(area.center, "centre"));
  if (!(area.radius_m > 0) || !std::isfinite(area.radius_m)) {
    return Status::InvalidArgument(
        fmt::format("radius must be more than 0 m, got {} m", area.radius_m));
  }
  if (area.radius_m > 20'000'000) {
    return Status::InvalidArgument(
        fmt::format("radius {} m is more than half the Earth's circumference", area.radius_m));
  }
  return Status::Ok();
}

namespace {

// Ids become parts of topics ("unit.<id>") and of comma-separated columns.
Status ValidateName(std::string_view name, std::string_view what) {
  if (name.empty()) return Status::InvalidArgument(fmt::format("{} is empty", what));
  if (name.size() > 64) {
    return Status::InvalidArgument(fmt::format("{} '{}' is longer than 64 bytes", what, name));
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '.' || c == ',' || u == 0x7f) {
      return Status::InvalidArgument(fmt::format(
          "{} '{}' has a space, '.', ',' or control character: it names a topic", what, name));
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateZone(const ResponseZone& zone) {
  VIGIL_RETURN_IF_ERROR(ValidateName(zone.id, "zone id"));
  if (zone.polygon.size() < 3) {
    return Status::InvalidArgument(fmt::format("zone {}: a polygon needs at least 3 vertices, got {}",
                                               zone.id, zone.polygon.size()));
  }
  for (size_t i = 0; i < zone.polygon.size(); ++i) {
    Status st = ValidatePoint(zone.polygon[i], fmt::format("vertex {}", i + 1));
    if (!st.ok()) return st.WithContext(fmt::format("zone {}", zone.id));
  }
  if (!(PolygonAreaM2(zone.polygon) > 1)) {
    return Status::InvalidArgument(fmt::format("zone {}: the polygon encloses no area", zone.id));
  }
  for (size_t i = 0; i < zone.units.size(); ++i) {
    Status st = ValidateName(zone.units[i], "unit");
    if (!st.ok()) return st.WithContext(fmt::format("zone {}", zone.id));
    for (size_t j = 0; j < i; ++j) {
      if (zone.units[j] == zone.units[i]) {
        return Status::InvalidArgument(
            fmt::format("zone {}: unit {} is listed twice", zone.id, zone.units[i]));
      }
    }
  }
  return Status::Ok();
}

}  // namespace vigil::index
