// SQLite Store, part 2: events, event counts, places and footage.

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "base/clock.h"
#include "index/geo.h"
#include "index/internal/merge.h"
#include "index/internal/page_token.h"
#include "index/internal/sqlite_store.h"

namespace vigil::index::internal {
namespace {

constexpr int64_t kNsPerHour = 3600 * kNsPerSec;

int64_t Milli(double v) { return static_cast<int64_t>(std::llround(v * 1000)); }


std::vector<int64_t> TypeCodes(const std::vector<EventType>& types) {
  std::vector<int64_t> codes;
  for (EventType t : types) codes.push_back(static_cast<int64_t>(t));
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  return codes;
}

Status ValidateTypes(const std::vector<EventType>& types) {
  for (EventType t : types) {
    if (EventTypeName(t) == "unknown") {
      return Status::InvalidArgument(fmt::format("unknown event type code {}", static_cast<int>(t)));
    }
  }
  return Status::Ok();
}

}  // namespace

void AddArea(Fingerprint& fp, const std::optional<Area>& area) {
  if (!area) return fp.Add("no-area"), void();
  fp.Add("area").Add(Milli(area->center.lat * 1e4)).Add(Milli(area->center.lon * 1e4));
  fp.Add(Milli(area->radius_m));
  for (const auto& p : area->polygon) fp.Add(Milli(p.lat * 1e4)).Add(Milli(p.lon * 1e4));
}

// ---- Places ---------------------------------------------------------------------------------------

Result<std::vector<CameraDistance>> SqliteStore::CamerasInLocked(const Area& area) {
  bool circle = area.polygon.empty();
  BoundingBox box = circle ? BoxAround(area.center, area.radius_m) : BoxOf(area.polygon);
  std::vector<int64_t> nums;
  if (box.valid) {
    std::lock_guard lock(read_mu_);
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, reader_stmts_.Get("SELECT num FROM cameras_rtree WHERE min_lat <= ?2 AND "
                                    "max_lat >= ?1 AND min_lon <= ?4 AND max_lon >= ?3"));
    s->Bind(1, box.min_lat).Bind(2, box.max_lat).Bind(3, box.min_lon).Bind(4, box.max_lon);
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      nums.push_back(s->Int(0));
    }
  }
  std::vector<CameraDistance> out;
  std::lock_guard lock(cam_mu_);
  auto consider = [&](const Camera& c) {
    if (!HasPosition(c)) return;
    LatLon p{c.lat, c.lon};
    if (circle) {
      double d = DistanceM(area.center, p);
      if (d <= area.radius_m) out.push_back({c, d});
    } else if (InsidePolygon(area.polygon, p)) {
      out.push_back({c, 0});
    }
  };
  if (box.valid) {
    for (int64_t n : nums) {
      auto it = camera_by_num_.find(n);
      if (it != camera_by_num_.end()) consider(it->second);
    }
  } else {
    for (const auto& [n, c] : camera_by_num_) consider(c);
  }
  std::sort(out.begin(), out.end(), [](const CameraDistance& a, const CameraDistance& b) {
    return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.camera.id < b.camera.id;
  });
  return out;
}

Result<std::vector<CameraDistance>> SqliteStore::CamerasIn(const Area& area) {
  VIGIL_RETURN_IF_ERROR(ValidateArea(area));
  VIGIL_RETURN_IF_ERROR(RefreshCameras());
  return CamerasInLocked(area);
}

Result<std::vector<CameraDistance>> SqliteStore::NearestCameras(LatLon point, int k) {
  VIGIL_RETURN_IF_ERROR(ValidatePoint(point, "point"));
  if (k < 1 || k > 1000) {
    return Status::InvalidArgument(fmt::format("k = {}: ask for 1 to 1000 nearest cameras", k));
  }
  VIGIL_RETURN_IF_ERROR(RefreshCameras());
  // Grow a circle until it holds k cameras: every camera nearer than the k-th is inside it.
  for (double r = 1000; r <= 20'000'000; r *= 4) {
    VIGIL_ASSIGN_OR_RETURN(auto in, CamerasInLocked(Area{point, r, {}}));
    if (in.size() >= static_cast<size_t>(k)) {
      in.resize(static_cast<size_t>(k));
      return in;
    }
  }
  VIGIL_ASSIGN_OR_RETURN(auto all, CamerasInLocked(Area{point, 20'000'000, {}}));
  if (all.size() > static_cast<size_t>(k)) all.resize(static_cast<size_t>(k));
  return all;
}

Result<std::optional<std::vector<int64_t>>> SqliteStore::ResolveCameras(
    const std::vector<std::string>& ids, const std::optional<Area>& area) {
  std::optional<std::vector<int64_t>> nums;
  if (!ids.empty()) {
    nums.emplace();
    for (const auto& id : ids) {
      VIGIL_ASSIGN_OR_RETURN(int64_t n, CameraNum(id));
      nums->push_back(n);
    }
  }
  if (area) {
    VIGIL_ASSIGN_OR_RETURN(auto in, CamerasIn(*area));
    std::vector<int64_t> area_nums;
    {
      std::lock_guard lock(cam_mu_);
      for (const auto& cd : in) {
        auto it = num_by_id_.find(cd.camera.id);
        if (it != num_by_id_.end()) area_nums.push_back(it->second);
      }
    }
    if (nums) {
      std::vector<int64_t> both;
      for (int64_t n : *nums) {
        if (std::find(area_nums.begin(), area_nums.end(), n) != area_nums.end()) both.push_back(n);
      }
      nums = std::move(both);
    } else {
      nums = std::move(area_nums);
    }
  }
  if (nums) {
    std::sort(nums->begin(), nums->end());
    nums->erase(std::unique(nums->begin(), nums->end()), nums->end());
  }
  return nums;
}

// ---- Footage --------------------------------------------------------------------------------------

Result<FootageResult> SqliteStore::Footage(const FootageQuery& q) {
  VIGIL_RETURN_IF_ERROR(ValidateRange(q.range, "footage"));
  VIGIL_RETURN_IF_ERROR(ValidateLimit(q.page.limit));
  if (q.area) VIGIL_RETURN_IF_ERROR(ValidateArea(*q.area));
  Fingerprint fp;
  fp.Add(q.range.start_ns).Add(q.range.end_ns);
  fp.AddSet(q.cameras);
  AddArea(fp, q.area);
  VIGIL_ASSIGN_OR_RETURN(auto token, DecodeToken(q.page.token, "footage", fp.value(), 3));
  VIGIL_ASSIGN_OR_RETURN(auto nums, ResolveCameras(q.cameras, q.area));
  if (!nums) {
    nums.emplace();
    std::lock_guard lock(cam_mu_);
    for (const auto& [n, c] : camera_by_num_) nums->push_back(n);
    std::sort(nums->begin(), nums->end());
  }
  // Rows are keyed (camera num, start, 0 for a span or the gap's id); the token is the last row
  // returned.
  using RowKey = std::tuple<int64_t, int64_t, int64_t>;
  const RowKey after = token.empty() ? RowKey{INT64_MIN, INT64_MIN, INT64_MIN}
                                     : RowKey{token[0], token[1], token[2]};
  FootageResult out;
  int64_t emitted = 0;
  RowKey last = after;
  for (int64_t num : *nums) {
    if (num < std::get<0>(after)) continue;
    const std::string id = CameraId(num);
    SegmentFilter f;
    f.camera = id;
    f.start_ns = q.range.start_ns;
    f.end_ns = q.range.end_ns;
    f.limit = INT64_MAX;
    VIGIL_ASSIGN_OR_RETURN(auto segs, Segments(f));
    // Segments ending exactly at the start do not overlap [start, end).
    std::erase_if(segs, [&](const Segment& s) { return s.end_ns <= q.range.start_ns; });
    auto spans = MergeFootage(std::move(segs));
    VIGIL_ASSIGN_OR_RETURN(auto gaps, Gaps(id, q.range.start_ns, q.range.end_ns));
    size_t si = 0, gi = 0;
    while (si < spans.size() || gi < gaps.size()) {
      bool span = gi == gaps.size() || (si < spans.size() && spans[si].start_ns <= gaps[gi].start_ns);
      RowKey key{num, span ? spans[si].start_ns : gaps[gi].start_ns, span ? 0 : gaps[gi].id};
      if (key > after) {
        if (emitted == q.page.limit) {
          out.next_token = EncodeToken("footage", fp.value(),
                                       {std::get<0>(last), std::get<1>(last), std::get<2>(last)});
          return out;
        }
        if (span) {
          out.spans.push_back(spans[si]);
        } else {
          out.gaps.push_back(gaps[gi]);
        }
        ++emitted;
        last = key;
      }
      span ? ++si : ++gi;
    }
  }
  return out;
}

// ---- Events ---------------------------------------------------------------------------------------

Result<int64_t> SqliteStore::AddEvent(const Event& e) {
  if (e.end_ns < e.start_ns) {
    return Status::InvalidArgument(fmt::format("event ends ({}) before it starts ({})",
                                               FormatUtc(e.end_ns), FormatUtc(e.start_ns)));
  }
  if (EventTypeName(e.type) == "unknown") {
    return Status::InvalidArgument(
        fmt::format("unknown event type code {}", static_cast<int>(e.type)));
  }
  if (!(e.score >= 0 && e.score <= 1)) {
    return Status::InvalidArgument(fmt::format("event score {} is not in [0, 1]", e.score));
  }
  VIGIL_ASSIGN_OR_RETURN(int64_t num, CameraNum(e.camera));
  int64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return ClosedError();
    if (static_cast<int64_t>(pending_events_.size() + pending_reads_.size()) >= options_.max_pending) {
      return Status::ResourceExhausted(fmt::format(
          "index write queue is full ({} rows wait for the disk): event dropped",
          options_.max_pending));
    }
    id = next_event_id_++;
    pending_events_.push_back({e, num});
    pending_events_.back().event.id = id;
  }
  cv_.notify_one();
  return id;
}

Status SqliteStore::EndEvent(const std::string& camera, int64_t start_ns, int64_t id,
                             int64_t end_ns, ObjectClass object_class, double class_confidence) {
  const bool reclass = object_class != ObjectClass::kUnknown;
  if (end_ns < start_ns) {
    return Status::InvalidArgument(fmt::format("event {} ends ({}) before it starts ({})", id,
                                               FormatUtc(end_ns), FormatUtc(start_ns)));
  }
  VIGIL_ASSIGN_OR_RETURN(int64_t num, CameraNum(camera));
  {
    std::lock_guard lock(mu_);
    if (stopping_) return ClosedError();
    // Still waiting for its batch: end it in place.
    for (auto it = pending_events_.rbegin(); it != pending_events_.rend(); ++it) {
      if (it->event.id == id) {
        it->event.end_ns = end_ns;
        if (reclass) {
          it->event.object_class = object_class;
          it->event.class_confidence = class_confidence;
        }
        return Status::Ok();
      }
    }
  }
  // Already taken by the writer: the writer takes queued operations and pending rows under one
  // lock, so an operation queued now runs in a later transaction than the row's insert.
  return WriteAsync([num, start_ns, id, end_ns, reclass, object_class, class_confidence](StmtCache& sc) -> Status {
    if (!reclass) {
      VIGIL_ASSIGN_OR_RETURN(
          Stmt * s, sc.Get("UPDATE events SET end_ns = ?1 WHERE camera = ?2 AND start_ns = ?3 AND id = ?4"));
      s->Bind(1, end_ns).Bind(2, num).Bind(3, start_ns).Bind(4, id);
      return s->Run();
    }
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, sc.Get("UPDATE events SET end_ns = ?1, object_class = ?5, class_score = ?6 WHERE camera = ?2 "
                         "AND start_ns = ?3 AND id = ?4"));
    s->Bind(1, end_ns).Bind(2, num).Bind(3, start_ns).Bind(4, id);
    s->Bind(5, static_cast<int64_t>(object_class)).Bind(6, Milli(class_confidence));
    return s->Run();
  });
}

Status SqliteStore::InsertEvents(StmtCache& sc, const std::vector<EventRow>& rows) {
  VIGIL_ASSIGN_OR_RETURN(
      Stmt * s, sc.Get("INSERT INTO events (start_ns, id, camera, end_ns, type, zone, track, "
                       "score, x, y, w, h, snapshot, attributes, object_class, class_score) VALUES (?1, ?2, ?3, "
                       "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"));
  // (hour, camera, type) -> rows; hours since the epoch fit 24 bits for 1900 years, camera nums 32.
  std::unordered_map<int64_t, int64_t> counts;
  int64_t max_id = 0;
  for (const auto& r : rows) {
    const Event& e = r.event;
    s->Bind(1, e.start_ns).Bind(2, e.id).Bind(3, r.camera_num).Bind(4, e.end_ns);
    s->Bind(5, static_cast<int64_t>(e.type)).Bind(6, e.zone).Bind(7, e.track);
    s->Bind(8, Milli(e.score)).Bind(9, e.box.x).Bind(10, e.box.y).Bind(11, e.box.w);
    s->Bind(12, e.box.h).Bind(13, e.snapshot).Bind(14, e.attributes);
    s->Bind(15, static_cast<int64_t>(e.object_class)).Bind(16, Milli(e.class_confidence));
    VIGIL_RETURN_IF_ERROR(s->Run());
    int64_t hour = e.start_ns - ((e.start_ns % kNsPerHour) + kNsPerHour) % kNsPerHour;
    ++counts[((hour / kNsPerHour) << 40) | (r.camera_num << 8) | static_cast<int64_t>(e.type)];
    max_id = std::max(max_id, e.id);
  }
  VIGIL_ASSIGN_OR_RETURN(
      Stmt * c, sc.Get("INSERT INTO event_counts (hour_ns, camera, type, n) VALUES (?1, ?2, ?3, ?4) "
                       "ON CONFLICT DO UPDATE SET n = n + excluded.n"));
  for (const auto& [k, n] : counts) {
    c->Bind(1, (k >> 40) * kNsPerHour).Bind(2, (k >> 8) & 0xFFFFFFFF).Bind(3, k & 0xFF).Bind(4, n);
    VIGIL_RETURN_IF_ERROR(c->Run());
  }
  VIGIL_ASSIGN_OR_RETURN(
      Stmt * n, sc.Get("UPDATE counters SET value = max(value, ?1) WHERE name = 'next_event_id'"));
  n->Bind(1, max_id + 1);
  return n->Run();
}

Result<Page<Event>> SqliteStore::Events(const EventQuery& q) {
  VIGIL_RETURN_IF_ERROR(ValidateRange(q.range, "events"));
  VIGIL_RETURN_IF_ERROR(ValidateLimit(q.page.limit));
  VIGIL_RETURN_IF_ERROR(ValidateTypes(q.types));
  if (q.area) VIGIL_RETURN_IF_ERROR(ValidateArea(*q.area));
  Fingerprint fp;
  fp.Add(q.range.start_ns).Add(q.range.end_ns).Add(q.newest_first ? 1 : 0);
  fp.AddSet(q.cameras);
  fp.AddSet(q.zones);
  AddArea(fp, q.area);
  std::vector<int64_t> types = TypeCodes(q.types);
  for (int64_t t : types) fp.Add(t);
  std::vector<int64_t> classes;
  for (ObjectClass c : q.classes) {
    if (ObjectClassName(c).empty()) {
      return Status::InvalidArgument(fmt::format("unknown object class code {}", static_cast<int>(c)));
    }
    classes.push_back(static_cast<int64_t>(c));
  }
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  if (!classes.empty()) fp.Add("classes");
  for (int64_t c : classes) fp.Add(c);
  VIGIL_ASSIGN_OR_RETURN(auto token, DecodeToken(q.page.token, "events", fp.value(), 2));
  VIGIL_ASSIGN_OR_RETURN(auto nums, ResolveCameras(q.cameras, q.area));

  Page<Event> page;
  if (nums && nums->empty()) return page;  // an area without cameras

  std::vector<std::string> zones = q.zones;
  std::sort(zones.begin(), zones.end());
  zones.erase(std::unique(zones.begin(), zones.end()), zones.end());
  const bool desc = q.newest_first;
  std::string zone_params;
  for (size_t i = 0; i < zones.size(); ++i) {
    zone_params += fmt::format("{}?{}", i ? ", " : "", 7 + i);
  }
  // Per camera: a range of the table itself (clustered by camera, time): contiguous rows. All
  // cameras without a zone filter: merge-free walk of the time index (it covers type), reading only
  // the rows returned; with zones, rows are read as the walk goes.
  const bool keys_only = !nums.has_value() && zones.empty() && classes.empty();
  const std::string columns =
      keys_only ? "start_ns, id"
                : "start_ns, id, camera, end_ns, type, zone, track, score, x, y, w, h, snapshot, "
                  "attributes, object_class, class_score";
  std::string sql = fmt::format(
      "SELECT {} FROM events {} WHERE {} start_ns >= ?2 AND start_ns < ?3 AND (start_ns, id) {} "
      "(?4, ?5) {} {} {} ORDER BY start_ns {}, id {} LIMIT ?6",
      columns, keys_only ? "INDEXED BY events_by_time" : "", nums ? "camera = ?1 AND" : "",
      desc ? "<" : ">", types.empty() ? "" : fmt::format("AND type IN ({})", IntList(types)),
      zones.empty() ? "" : fmt::format("AND zone IN ({})", zone_params),
      classes.empty() ? "" : fmt::format("AND object_class IN ({})", IntList(classes)),
      desc ? "DESC" : "ASC", desc ? "DESC" : "ASC");
  auto read_row = [this](const Stmt& st, Event& e) {
    e.camera = CameraId(st.Int(2));
    e.end_ns = st.Int(3);
    e.type = static_cast<EventType>(st.Int(4));
    e.zone = st.Text(5);
    e.track = st.Int(6);
    e.score = static_cast<double>(st.Int(7)) / 1000.0;
    e.box = {static_cast<int>(st.Int(8)), static_cast<int>(st.Int(9)),
             static_cast<int>(st.Int(10)), static_cast<int>(st.Int(11))};
    e.snapshot = st.Text(12);
    e.attributes = st.Text(13);
    e.object_class = static_cast<ObjectClass>(st.Int(14));
    e.class_confidence = static_cast<double>(st.Int(15)) / 1000.0;
  };

  std::lock_guard lock(read_mu_);
  ReadTxn txn(*reader_db_);  // one snapshot for the merge and the row reads
  VIGIL_ASSIGN_OR_RETURN(Stmt stmt, reader_db_->Prepare(sql));
  const size_t sources = nums ? nums->size() : 1;
  std::function<Result<std::vector<Event>>(size_t, std::optional<Key>, size_t)> fetch =
      [&](size_t src, std::optional<Key> after, size_t n) -> Result<std::vector<Event>> {
    Key from = after ? *after
               // Without a token the keyset bound is the range's edge itself: SQLite seeks on
               // one lower (upper) bound only, so it must be as tight as the range's.
               : token.empty() ? (desc ? Key{q.range.end_ns, INT64_MIN} : Key{q.range.start_ns, INT64_MIN})
                               : Key{token[0], token[1]};
    stmt.Reset();
    if (nums) stmt.Bind(1, (*nums)[src]);
    stmt.Bind(2, q.range.start_ns).Bind(3, q.range.end_ns).Bind(4, from.first).Bind(5, from.second);
    stmt.Bind(6, static_cast<int64_t>(n));
    for (size_t i = 0; i < zones.size(); ++i) stmt.Bind(static_cast<int>(7 + i), zones[i]);
    std::vector<Event> rows;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      Event e;
      e.start_ns = stmt.Int(0);
      e.id = stmt.Int(1);
      if (!keys_only) read_row(stmt, e);
      rows.push_back(std::move(e));
    }
    return rows;
  };
  std::function<Key(const Event&)> key = [](const Event& e) { return Key{e.start_ns, e.id}; };
  const size_t want = static_cast<size_t>(q.page.limit) + 1;
  VIGIL_ASSIGN_OR_RETURN(page.items, MergeSources<Event>(sources, want, desc, key, fetch));
  if (keys_only) {
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * row, reader_stmts_.Get("SELECT start_ns, id, camera, end_ns, type, zone, track, "
                                      "score, x, y, w, h, snapshot, attributes, object_class, "
                                      "class_score FROM events WHERE start_ns = ?1 AND id = ?2"));
    for (Event& e : page.items) {
      row->Reset();
      row->Bind(1, e.start_ns).Bind(2, e.id);
      VIGIL_ASSIGN_OR_RETURN(bool found, row->Step());
      if (!found) return Status::Internal(fmt::format("event {} vanished between reads", e.id));
      read_row(*row, e);
    }
    row->Reset();
  }
  if (page.items.size() == want) {
    page.items.pop_back();
    const Event& last = page.items.back();
    page.next_token = EncodeToken("events", fp.value(), {last.start_ns, last.id});
  }
  return page;
}

Result<Page<EventCount>> SqliteStore::CountEvents(const CountQuery& q) {
  VIGIL_RETURN_IF_ERROR(ValidateRange(q.range, "event counts"));
  VIGIL_RETURN_IF_ERROR(ValidateLimit(q.page.limit));
  VIGIL_RETURN_IF_ERROR(ValidateTypes(q.types));
  Fingerprint fp;
  fp.Add(q.range.start_ns).Add(q.range.end_ns);
  fp.AddSet(q.cameras);
  std::vector<int64_t> types = TypeCodes(q.types);
  for (int64_t t : types) fp.Add(t);
  VIGIL_ASSIGN_OR_RETURN(auto token, DecodeToken(q.page.token, "counts", fp.value(), 3));
  VIGIL_ASSIGN_OR_RETURN(auto nums, ResolveCameras(q.cameras, std::nullopt));
  // The hour holding the start; an open start (INT64_MIN: "since ever") must not wrap around.
  int64_t from = q.range.start_ns < INT64_MIN + kNsPerHour
                     ? INT64_MIN
                     : q.range.start_ns - ((q.range.start_ns % kNsPerHour) + kNsPerHour) % kNsPerHour;
  std::string sql = fmt::format(
      "SELECT hour_ns, camera, type, n FROM event_counts WHERE hour_ns >= ?1 AND hour_ns < ?2 AND "
      "(hour_ns, camera, type) > (?3, ?4, ?5) {} {} ORDER BY hour_ns, camera, type LIMIT ?6",
      nums ? fmt::format("AND camera IN ({})", IntList(*nums)) : "",
      types.empty() ? "" : fmt::format("AND type IN ({})", IntList(types)));
  std::lock_guard lock(read_mu_);
  VIGIL_ASSIGN_OR_RETURN(Stmt s, reader_db_->Prepare(sql));
  s.Bind(1, from).Bind(2, q.range.end_ns);
  if (token.empty()) {
    s.Bind(3, from).Bind(4, INT64_MIN).Bind(5, INT64_MIN);  // as tight as the range
  } else {
    s.Bind(3, token[0]).Bind(4, token[1]).Bind(5, token[2]);
  }
  s.Bind(6, q.page.limit + 1);
  Page<EventCount> page;
  std::vector<int64_t> last;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    if (static_cast<int64_t>(page.items.size()) == q.page.limit) {
      page.next_token = EncodeToken("counts", fp.value(), last);
      break;
    }
    page.items.push_back(
        {CameraId(s.Int(1)), static_cast<EventType>(s.Int(2)), s.Int(0), s.Int(3)});
    last = {s.Int(0), s.Int(1), s.Int(2)};
  }
  return page;
}

}  // namespace vigil::index::internal
