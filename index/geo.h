#pragma once
// Geometry on the Earth's surface for place queries: great-circle distance (haversine on the mean
// Earth radius; error under 0.5 % against the ellipsoid, far below camera-position error), bounding
// boxes for index prefilters, and point-in-polygon for city-scale polygons (edges as straight lines
// in latitude/longitude, which at a few km is within metres of the geodesic).

#include <vector>

#include "base/status.h"
#include "index/types.h"

namespace vigil::index {

inline constexpr double kEarthRadiusM = 6'371'008.8;

double DistanceM(LatLon a, LatLon b);

struct BoundingBox {
  double min_lat = 0, max_lat = 0, min_lon = 0, max_lon = 0;
  // False when the box would wrap around the antimeridian or a pole: callers then scan everything.
  bool valid = true;
};

// A box holding every point within radius_m of center.
BoundingBox BoxAround(LatLon center, double radius_m);
BoundingBox BoxOf(const std::vector<LatLon>& polygon);

// Even-odd rule; points on an edge may fall either way.
bool InsidePolygon(const std::vector<LatLon>& polygon, LatLon p);

// Area of a polygon in square metres (equirectangular about its mean latitude: exact enough to tell
// a district from a street block, which is what choosing the smallest zone needs).
double PolygonAreaM2(const std::vector<LatLon>& polygon);

// InvalidArgument for coordinates out of range, a radius <= 0 or over 20,000 km, a polygon with
// fewer than 3 vertices, or an area that is both or neither.
Status ValidateArea(const Area& area);
Status ValidatePoint(LatLon p, std::string_view what);
// InvalidArgument naming what is wrong: an empty id, an id or unit with characters a topic cannot
// carry (space, '.', ',', control), fewer than 3 vertices or one off the map, a unit listed twice.
Status ValidateZone(const ResponseZone& zone);

// True for cameras placed on the map (lat = lon = 0 means "not placed").
inline bool HasPosition(const Camera& c) { return c.lat != 0 || c.lon != 0; }

}  // namespace vigil::index
