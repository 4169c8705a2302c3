#include "proto/server.h"

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include <google/protobuf/text_format.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zmq.hpp>

#include "base/log.h"
#include "index/geo.h"
#include "proto/convert.h"

namespace vigil::api {
namespace {

using v1::Request;
using v1::Response;

Response ErrorResponse(uint64_t id, const Status& st) {
  Response r;
  r.set_id(id);
  *r.mutable_error() = ToError(st);
  return r;
}

// The request's own fields as one line of text (UTF-8 kept: plates stay readable), for the audit.
std::string Describe(const Request& q) {
  const auto* kind = Request::descriptor()->FindFieldByNumber(static_cast<int>(q.kind_case()));
  if (!kind) return "";
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.SetUseUtf8StringEscaping(true);
  std::string out;
  printer.PrintToString(q.GetReflection()->GetMessage(q, kind), &out);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out = RedactUrlPasswords(out);
  return out.size() > 2048 ? out.substr(0, 2048) + "…" : out;
}

// The tail of a rate-limited warning: how many like it were not logged.
std::string HeldBack(int64_t held) {
  return held > 0 ? fmt::format(" ({} more like this not logged since the last one)", held) : "";
}

Response Malformed(const std::string& why) {
  Response r;
  r.mutable_error()->set_code(v1::Error::MALFORMED);
  r.mutable_error()->set_message(why);
  return r;
}

template <typename Fn>
Response Answer(uint64_t id, Fn&& fn) {
  Response r;
  r.set_id(id);
  Status st = fn(r);
  if (!st.ok()) return ErrorResponse(id, st);
  return r;
}

}  // namespace

void QuietProtobufLogs() {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int,
                                       const std::string& message) {
      Logger("api")->debug("protobuf: {}", message);
    });
    return true;
  }();
  (void)quiet;
}

namespace {

// Dispatch exports only an alert's clip: one camera, a short range near one of its alerts.
Status CheckDispatchClip(const v1::ExportRequest& e, index::Store& reader) {
  const int64_t length = e.range().to_ns() - e.range().from_ns();
  if (e.cameras_size() != 1 || e.has_area() || length <= 0 || length > kDispatchClipMaxNs) {
    return Status::PermissionDenied(fmt::format(
        "dispatch may export only an alert's clip: one camera, at most {} s near one of its alerts",
        kDispatchClipMaxNs / 1'000'000'000));
  }
  index::AlertQuery aq;
  aq.range = {e.range().from_ns() - kDispatchClipSlackNs, e.range().to_ns() + kDispatchClipSlackNs};
  aq.cameras = {e.cameras(0)};
  aq.page.limit = 1;
  VIGIL_ASSIGN_OR_RETURN(auto page, reader.Alerts(aq));
  if (page.items.empty()) {
    return Status::PermissionDenied(fmt::format(
        "dispatch may export only an alert's clip: {} raised no alert within {} s of that range",
        Printable(e.cameras(0), 64), kDispatchClipSlackNs / 1'000'000'000));
  }
  return Status::Ok();
}

}  // namespace

Response Handle(const Request& q, const Identity& who, index::Store& reader, index::Store& writer,
                Clock& clock, const StatusFiller& status, int64_t started_ns, Exporter* exporter,
                const SnapshotTaker& snapshot) {
  const uint64_t id = q.id();
  switch (q.kind_case()) {
    case Request::kStatus:
      return Answer(id, [&](Response& r) {
        auto* s = r.mutable_status();
        s->set_version(kVigilVersion);
        s->set_now_ns(clock.WallNs());
        s->set_schema_version(index::SqliteSchemaVersion());
        s->set_started_ns(started_ns);
        if (status) status(s);
        return Status::Ok();
      });
    case Request::kSnapshot:
      return Answer(id, [&](Response& r) -> Status {
        const auto& sq = q.snapshot();
        if (sq.camera().empty()) return Status::InvalidArgument("snapshot: name a camera");
        if (sq.max_width() < 0) return Status::InvalidArgument("snapshot: max_width must not be negative");
        if (!snapshot) return Status::FailedPrecondition("this server has no live pictures");
        return snapshot(sq, r.mutable_snapshot());
      });
    case Request::kCameras:
      return Answer(id, [&](Response& r) -> Status {
        VIGIL_ASSIGN_OR_RETURN(auto cams, reader.Cameras());
        auto* out = r.mutable_cameras();
        for (const auto& c : cams) ToPb(c, out->add_cameras());
        return Status::Ok();
      });
    case Request::kUpsertCamera:
      return Answer(id, [&](Response& r) -> Status {
        index::Camera cam = FromPb(q.upsert_camera().camera());
        for (const std::string* url : {&cam.main_url, &cam.sub_url}) {
          if (HasUrlPassword(*url)) {
            // Cameras are listed to every role; credentials belong in vigild's config.
            return Status::InvalidArgument(fmt::format(
                "camera {}: a URL over the API carries no password (every user sees camera "
                "addresses): put the credentials in vigild's config",
                Printable(cam.id)));
          }
        }
        // A change names only what changes: empty fields, no tags and an unplaced (0, 0)
        // position keep what the camera has (a rename does not unplace it from its zones).
        VIGIL_ASSIGN_OR_RETURN(auto cams, reader.Cameras());
        for (const auto& old : cams) {
          if (old.id != cam.id) continue;
          for (auto [field, was] : {std::pair{&cam.name, &old.name}, {&cam.main_url, &old.main_url},
                                    {&cam.sub_url, &old.sub_url}, {&cam.place, &old.place},
                                    {&cam.district, &old.district}}) {
            if (field->empty()) *field = *was;
          }
          if (cam.tags.empty()) cam.tags = old.tags;
          if (cam.lat == 0 && cam.lon == 0) {
            cam.lat = old.lat;
            cam.lon = old.lon;
          }
        }
        VIGIL_RETURN_IF_ERROR(writer.UpsertCamera(cam));
        r.mutable_upsert_camera();
        return Status::Ok();
      });
    case Request::kEvents:
      return Answer(id, [&](Response& r) -> Status {
        const auto& e = q.events();
        index::EventQuery eq;
        eq.range = FromPb(e.range());
        eq.cameras.assign(e.cameras().begin(), e.cameras().end());
        eq.area = FromPb(e.area(), e.has_area());
        VIGIL_ASSIGN_OR_RETURN(eq.types, EventTypesFromPb(e.types()));
        eq.zones.assign(e.zones().begin(), e.zones().end());
        VIGIL_ASSIGN_OR_RETURN(eq.classes, ObjectClassesFromPb(e.classes()));
        eq.newest_first = e.newest_first();
        eq.page = FromPb(e.page(), e.has_page());
        VIGIL_ASSIGN_OR_RETURN(auto page, reader.Events(eq));
        auto* out = r.mutable_events();
        for (const auto& ev : page.items) ToPb(ev, out->add_events());
        out->set_next_page_token(page.next_token);
        return Status::Ok();
      });
    case Request::kFootage:
      return Answer(id, [&](Response& r) -> Status {
        const auto& f = q.footage();
        index::FootageQuery fq;
        fq.range = FromPb(f.range());
        fq.cameras.assign(f.cameras().begin(), f.cameras().end());
        fq.area = FromPb(f.area(), f.has_area());
        fq.page = FromPb(f.page(), f.has_page());
        VIGIL_ASSIGN_OR_RETURN(auto res, reader.Footage(fq));
        auto* out = r.mutable_footage();
        for (const auto& s : res.spans) ToPb(s, out->add_spans());
        for (const auto& g : res.gaps) ToPb(g, out->add_gaps());
        out->set_next_page_token(res.next_token);
        return Status::Ok();
      });
    case Request::kPlace:
      return Answer(id, [&](Response& r) -> Status {
        const auto& p = q.place();
        auto area = FromPb(p.area(), true);
        std::vector<index::CameraDistance> found;
        if (p.nearest() > 0) {
          VIGIL_ASSIGN_OR_RETURN(found, reader.NearestCameras(area->center, p.nearest()));
        } else {
          VIGIL_ASSIGN_OR_RETURN(found, reader.CamerasIn(*area));
        }
        auto* out = r.mutable_place();
        for (const auto& cd : found) {
          auto* c = out->add_cameras();
          ToPb(cd.camera, c->mutable_camera());
          c->set_distance_m(cd.distance_m);
        }
        return Status::Ok();
      });
    case Request::kPlates:
      return Answer(id, [&](Response& r) -> Status {
        const auto& p = q.plates();
        index::PlateQuery pq;
        pq.pattern = p.pattern();
        pq.match = static_cast<index::PlateMatch>(static_cast<int>(p.match()));
        pq.max_substitutions = p.max_substitutions();
        pq.range = FromPb(p.range());
        pq.cameras.assign(p.cameras().begin(), p.cameras().end());
        pq.area = FromPb(p.area(), p.has_area());
        pq.page = FromPb(p.page(), p.has_page());
        VIGIL_ASSIGN_OR_RETURN(auto page, reader.Plates(pq));
        auto* out = r.mutable_plates();
        for (const auto& h : page.items) {
          auto* hit = out->add_hits();
          ToPb(h.read, hit->mutable_read());
          hit->set_substitutions(h.substitutions);
        }
        out->set_next_page_token(page.next_token);
        return Status::Ok();
      });
    case Request::kExportClip:
      return Answer(id, [&](Response& r) -> Status {
        if (!exporter) return Status::FailedPrecondition("clip export is not enabled on this server");
        if (who.role == Role::kDispatch) {
          VIGIL_RETURN_IF_ERROR(CheckDispatchClip(q.export_clip(), reader));
        }
        VIGIL_ASSIGN_OR_RETURN(*r.mutable_export_clip(),
                               exporter->Start(q.export_clip(), who, reader));
        return Status::Ok();
      });
    case Request::kExportFetch:
      return ErrorResponse(
          id, Status::FailedPrecondition("export fetches are answered by the server's workers"));
    case Request::kWatchlistAdd:
      return Answer(id, [&](Response& r) -> Status {
        const auto& w = q.watchlist_add().entry();
        index::WatchEntry e;
        e.pattern = w.pattern();
        e.match = static_cast<index::PlateMatch>(static_cast<int>(w.match()));
        e.max_substitutions = w.max_substitutions();
        e.reason = w.reason();
        e.added_by = who.user;
        e.added_ns = clock.WallNs();
        e.priority = w.priority() == 0 ? 3 : w.priority();
        e.expires_ns = w.expires_ns();
        VIGIL_ASSIGN_OR_RETURN(int64_t added, writer.AddWatch(e));
        r.mutable_watchlist_add()->set_id(added);
        return Status::Ok();
      });
    case Request::kWatchlistRemove:
      return Answer(id, [&](Response& r) -> Status {
        VIGIL_RETURN_IF_ERROR(writer.RemoveWatch(q.watchlist_remove().id(), who.user, clock.WallNs()));
        r.mutable_watchlist_remove();
        return Status::Ok();
      });
    case Request::kWatchlist:
      return Answer(id, [&](Response& r) -> Status {
        VIGIL_ASSIGN_OR_RETURN(auto list, reader.Watchlist());
        auto* out = r.mutable_watchlist();
        for (const auto& w : list) ToPb(w, out->add_entries());
        return Status::Ok();
      });
    case Request::kAlerts:
      return Answer(id, [&](Response& r) -> Status {
        const auto& a = q.alerts();
        index::AlertQuery aq;
        aq.range = FromPb(a.range());
        aq.cameras.assign(a.cameras().begin(), a.cameras().end());
        for (const auto& s : a.states()) {
          auto st = index::ParseAlertState(s);
          if (!st) return Status::InvalidArgument(fmt::format("unknown alert state '{}'", s));
          aq.states.push_back(*st);
        }
        aq.id = a.id();
        aq.zones.assign(a.zones().begin(), a.zones().end());
        aq.page = FromPb(a.page(), a.has_page());
        VIGIL_ASSIGN_OR_RETURN(auto page, reader.Alerts(aq));
        auto* out = r.mutable_alerts();
        for (const auto& al : page.items) ToPb(al, out->add_alerts());
        out->set_next_page_token(page.next_token);
        return Status::Ok();
      });
    case Request::kAlertUpdate:
      return Answer(id, [&](Response& r) -> Status {
        const auto& u = q.alert_update();
        auto st = index::ParseAlertState(u.state());
        if (!st) return Status::InvalidArgument(fmt::format("unknown alert state '{}'", u.state()));
        VIGIL_RETURN_IF_ERROR(writer.SetAlertState(u.id(), *st, who.user, u.note(), clock.WallNs()));
        r.mutable_alert_update();
        return Status::Ok();
      });
    case Request::kZones:
      return Answer(id, [&](Response& r) -> Status {
        VIGIL_ASSIGN_OR_RETURN(auto zones, reader.Zones());
        auto* out = r.mutable_zones();
        for (const auto& z : zones) ToPb(z, out->add_zones());
        return Status::Ok();
      });
    case Request::kZoneUpsert:
      return Answer(id, [&](Response& r) -> Status {
        index::ResponseZone z = FromPb(q.zone_upsert().zone());
        z.updated_by = who.user;
        z.updated_ns = clock.WallNs();
        VIGIL_RETURN_IF_ERROR(writer.UpsertZone(z));
        r.mutable_zone_upsert();
        return Status::Ok();
      });
    case Request::kZoneRemove:
      return Answer(id, [&](Response& r) -> Status {
        VIGIL_RETURN_IF_ERROR(writer.RemoveZone(q.zone_remove().id()));
        r.mutable_zone_remove();
        return Status::Ok();
      });
    case Request::kAlertStats:
      return Answer(id, [&](Response& r) -> Status {
        const auto& a = q.alert_stats();
        index::AlertStatsQuery sq;
        sq.range = FromPb(a.range());
        sq.zones.assign(a.zones().begin(), a.zones().end());
        sq.period_ns = a.period_ns();
        if (a.within_ns() != 0) sq.within_ns = a.within_ns();
        sq.now_ns = clock.WallNs();
        VIGIL_ASSIGN_OR_RETURN(auto rows, reader.AlertStatistics(sq));
        auto* out = r.mutable_alert_stats();
        for (const auto& row : rows) ToPb(row, out->add_rows());
        out->set_within_ns(sq.within_ns);
        return Status::Ok();
      });
    case Request::kCounts:
      return Answer(id, [&](Response& r) -> Status {
        const auto& c = q.counts();
        index::CountQuery cq;
        cq.range = FromPb(c.range());
        cq.cameras.assign(c.cameras().begin(), c.cameras().end());
        VIGIL_ASSIGN_OR_RETURN(cq.types, EventTypesFromPb(c.types()));
        cq.page = FromPb(c.page(), c.has_page());
        VIGIL_ASSIGN_OR_RETURN(auto page, reader.CountEvents(cq));
        auto* out = r.mutable_counts();
        for (const auto& n : page.items) {
          auto* o = out->add_counts();
          o->set_camera(n.camera);
          o->set_type(std::string(index::EventTypeName(n.type)));
          o->set_hour_ns(n.hour_ns);
          o->set_count(n.count);
        }
        out->set_next_page_token(page.next_token);
        return Status::Ok();
      });
    case Request::kAudit:
      return Answer(id, [&](Response& r) -> Status {
        const auto& a = q.audit();
        VIGIL_RETURN_IF_ERROR(writer.Flush());  // every row queued before this request, committed
        index::AuditQuery aq;
        aq.range = FromPb(a.range());
        aq.who = a.user();
        aq.page = FromPb(a.page(), a.has_page());
        VIGIL_ASSIGN_OR_RETURN(auto page, reader.Audit(aq));
        auto* out = r.mutable_audit();
        for (const auto& e : page.items) {
          auto* row = out->add_rows();
          row->set_id(e.id);
          row->set_time_ns(e.time_ns);
          row->set_user(e.who);
          row->set_role(e.role);
          row->set_action(e.action);
          row->set_detail(e.detail);
          row->set_result_sha256(e.result_sha256);
          row->set_hash(e.hash);
        }
        out->set_next_page_token(page.next_token);
        if (a.verify()) {
          VIGIL_ASSIGN_OR_RETURN(auto v, reader.VerifyAudit());
          auto* pv = out->mutable_verification();
          pv->set_rows(v.rows);
          pv->set_unchained(v.unchained);
          pv->set_intact(v.intact);
          pv->set_first_bad_id(v.first_bad_id);
          pv->set_problem(v.problem);
          pv->set_head_hash(v.head_hash);
        }
        return Status::Ok();
      });
    case Request::KIND_NOT_SET:
      break;
  }
  Response r;
  r.set_id(id);
  r.mutable_error()->set_code(v1::Error::UNKNOWN_REQUEST);
  r.mutable_error()->set_message(
      "request has no kind this server knows (empty, or from a newer client)");
  return r;
}

// ---- Sockets and threads ----------------------------------------------------------------------------

struct Server::Impl {
  ServerOptions options;
  index::Store* store = nullptr;
  OpenReader open_reader;
  Clock* clock = nullptr;
  std::atomic<int64_t> answered{0};
  std::shared_ptr<spdlog::logger> log = Logger("api");

  zmq::context_t ctx{1};
  // ZeroMQ's authentication handler (ZAP, RFC 27): bound in this context before the API sockets, so
  // every CURVE handshake on them asks it whether the client's key is authorised.
  zmq::socket_t zap{ctx, zmq::socket_type::rep};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  // XPUB in manual mode: each subscription reaches the front thread, which applies it only when the
  // subscriber's role may see every topic it matches.
  zmq::socket_t pub{ctx, zmq::socket_type::xpub};
  std::string pub_endpoint;        // as bound (a wildcard port filled in)
  std::set<std::string> pub_keys;  // keys in force when the subscribers were last checked
  int64_t keys_generation = -1;
  std::atomic<int64_t> refused_handshakes{0}, refused_subscriptions{0};
  // Anyone who can reach the port can cause these warnings: at most 20 a minute each.
  LogLimiter refusal_log{20, 60 * kNsPerSec}, subscription_log{20, 60 * kNsPerSec};
  // Connections of both sockets, watched through socket monitors: beyond the caps per peer address
  // and in all, a new connection is shut down at once (libzmq closes it), so that nobody can hold
  // the file descriptors recording needs. Front thread only.
  zmq::socket_t monitor_router{ctx, zmq::socket_type::pair};
  zmq::socket_t monitor_pub{ctx, zmq::socket_type::pair};
  std::map<int, std::string> connection_peer;  // fd -> peer address
  std::map<std::string, int> connections_of;   // peer address -> open connections
  std::atomic<int64_t> refused_connections{0};
  void TakeMonitorEvents(zmq::socket_t& monitor);
  // Workers are DEALERs on this inproc ROUTER: a request goes to a worker that said it is idle, so
  // one slow request never holds up others queued behind it on the same worker.
  zmq::socket_t backend{ctx, zmq::socket_type::router};
  std::string inproc_backend;
  std::deque<std::string> idle_workers;  // one entry per credit; front thread only
  // Requests waiting for a worker, per client, served round-robin: a client that floods the server
  // waits behind its own requests, not in front of everyone else's. Front thread only.
  std::map<std::string, std::deque<std::vector<zmq::message_t>>> waiting;
  std::deque<std::string> rotation;  // clients with something waiting, in turn
  std::map<std::string, size_t> waiting_bytes_of;  // the bodies' bytes in `waiting`, per client
  size_t waiting_total = 0, waiting_bytes = 0;
  static constexpr size_t kMaxWaiting = 10'000;
  static constexpr size_t kMaxWaitingPerClient = 1'000;
  // Requests are up to max_request_bytes (1 MiB): held in count alone, 1,000 of one client would
  // be a GiB. Bytes waiting are bounded too, in all and per client.
  static constexpr size_t kMaxWaitingBytes = 256u << 20;
  static constexpr size_t kMaxWaitingBytesPerClient = 32u << 20;

  std::mutex pub_mu;
  std::deque<std::pair<std::string, std::string>> pub_queue;  // guarded by pub_mu
  uint64_t pub_sequence = 0;                                   // front thread only
  zmq::socket_t wake_send{ctx, zmq::socket_type::pair};
  zmq::socket_t wake_recv{ctx, zmq::socket_type::pair};
  std::mutex wake_mu;
  // Replies sent later than their request (parked export fetches): routing frames + body.
  std::mutex deferred_mu;
  std::deque<std::vector<std::string>> deferred;  // guarded by deferred_mu
  std::unique_ptr<Exporter> exporter;
  std::string events_endpoint;

  int64_t started_ns = 0;
  std::atomic<bool> stopping{false};
  std::thread front;
  std::thread zap_thread;
  std::vector<std::thread> workers;

  void ZapLoop();
  void TakeSubscriptions();
  void DropRevokedSubscribers();
  void RebindPub();
  bool pub_rebind_pending = false, pub_rebind_warned = false;  // front thread only
  std::optional<Identity> Find(const std::string& key) {
    auto k = options.keyring->Find(key);
    if (!k) return std::nullopt;
    return Identity{k->user, k->role};
  }
  Status Audit(const Identity& who, const std::string& action, const std::string& detail);
  void FrontLoop();
  void WorkerLoop(int n);
  void PublishAlert(int64_t id);
  void Publish(const std::string& topic, v1::LiveMessage message);
  void Wake() {
    std::lock_guard lock(wake_mu);
    (void)wake_send.send(zmq::str_buffer("w"), zmq::send_flags::dontwait);
  }
};

namespace {

// Envelope of a ROUTER message: the routing frames up to and including an empty delimiter (REQ
// clients send one; DEALER clients need not), then exactly one body frame.
struct Envelope {
  std::vector<zmq::message_t> route;
  zmq::message_t body;
  bool ok = false;
};

}  // namespace

void Server::Impl::FrontLoop() {
  std::vector<zmq::pollitem_t> items = {
      {router.handle(), 0, ZMQ_POLLIN, 0},
      {backend.handle(), 0, ZMQ_POLLIN, 0},
      {wake_recv.handle(), 0, ZMQ_POLLIN, 0},
      {pub.handle(), 0, ZMQ_POLLIN, 0},
      {monitor_router.handle(), 0, ZMQ_POLLIN, 0},
      {monitor_pub.handle(), 0, ZMQ_POLLIN, 0},
  };
  auto dispatch = [&](std::string worker, std::vector<zmq::message_t>& frames) {
    backend.send(zmq::buffer(worker), zmq::send_flags::sndmore);
    for (size_t i = 0; i < frames.size(); ++i) {
      backend.send(frames[i], i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  };
  while (!stopping.load()) {
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(200));
    if (items[0].revents & ZMQ_POLLIN) {
      // Read every frame of one message; the first is the peer's identity.
      std::vector<zmq::message_t> frames;
      for (;;) {
        zmq::message_t m;
        if (!router.recv(m, zmq::recv_flags::dontwait)) break;
        bool more = m.more();
        frames.push_back(std::move(m));
        if (!more) break;
      }
      if (frames.size() >= 2) {
        // [key, identity..., (empty), body] goes to an idle worker, or waits for one: the key the
        // connection was authenticated with (ZAP's User-Id) travels with the request.
        const char* key = nullptr;
        try {
          key = frames.back().gets("User-Id");
        } catch (const zmq::error_t&) {
        }
        frames.insert(frames.begin(), zmq::message_t(std::string(key ? key : "")));
        std::string client = frames[1].to_string();
        auto& mine = waiting[client];
        const size_t body_bytes = frames.back().size();
        size_t& mine_bytes = waiting_bytes_of[client];
        auto refuse = [&](const Status& why) {
          std::string bytes = ErrorResponse(0, why).SerializeAsString();
          for (size_t i = 1; i + 1 < frames.size(); ++i) {
            (void)router.send(frames[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
          }
          (void)router.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
        };
        if (static_cast<int64_t>(body_bytes) > options.max_request_bytes) {
          // Refused here, not held for a worker to refuse.
          refuse(Status::ResourceExhausted(fmt::format("request of {} bytes is over the limit of {} bytes",
                                                       body_bytes, options.max_request_bytes)));
        } else if (!idle_workers.empty() && waiting_total == 0) {
          std::string w = std::move(idle_workers.front());
          idle_workers.pop_front();
          dispatch(std::move(w), frames);
        } else if (waiting_total < kMaxWaiting && mine.size() < kMaxWaitingPerClient &&
                   waiting_bytes + body_bytes <= kMaxWaitingBytes &&
                   mine_bytes + body_bytes <= kMaxWaitingBytesPerClient) {
          if (mine.empty()) rotation.push_back(client);
          mine.push_back(std::move(frames));
          ++waiting_total;
          waiting_bytes += body_bytes;
          mine_bytes += body_bytes;
        } else {
          refuse(Status::Unavailable(fmt::format(
              "{} requests ({:.1f} MB) are waiting, {} of them ({:.1f} MB) yours: try again shortly",
              waiting_total, static_cast<double>(waiting_bytes) / 1e6, mine.size(),
              static_cast<double>(mine_bytes) / 1e6)));
        }
        if (mine.empty()) {
          waiting.erase(client);
          waiting_bytes_of.erase(client);
        }
      } else if (frames.size() == 1) {
        log->warn("dropped a request with no body frame");
      }
    }
    if (items[1].revents & ZMQ_POLLIN) {
      for (;;) {
        // [worker, "R", route..., body] (a reply; the worker is idle again) or [worker, "I"].
        std::vector<zmq::message_t> frames;
        for (;;) {
          zmq::message_t m;
          if (!backend.recv(m, zmq::recv_flags::dontwait)) break;
          bool more = m.more();
          frames.push_back(std::move(m));
          if (!more) break;
        }
        if (frames.size() < 2) break;
        std::string worker = frames[0].to_string();
        if (frames[1].to_string() == "R") {
          // ROUTER drops a reply it cannot route (client gone, or its queue full): never blocks.
          for (size_t i = 2; i < frames.size(); ++i) {
            bool last = i + 1 == frames.size();
            (void)router.send(frames[i], last ? zmq::send_flags::dontwait
                                              : zmq::send_flags::sndmore | zmq::send_flags::dontwait);
          }
          answered.fetch_add(1);
        }
        if (waiting_total > 0) {
          std::string client = std::move(rotation.front());
          rotation.pop_front();
          auto it = waiting.find(client);
          const size_t body_bytes = it->second.front().back().size();
          dispatch(std::move(worker), it->second.front());
          it->second.pop_front();
          --waiting_total;
          waiting_bytes -= body_bytes;
          waiting_bytes_of[client] -= body_bytes;
          if (it->second.empty()) {
            waiting.erase(it);
            waiting_bytes_of.erase(client);
          } else {
            rotation.push_back(std::move(client));
          }
        } else {
          idle_workers.push_back(std::move(worker));
        }
      }
    }
    if (items[2].revents & ZMQ_POLLIN) {
      zmq::message_t m;
      while (wake_recv.recv(m, zmq::recv_flags::dontwait)) {
      }
    }
    if (items[3].revents & ZMQ_POLLIN) TakeSubscriptions();
    if (items[4].revents & ZMQ_POLLIN) TakeMonitorEvents(monitor_router);
    if (items[5].revents & ZMQ_POLLIN) TakeMonitorEvents(monitor_pub);
    DropRevokedSubscribers();
    std::deque<std::pair<std::string, std::string>> pending;
    {
      std::lock_guard lock(pub_mu);
      pending.swap(pub_queue);
    }
    for (auto& [topic, body] : pending) {
      (void)pub.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      (void)pub.send(zmq::buffer(body), zmq::send_flags::dontwait);
    }
    std::deque<std::vector<std::string>> replies;
    {
      std::lock_guard lock(deferred_mu);
      replies.swap(deferred);
    }
    for (auto& frames : replies) {
      for (size_t i = 0; i < frames.size(); ++i) {
        bool last = i + 1 == frames.size();
        (void)router.send(zmq::buffer(frames[i]), last ? zmq::send_flags::dontwait
                                                       : zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      }
      answered.fetch_add(1);
    }
  }
}

void Server::Impl::WorkerLoop(int n) {
  zmq::socket_t io(ctx, zmq::socket_type::dealer);
  io.set(zmq::sockopt::routing_id, fmt::format("w{}", n));
  io.set(zmq::sockopt::rcvtimeo, 200);
  io.set(zmq::sockopt::linger, 0);
  io.connect(inproc_backend);
  auto reader = open_reader();
  if (!reader.ok()) {
    log->error("api worker {}: cannot open the index for reading: {}", n, reader.error());
  }
  // Two credits: one request being answered and one ready behind it keeps the worker busy while the
  // next reply travels, and a slow request holds up at most one other.
  io.send(zmq::str_buffer("I"), zmq::send_flags::none);
  io.send(zmq::str_buffer("I"), zmq::send_flags::none);
  while (!stopping.load()) {
    // [key, route..., body]
    std::vector<zmq::message_t> frames;
    for (;;) {
      zmq::message_t m;
      auto got = io.recv(m);
      if (!got) break;
      bool more = m.more();
      frames.push_back(std::move(m));
      if (!more) break;
    }
    if (frames.size() < 3) continue;
    const std::string key = frames[0].to_string();
    const zmq::message_t& body = frames.back();
    Response resp;
    Request req;
    std::optional<Identity> who = Find(key);
    if (!who) {
      // Authorised at the handshake, revoked since.
      resp = ErrorResponse(0, Status::Unauthenticated(
                                  "this connection's key is no longer authorised (revoked)"));
    } else if (static_cast<int64_t>(body.size()) > options.max_request_bytes) {
      resp = ErrorResponse(0, Status::ResourceExhausted(fmt::format(
                                  "request of {} bytes is over the limit of {} bytes", body.size(),
                                  options.max_request_bytes)));
    } else if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      resp = Malformed(fmt::format("a {}-byte frame is not a vigil.api.v1.Request", body.size()));
    } else if (!reader.ok()) {
      resp = ErrorResponse(req.id(), reader.error());
    } else if (req.kind_case() != Request::KIND_NOT_SET && !Allowed(who->role, req.kind_case())) {
      std::string kind(KindName(req.kind_case()));
      Status denied = Status::PermissionDenied(fmt::format(
          "{} is {}: {} is not allowed ({})", who->user, RoleName(who->role), kind,
          WhatRoleMay(who->role)));
      Status audited = Audit(*who, "denied:" + kind, "");
      resp = ErrorResponse(req.id(), audited.ok() ? denied : audited);
    } else if (Status limits = CheckFieldLimits(req); !limits.ok()) {
      resp = ErrorResponse(req.id(), limits);
    } else {
      Status audited = Status::Ok();
      const bool fetch = req.kind_case() == Request::kExportFetch;
      // Every read of footage or personal data and every change leaves a row before it is answered
      // (a server that cannot write the trail answers nothing); progress polls of an export and its
      // later chunks do not: a download is audited once, at its first byte.
      bool audit = req.kind_case() != Request::kStatus && req.kind_case() != Request::KIND_NOT_SET &&
                   (!fetch || (req.export_fetch().offset() == 0 && req.export_fetch().max_bytes() > 0));
      if (audit) audited = Audit(*who, std::string(KindName(req.kind_case())), Describe(req));
      if (!audited.ok()) {
        resp = ErrorResponse(req.id(), audited);
      } else if (fetch && exporter) {
        // Answered now or when the bytes exist, from whichever thread has them.
        std::vector<std::string> route;
        for (size_t i = 1; i + 1 < frames.size(); ++i) route.push_back(frames[i].to_string());
        exporter->Fetch(req.id(), req.export_fetch(), who->user, who->role == Role::kAdmin,
                        [this, route](Response r) {
                          std::vector<std::string> out = route;
                          out.push_back(r.SerializeAsString());
                          {
                            std::lock_guard lock(deferred_mu);
                            deferred.push_back(std::move(out));
                          }
                          Wake();
                        });
        io.send(zmq::str_buffer("I"), zmq::send_flags::none);
        continue;
      } else {
        resp = Handle(req, *who, **reader, *store, *clock, options.status, started_ns,
                      exporter.get(), options.snapshot);
        if (resp.has_status()) resp.mutable_status()->set_events_endpoint(events_endpoint);
        if (resp.has_alert_update()) PublishAlert(req.alert_update().id());
      }
    }
    if (resp.has_error()) {
      log->info("request {} ({}) of {}: {}", resp.id(), KindName(req.kind_case()),
                who ? who->user : "a revoked key", Printable(resp.error().message()));
    }
    std::string bytes = resp.SerializeAsString();
    io.send(zmq::str_buffer("R"), zmq::send_flags::sndmore);
    for (size_t i = 1; i + 1 < frames.size(); ++i) io.send(frames[i], zmq::send_flags::sndmore);
    io.send(zmq::buffer(bytes), zmq::send_flags::none);
  }
}

Status Server::Impl::Audit(const Identity& who, const std::string& action, const std::string& detail) {
  index::AuditEntry e;
  e.time_ns = clock->WallNs();
  e.who = who.user;
  e.role = std::string(RoleName(who.role));
  e.action = action;
  e.detail = detail;
  // Queued with the writer's next batch; once a row could not be written, requests are refused
  // (and their rows written synchronously) until the trail can be written again.
  Status queued = store->QueueAudit(e);
  if (!queued.ok()) {
    return Status::Unavailable(fmt::format(
        "cannot write the audit trail, so nothing is answered: {}", queued.message()));
  }
  return Status::Ok();
}

// ZAP: [version, request id, domain, address, routing id, mechanism, client key] in; [version,
// request id, status, text, user id, metadata] out. The user id is the client's key (Z85): each
// request looks its holder up again, so a revoked key is refused from its next request.
void Server::Impl::ZapLoop() {
  while (!stopping.load()) {
    std::vector<zmq::message_t> frames;
    for (;;) {
      zmq::message_t m;
      if (!zap.recv(m)) break;
      bool more = m.more();
      frames.push_back(std::move(m));
      if (!more) break;
    }
    if (frames.empty()) continue;
    std::string status = "400", text = "not authorised", user;
    std::string address = frames.size() > 3 ? frames[3].to_string() : "?";
    if (frames.size() >= 7 && frames[5].to_string() == "CURVE" && frames[6].size() == 32) {
      char z85[41] = {};
      zmq_z85_encode(z85, static_cast<const uint8_t*>(frames[6].data()), 32);
      if (Find(z85)) {
        status = "200";
        text = "OK";
        user = z85;
      } else {
        refused_handshakes.fetch_add(1);
        if (int64_t held = 0; refusal_log.Allow(clock->MonotonicNs(), &held)) {
          log->warn("refused a connection from {}: key {}… is not authorised{}", Printable(address, 64),
                    std::string(z85).substr(0, 8), HeldBack(held));
        }
      }
    } else {
      refused_handshakes.fetch_add(1);
      if (int64_t held = 0; refusal_log.Allow(clock->MonotonicNs(), &held)) {
        log->warn("refused a connection from {}: not a CURVE handshake{}", Printable(address, 64), HeldBack(held));
      }
    }
    std::string version = frames[0].to_string();
    std::string request_id = frames.size() > 1 ? frames[1].to_string() : "";
    try {
      zap.send(zmq::buffer(version), zmq::send_flags::sndmore);
      zap.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
      zap.send(zmq::buffer(status), zmq::send_flags::sndmore);
      zap.send(zmq::buffer(text), zmq::send_flags::sndmore);
      zap.send(zmq::buffer(user), zmq::send_flags::sndmore);
      zap.send(zmq::str_buffer(""), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      log->error("authentication handler: {}", e.what());
    }
  }
}

void Server::Impl::TakeMonitorEvents(zmq::socket_t& monitor) {
  for (;;) {
    zmq::message_t event, address;
    if (!monitor.recv(event, zmq::recv_flags::dontwait)) return;
    if (event.more()) (void)monitor.recv(address);
    if (event.size() < 6) continue;
    uint16_t kind;
    int32_t fd;
    std::memcpy(&kind, event.data(), 2);
    std::memcpy(&fd, static_cast<const char*>(event.data()) + 2, 4);
    if (kind == ZMQ_EVENT_ACCEPTED) {
      sockaddr_storage sa{};
      socklen_t len = sizeof(sa);
      std::string peer = "?";
      if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
        char host[INET6_ADDRSTRLEN] = {};
        const void* a = sa.ss_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&sa)->sin6_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&sa)->sin_addr);
        if (::inet_ntop(sa.ss_family, a, host, sizeof(host))) peer = host;
      }
      const int mine = connections_of[peer];
      if (mine >= options.max_connections_per_peer ||
          static_cast<int>(connection_peer.size()) >= options.max_connections) {
        refused_connections.fetch_add(1);
        if (refused_connections.load() % 100 == 1) {
          log->warn("refused a connection from {}: it holds {} (at most {}), {} in all (at most {}); "
                    "{} refused so far",
                    peer, mine, options.max_connections_per_peer, connection_peer.size(),
                    options.max_connections, refused_connections.load());
        }
        ::shutdown(fd, SHUT_RDWR);  // libzmq sees the end of the stream and closes it
        continue;
      }
      connection_peer[fd] = peer;
      ++connections_of[peer];
    } else if (kind == ZMQ_EVENT_DISCONNECTED || kind == ZMQ_EVENT_CLOSED) {
      auto it = connection_peer.find(fd);
      if (it == connection_peer.end()) continue;
      if (--connections_of[it->second] <= 0) connections_of.erase(it->second);
      connection_peer.erase(it);
    }
  }
}

// A subscription message: [1 or 0, topic prefix]. Applied (to that subscriber's pipe) only when the
// key's role may see every topic the prefix matches; otherwise it delivers nothing, and the refusal
// is logged and audited.
void Server::Impl::TakeSubscriptions() {
  for (;;) {
    zmq::message_t m;
    if (!pub.recv(m, zmq::recv_flags::dontwait)) return;
    if (m.size() == 0) continue;
    const char* data = static_cast<const char*>(m.data());
    std::string prefix(data + 1, m.size() - 1);
    const char* key = nullptr;
    try {
      key = m.gets("User-Id");
    } catch (const zmq::error_t&) {
    }
    auto who = key ? Find(key) : std::nullopt;
    if (data[0] == 0) {
      pub.set(zmq::sockopt::unsubscribe, prefix);
      continue;
    }
    if (data[0] != 1) continue;
    if (who && SubscriptionAllowed(who->role, prefix)) {
      pub.set(zmq::sockopt::subscribe, prefix);
      continue;
    }
    refused_subscriptions.fetch_add(1);
    std::string user = who ? who->user : "a revoked key";
    std::string sees = who ? fmt::format("{}", fmt::join(AllowedTopicFamilies(who->role), " ")) : "";
    if (int64_t held = 0; subscription_log.Allow(clock->MonotonicNs(), &held)) {
      log->warn("refused {}'s subscription to '{}': {} sees only '{}'{}", user, Printable(prefix, 64),
                who ? RoleName(who->role) : "nobody", sees, HeldBack(held));
    }
    if (who) (void)Audit(*who, "denied:subscribe", Printable(prefix, 256));
  }
}

// A revoked key's subscriptions would go on receiving: when a key in force disappears from the
// authorised keys, every subscriber is disconnected (the listener is re-bound); the others reconnect
// and resubscribe by themselves within ZeroMQ's reconnect interval, the revoked key cannot.
void Server::Impl::DropRevokedSubscribers() {
  if (pub_rebind_pending) RebindPub();
  int64_t generation = options.keyring->generation();
  if (generation == keys_generation) return;
  keys_generation = generation;
  std::set<std::string> now;
  for (const auto& k : options.keyring->All()) {
    if (k.revoked_ns == 0) now.insert(k.public_key);
  }
  bool revoked = std::any_of(pub_keys.begin(), pub_keys.end(),
                             [&](const std::string& k) { return !now.count(k); });
  pub_keys = std::move(now);
  if (!revoked || pub_endpoint.empty()) return;
  try {
    pub.unbind(pub_endpoint);
  } catch (const zmq::error_t& e) {
    log->error("cannot unbind {} after a revocation: {}", pub_endpoint, e.what());
    return;
  }
  pub_rebind_pending = true;
  RebindPub();
}

// ZeroMQ closes an unbound listener in its I/O thread: the port may still be taken for a moment.
// Tried for up to 100 ms here, then again on every turn of the front loop until it binds.
void Server::Impl::RebindPub() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    try {
      pub.bind(pub_endpoint);
      pub_rebind_pending = false;
      pub_rebind_warned = false;
      log->info("a key was revoked: subscribers to {} were disconnected to authenticate again",
                pub_endpoint);
      return;
    } catch (const zmq::error_t& e) {
      if (e.num() != EADDRINUSE) {
        log->error("cannot re-bind {} after a revocation: {}", pub_endpoint, e.what());
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!pub_rebind_warned) log->warn("{} is not free yet after a revocation; binding again shortly", pub_endpoint);
  pub_rebind_warned = true;
}

// An alert changed state through the API: every monitoring room and unit watching it hears so.
void Server::Impl::PublishAlert(int64_t id) {
  index::AlertQuery q;
  q.range = {INT64_MIN, INT64_MAX};
  q.id = id;
  q.page.limit = 1;
  auto page = store->Alerts(q);
  if (!page.ok() || page->items.empty()) return;
  const index::Alert& a = page->items.front();
  v1::LiveMessage m;
  ToPb(a, m.mutable_alert());
  // The zone's units hear it too: the unit that took it, and the others that need not.
  for (const auto& unit : a.units) Publish("unit." + unit, m);
  Publish("alert." + a.camera, std::move(m));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  impl_->stopping = true;
  if (impl_->front.joinable()) impl_->front.join();
  for (auto& w : impl_->workers) w.join();
  if (impl_->zap_thread.joinable()) impl_->zap_thread.join();
  impl_->exporter.reset();  // its last replies go nowhere: the sockets are closing
}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, index::Store& store,
                                              OpenReader open_reader, Clock& clock) {
  QuietProtobufLogs();
  if (!options.keyring || !IsZ85Key(options.server_key.secret_key)) {
    return Status::InvalidArgument("the API needs the server's key pair and the authorised keys");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->store = &store;
  impl->open_reader = std::move(open_reader);
  impl->clock = &clock;
  impl->started_ns = clock.WallNs();
  static std::atomic<int> instance{0};
  int n = instance.fetch_add(1);
  impl->inproc_backend = fmt::format("inproc://api-workers-{}", n);
  try {
    // The authentication handler first: a CURVE socket with no handler would let every key in.
    impl->zap.set(zmq::sockopt::linger, 0);
    impl->zap.set(zmq::sockopt::rcvtimeo, 200);
    impl->zap.bind("inproc://zeromq.zap.01");
    for (zmq::socket_t* s : {&impl->router, &impl->pub}) {
      s->set(zmq::sockopt::curve_server, true);
      s->set(zmq::sockopt::curve_secretkey, options.server_key.secret_key);
      s->set(zmq::sockopt::zap_domain, "vigil");
    }
    impl->pub.set(zmq::sockopt::xpub_manual, true);
    for (auto [socket, monitor, name] :
         {std::tuple{&impl->router, &impl->monitor_router, "router"},
          std::tuple{&impl->pub, &impl->monitor_pub, "pub"}}) {
      std::string endpoint = fmt::format("inproc://api-monitor-{}-{}", name, n);
      if (zmq_socket_monitor(socket->handle(), endpoint.c_str(),
                             ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED) != 0) {
        return Status::Internal("cannot watch the API's connections");
      }
      monitor->set(zmq::sockopt::linger, 0);
      monitor->connect(endpoint);
    }
    // A connection that does not complete its handshake within this is closed: idle or anonymous
    // connections cannot pile up towards the process's file limit, which recording shares.
    impl->router.set(zmq::sockopt::handshake_ivl, 5000);
    impl->pub.set(zmq::sockopt::handshake_ivl, 5000);
    impl->router.set(zmq::sockopt::linger, 0);
    impl->router.set(zmq::sockopt::maxmsgsize, options.max_request_bytes * 4);
    // Bounded per client: export chunks are up to 1 MiB, and a client that stops reading only
    // loses its own replies.
    impl->router.set(zmq::sockopt::sndhwm, 256);
    impl->pub.set(zmq::sockopt::linger, 0);
    impl->pub.set(zmq::sockopt::sndhwm, 10000);
    impl->backend.set(zmq::sockopt::linger, 0);
    impl->backend.bind(impl->inproc_backend);
    // Wake-ups left unread at shutdown must not hold the context's termination.
    impl->wake_recv.set(zmq::sockopt::linger, 0);
    impl->wake_send.set(zmq::sockopt::linger, 0);
    impl->wake_recv.bind(fmt::format("inproc://api-wake-{}", n));
    impl->wake_send.connect(fmt::format("inproc://api-wake-{}", n));
  } catch (const zmq::error_t& e) {
    return Status::Internal(fmt::format("cannot set up the API sockets: {}", e.what()));
  }
  for (auto [socket, endpoint, what] :
       {std::tuple{&impl->router, options.requests, "requests"},
        std::tuple{&impl->pub, options.events, "events"}}) {
    try {
      socket->bind(endpoint);
    } catch (const zmq::error_t& e) {
      return Status::Unavailable(
          fmt::format("cannot listen for {} on {}: {}", what, endpoint, e.what()));
    }
  }
  impl->events_endpoint = impl->pub.get(zmq::sockopt::last_endpoint);
  impl->pub_endpoint = impl->events_endpoint;
  impl->exporter = std::make_unique<Exporter>(options.exports, store, clock);
  Impl* raw = impl.get();
  for (int i = 0; i < std::max(1, options.workers); ++i) {
    raw->workers.emplace_back([raw, i] { raw->WorkerLoop(i); });
  }
  raw->zap_thread = std::thread([raw] { raw->ZapLoop(); });
  raw->front = std::thread([raw] { raw->FrontLoop(); });
  raw->log->info("API: requests on {}, events on {}, {} workers",
                 raw->router.get(zmq::sockopt::last_endpoint),
                 raw->pub.get(zmq::sockopt::last_endpoint), raw->workers.size());
  std::string req_ep = raw->router.get(zmq::sockopt::last_endpoint);
  std::string ev_ep = raw->pub.get(zmq::sockopt::last_endpoint);
  std::unique_ptr<Server> server(new Server(std::move(impl)));
  server->requests_endpoint_ = req_ep;
  server->events_endpoint_ = ev_ep;
  return server;
}

int64_t Server::answered() const { return impl_->answered.load(); }

void Server::Publish(const std::string& topic, v1::LiveMessage message) {
  impl_->Publish(topic, std::move(message));
}

void Server::Impl::Publish(const std::string& topic, v1::LiveMessage message) {
  {
    std::lock_guard lock(pub_mu);
    message.set_sequence(++pub_sequence);
    pub_queue.emplace_back(topic, message.SerializeAsString());
  }
  Wake();
}

}  // namespace vigil::api
