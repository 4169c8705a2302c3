#include "proto/remote_store.h"

#include <fmt/format.h>

#include "proto/convert.h"

namespace vigil::api {
namespace {

Status NotRemote(std::string_view what) {
  return Status::FailedPrecondition(
      fmt::format("{} is not available through the API (use --data on the recording node)", what));
}

void SetRange(const index::TimeRange& r, v1::TimeRange* out) {
  out->set_from_ns(r.start_ns);
  out->set_to_ns(r.end_ns);
}

void SetArea(const std::optional<index::Area>& a, v1::Area* out) {
  if (!a) return;
  out->mutable_center()->set_lat(a->center.lat);
  out->mutable_center()->set_lon(a->center.lon);
  out->set_radius_m(a->radius_m);
  for (const auto& p : a->polygon) {
    auto* v = out->add_polygon();
    v->set_lat(p.lat);
    v->set_lon(p.lon);
  }
}

void SetPage(const index::PageRequest& p, v1::Page* out) {
  out->set_limit(p.limit);
  out->set_page_token(p.token);
}

class RemoteStore final : public index::Store {
 public:
  explicit RemoteStore(std::unique_ptr<Client> client) : client_(std::move(client)) {}

  Status UpsertCamera(const index::Camera& camera) override {
    v1::Request q;
    ToPb(camera, q.mutable_upsert_camera()->mutable_camera());
    return Call(q).status();
  }
  Result<std::vector<index::Camera>> Cameras() override {
    v1::Request q;
    q.mutable_cameras();
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    std::vector<index::Camera> out;
    for (const auto& c : r.cameras().cameras()) out.push_back(FromPb(c));
    return out;
  }
  Result<int64_t> BeginSegment(const index::Segment&) override { return NotRemote("recording"); }
  Status FinishSegment(const index::Segment&) override { return NotRemote("recording"); }
  Result<std::vector<index::Segment>> Segments(const index::SegmentFilter&) override {
    return NotRemote("the segment list");
  }
  Status MarkDeleting(const std::vector<int64_t>&) override { return NotRemote("retention"); }
  Status DeleteSegments(const std::vector<int64_t>&) override { return NotRemote("retention"); }
  Result<std::vector<index::CameraUsage>> Usage() override { return NotRemote("disk usage"); }
  Result<int64_t> OpenGap(const index::Gap&) override { return NotRemote("recording"); }
  Status CloseGap(int64_t, int64_t) override { return NotRemote("recording"); }
  Result<std::vector<index::Gap>> Gaps(const std::string& camera, int64_t start_ns,
                                       int64_t end_ns) override {
    index::FootageQuery q;
    q.range = {start_ns, end_ns};
    if (!camera.empty()) q.cameras = {camera};
    std::vector<index::Gap> out;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(auto page, Footage(q));
      out.insert(out.end(), page.gaps.begin(), page.gaps.end());
      if (page.next_token.empty()) break;
      q.page.token = page.next_token;
    }
    return out;
  }

  Result<std::vector<index::CameraDistance>> CamerasIn(const index::Area& area) override {
    v1::Request q;
    SetArea(area, q.mutable_place()->mutable_area());
    return Place(q);
  }
  Result<std::vector<index::CameraDistance>> NearestCameras(index::LatLon p, int k) override {
    v1::Request q;
    q.mutable_place()->mutable_area()->mutable_center()->set_lat(p.lat);
    q.mutable_place()->mutable_area()->mutable_center()->set_lon(p.lon);
    q.mutable_place()->set_nearest(k);
    return Place(q);
  }
  Result<index::FootageResult> Footage(const index::FootageQuery& fq) override {
    v1::Request q;
    auto* f = q.mutable_footage();
    SetRange(fq.range, f->mutable_range());
    for (const auto& c : fq.cameras) f->add_cameras(c);
    if (fq.area) SetArea(fq.area, f->mutable_area());
    SetPage(fq.page, f->mutable_page());
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    index::FootageResult out;
    for (const auto& s : r.footage().spans()) {
      out.spans.push_back({s.camera(), s.start_ns(), s.end_ns(), s.segments(), s.bytes()});
    }
    for (const auto& g : r.footage().gaps()) {
      index::Gap gap{0, g.camera(), g.start_ns(), std::nullopt, g.reason()};
      if (g.end_ns() != 0) gap.end_ns = g.end_ns();
      out.gaps.push_back(std::move(gap));
    }
    out.next_token = r.footage().next_page_token();
    return out;
  }

  Result<int64_t> AddEvent(const index::Event&) override { return NotRemote("adding events"); }
  Status EndEvent(const std::string&, int64_t, int64_t, int64_t, index::ObjectClass, double) override {
    return NotRemote("ending events");
  }
  Result<int64_t> AddPlateRead(const index::PlateRead&) override {
    return NotRemote("adding plate reads");
  }
  Result<index::Page<index::Event>> Events(const index::EventQuery& eq) override {
    v1::Request q;
    auto* e = q.mutable_events();
    SetRange(eq.range, e->mutable_range());
    for (const auto& c : eq.cameras) e->add_cameras(c);
    if (eq.area) SetArea(eq.area, e->mutable_area());
    for (auto t : eq.types) e->add_types(std::string(index::EventTypeName(t)));
    for (const auto& z : eq.zones) e->add_zones(z);
    for (auto c : eq.classes) e->add_classes(std::string(index::ObjectClassName(c)));
    e->set_newest_first(eq.newest_first);
    SetPage(eq.page, e->mutable_page());
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    index::Page<index::Event> out;
    for (const auto& ev : r.events().events()) out.items.push_back(FromPb(ev));
    out.next_token = r.events().next_page_token();
    return out;
  }
  Result<index::Page<index::EventCount>> CountEvents(const index::CountQuery& cq) override {
    v1::Request q;
    auto* c = q.mutable_counts();
    SetRange(cq.range, c->mutable_range());
    for (const auto& id : cq.cameras) c->add_cameras(id);
    for (auto t : cq.types) c->add_types(std::string(index::EventTypeName(t)));
    SetPage(cq.page, c->mutable_page());
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    index::Page<index::EventCount> out;
    for (const auto& n : r.counts().counts()) {
      out.items.push_back({n.camera(), index::ParseEventType(n.type()).value_or(index::EventType::kMotion),
                           n.hour_ns(), n.count()});
    }
    out.next_token = r.counts().next_page_token();
    return out;
  }
  Result<index::Page<index::PlateHit>> Plates(const index::PlateQuery& pq) override {
    v1::Request q;
    auto* p = q.mutable_plates();
    p->set_pattern(pq.pattern);
    p->set_match(static_cast<v1::PlateMatch>(static_cast<int>(pq.match)));
    p->set_max_substitutions(pq.max_substitutions);
    SetRange(pq.range, p->mutable_range());
    for (const auto& c : pq.cameras) p->add_cameras(c);
    if (pq.area) SetArea(pq.area, p->mutable_area());
    SetPage(pq.page, p->mutable_page());
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    index::Page<index::PlateHit> out;
    for (const auto& h : r.plates().hits()) out.items.push_back({FromPb(h.read()), h.substitutions()});
    out.next_token = r.plates().next_page_token();
    return out;
  }

  Result<int64_t> AddWatch(const index::WatchEntry& w) override {
    v1::Request q;
    ToPb(w, q.mutable_watchlist_add()->mutable_entry());
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    return r.watchlist_add().id();
  }
  Status RemoveWatch(int64_t id, const std::string&, int64_t) override {
    v1::Request q;
    q.mutable_watchlist_remove()->set_id(id);
    return Call(q).status();
  }
  Result<std::vector<index::WatchEntry>> Watchlist() override {
    v1::Request q;
    q.mutable_watchlist();
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    std::vector<index::WatchEntry> out;
    for (const auto& w : r.watchlist().entries()) {
      out.push_back({w.id(), w.pattern(), static_cast<index::PlateMatch>(static_cast<int>(w.match())),
                     w.max_substitutions(), w.reason(), w.added_by(), w.added_ns(), w.priority(),
                     w.expires_ns()});
    }
    return out;
  }
  Status UpsertZone(const index::ResponseZone& z) override {
    v1::Request q;
    ToPb(z, q.mutable_zone_upsert()->mutable_zone());
    return Call(q).status();
  }
  Status RemoveZone(const std::string& id) override {
    v1::Request q;
    q.mutable_zone_remove()->set_id(id);
    return Call(q).status();
  }
  Result<std::vector<index::ResponseZone>> Zones() override {
    v1::Request q;
    q.mutable_zones();
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    std::vector<index::ResponseZone> out;
    for (const auto& z : r.zones().zones()) out.push_back(FromPb(z));
    return out;
  }
  Result<index::Alert> RaiseAlert(const index::Alert&) override { return NotRemote("raising alerts"); }
  Status LinkAlertRead(int64_t, int64_t) override { return NotRemote("linking alerts"); }
  Status SetAlertState(int64_t id, index::AlertState state, const std::string&,
                       const std::string& note, int64_t) override {
    v1::Request q;
    q.mutable_alert_update()->set_id(id);
    q.mutable_alert_update()->set_state(std::string(index::AlertStateName(state)));
    q.mutable_alert_update()->set_note(note);
    return Call(q).status();
  }
  Result<index::Page<index::Alert>> Alerts(const index::AlertQuery& aq) override {
    v1::Request q;
    auto* a = q.mutable_alerts();
    SetRange(aq.range, a->mutable_range());
    for (const auto& c : aq.cameras) a->add_cameras(c);
    for (auto s : aq.states) a->add_states(std::string(index::AlertStateName(s)));
    a->set_id(aq.id);
    for (const auto& z : aq.zones) a->add_zones(z);
    SetPage(aq.page, a->mutable_page());
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    index::Page<index::Alert> out;
    for (const auto& al : r.alerts().alerts()) out.items.push_back(FromPb(al));
    out.next_token = r.alerts().next_page_token();
    return out;
  }
  Result<std::vector<index::AlertStats>> AlertStatistics(const index::AlertStatsQuery& sq) override {
    v1::Request q;
    auto* a = q.mutable_alert_stats();
    SetRange(sq.range, a->mutable_range());
    for (const auto& z : sq.zones) a->add_zones(z);
    a->set_period_ns(sq.period_ns);
    a->set_within_ns(sq.within_ns);
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    std::vector<index::AlertStats> out;
    for (const auto& row : r.alert_stats().rows()) out.push_back(FromPb(row));
    return out;
  }
  Result<int64_t> AppendAudit(const index::AuditEntry&) override {
    return NotRemote("writing the audit trail");
  }
  Result<index::Page<index::AuditEntry>> Audit(const index::AuditQuery&) override {
    return NotRemote("the audit trail");
  }
  Result<index::AuditVerification> VerifyAudit() override { return NotRemote("the audit trail"); }
  Status Flush() override { return Status::Ok(); }

 private:
  Result<v1::Response> Call(const v1::Request& q) {
    std::lock_guard lock(mu_);
    return client_->Call(q);
  }
  Result<std::vector<index::CameraDistance>> Place(const v1::Request& q) {
    VIGIL_ASSIGN_OR_RETURN(auto r, Call(q));
    std::vector<index::CameraDistance> out;
    for (const auto& c : r.place().cameras()) out.push_back({FromPb(c.camera()), c.distance_m()});
    return out;
  }

  std::mutex mu_;  // one request at a time on the client's socket
  std::unique_ptr<Client> client_;
};

}  // namespace

std::unique_ptr<index::Store> MakeRemoteStore(std::unique_ptr<Client> client) {
  return std::make_unique<RemoteStore>(std::move(client));
}

}  // namespace vigil::api
