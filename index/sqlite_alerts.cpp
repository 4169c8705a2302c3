// SQLite Store, part 4: alerts and the audit trail.

#include "index/internal/page_token.h"
#include "index/internal/sqlite_store.h"

namespace vigil::index::internal {

Result<int64_t> SqliteStore::RaiseAlert(const Alert& a) {
  if (a.kind.empty()) return Status::InvalidArgument("alert needs a kind");
  VIGIL_ASSIGN_OR_RETURN(int64_t num, CameraNum(a.camera));
  auto id = std::make_shared<int64_t>(0);
  VIGIL_RETURN_IF_ERROR(WriteSync([a, num, id](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, sc.Get("INSERT INTO alerts (camera, time_ns, kind, message, event_id, "
                         "plate_read_id, watch_id, state, state_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                         "?7, 0, ?2)"));
    s->Bind(1, num).Bind(2, a.time_ns).Bind(3, a.kind).Bind(4, a.message).Bind(5, a.event_id);
    s->Bind(6, a.plate_read_id).Bind(7, a.watch_id);
    VIGIL_RETURN_IF_ERROR(s->Run());
    *id = sc.db().LastInsertId();
    return Status::Ok();
  }));
  return *id;
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
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, sc.Get("UPDATE alerts SET state = ?2, state_by = ?3, state_ns = ?4, note = ?5 "
                         "WHERE id = ?1"));
    s->Bind(1, id).Bind(2, static_cast<int64_t>(state)).Bind(3, by).Bind(4, now_ns).Bind(5, note);
    return s->Run();
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
  VIGIL_ASSIGN_OR_RETURN(auto token, DecodeToken(q.page.token, "alerts", fp.value(), 2));
  VIGIL_ASSIGN_OR_RETURN(auto nums, ResolveCameras(q.cameras, std::nullopt));
  std::string sql = fmt::format(
      "SELECT id, camera, time_ns, kind, message, event_id, plate_read_id, watch_id, state, "
      "state_by, state_ns, note FROM alerts WHERE time_ns >= ?1 AND time_ns < ?2 AND (time_ns, id) "
      "< (?3, ?4) {} {} {} ORDER BY time_ns DESC, id DESC LIMIT ?5",
      nums ? fmt::format("AND camera IN ({})", IntList(*nums)) : "",
      states.empty() ? "" : fmt::format("AND state IN ({})", IntList(states)),
      q.id > 0 ? fmt::format("AND id = {}", q.id) : "");
  std::lock_guard lock(read_mu_);
  VIGIL_ASSIGN_OR_RETURN(Stmt s, reader_db_->Prepare(sql));
  s.Bind(1, q.range.start_ns).Bind(2, q.range.end_ns);
  // Without a token the keyset bound is the range's end itself: SQLite seeks on one bound only,
  // so both must be tight.
  s.Bind(3, token.empty() ? q.range.end_ns : token[0]).Bind(4, token.empty() ? INT64_MIN : token[1]);
  s.Bind(5, q.page.limit + 1);
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
    page.items.push_back(std::move(a));
  }
  return page;
}

Result<int64_t> SqliteStore::AppendAudit(const AuditEntry& e) {
  if (e.who.empty() || e.action.empty()) {
    return Status::InvalidArgument("an audit entry needs who and what");
  }
  auto id = std::make_shared<int64_t>(0);
  VIGIL_RETURN_IF_ERROR(WriteSync([e, id](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, sc.Get("INSERT INTO audit (time_ns, who, action, detail, result_sha256) VALUES "
                         "(?1, ?2, ?3, ?4, ?5)"));
    s->Bind(1, e.time_ns).Bind(2, e.who).Bind(3, e.action).Bind(4, e.detail).Bind(5, e.result_sha256);
    VIGIL_RETURN_IF_ERROR(s->Run());
    *id = sc.db().LastInsertId();
    return Status::Ok();
  }));
  return *id;
}

Result<Page<AuditEntry>> SqliteStore::Audit(const AuditQuery& q) {
  VIGIL_RETURN_IF_ERROR(ValidateRange(q.range, "audit"));
  VIGIL_RETURN_IF_ERROR(ValidateLimit(q.page.limit));
  Fingerprint fp;
  fp.Add(q.range.start_ns).Add(q.range.end_ns).Add(q.who);
  VIGIL_ASSIGN_OR_RETURN(auto token, DecodeToken(q.page.token, "audit", fp.value(), 2));
  std::lock_guard lock(read_mu_);
  VIGIL_ASSIGN_OR_RETURN(
      Stmt * s, reader_stmts_.Get("SELECT id, time_ns, who, action, detail, result_sha256 FROM audit "
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
    page.items.push_back({s->Int(0), s->Int(1), s->Text(2), s->Text(3), s->Text(4), s->Text(5)});
  }
  s->Reset();
  return page;
}

}  // namespace vigil::index::internal
