// SQLite Store, part 4: response zones, alerts, alert statistics and the audit trail.

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "base/clock.h"
#include "base/sha256.h"
#include "index/geo.h"
#include "index/internal/page_token.h"
#include "index/internal/sqlite_store.h"

namespace vigil::index::internal {

namespace {

std::string EncodePolygon(const std::vector<LatLon>& polygon) {
  std::string out;
  for (const auto& p : polygon) {
    if (!out.empty()) out += ';';
    out += fmt::format("{:.7f} {:.7f}", p.lat, p.lon);
  }
  return out;
}

std::vector<LatLon> DecodePolygon(const std::string& text) {
  std::vector<LatLon> out;
  const char* p = text.c_str();
  while (*p) {
    char* end = nullptr;
    LatLon v;
    v.lat = std::strtod(p, &end);
    if (end == p) break;
    p = end;
    v.lon = std::strtod(p, &end);
    if (end == p) break;
    p = end;
    out.push_back(v);
    if (*p == ';') ++p;
  }
  return out;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& u : items) {
    if (!out.empty()) out += ',';
    out += u;
  }
  return out;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    if (comma > at) out.push_back(text.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

constexpr const char* kZonesSql =
    "SELECT id, name, polygon, units, updated_by, updated_ns FROM zones ORDER BY id";

Result<std::vector<ResponseZone>> ReadZones(Stmt& s) {
  std::vector<ResponseZone> out;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ResponseZone z;
    z.id = s.Text(0);
    z.name = s.Text(1);
    z.polygon = DecodePolygon(s.Text(2));
    z.units = SplitList(s.Text(3));
    z.updated_by = s.Text(4);
    z.updated_ns = s.Int(5);
    out.push_back(std::move(z));
  }
  s.Reset();
  return out;
}

// The zone holding `p`: the smallest when zones overlap (a station's block inside a district).
const ResponseZone* ZoneHolding(const std::vector<ResponseZone>& zones, LatLon p) {
  const ResponseZone* best = nullptr;
  double best_area = 0;
  for (const auto& z : zones) {
    if (!InsidePolygon(z.polygon, p)) continue;
    double area = PolygonAreaM2(z.polygon);
    if (!best || area < best_area) {
      best = &z;
      best_area = area;
    }
  }
  return best;
}

}  // namespace

Status SqliteStore::UpsertZone(const ResponseZone& zone) {
  VIGIL_RETURN_IF_ERROR(ValidateZone(zone));
  return WriteSync([zone](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, sc.Get("INSERT INTO zones (id, name, polygon, units, updated_by, updated_ns) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET "
                         "name = ?2, polygon = ?3, units = ?4, updated_by = ?5, updated_ns = ?6"));
    s->Bind(1, zone.id).Bind(2, zone.name).Bind(3, EncodePolygon(zone.polygon));
    s->Bind(4, JoinList(zone.units)).Bind(5, zone.updated_by).Bind(6, zone.updated_ns);
    return s->Run();
  });
}

Status SqliteStore::RemoveZone(const std::string& id) {
  return WriteSync([id](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get("DELETE FROM zones WHERE id = ?1"));
    s->Bind(1, id);
    VIGIL_RETURN_IF_ERROR(s->Run());
    if (sc.db().Changes() == 0) return Status::NotFound(fmt::format("no zone '{}'", id));
    return Status::Ok();
  });
}

Result<std::vector<ResponseZone>> SqliteStore::Zones() {
  std::lock_guard lock(read_mu_);
  VIGIL_ASSIGN_OR_RETURN(Stmt * s, reader_stmts_.Get(kZonesSql));
  return ReadZones(*s);
}

Result<Alert> SqliteStore::RaiseAlert(const Alert& alert) {
  if (alert.kind.empty()) return Status::InvalidArgument("alert needs a kind");
  VIGIL_ASSIGN_OR_RETURN(int64_t num, CameraNum(alert.camera));
  std::optional<LatLon> position;
  {
    std::lock_guard lock(cam_mu_);
    if (auto it = camera_by_num_.find(num); it != camera_by_num_.end() && HasPosition(it->second)) {
      position = LatLon{it->second.lat, it->second.lon};
    }
  }
  auto out = std::make_shared<Alert>(alert);
  if (out->raised_ns == 0) out->raised_ns = out->time_ns;
  out->state = AlertState::kNew;
  out->state_ns = out->raised_ns;
  VIGIL_RETURN_IF_ERROR(WriteSync([out, num, position](StmtCache& sc) -> Status {
    Alert& a = *out;
    // Zones are read in the alert's own transaction: an alert raised just after a zone changed
    // goes to the zone's new units.
    VIGIL_ASSIGN_OR_RETURN(Stmt * zs, sc.Get(kZonesSql));
    VIGIL_ASSIGN_OR_RETURN(auto zones, ReadZones(*zs));
    if (!a.zone.empty()) {
      auto it = std::find_if(zones.begin(), zones.end(), [&](const auto& z) { return z.id == a.zone; });
      if (it == zones.end()) return Status::NotFound(fmt::format("no zone '{}'", a.zone));
      a.units = it->units;
    } else if (const ResponseZone* z = position ? ZoneHolding(zones, *position) : nullptr) {
      a.zone = z->id;
      a.units = z->units;
    } else {
      a.units.clear();
    }
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, sc.Get("INSERT INTO alerts (camera, time_ns, kind, message, event_id, "
                         "plate_read_id, watch_id, state, state_ns, raised_ns, zone, units) VALUES "
                         "(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?8, ?9, ?10)"));
    s->Bind(1, num).Bind(2, a.time_ns).Bind(3, a.kind).Bind(4, a.message).Bind(5, a.event_id);
    s->Bind(6, a.plate_read_id).Bind(7, a.watch_id).Bind(8, a.raised_ns).Bind(9, a.zone);
    s->Bind(10, JoinList(a.units));
    VIGIL_RETURN_IF_ERROR(s->Run());
    a.id = sc.db().LastInsertId();
    return Status::Ok();
  }));
  return *out;
}

Status SqliteStore::SetAlertState(int64_t id, AlertState state, const std::string& by,
                                  const std::string& note, int64_t now_ns) {
  if (by.empty()) return Status::InvalidArgument("changing an alert's state needs who did it");
  if (state == AlertState::kNew) {
    return Status::InvalidArgument("an alert cannot be set back to new");
  }
  return WriteSync([id, state, by, note, now_ns](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Stmt * q, sc.Get("SELECT state FROM alerts WHERE id = ?1"));
    q->Bind(1, id);
    VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return Status::NotFound(fmt::format("no alert {}", id));
    auto from = static_cast<AlertState>(q->Int(0));
    q->Reset();
    bool allowed = (from == AlertState::kNew && state != AlertState::kNew) ||
                   (from == AlertState::kAcknowledged && state == AlertState::kClosed);
    if (!allowed) {
      return Status::FailedPrecondition(fmt::format("alert {} is {}: it cannot become {}", id,
                                                    AlertStateName(from), AlertStateName(state)));
    }
    Stmt* s = nullptr;
    if (state == AlertState::kAcknowledged) {
      VIGIL_ASSIGN_OR_RETURN(
          s, sc.Get("UPDATE alerts SET state = ?2, state_by = ?3, state_ns = ?4, note = ?5, "
                    "acknowledged_by = ?3, acknowledged_ns = ?4 WHERE id = ?1"));
    } else {
      VIGIL_ASSIGN_OR_RETURN(
          s, sc.Get("UPDATE alerts SET state = ?2, state_by = ?3, state_ns = ?4, note = ?5, "
                    "closed_by = ?3, closed_ns = ?4 WHERE id = ?1"));
    }
    s->Bind(1, id).Bind(2, static_cast<int64_t>(state)).Bind(3, by).Bind(4, now_ns).Bind(5, note);
    return s->Run();
  });
}

Status SqliteStore::LinkAlertRead(int64_t alert_id, int64_t plate_read_id) {
  return WriteSync([alert_id, plate_read_id](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get("UPDATE alerts SET plate_read_id = ?2 WHERE id = ?1"));
    s->Bind(1, alert_id).Bind(2, plate_read_id);
    VIGIL_RETURN_IF_ERROR(s->Run());
    if (sc.db().Changes() == 0) return Status::NotFound(fmt::format("no alert {}", alert_id));
    return Status::Ok();
  });
}

Result<Page<Alert>> SqliteStore::Alerts(const AlertQuery& q) {
  VIGIL_RETURN_IF_ERROR(ValidateRange(q.range, "alerts"));
  VIGIL_RETURN_IF_ERROR(ValidateLimit(q.page.limit));
  Fingerprint fp;
  fp.Add(q.range.start_ns).Add(q.range.end_ns);
  fp.AddSet(q.cameras);
  std::vector<int64_t> states;
  for (AlertState s : q.states) states.push_back(static_cast<int64_t>(s));
  std::sort(states.begin(), states.end());
  for (int64_t s : states) fp.Add(s);
  fp.Add(q.id);
  fp.AddSet(q.zones);
  VIGIL_ASSIGN_OR_RETURN(auto token, DecodeToken(q.page.token, "alerts", fp.value(), 2));
  VIGIL_ASSIGN_OR_RETURN(auto nums, ResolveCameras(q.cameras, std::nullopt));
  // Zones are user text: bound as parameters ?6, ?7, ...
  std::string zone_params;
  for (size_t i = 0; i < q.zones.size(); ++i) {
    zone_params += fmt::format("{}?{}", i ? ", " : "", i + 6);
  }
  std::string sql = fmt::format(
      "SELECT id, camera, time_ns, kind, message, event_id, plate_read_id, watch_id, state, "
      "state_by, state_ns, note, raised_ns, acknowledged_ns, acknowledged_by, closed_ns, closed_by, "
      "zone, units FROM alerts WHERE time_ns >= ?1 AND time_ns < ?2 AND (time_ns, id) "
      "< (?3, ?4) {} {} {} {} ORDER BY time_ns DESC, id DESC LIMIT ?5",
      nums ? fmt::format("AND camera IN ({})", IntList(*nums)) : "",
      states.empty() ? "" : fmt::format("AND state IN ({})", IntList(states)),
      q.id > 0 ? fmt::format("AND id = {}", q.id) : "",
      q.zones.empty() ? "" : fmt::format("AND zone IN ({})", zone_params));
  std::lock_guard lock(read_mu_);
  VIGIL_ASSIGN_OR_RETURN(Stmt s, reader_db_->Prepare(sql));
  s.Bind(1, q.range.start_ns).Bind(2, q.range.end_ns);
  // Without a token the keyset bound is the range's end itself: SQLite seeks on one bound only,
  // so both must be tight.
  s.Bind(3, token.empty() ? q.range.end_ns : token[0]).Bind(4, token.empty() ? INT64_MIN : token[1]);
  s.Bind(5, q.page.limit + 1);
  for (size_t i = 0; i < q.zones.size(); ++i) s.Bind(static_cast<int>(i + 6), q.zones[i]);
  Page<Alert> page;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    if (static_cast<int64_t>(page.items.size()) == q.page.limit) {
      const Alert& last = page.items.back();
      page.next_token = EncodeToken("alerts", fp.value(), {last.time_ns, last.id});
      break;
    }
    Alert a;
    a.id = s.Int(0);
    a.camera = CameraId(s.Int(1));
    a.time_ns = s.Int(2);
    a.kind = s.Text(3);
    a.message = s.Text(4);
    a.event_id = s.Int(5);
    a.plate_read_id = s.Int(6);
    a.watch_id = s.Int(7);
    a.state = static_cast<AlertState>(s.Int(8));
    a.state_by = s.Text(9);
    a.state_ns = s.Int(10);
    a.note = s.Text(11);
    a.raised_ns = s.Int(12);
    a.acknowledged_ns = s.Int(13);
    a.acknowledged_by = s.Text(14);
    a.closed_ns = s.Int(15);
    a.closed_by = s.Text(16);
    a.zone = s.Text(17);
    a.units = SplitList(s.Text(18));
    page.items.push_back(std::move(a));
  }
  return page;
}

Result<std::vector<AlertStats>> SqliteStore::AlertStatistics(const AlertStatsQuery& q) {
  VIGIL_RETURN_IF_ERROR(ValidateRange(q.range, "alert statistics"));
  if (q.period_ns < 0) {
    return Status::InvalidArgument(fmt::format("period must be 0 (whole range) or more, got {} ns",
                                               q.period_ns));
  }
  if (q.within_ns <= 0) {
    return Status::InvalidArgument(fmt::format("the response target must be more than 0, got {} ns",
                                               q.within_ns));
  }
  // In 128 bits: a range may be the whole int64 line.
  using Wide = __int128;
  const Wide span = Wide{q.range.end_ns} - q.range.start_ns;
  const Wide period = q.period_ns == 0 ? span : Wide{q.period_ns};
  const Wide wide_periods = span / period + (span % period != 0);
  if (wide_periods > 100'000) {
    return Status::InvalidArgument(fmt::format(
        "more than 100,000 periods: ask for a longer period or a shorter range"));
  }
  const auto periods = static_cast<int64_t>(wide_periods);
  struct Times {
    std::vector<int64_t> response, close;
    int64_t raised = 0, within = 0, decided = 0;
  };
  // (period index, zone) → times; "*" holds every alert of the period.
  std::map<std::pair<int64_t, std::string>, Times> cells;
  std::set<std::string> wanted(q.zones.begin(), q.zones.end());
  {
    std::lock_guard lock(read_mu_);
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, reader_stmts_.Get("SELECT raised_ns, acknowledged_ns, closed_ns, zone FROM alerts "
                                    "WHERE raised_ns >= ?1 AND raised_ns < ?2"));
    s->Bind(1, q.range.start_ns).Bind(2, q.range.end_ns);
    for (;;) {
      auto row = s->Step();
      if (!row.ok()) {
        s->Reset();
        return row.status();
      }
      if (!*row) break;
      const int64_t raised = s->Int(0), ack = s->Int(1), closed = s->Int(2);
      std::string zone = s->Text(3);
      if (!wanted.empty() && !wanted.count(zone)) continue;
      const auto index = static_cast<int64_t>((Wide{raised} - q.range.start_ns) / period);
      const int64_t first = ack > 0 ? ack : closed;  // first action: ack, or a close without one
      for (const std::string& key : {std::string("*"), zone}) {
        Times& t = cells[{index, key}];
        ++t.raised;
        if (first > 0) {
          t.response.push_back(first - raised);
          ++t.decided;
          if (first - raised <= q.within_ns) ++t.within;
        } else if (q.now_ns - raised > q.within_ns) {
          ++t.decided;  // still waiting, and already past the target
        }
        if (closed > 0) t.close.push_back(closed - raised);
      }
    }
    s->Reset();
  }
  // Zones listed in the query get a row in every period, alerts or not.
  const int64_t rows = static_cast<int64_t>(cells.size()) +
                       periods * (static_cast<int64_t>(wanted.size()) + 1);
  if (rows > 100'000) {
    return Status::InvalidArgument(fmt::format(
        "{} periods give about {} rows, more than 100,000: ask for a longer period or a shorter range",
        periods, rows));
  }
  if (!wanted.empty()) {
    for (int64_t i = 0; i < periods; ++i) {
      cells[{i, "*"}];
      for (const auto& z : wanted) cells[{i, z}];
    }
  }
  // Order within a period: "*", zones by id, "" last.
  auto rank = [](const std::string& zone) { return zone == "*" ? 0 : zone.empty() ? 2 : 1; };
  std::vector<std::pair<std::pair<int64_t, std::string>, Times*>> order;
  for (auto& [key, t] : cells) order.push_back({key, &t});
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    if (a.first.first != b.first.first) return a.first.first < b.first.first;
    int ra = rank(a.first.second), rb = rank(b.first.second);
    if (ra != rb) return ra < rb;
    return a.first.second < b.first.second;
  });
  std::vector<AlertStats> out;
  out.reserve(order.size());
  for (auto& [key, t] : order) {
    AlertStats st;
    st.zone = key.second;
    const Wide start = Wide{q.range.start_ns} + key.first * period;
    st.period_start_ns = static_cast<int64_t>(start);
    st.period_end_ns = static_cast<int64_t>(std::min<Wide>(start + period, q.range.end_ns));
    st.raised = t->raised;
    st.responded = static_cast<int64_t>(t->response.size());
    st.closed = static_cast<int64_t>(t->close.size());
    st.response_p50_ns = NearestRankPercentile(t->response, 50);
    st.response_p90_ns = NearestRankPercentile(t->response, 90);
    st.close_p50_ns = NearestRankPercentile(t->close, 50);
    st.close_p90_ns = NearestRankPercentile(t->close, 90);
    st.within = t->within;
    st.decided = t->decided;
    st.within_share = t->decided > 0 ? static_cast<double>(t->within) / static_cast<double>(t->decided) : 0;
    out.push_back(std::move(st));
  }
  return out;
}

namespace {

// The chain: SHA-256 over the previous row's hash and this row's fields, each length-prefixed so
// that no two rows hash alike by shifting text between fields.
std::string ChainHash(const std::string& prev, int64_t id, const AuditEntry& e) {
  Sha256 h;
  auto put = [&h](std::string_view field) {
    std::string len = fmt::format("{}:", field.size());
    h.Update(len.data(), len.size());
    h.Update(field.data(), field.size());
  };
  put(prev);
  put(std::to_string(id));
  put(std::to_string(e.time_ns));
  put(e.who);
  put(e.role);
  put(e.action);
  put(e.detail);
  put(e.result_sha256);
  return h.FinishHex();
}

}  // namespace

namespace {

// Appends `e` to the chain (writer thread only): its id and hash follow the last row's.
Status InsertAudit(StmtCache& sc, const AuditEntry& e, int64_t* id_out);

}  // namespace

Status SqliteStore::QueueAudit(const AuditEntry& e) {
  if (e.who.empty() || e.action.empty()) {
    return Status::InvalidArgument("an audit entry needs who and what");
  }
  {
    std::lock_guard lock(audit_mu_);
    if (!audit_error_.ok()) {
      // Written synchronously until the trail can be written again.
      Status st = AppendAudit(e).status();
      if (st.ok()) audit_error_ = Status::Ok();
      return st;
    }
  }
  return WriteAsync([this, e](StmtCache& sc) -> Status {
    Status st = InsertAudit(sc, e, nullptr);
    if (!st.ok()) {
      std::lock_guard lock(audit_mu_);
      audit_error_ = st;
      log_->error("audit row of {} ({}) not written: {}", e.who, e.action, st);
    }
    return st;
  });
}

Result<int64_t> SqliteStore::AppendAudit(const AuditEntry& e) {
  if (e.who.empty() || e.action.empty()) {
    return Status::InvalidArgument("an audit entry needs who and what");
  }
  auto id = std::make_shared<int64_t>(0);
  VIGIL_RETURN_IF_ERROR(WriteSync([e, id](StmtCache& sc) -> Status { return InsertAudit(sc, e, id.get()); }));
  return *id;
}

namespace {

Status InsertAudit(StmtCache& sc, const AuditEntry& e, int64_t* id_out) {
  {
    // One writer thread: the last row read here is the last row when this one is inserted.
    VIGIL_ASSIGN_OR_RETURN(Stmt * last, sc.Get("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"));
    int64_t next = 1;
    std::string prev;
    VIGIL_ASSIGN_OR_RETURN(bool row, last->Step());
    if (row) {
      next = last->Int(0) + 1;
      prev = last->Text(1);
    }
    last->Reset();
    std::string hash = ChainHash(prev, next, e);
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, sc.Get("INSERT INTO audit (id, time_ns, who, action, detail, result_sha256, role, "
                         "hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    s->Bind(1, next).Bind(2, e.time_ns).Bind(3, e.who).Bind(4, e.action).Bind(5, e.detail);
    s->Bind(6, e.result_sha256).Bind(7, e.role).Bind(8, hash);
    VIGIL_RETURN_IF_ERROR(s->Run());
    if (id_out) *id_out = next;
    return Status::Ok();
  }
}

}  // namespace

Result<AuditVerification> SqliteStore::VerifyAudit() {
  std::lock_guard lock(read_mu_);
  VIGIL_ASSIGN_OR_RETURN(
      Stmt * s, reader_stmts_.Get("SELECT id, time_ns, who, action, detail, result_sha256, role, hash "
                                  "FROM audit ORDER BY id"));
  AuditVerification v;
  std::string prev;
  bool chained = false;
  int64_t last_id = 0;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    AuditEntry e{s->Int(0), s->Int(1), s->Text(2), s->Text(3), s->Text(4), s->Text(5), s->Text(6), s->Text(7)};
    ++v.rows;
    auto bad = [&](std::string why) {
      v.intact = false;
      v.first_bad_id = e.id;
      v.problem = std::move(why);
    };
    if (e.hash.empty() && !chained) {
      ++v.unchained;
    } else if (e.hash.empty()) {
      bad(fmt::format("row {} has no hash after the chain began", e.id));
    } else if (chained && e.id != last_id + 1) {
      bad(fmt::format("rows {} to {} are missing", last_id + 1, e.id - 1));
    } else if (ChainHash(prev, e.id, e) != e.hash) {
      bad(fmt::format("row {} ({} by {} at {}) does not match its hash: it or the row before it "
                      "was changed",
                      e.id, e.action, e.who, FormatUtc(e.time_ns)));
    }
    if (!v.intact) break;
    if (!e.hash.empty()) chained = true;
    prev = e.hash;
    last_id = e.id;
  }
  s->Reset();
  v.head_hash = prev;
  return v;
}

Result<Page<AuditEntry>> SqliteStore::Audit(const AuditQuery& q) {
  VIGIL_RETURN_IF_ERROR(ValidateRange(q.range, "audit"));
  VIGIL_RETURN_IF_ERROR(ValidateLimit(q.page.limit));
  Fingerprint fp;
  fp.Add(q.range.start_ns).Add(q.range.end_ns).Add(q.who);
  VIGIL_ASSIGN_OR_RETURN(auto token, DecodeToken(q.page.token, "audit", fp.value(), 2));
  std::lock_guard lock(read_mu_);
  VIGIL_ASSIGN_OR_RETURN(
      Stmt * s, reader_stmts_.Get("SELECT id, time_ns, who, action, detail, result_sha256, role, hash FROM audit "
                                  "WHERE (?5 = '' OR who = ?5) AND time_ns >= ?1 AND time_ns < ?2 "
                                  "AND (time_ns, id) < (?3, ?4) ORDER BY time_ns DESC, id DESC "
                                  "LIMIT ?6"));
  s->Bind(1, q.range.start_ns).Bind(2, q.range.end_ns);
  s->Bind(3, token.empty() ? q.range.end_ns : token[0]).Bind(4, token.empty() ? INT64_MIN : token[1]);
  s->Bind(5, q.who).Bind(6, q.page.limit + 1);
  Page<AuditEntry> page;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    if (static_cast<int64_t>(page.items.size()) == q.page.limit) {
      const AuditEntry& last = page.items.back();
      page.next_token = EncodeToken("audit", fp.value(), {last.time_ns, last.id});
      break;
    }
    page.items.push_back({s->Int(0), s->Int(1), s->Text(2), s->Text(3), s->Text(4), s->Text(5),
                          s->Text(6), s->Text(7)});
  }
  s->Reset();
  return page;
}

}  // namespace vigil::index::internal
