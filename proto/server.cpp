#include "proto/server.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

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

Response Handle(const Request& q, index::Store& reader, index::Store& writer, Clock& clock,
                const StatusFiller& status, int64_t started_ns, Exporter* exporter,
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
        VIGIL_RETURN_IF_ERROR(writer.UpsertCamera(FromPb(q.upsert_camera().camera())));
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
        // Who looked for footage of which cameras and when: the investigator's trail.
        index::AuditEntry audit;
        audit.time_ns = clock.WallNs();
        audit.who = q.user().empty() ? "(no user given)" : q.user();
        audit.action = "footage";
        audit.detail = fmt::format("footage of {} from {} to {}{}",
                                   fq.cameras.empty() ? std::string("all cameras")
                                                      : fmt::format("{}", fmt::join(fq.cameras, ",")),
                                   FormatUtc(fq.range.start_ns), FormatUtc(fq.range.end_ns),
                                   fq.area ? " in an area" : "");
        VIGIL_RETURN_IF_ERROR(writer.AppendAudit(audit).status());
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
        VIGIL_ASSIGN_OR_RETURN(*r.mutable_export_clip(),
                               exporter->Start(q.export_clip(), q.user(), reader));
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
        e.added_by = q.user();
        e.added_ns = clock.WallNs();
        e.priority = w.priority() == 0 ? 3 : w.priority();
        e.expires_ns = w.expires_ns();
        VIGIL_ASSIGN_OR_RETURN(int64_t added, writer.AddWatch(e));
        r.mutable_watchlist_add()->set_id(added);
        return Status::Ok();
      });
    case Request::kWatchlistRemove:
      return Answer(id, [&](Response& r) -> Status {
        VIGIL_RETURN_IF_ERROR(writer.RemoveWatch(q.watchlist_remove().id(), q.user(), clock.WallNs()));
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
        if (q.user().empty()) return Status::InvalidArgument("an alert update needs the user");
        VIGIL_RETURN_IF_ERROR(writer.SetAlertState(u.id(), *st, q.user(), u.note(), clock.WallNs()));
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
        if (q.user().empty()) return Status::InvalidArgument("changing a zone needs the user");
        index::ResponseZone z = FromPb(q.zone_upsert().zone());
        z.updated_by = q.user();
        z.updated_ns = clock.WallNs();
        VIGIL_RETURN_IF_ERROR(writer.UpsertZone(z));
        r.mutable_zone_upsert();
        return Status::Ok();
      });
    case Request::kZoneRemove:
      return Answer(id, [&](Response& r) -> Status {
        if (q.user().empty()) return Status::InvalidArgument("removing a zone needs the user");
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
  zmq::socket_t router{ctx, zmq::socket_type::router};
  zmq::socket_t pub{ctx, zmq::socket_type::pub};
  // Workers are DEALERs on this inproc ROUTER: a request goes to a worker that said it is idle, so
  // one slow request never holds up others queued behind it on the same worker.
  zmq::socket_t backend{ctx, zmq::socket_type::router};
  std::string inproc_backend;
  std::deque<std::string> idle_workers;  // one entry per credit; front thread only
  // Requests waiting for a worker, per client, served round-robin: a client that floods the server
  // waits behind its own requests, not in front of everyone else's. Front thread only.
  std::map<std::string, std::deque<std::vector<zmq::message_t>>> waiting;
  std::deque<std::string> rotation;  // clients with something waiting, in turn
  size_t waiting_total = 0;
  static constexpr size_t kMaxWaiting = 10'000;
  static constexpr size_t kMaxWaitingPerClient = 1'000;

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
  std::vector<std::thread> workers;

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
        // [identity..., (empty), body] goes as-is to an idle worker, or waits for one.
        std::string client = frames[0].to_string();
        auto& mine = waiting[client];
        if (!idle_workers.empty() && waiting_total == 0) {
          std::string w = std::move(idle_workers.front());
          idle_workers.pop_front();
          dispatch(std::move(w), frames);
        } else if (waiting_total < kMaxWaiting && mine.size() < kMaxWaitingPerClient) {
          if (mine.empty()) rotation.push_back(client);
          mine.push_back(std::move(frames));
          ++waiting_total;
        } else {
          Response busy = ErrorResponse(0, Status::Unavailable(fmt::format(
              "{} requests are waiting ({} of them yours): try again shortly", waiting_total,
              mine.size())));
          std::string bytes = busy.SerializeAsString();
          for (size_t i = 0; i + 1 < frames.size(); ++i) {
            (void)router.send(frames[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
          }
          (void)router.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
        }
        if (mine.empty()) waiting.erase(client);
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
          dispatch(std::move(worker), it->second.front());
          it->second.pop_front();
          --waiting_total;
          if (it->second.empty()) {
            waiting.erase(it);
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
    std::vector<zmq::message_t> frames;
    for (;;) {
      zmq::message_t m;
      auto got = io.recv(m);
      if (!got) break;
      bool more = m.more();
      frames.push_back(std::move(m));
      if (!more) break;
    }
    if (frames.empty()) continue;
    const zmq::message_t& body = frames.back();
    Response resp;
    Request req;
    if (static_cast<int64_t>(body.size()) > options.max_request_bytes) {
      resp = ErrorResponse(0, Status::ResourceExhausted(fmt::format(
                                  "request of {} bytes is over the limit of {} bytes", body.size(),
                                  options.max_request_bytes)));
    } else if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      resp = Malformed(fmt::format("a {}-byte frame is not a vigil.api.v1.Request", body.size()));
    } else if (!reader.ok()) {
      resp = ErrorResponse(req.id(), reader.error());
    } else if (req.kind_case() == Request::kExportFetch && exporter) {
      // Answered now or when the bytes exist, from whichever thread has them.
      std::vector<std::string> route;
      for (size_t i = 0; i + 1 < frames.size(); ++i) route.push_back(frames[i].to_string());
      exporter->Fetch(req.id(), req.export_fetch(), [this, route](Response r) {
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
      resp = Handle(req, **reader, *store, *clock, options.status, started_ns, exporter.get(),
                      options.snapshot);
      if (resp.has_status()) resp.mutable_status()->set_events_endpoint(events_endpoint);
      if (resp.has_alert_update()) PublishAlert(req.alert_update().id());
    }
    if (resp.has_error()) {
      log->info("request {} ({}): {}", resp.id(), req.kind_case(), resp.error().message());
    }
    std::string bytes = resp.SerializeAsString();
    io.send(zmq::str_buffer("R"), zmq::send_flags::sndmore);
    for (size_t i = 0; i + 1 < frames.size(); ++i) io.send(frames[i], zmq::send_flags::sndmore);
    io.send(zmq::buffer(bytes), zmq::send_flags::none);
  }
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
  impl_->exporter.reset();  // its last replies go nowhere: the sockets are closing
}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, index::Store& store,
                                              OpenReader open_reader, Clock& clock) {
  QuietProtobufLogs();
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
  impl->exporter = std::make_unique<Exporter>(options.exports, store, clock);
  Impl* raw = impl.get();
  for (int i = 0; i < std::max(1, options.workers); ++i) {
    raw->workers.emplace_back([raw, i] { raw->WorkerLoop(i); });
  }
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
