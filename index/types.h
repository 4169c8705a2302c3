#pragma once
// Records kept by the index. Times are wall-clock UTC nanoseconds since the Unix epoch.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/event_type.h"

namespace vigil::index {

struct Camera {
  std::string id;
  std::string name;
  std::string main_url;
  std::string sub_url;  // empty when the camera has no sub stream
  double lat = 0;
  double lon = 0;
  std::string place;
  std::string district;
  std::vector<std::string> tags;
};

// Life of a segment row; see docs/storage.md for the crash-safety order.
enum class SegmentState : int {
  kOpen = 0,       // file being written; row committed before the first byte
  kClosed = 1,     // file complete, fsynced, hashed
  kRecovered = 2,  // file was open at a crash; truncated to its last complete fragment, hashed
  kDeleting = 3,   // retention chose it; file removal pending, row removed after
};

struct Segment {
  int64_t id = 0;
  std::string camera;
  SegmentState state = SegmentState::kOpen;
  int64_t start_ns = 0;
  int64_t end_ns = 0;            // == start_ns while open
  std::string path;              // relative to the data directory
  int64_t bytes = 0;
  int64_t frames = 0;
  // Frames received while it was open and not written into it (broken by packet loss, new parameter
  // sets mid-GOP): never silent. Frames lost between segments are inside a gap instead.
  int64_t frames_lost = 0;
  int64_t media_duration_90k = 0;  // from the stream's own timestamps
  std::string codec;             // "h264" or "h265"
  int width = 0;
  int height = 0;
  std::string sha256;            // lowercase hex of the whole file; empty while open
};

// A span without footage, and why.
struct Gap {
  int64_t id = 0;
  std::string camera;
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;  // empty while the outage goes on
  std::string reason;
};

struct SegmentFilter {
  std::optional<std::string> camera;
  std::optional<SegmentState> state;
  int64_t start_ns = INT64_MIN;  // segments ending after start_ns ...
  int64_t end_ns = INT64_MAX;    // ... and starting before end_ns
  int64_t limit = 1'000'000;
  bool oldest_first = true;
};

struct CameraUsage {
  std::string camera;
  int64_t bytes = 0;
  int64_t segments = 0;
  int64_t oldest_start_ns = 0;
};

// ---------------------------------------------------------------------------------------------
// Events, plate reads, alerts, audit.

// Event types live in base/event_type.h (analytics raises them without the index); the index's
// names for them:
using vigil::AllEventTypes;
using vigil::EventType;
using vigil::EventTypeName;
using vigil::ParseEventType;
using vigil::ObjectClass;
using vigil::ObjectClassName;
using vigil::ParseObjectClass;

// Pixel box in the analysed frame.
struct Box {
  int x = 0;
  int y = 0;
  int w = 0;
  int h = 0;
  bool operator==(const Box&) const = default;
};

struct Event {
  int64_t id = 0;          // assigned by the store
  std::string camera;
  int64_t start_ns = 0;
  int64_t end_ns = 0;      // >= start_ns
  EventType type = EventType::kMotion;
  std::string zone;        // zone or line name; empty when the event has none
  int64_t track = 0;       // tracker id, 0 when none
  double score = 0;        // 0..1, stored to 1/1000
  Box box;
  std::string snapshot;    // path relative to the data directory, may be empty
  std::string attributes;  // JSON object text, may be empty
  ObjectClass object_class = ObjectClass::kUnknown;  // what the object is; kUnknown: none or not known
  double class_confidence = 0;                       // 0..1, stored to 1/1000
};

enum class PlateColor : int { kUnknown = 0, kBlue = 1, kYellow = 2, kGreen = 3, kWhite = 4, kBlack = 5 };
std::string_view PlateColorName(PlateColor color);
std::optional<PlateColor> ParsePlateColor(std::string_view name);

struct PlateRead {
  int64_t id = 0;  // assigned by the store
  std::string camera;
  int64_t time_ns = 0;
  std::string plate;  // normalised UTF-8, e.g. "云A12345"
  PlateColor color = PlateColor::kUnknown;
  double confidence = 0;  // 0..1, stored to 1/1000
  Box box;
  std::string snapshot;
  int64_t track = 0;
};

// Half-open [start_ns, end_ns) wall-clock range.
struct TimeRange {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
};

struct LatLon {
  double lat = 0;
  double lon = 0;
};

// A place: a circle (radius_m > 0) or a polygon (3+ vertices, radius_m unused).
struct Area {
  LatLon center;
  double radius_m = 0;
  std::vector<LatLon> polygon;
};

// Most rows one page may ask for.
inline constexpr int64_t kMaxPageLimit = 10'000;

// A page request: at most `limit` rows after the row `token` points at ("" for the first page).
struct PageRequest {
  int64_t limit = 100;
  std::string token;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_token;  // empty when there are no more rows
};

// Events whose start lies in `range`, from `cameras` (all when empty) and, when given, inside `area`;
// of `types` (all when empty) and `zones` (all when empty). Ordered by (start, id).
struct EventQuery {
  TimeRange range;
  std::vector<std::string> cameras;
  std::optional<Area> area;
  std::vector<EventType> types;
  std::vector<std::string> zones;
  std::vector<ObjectClass> classes;  // events whose object is of one of these; all when empty
  bool newest_first = false;
  PageRequest page;
};

enum class PlateMatch { kExact, kWildcard, kFuzzy };

// Plate reads in `range` matching `pattern`. Fuzzy: same length, every difference a confusable pair
// (base/plate_text.h), at most max_substitutions of them. Ranked by substitutions, then newest first.
struct PlateQuery {
  std::string pattern;
  PlateMatch match = PlateMatch::kExact;
  int max_substitutions = 1;
  TimeRange range;
  std::vector<std::string> cameras;
  std::optional<Area> area;
  PageRequest page;
};

struct PlateHit {
  PlateRead read;
  int substitutions = 0;
};

struct CameraDistance {
  Camera camera;
  double distance_m = 0;  // great-circle, from the query point (0 for polygon queries)
};

// Recorded spans and gaps of cameras over a range (footage.h merges segments into spans).
struct FootageQuery {
  TimeRange range;
  std::vector<std::string> cameras;  // all when empty
  std::optional<Area> area;
  PageRequest page;  // limit counts spans and gaps together; by camera, then start
};

struct EventCount {
  std::string camera;
  EventType type = EventType::kMotion;
  int64_t hour_ns = 0;  // start of the UTC hour
  int64_t count = 0;
};

struct CountQuery {
  TimeRange range;  // rounded out to whole hours
  std::vector<std::string> cameras;
  std::vector<EventType> types;
  PageRequest page;  // by (hour, camera, type)
};

struct WatchEntry {
  int64_t id = 0;
  std::string pattern;     // plate, or wildcard pattern
  PlateMatch match = PlateMatch::kExact;
  int max_substitutions = 0;
  std::string reason;      // "stolen vehicle, case 2026-1123-07"
  std::string added_by;
  int64_t added_ns = 0;
  int priority = 3;        // 1 (most urgent) .. 5
  int64_t expires_ns = 0;  // 0: never; an expired entry raises no alert
};

// Whether `plate` (normalised) matches the entry at `now_ns` (not expired). Patterns that do not
// parse match nothing.
bool WatchMatches(const WatchEntry& entry, std::u32string_view plate, int64_t now_ns);

enum class AlertState : int { kNew = 0, kAcknowledged = 1, kClosed = 2 };
std::string_view AlertStateName(AlertState state);
std::optional<AlertState> ParseAlertState(std::string_view name);

// A rapid-response zone: a named polygon on the map and the patrol units assigned to it. An alert
// raised by a camera inside a zone carries the zone, and is published to its units first.
struct ResponseZone {
  std::string id;                  // "z-017"
  std::string name;                // "Dianchi Road station"
  std::vector<LatLon> polygon;     // 3+ vertices
  std::vector<std::string> units;  // patrol unit ids, as dispatch names them
  std::string updated_by;
  int64_t updated_ns = 0;
};

struct Alert {
  int64_t id = 0;
  std::string camera;
  int64_t time_ns = 0;          // when what raised it was seen (the frame's wall time)
  std::string kind;             // "watchlist", "intrusion", "tamper_covered", ...
  std::string message;
  int64_t event_id = 0;         // 0 when none
  int64_t plate_read_id = 0;    // 0 when none
  int64_t watch_id = 0;         // 0 when none
  AlertState state = AlertState::kNew;
  std::string state_by;         // who acknowledged or closed it
  int64_t state_ns = 0;         // when the state last changed
  std::string note;
  // The life of the alert: raised (stored and published) → acknowledged → closed, with who acted at
  // each step. An alert closed without an acknowledgement has acknowledged_ns = 0.
  int64_t raised_ns = 0;        // set by RaiseAlert's caller; time_ns when 0
  int64_t acknowledged_ns = 0;
  std::string acknowledged_by;
  int64_t closed_ns = 0;
  std::string closed_by;
  // The response zone holding the camera (the smallest, when zones overlap), set by RaiseAlert;
  // empty when the camera is in none. `units` are the zone's units when the alert was raised.
  std::string zone;
  std::vector<std::string> units;
};

struct AlertQuery {
  TimeRange range;
  std::vector<std::string> cameras;
  std::vector<AlertState> states;  // all when empty
  std::vector<std::string> zones;  // all when empty; "" names alerts in no zone
  int64_t id = 0;                  // just this alert when > 0
  PageRequest page;                // newest first
};

// Response times of alerts raised in `range`, per zone and per period: periods start at
// range.start_ns and last period_ns (0: one period, the whole range). The response time of an alert
// is from raised to its first action (acknowledged, or closed without one).
struct AlertStatsQuery {
  TimeRange range;
  std::vector<std::string> zones;   // all when empty; "" names alerts in no zone
  int64_t period_ns = 0;
  int64_t within_ns = 180 * 1'000'000'000LL;  // the target: "major incidents answered within 3 minutes"
  int64_t now_ns = 0;               // to tell an alert still waiting from one that missed the target
};

struct AlertStats {
  std::string zone;
  int64_t period_start_ns = 0;
  int64_t period_end_ns = 0;
  int64_t raised = 0;
  int64_t responded = 0;            // acknowledged or closed
  int64_t closed = 0;
  // Nearest-rank percentiles over the alerts responded to / closed; 0 when there are none.
  int64_t response_p50_ns = 0;
  int64_t response_p90_ns = 0;
  int64_t close_p50_ns = 0;
  int64_t close_p90_ns = 0;
  // Alerts answered within within_ns, out of those whose outcome is known (answered, or still
  // waiting longer than within_ns); share = within / decided, 0 when nothing is decided.
  int64_t within = 0;
  int64_t decided = 0;
  double within_share = 0;
};

// Nearest-rank percentile (p in (0, 100]) of `values`, which it sorts; 0 when empty.
int64_t NearestRankPercentile(std::vector<int64_t>& values, double p);

struct AuditEntry {
  int64_t id = 0;
  int64_t time_ns = 0;
  std::string who;
  std::string action;   // "export", "footage", "plates", ...
  std::string detail;   // the request, as text
  std::string result_sha256;
  std::string role;     // the authenticated user's role ("" for the node itself)
  // Set by the store: SHA-256 (hex) over this row's fields and the previous row's hash.
  std::string hash;
};

// A walk of the whole audit chain (Store::VerifyAudit).
struct AuditVerification {
  int64_t rows = 0;
  int64_t unchained = 0;  // rows from before the chain (schema < 6), all at the start
  bool intact = true;
  int64_t first_bad_id = 0;
  std::string problem;
  std::string head_hash;
};

struct AuditQuery {
  TimeRange range;
  std::string who;  // all when empty
  PageRequest page; // newest first
};

}  // namespace vigil::index
