#include "tools/vigil/api_commands.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <opencv2/imgcodecs.hpp>
#include <zmq.hpp>

#include "analytics/snapshot.h"

#include "base/clock.h"
#include "base/fs.h"
#include "proto/access.h"
#include "proto/client.h"
#include "proto/convert.h"
#include "tools/vigil/output_names.h"
#include "tools/vigil/time_input.h"

namespace vigil::cli {
namespace {

namespace v1 = api::v1;

constexpr int kExitOk = 0;
constexpr int kExitServer = 1;
constexpr int kExitUsage = 2;
constexpr int kExitPartial = 3;
constexpr int kExitDenied = 4;

std::string OneLineJson(const google::protobuf::Message& m) { return api::ToJson(m); }

int Fail(const Status& st) {
  std::cerr << "vigil: " << st.message() << "\n";
  if (st.code() == StatusCode::kUnauthenticated || st.code() == StatusCode::kPermissionDenied) {
    return kExitDenied;
  }
  return st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kNotFound ||
                 st.code() == StatusCode::kResourceExhausted ||
                 st.code() == StatusCode::kFailedPrecondition
             ? kExitUsage
             : kExitServer;
}

std::string Units(const google::protobuf::RepeatedPtrField<std::string>& units);

std::string Mb(int64_t b) { return fmt::format("{:.1f} MB", static_cast<double>(b) / 1e6); }

// One line on stderr, redrawn in place; only on a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && ::isatty(2)) {}
  void Show(const std::string& label, double fraction, const std::string& detail) {
    if (!enabled_) return;
    fraction = std::clamp(fraction, 0.0, 1.0);
    int filled = static_cast<int>(fraction * 30);
    fmt::print(stderr, "\r{:<12} [{}{}] {:3.0f}%  {:<24}", label.substr(0, 12), std::string(filled, '#'),
               std::string(30 - filled, '-'), fraction * 100, detail);
    std::fflush(stderr);
    shown_ = true;
  }
  void Done() {
    if (shown_) fmt::print(stderr, "\n");
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

int Export(const ApiCommands& c, const ApiContext& ctx, api::Client& client) {
  if (!ctx.range_given) {
    std::cerr << "vigil: export needs --from and --to\n";
    return kExitUsage;
  }
  if (ctx.cameras.empty() && !ctx.area) {
    std::cerr << "vigil: export needs --camera ID (repeatable) or --at LAT,LON --radius M\n";
    return kExitUsage;
  }
  v1::Request q;
  auto* e = q.mutable_export_clip();
  e->mutable_range()->set_from_ns(ctx.range.start_ns);
  e->mutable_range()->set_to_ns(ctx.range.end_ns);
  for (const auto& cam : ctx.cameras) e->add_cameras(cam);
  if (ctx.area) {
    auto* a = e->mutable_area();
    a->mutable_center()->set_lat(ctx.area->center.lat);
    a->mutable_center()->set_lon(ctx.area->center.lon);
    a->set_radius_m(ctx.area->radius_m);
  }
  e->set_case_ref(c.case_ref);
  auto r = client.Call(q);
  if (!r.ok()) return Fail(r.error());
  const auto& plan = r->export_clip();
  if (!c.output_dir.empty()) {
    if (Status st = MakeDirs(c.output_dir); !st.ok()) return Fail(st);
  }
  if (!ctx.json) {
    fmt::print("export {}: {} clip{}\n", plan.export_id(), plan.clips_size(),
               plan.clips_size() == 1 ? "" : "s");
  }
  int failed = 0;
  std::vector<std::string> written;  // file names used in output_dir
  ProgressBar bar(!ctx.json);
  for (int i = 0; i < plan.clips_size(); ++i) {
    const auto& planned = plan.clips(i);
    auto progress = [&](int64_t bytes, int64_t covered, int64_t total) {
      double f = total > 0 ? static_cast<double>(covered) / static_cast<double>(total) : 0;
      bar.Show(planned.camera(), f, Mb(bytes));
    };
    Result<v1::ClipManifest> m = Status::Internal("unset");
    std::string local;
    if (c.output_dir.empty()) {
      m = api::WaitForClip(client, plan.export_id(), i, progress);
    } else {
      std::string name = planned.path().substr(planned.path().rfind('/') + 1);
      if (name.ends_with(".mp4")) name.resize(name.size() - 4);
      name = SafeFileName(name, fmt::format("clip{}", i), ".mp4");
      // Two clips the server named alike do not overwrite each other.
      if (std::find(written.begin(), written.end(), name) != written.end()) {
        name = fmt::format("{}-{}.mp4", name.substr(0, name.size() - 4), i);
      }
      written.push_back(name);
      local = JoinPath(c.output_dir, name);
      m = api::DownloadClip(client, plan.export_id(), i, local, progress);
    }
    bar.Done();
    if (!m.ok()) {
      ++failed;
      if (ctx.json) {
        fmt::print("{{\"camera\":\"{}\",\"error\":{}}}\n", planned.camera(),
                   OneLineJson(api::ToError(m.error())));
      } else {
        fmt::print("  {:<12} FAILED: {}\n", planned.camera(), m.error().message());
      }
      if (!local.empty()) (void)RemoveFile(local);
      continue;
    }
    if (!local.empty()) {
      // The manifest travels with the clip.
      std::string json = api::ToJson(*m, /*multiline=*/true);
      std::string manifest_path = local.substr(0, local.size() - 4) + ".json";
      FILE* f = std::fopen(manifest_path.c_str(), "w");
      if (!f || std::fwrite(json.data(), 1, json.size(), f) != json.size() || std::fclose(f) != 0) {
        return Fail(Status::IOError("cannot write " + manifest_path));
      }
    }
    if (ctx.json) {
      fmt::print("{}\n", OneLineJson(*m));
      continue;
    }
    fmt::print("  {:<12} {} → {}  {:>10}  sha256 {}\n", m->camera(), FormatLocal(m->start_ns()),
               FormatLocal(m->end_ns()), Mb(m->bytes()), m->sha256());
    fmt::print("  {:<12} {}{}\n", "", local.empty() ? "on the server: " : "saved: ",
               local.empty() ? m->path() : local);
    for (const auto& g : m->gaps()) {
      fmt::print("  {:<12} no footage {} → {}: {}\n", "", FormatLocal(g.start_ns()),
                 g.end_ns() ? FormatLocal(g.end_ns()) : "(ongoing)", g.reason());
    }
    int open = 0, mismatched = 0;
    for (const auto& s : m->sources()) {
      if (s.sha256().empty()) ++open;
      else if (!s.verified()) ++mismatched;
    }
    if (open) {
      fmt::print("  {:<12} {} source segment(s) still being recorded: no indexed hash to check yet\n", "",
                 open);
    }
    if (mismatched) {
      fmt::print("  {:<12} WARNING: {} source segment(s) do NOT match their indexed SHA-256 (see the "
                 "manifest)\n", "", mismatched);
    }
    if (!m->note().empty()) fmt::print("  {:<12} note: {}\n", "", m->note());
  }
  if (failed == 0) return kExitOk;
  return failed == plan.clips_size() ? kExitServer : kExitPartial;
}

std::atomic<bool> g_stop{false};

int Watch(const ApiCommands& c, const ApiContext& ctx, api::Client& client) {
  std::string endpoint = c.events_endpoint;
  if (endpoint.empty()) {
    v1::Request q;
    q.mutable_status();
    auto r = client.Call(q);
    if (!r.ok()) return Fail(r.error());
    endpoint = r->status().events_endpoint();
    if (endpoint.empty()) {
      std::cerr << "vigil: the server did not say where it publishes: give --events ENDPOINT\n";
      return kExitUsage;
    }
  }
  zmq::context_t zctx(1);
  zmq::socket_t sub(zctx, zmq::socket_type::sub);
  // Everything this user's role may see, unless topics are named (a topic the role may not see
  // is refused here, by name, rather than silently delivering nothing).
  std::vector<std::string> topics = c.topics;
  if (topics.empty()) topics = api::AllowedTopicFamilies(ctx.key.role);
  for (const auto& t : topics) {
    if (!api::SubscriptionAllowed(ctx.key.role, t)) {
      std::string may = fmt::format("{}", fmt::join(api::AllowedTopicFamilies(ctx.key.role), " "));
      return Fail(Status::PermissionDenied(fmt::format(
          "{} is {}: topic '{}' is not allowed (it may watch: {})", ctx.key.user,
          api::RoleName(ctx.key.role), t, may.empty() ? "nothing live" : may)));
    }
  }
  if (topics.empty()) {
    return Fail(Status::PermissionDenied(fmt::format("{} is {}: no live topics are allowed",
                                                     ctx.key.user, api::RoleName(ctx.key.role))));
  }
  try {
    sub.set(zmq::sockopt::linger, 0);
    if (Status st = api::UseKey(sub, ctx.key); !st.ok()) return Fail(st);
    sub.connect(endpoint);
    for (const auto& t : topics) sub.set(zmq::sockopt::subscribe, t);
  } catch (const zmq::error_t& e) {
    return Fail(Status::InvalidArgument(fmt::format("cannot subscribe to {}: {}", endpoint, e.what())));
  }
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  if (!ctx.json) fmt::print(stderr, "watching {} ({})\n", endpoint,
                            fmt::format("{}", fmt::join(topics, ", ")));
  auto start = std::chrono::steady_clock::now();
  int seen = 0;
  uint64_t last_seq = 0;
  while (!g_stop.load()) {
    if (c.seconds > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= c.seconds) break;
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(200)) == 0) continue;
    zmq::message_t topic, body;
    if (!sub.recv(topic, zmq::recv_flags::dontwait)) continue;
    if (!topic.more() || !sub.recv(body)) continue;
    v1::LiveMessage m;
    if (!m.ParseFromArray(body.data(), static_cast<int>(body.size()))) continue;
    // Sequence numbers count every message the server published, subscribed or not: a jump only
    // says something was missed when everything is watched.
    if (c.topics.empty() && last_seq && m.sequence() > last_seq + 1 && !ctx.json) {
      fmt::print("  ({} messages missed)\n", m.sequence() - last_seq - 1);
    }
    last_seq = m.sequence();
    if (ctx.json) {
      fmt::print("{{\"topic\":\"{}\",\"message\":{}}}\n", topic.to_string(), OneLineJson(m));
    } else {
      std::string what;
      int64_t t = 0;
      switch (m.kind_case()) {
        case v1::LiveMessage::kCamera:
          t = m.camera().time_ns();
          what = fmt::format("camera {} {}{}", m.camera().camera(), m.camera().state(),
                             m.camera().reason().empty() ? "" : ": " + m.camera().reason());
          break;
        case v1::LiveMessage::kEvent:
          t = m.event().start_ns();
          {
            const auto& e = m.event();
            std::string when = e.ongoing() ? "started"
                               : e.end_ns() > e.start_ns()
                                   ? fmt::format("ended after {:.1f} s",
                                                 static_cast<double>(e.end_ns() - e.start_ns()) / kNsPerSec)
                                   : "";
            what = fmt::format("event  {} {}{}{} #{} {}{}", e.camera(), e.type(), e.zone().empty() ? "" : " ",
                               e.zone(), e.id(), when, e.ongoing() ? fmt::format(" score {:.2f}", e.score()) : "");
          }
          break;
        case v1::LiveMessage::kPlate:
          t = m.plate().time_ns();
          what = fmt::format("plate  {} {} {} {:.2f}", m.plate().camera(), m.plate().plate(),
                             m.plate().color(), m.plate().confidence());
          break;
        case v1::LiveMessage::kAlert:
          t = m.alert().state_ns() ? m.alert().state_ns() : m.alert().time_ns();
          what = fmt::format("ALERT  #{} {} {} [{}{}] {}", m.alert().id(), m.alert().camera(),
                             m.alert().kind(), m.alert().state(),
                             m.alert().state_by().empty() ? "" : " by " + m.alert().state_by(),
                             m.alert().message());
          if (!m.alert().zone().empty()) {
            what += fmt::format("\n{:>21}zone {} → units {}", "", m.alert().zone(), Units(m.alert().units()));
          }
          if (m.alert().nearest_size() > 0 || m.alert().has_clip()) {
            // What dispatch acts on: the cameras around, and the clip of the pass ready to fetch.
            std::string near;
            for (const auto& n : m.alert().nearest()) {
              near += fmt::format("{}{} ({:.0f} m)", near.empty() ? "" : ", ", n.camera().id(), n.distance_m());
            }
            what += fmt::format("\n{:>21}nearest: {}; clip: vigil export --camera {} --from {} --to {}", "",
                                near.empty() ? "-" : near, m.alert().camera(),
                                FormatUtc(m.alert().clip().range().from_ns()),
                                FormatUtc(m.alert().clip().range().to_ns()));
          }
          break;
        default:
          what = "(unknown message)";
      }
      fmt::print("{}  {}\n", t ? FormatLocal(t) : std::string(19, ' '), what);
    }
    std::fflush(stdout);
    if (c.count > 0 && ++seen >= c.count) break;
  }
  return kExitOk;
}

int Watchlist(const ApiCommands& c, const ApiContext& ctx, api::Client& client) {
  v1::Request q;
  if (*c.watchlist_add) {
    auto* w = q.mutable_watchlist_add()->mutable_entry();
    w->set_pattern(c.pattern);
    bool wild = c.pattern.find_first_of("?*") != std::string::npos;
    if (c.fuzzy >= 0 && wild) {
      std::cerr << "vigil: --fuzzy takes a whole plate, not a pattern with ? or *\n";
      return kExitUsage;
    }
    w->set_match(c.fuzzy >= 0 ? v1::FUZZY : wild ? v1::WILDCARD : v1::EXACT);
    w->set_max_substitutions(std::max(c.fuzzy, 0));
    w->set_reason(c.reason);
    w->set_priority(c.priority);
    if (!c.expires.empty()) {
      auto until = ParseTimeInput(c.expires, SystemClock().WallNs());
      if (!until.ok()) {
        std::cerr << "vigil: --expires: " << until.error().message() << "\n";
        return kExitUsage;
      }
      w->set_expires_ns(*until);
    }
    auto r = client.Call(q);
    if (!r.ok()) return Fail(r.error());
    if (ctx.json) {
      fmt::print("{{\"id\":{}}}\n", r->watchlist_add().id());
    } else {
      fmt::print("watchlist entry {} added\n", r->watchlist_add().id());
    }
    return kExitOk;
  }
  if (*c.watchlist_remove) {
    q.mutable_watchlist_remove()->set_id(c.id);
    auto r = client.Call(q);
    if (!r.ok()) return Fail(r.error());
    if (!ctx.json) fmt::print("watchlist entry {} removed\n", c.id);
    return kExitOk;
  }
  q.mutable_watchlist();
  auto r = client.Call(q);
  if (!r.ok()) return Fail(r.error());
  if (!ctx.json) {
    fmt::print("{:>5} {:<12} {:<9} {:>4} {:>3} {:<14} {:<19} {:<19} {}\n", "ID", "PATTERN", "MATCH", "SUBS",
               "PRI", "BY", "ADDED", "EXPIRES", "REASON");
  }
  for (const auto& w : r->watchlist().entries()) {
    if (ctx.json) {
      fmt::print("{}\n", OneLineJson(w));
    } else {
      fmt::print("{:>5} {:<12} {:<9} {:>4} {:>3} {:<14} {:<19} {:<19} {}\n", w.id(), w.pattern(),
                 v1::PlateMatch_Name(w.match()), w.max_substitutions(), w.priority(), w.added_by(),
                 FormatLocal(w.added_ns()), w.expires_ns() ? FormatLocal(w.expires_ns()) : "never",
                 w.reason());
    }
  }
  return kExitOk;
}

// "P-07, P-08" or "-".
std::string Units(const google::protobuf::RepeatedPtrField<std::string>& units) {
  return units.empty() ? std::string("-") : fmt::format("{}", fmt::join(units, ","));
}

// How long after it was raised a step came: "+1 min 10 s", or "-" when it has not come.
std::string After(int64_t raised_ns, int64_t at_ns) {
  return at_ns > 0 ? "+" + FormatDuration(at_ns - raised_ns) : "-";
}

int AlertStats(const ApiCommands& c, const ApiContext& ctx, api::Client& client) {
  v1::Request q;
  auto* a = q.mutable_alert_stats();
  const int64_t now = SystemClock().WallNs();
  a->mutable_range()->set_from_ns(ctx.range.start_ns == INT64_MIN ? now - 86400 * kNsPerSec : ctx.range.start_ns);
  a->mutable_range()->set_to_ns(ctx.range.end_ns == INT64_MAX ? now : ctx.range.end_ns);
  for (const auto& z : c.zones) a->add_zones(z);
  auto period = ParseDuration(c.period);
  if (!period.ok()) return Fail(period.error());
  auto within = ParseDuration(c.within);
  if (!within.ok()) return Fail(within.error());
  if (*within <= 0) return Fail(Status::InvalidArgument("--within must be more than 0"));
  a->set_period_ns(*period);
  a->set_within_ns(*within);
  auto r = client.Call(q);
  if (!r.ok()) return Fail(r.error());
  const auto& rows = r->alert_stats().rows();
  if (ctx.json) {
    for (const auto& row : rows) fmt::print("{}\n", OneLineJson(row));
    return kExitOk;
  }
  const std::string target = FormatDuration(r->alert_stats().within_ns());
  fmt::print("{:<16} {:<16} {:<14} {:>6} {:>6} {:>6} {:>14} {:>14} {:>14} {:>14}  {}\n", "FROM", "TO", "ZONE",
             "RAISED", "ANSWD", "CLOSED", "RESPONSE P50", "RESPONSE P90", "CLOSE P50", "CLOSE P90",
             "WITHIN " + target);
  auto dur = [](int64_t n, int64_t ns) { return n > 0 ? FormatDuration(ns) : std::string("-"); };
  for (const auto& row : rows) {
    fmt::print("{:<16} {:<16} {:<14} {:>6} {:>6} {:>6} {:>14} {:>14} {:>14} {:>14}  {}\n",
               FormatLocal(row.period_start_ns()).substr(0, 16), FormatLocal(row.period_end_ns()).substr(0, 16),
               row.zone() == "*" ? "(all)" : row.zone().empty() ? "(no zone)" : row.zone(), row.raised(),
               row.responded(), row.closed(), dur(row.responded(), row.response_p50_ns()),
               dur(row.responded(), row.response_p90_ns()), dur(row.closed(), row.close_p50_ns()),
               dur(row.closed(), row.close_p90_ns()),
               row.decided() > 0 ? fmt::format("{:.0f} % ({}/{})", 100 * row.within_share(), row.within(), row.decided())
                                 : std::string("-"));
  }
  return kExitOk;
}

int Alerts(const ApiCommands& c, const ApiContext& ctx, api::Client& client) {
  if (*c.alerts_stats) return AlertStats(c, ctx, client);
  v1::Request q;
  if (*c.alerts_ack || *c.alerts_close) {
    auto* u = q.mutable_alert_update();
    u->set_id(c.id);
    u->set_state(*c.alerts_ack ? "acknowledged" : "closed");
    u->set_note(c.note);
    auto r = client.Call(q);
    if (!r.ok()) return Fail(r.error());
    if (!ctx.json) fmt::print("alert {} {}\n", c.id, u->state());
    return kExitOk;
  }
  auto* a = q.mutable_alerts();
  a->mutable_range()->set_from_ns(ctx.range.start_ns);
  a->mutable_range()->set_to_ns(ctx.range.end_ns);
  for (const auto& cam : ctx.cameras) a->add_cameras(cam);
  for (const auto& s : c.states) a->add_states(s);
  for (const auto& z : c.zones) a->add_zones(z);
  a->mutable_page()->set_limit(c.limit);
  a->mutable_page()->set_page_token(c.page);
  auto r = client.Call(q);
  if (!r.ok()) return Fail(r.error());
  if (!ctx.json) {
    fmt::print("{:>6} {:<19} {:<10} {:<10} {:<13} {:<14} {:<12} {:<24} {:<24} {}\n", "ID", "RAISED", "CAMERA",
               "KIND", "STATE", "ZONE", "UNITS", "ACKNOWLEDGED", "CLOSED", "MESSAGE");
  }
  for (const auto& al : r->alerts().alerts()) {
    if (ctx.json) {
      fmt::print("{}\n", OneLineJson(al));
    } else {
      const int64_t raised = al.raised_ns() ? al.raised_ns() : al.time_ns();
      auto step = [&](int64_t at, const std::string& by) {
        return at > 0 ? fmt::format("{} {}", After(raised, at), by) : std::string("-");
      };
      fmt::print("{:>6} {:<19} {:<10} {:<10} {:<13} {:<14} {:<12} {:<24} {:<24} {}\n", al.id(),
                 FormatLocal(raised), al.camera(), al.kind(), al.state(),
                 al.zone().empty() ? "-" : al.zone(), Units(al.units()),
                 step(al.acknowledged_ns(), al.acknowledged_by()), step(al.closed_ns(), al.closed_by()),
                 al.message());
    }
  }
  const std::string& next = r->alerts().next_page_token();
  if (!next.empty()) {
    if (ctx.json) {
      fmt::print("{{\"next_page\":\"{}\"}}\n", next);
    } else {
      fmt::print(stderr, "more rows: add --page {}\n", next);
    }
  }
  return kExitOk;
}

// "25.04,102.71;25.05,102.71;25.05,102.72" → vertices.
Result<std::vector<std::pair<double, double>>> ParsePolygon(const std::string& text) {
  std::vector<std::pair<double, double>> out;
  std::stringstream ss(text);
  std::string vertex;
  while (std::getline(ss, vertex, ';')) {
    double lat = 0, lon = 0;
    int used = 0;
    if (std::sscanf(vertex.c_str(), " %lf , %lf %n", &lat, &lon, &used) != 2 ||
        used != static_cast<int>(vertex.size())) {
      return Status::InvalidArgument(fmt::format(
          "--polygon: cannot read vertex '{}' (give \"LAT,LON;LAT,LON;LAT,LON...\")", vertex));
    }
    out.emplace_back(lat, lon);
  }
  return out;
}

int Zones(const ApiCommands& c, const ApiContext& ctx, api::Client& client) {
  v1::Request q;
  if (*c.zones_set) {
    auto* z = q.mutable_zone_upsert()->mutable_zone();
    z->set_id(c.zone_id);
    z->set_name(c.zone_name.empty() ? c.zone_id : c.zone_name);
    auto poly = ParsePolygon(c.polygon);
    if (!poly.ok()) return Fail(poly.error());
    for (const auto& [lat, lon] : *poly) {
      auto* v = z->add_polygon();
      v->set_lat(lat);
      v->set_lon(lon);
    }
    for (const auto& u : c.units) z->add_units(u);
    auto r = client.Call(q);
    if (!r.ok()) return Fail(r.error());
    if (!ctx.json) fmt::print("zone {} set: {} vertices, units {}\n", c.zone_id, poly->size(), Units(z->units()));
    return kExitOk;
  }
  if (*c.zones_remove) {
    q.mutable_zone_remove()->set_id(c.zone_id);
    auto r = client.Call(q);
    if (!r.ok()) return Fail(r.error());
    if (!ctx.json) fmt::print("zone {} removed\n", c.zone_id);
    return kExitOk;
  }
  q.mutable_zones();
  auto r = client.Call(q);
  if (!r.ok()) return Fail(r.error());
  if (!ctx.json) fmt::print("{:<12} {:<28} {:<20} {:>8}  {}\n", "ID", "NAME", "UNITS", "VERTICES", "UPDATED");
  for (const auto& z : r->zones().zones()) {
    if (ctx.json) {
      fmt::print("{}\n", OneLineJson(z));
    } else {
      fmt::print("{:<12} {:<28} {:<20} {:>8}  {} by {}\n", z.id(), z.name(), Units(z.units()), z.polygon_size(),
                 z.updated_ns() ? FormatLocal(z.updated_ns()) : std::string("-"), z.updated_by());
    }
  }
  return kExitOk;
}

Result<v1::SnapshotResult> TakeSnapshot(api::Client& client, const std::string& camera, int max_width) {
  v1::Request q;
  q.mutable_snapshot()->set_camera(camera);
  q.mutable_snapshot()->set_max_width(max_width);
  VIGIL_ASSIGN_OR_RETURN(auto r, client.Call(q));
  return r.snapshot();
}

int Snapshot(const ApiCommands& c, const ApiContext& ctx, api::Client& client) {
  if (c.live_cameras.size() != 1) return Fail(Status::InvalidArgument("snapshot: name one --camera"));
  auto s = TakeSnapshot(client, c.live_cameras[0], c.max_width);
  if (!s.ok()) return Fail(s.error());
  std::string path = c.output.empty() ? SafeFileName(c.live_cameras[0], "snapshot", ".jpg") : c.output;
  if (Status st = WriteFile(path, s->jpeg().data(), s->jpeg().size()); !st.ok()) return Fail(st);
  if (ctx.json) {
    fmt::print("{{\"camera\":\"{}\",\"time\":\"{}\",\"width\":{},\"height\":{},\"file\":\"{}\"}}\n",
               s->camera(), FormatUtc(s->time_ns()), s->width(), s->height(), path);
  } else {
    fmt::print("{}: {}x{} picture of {} at {}\n", path, s->width(), s->height(), s->camera(),
               FormatLocal(s->time_ns()));
  }
  return kExitOk;
}

// A video patrol: each camera's live picture in turn, `every_s` apart, saved as it comes up; after
// each round the pictures of the round on one contact sheet.
int Patrol(const ApiCommands& c, const ApiContext& ctx, api::Client& client) {
  if (c.live_cameras.empty()) return Fail(Status::InvalidArgument("patrol: name the tour's cameras with --camera"));
  if (c.every_s < 0 || c.rounds < 1) return Fail(Status::InvalidArgument("patrol: --every >= 0, --rounds >= 1"));
  const std::string dir = c.output.empty() ? "." : c.output;
  if (Status st = MakeDirs(dir); !st.ok()) return Fail(st);
  int columns = c.columns > 0 ? c.columns
                              : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(c.live_cameras.size()))));
  bool any = false;
  for (int round = 1; round <= c.rounds; ++round) {
    std::vector<analytics::SheetTile> tiles;
    for (size_t i = 0; i < c.live_cameras.size(); ++i) {
      if (round > 1 || i > 0) std::this_thread::sleep_for(std::chrono::duration<double>(c.every_s));
      const std::string& cam = c.live_cameras[i];
      analytics::SheetTile tile;
      auto s = TakeSnapshot(client, cam, 0);
      if (!s.ok()) {
        tile.label = cam;
        tile.missing = s.error().message();
        fmt::print(stderr, "patrol: {}: {}\n", cam, s.error().message());
      } else {
        any = true;
        tile.label = fmt::format("{}  {}", cam, FormatLocal(s->time_ns()));
        std::vector<uint8_t> bytes(s->jpeg().begin(), s->jpeg().end());
        tile.picture = cv::imdecode(bytes, cv::IMREAD_COLOR);
        std::string path = JoinPath(dir, SafeFileName(fmt::format("round{}-{}", round, cam), "round", ".jpg"));
        (void)WriteFile(path, s->jpeg().data(), s->jpeg().size());
        if (!ctx.json) fmt::print("{}  {}  {}\n", FormatLocal(s->time_ns()), cam, path);
      }
      tiles.push_back(std::move(tile));
    }
    auto sheet = analytics::ContactSheet(tiles, columns);
    if (!sheet.ok()) return Fail(sheet.error());
    std::string path = JoinPath(dir, fmt::format("patrol-round{}.jpg", round));
    if (Status st = WriteFile(path, sheet->data(), sheet->size()); !st.ok()) return Fail(st);
    if (ctx.json) {
      fmt::print("{{\"round\":{},\"sheet\":\"{}\",\"cameras\":{}}}\n", round, path, tiles.size());
    } else {
      fmt::print("round {}: contact sheet {}\n", round, path);
    }
  }
  return any ? kExitOk : kExitServer;
}

// The audit trail (admins): newest first, and with --verify the whole hash chain checked.
int Audit(const ApiCommands& c, const ApiContext& ctx, api::Client& client) {
  v1::Request q;
  auto* a = q.mutable_audit();
  a->mutable_range()->set_from_ns(ctx.range.start_ns);
  a->mutable_range()->set_to_ns(ctx.range.end_ns);
  a->set_user(c.audit_user);
  a->set_verify(c.verify);
  a->mutable_page()->set_limit(c.limit);
  a->mutable_page()->set_page_token(c.page);
  auto r = client.Call(q);
  if (!r.ok()) return Fail(r.error());
  const auto& res = r->audit();
  if (ctx.json) {
    for (const auto& row : res.rows()) fmt::print("{}\n", OneLineJson(row));
    if (res.has_verification()) fmt::print("{}\n", OneLineJson(res.verification()));
  } else {
    fmt::print("{:>7}  {:<23} {:<14} {:<13} {:<22} {}\n", "ID", "TIME", "USER", "ROLE", "ACTION", "DETAIL");
    for (const auto& row : res.rows()) {
      std::string detail = row.detail().size() > 80 ? row.detail().substr(0, 77) + "..." : row.detail();
      fmt::print("{:>7}  {:<23} {:<14} {:<13} {:<22} {}\n", row.id(), FormatLocal(row.time_ns()),
                 row.user(), row.role().empty() ? "-" : row.role(), row.action(), detail);
    }
    if (!res.next_page_token().empty()) fmt::print(stderr, "more rows: add --page {}\n", res.next_page_token());
    if (res.has_verification()) {
      const auto& v = res.verification();
      if (v.intact()) {
        fmt::print("chain intact: {} rows checked ({} from before the chain), head {}\n", v.rows(),
                   v.unchained(), v.head_hash());
      } else {
        fmt::print("CHAIN BROKEN at row {}: {}\n", v.first_bad_id(), v.problem());
      }
    }
  }
  if (res.has_verification() && !res.verification().intact()) return kExitServer;
  return kExitOk;
}

}  // namespace

bool ApiCommands::chosen() const {
  return *export_cmd || *watch_cmd || *watchlist_cmd || *alerts_cmd || *zones_cmd || *snapshot_cmd ||
         *patrol_cmd || *audit_cmd;
}

void AddApiCommands(CLI::App& app, ApiCommands& c) {
  c.export_cmd = app.add_subcommand(
      "export", "clips of cameras (or of an area) for a time range, with a hash manifest (--server)");
  c.export_cmd->add_option("--output,-o", c.output_dir,
                           "download the clips and their manifests into this directory");
  c.export_cmd->add_option("--case", c.case_ref, "case or incident reference for the manifest");
  c.watch_cmd = app.add_subcommand("watch", "live events, plate reads, alerts and camera states (--server)");
  c.watch_cmd->add_option("--topic", c.topics,
                          "topic prefix: alert. | event.cam1 | camera. | plate. (repeatable; all when none)");
  c.watch_cmd->add_option("--events", c.events_endpoint, "the PUB endpoint (asked from the server when omitted)");
  c.watch_cmd->add_option("--count", c.count, "stop after N messages");
  c.watch_cmd->add_option("--seconds", c.seconds, "stop after S seconds");
  c.watchlist_cmd = app.add_subcommand("watchlist", "wanted plates: list, add, remove (--server)");
  c.watchlist_add = c.watchlist_cmd->add_subcommand("add", "add a plate, wildcard pattern or fuzzy plate");
  c.watchlist_add->add_option("pattern", c.pattern, "plate or pattern, e.g. 云A12345, 云A*12?45")->required();
  c.watchlist_add->add_option("--fuzzy", c.fuzzy, "match up to N confusable substitutions");
  c.watchlist_add->add_option("--reason", c.reason, "why the plate is wanted")->required();
  c.watchlist_add->add_option("--priority", c.priority, "1 (most urgent) .. 5")->check(CLI::Range(1, 5));
  c.watchlist_add->add_option("--expires", c.expires, "when the entry stops alerting: \"+7d\", \"2026-12-31 23:59\"");
  c.watchlist_remove = c.watchlist_cmd->add_subcommand("remove", "remove an entry (kept in history)");
  c.watchlist_remove->add_option("id", c.id, "entry id")->required();
  c.alerts_cmd = app.add_subcommand("alerts", "alerts: list, ack, close (--server)");
  c.alerts_cmd->add_option("--state", c.states, "new, acknowledged, closed (repeatable)");
  c.alerts_cmd->add_option("--zone,-z", c.zones, "response zone id (repeatable; \"\" for alerts in none)");
  c.alerts_cmd->add_option("--limit", c.limit, "rows per page (1-10000, default 100)");
  c.alerts_cmd->add_option("--page", c.page, "token printed by the previous page");
  c.alerts_ack = c.alerts_cmd->add_subcommand("ack", "acknowledge an alert");
  c.alerts_close = c.alerts_cmd->add_subcommand("close", "close an alert");
  for (CLI::App* sub : {c.alerts_ack, c.alerts_close}) {
    sub->add_option("id", c.id, "alert id")->required();
    sub->add_option("--note", c.note, "what was done");
  }
  c.alerts_stats = c.alerts_cmd->add_subcommand(
      "stats", "response times per zone and period: p50/p90, share answered within a target");
  c.alerts_stats->add_option("--period", c.period, "one row per zone per period: 1h, 1d, 1w (default: the whole range)");
  c.alerts_stats->add_option("--within", c.within, "the response target (default 3m)");
  c.alerts_stats->add_option("--zone,-z", c.zones, "response zone id (repeatable)");
  c.audit_cmd = app.add_subcommand(
      "audit", "who read or changed what, newest first; --verify checks the hash chain (admin, --server)");
  c.audit_cmd->add_option("--user", c.audit_user, "only this user's rows");
  c.audit_cmd->add_flag("--verify", c.verify, "check every row's hash against the chain");
  c.audit_cmd->add_option("--limit", c.limit, "rows per page (default 100)");
  c.audit_cmd->add_option("--page", c.page, "the page token a previous call printed");
  c.zones_cmd = app.add_subcommand("zones", "rapid-response zones and their patrol units: list, set, remove (--server)");
  c.zones_set = c.zones_cmd->add_subcommand("set", "add or replace a zone");
  c.zones_set->add_option("id", c.zone_id, "zone id, e.g. z-017")->required();
  c.zones_set->add_option("--name", c.zone_name, "what people call it");
  c.zones_set->add_option("--polygon", c.polygon, "vertices: \"LAT,LON;LAT,LON;LAT,LON...\"")->required();
  c.zones_set->add_option("--unit,-u", c.units, "patrol unit assigned to the zone (repeatable)");
  c.zones_remove = c.zones_cmd->add_subcommand("remove", "remove a zone (its alerts keep its id)");
  c.zones_remove->add_option("id", c.zone_id, "zone id")->required();
  c.snapshot_cmd = app.add_subcommand("snapshot", "a camera's live picture as JPEG (--server; analysed cameras)");
  c.snapshot_cmd->add_option("--camera,-c", c.live_cameras, "the camera")->required();
  c.snapshot_cmd->add_option("--output,-o", c.output, "JPEG file (default CAMERA.jpg)");
  c.snapshot_cmd->add_option("--max-width", c.max_width, "scale down to at most this width");
  c.patrol_cmd = app.add_subcommand("patrol", "a video patrol tour: cameras in turn, then a contact sheet (--server)");
  c.patrol_cmd->add_option("--camera,-c", c.live_cameras, "the tour's cameras, in order (repeatable)")->required();
  c.patrol_cmd->add_option("--every", c.every_s, "seconds on each camera (default 5)");
  c.patrol_cmd->add_option("--rounds", c.rounds, "times round the tour (default 1)");
  c.patrol_cmd->add_option("--columns", c.columns, "contact sheet columns (default: a square grid)");
  c.patrol_cmd->add_option("--output,-o", c.output, "directory for the pictures and sheets (default .)");
}

int RunApiCommand(const ApiCommands& c, const ApiContext& ctx) {
  if (ctx.server.empty()) {
    std::cerr << "vigil: this subcommand asks a running vigild: give --server ENDPOINT\n";
    return kExitUsage;
  }
  auto client = api::Client::Connect(ctx.server, ctx.key);
  if (!client.ok()) return Fail(client.error());
  if (*c.export_cmd) return Export(c, ctx, **client);
  if (*c.watch_cmd) return Watch(c, ctx, **client);
  if (*c.watchlist_cmd) return Watchlist(c, ctx, **client);
  if (*c.snapshot_cmd) return Snapshot(c, ctx, **client);
  if (*c.patrol_cmd) return Patrol(c, ctx, **client);
  if (*c.zones_cmd) return Zones(c, ctx, **client);
  if (*c.audit_cmd) return Audit(c, ctx, **client);
  return Alerts(c, ctx, **client);
}

}  // namespace vigil::cli
