// vigil: the command line for operators, investigators and scripts.
//
//   vigil --data DIR [--json] cameras
//   vigil --data DIR [--json] footage  [--camera ID]... [--from T] [--to T]
//   vigil --data DIR [--json] segments [--camera ID]... [--from T] [--to T] [--limit N]
//   vigil --data DIR [--json] gaps     [--camera ID]... [--from T] [--to T]
//   vigil --data DIR [--json] near     --at LAT,LON [--radius M | --nearest K]
//   vigil --data DIR [--json] events   [--camera ID]... [--from T] [--to T] [--type T]... [--zone Z]...
//                                      [--class C]... [--at LAT,LON --radius M] [--newest] [--limit N]
//                                      [--page TOKEN]
//   vigil --data DIR [--json] plates   PLATE|PATTERN [--fuzzy N] [--camera ID]... [--from T] [--to T]
//                                      [--at LAT,LON --radius M] [--limit N] [--page TOKEN]
//   vigil --data DIR [--json] counts   [--camera ID]... [--from T] [--to T] [--type T]...
//   vigil --data DIR [--json] counts   --line NAME... [--by class] [--camera ID]... [--from T] [--to T]
//     crossings of the lines per direction (and object class): the traffic-flow count.
//
//   vigil --server ENDPOINT [--json] status | cameras | events | plates | near | counts | footage | gaps
//     the same over a running vigild's API (segments need --data: they are the node's files).
//   vigil --server ENDPOINT export (--camera ID... | --at LAT,LON --radius M) --from T --to T
//                                  [--case REF] [--output DIR]
//     one clip per camera with its manifest; kept on the server, or downloaded (hash checked).
//   vigil --server ENDPOINT watch [--topic alert.|camera.|event.cam1 ...] [--count N] [--seconds S]
//   vigil --server ENDPOINT watchlist [add PATTERN --reason TEXT [--fuzzy N] | remove ID]
//   vigil --server ENDPOINT alerts [--state S]... [--camera ID]... [--zone Z]... [--from T] [--to T]
//                                  | alerts ack ID [--note TEXT] | alerts close ID [--note TEXT]
//                                  | alerts stats [--from T] [--to T] [--period 1d] [--within 3m] [--zone Z]...
//   vigil --server ENDPOINT zones [set ID --polygon "LAT,LON;..." [--name N] [--unit U]... | remove ID]
//
// Paged commands print the token for the next page on stderr (tables) or as a last line
// {"next_page": TOKEN} (--json).
//
// Reads the index of a vigild data directory (read-only, safe beside a running vigild). Times are
// shown in the local zone for people and as UTC (RFC 3339 and nanoseconds) with --json.
// Exit codes: 0 success, 1 the index or server could not answer, 2 bad command line or a request the
// server refused (unknown camera, inverted range, clip too long, ...), 3 an export where some clips
// failed and others were written, 4 not allowed (no key, a key the server refuses, or a request or
// topic the key's role may not use).

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <sstream>

#include <CLI/CLI.hpp>

#include "base/clock.h"
#include "base/fs.h"
#include "base/plate_text.h"
#include "index/footage.h"
#include "index/store.h"
#include "proto/client.h"
#include "proto/remote_store.h"
#include "tools/vigil/api_commands.h"
#include "tools/vigil/time_input.h"

namespace {

using namespace vigil;

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string Duration(int64_t ns) {
  int64_t s = ns / kNsPerSec;
  if (s < 60) return fmt::format("{:.1f} s", static_cast<double>(ns) / kNsPerSec);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60);
}

std::string Megabytes(int64_t b) { return fmt::format("{:.1f} MB", static_cast<double>(b) / 1e6); }

struct Range {
  std::vector<std::string> cameras;
  std::string from, to;
  int64_t start_ns = INT64_MIN;
  int64_t end_ns = INT64_MAX;
};

// Whether `camera` is among those asked for (all when none were named).
bool Wanted(const Range& r, const std::string& camera) {
  return r.cameras.empty() ||
         std::find(r.cameras.begin(), r.cameras.end(), camera) != r.cameras.end();
}

// "25.04,102.71" -> LatLon.
std::optional<index::LatLon> ParseLatLon(const std::string& s) {
  double lat = 0, lon = 0;
  char comma = 0;
  std::istringstream in(s);
  if (!(in >> lat >> comma >> lon) || comma != ',') return std::nullopt;
  return index::LatLon{lat, lon};
}

// Who asks: the key file an admin made for this user (`vigild keys add`): --key, $VIGIL_KEY, else
// ~/.config/vigil/key. The server knows the user and role by the key; nothing claimed counts.
Result<api::UserKey> LoadKey(std::string path) {
  if (path.empty()) {
    std::string config;
    if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) {
      config = x;
    } else if (const char* h = std::getenv("HOME"); h && *h) {
      config = std::string(h) + "/.config";
    } else if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_dir) {
      config = std::string(pw->pw_dir) + "/.config";
    }
    path = config + "/vigil/key";
    if (::access(path.c_str(), F_OK) != 0) {
      return Status::Unauthenticated(fmt::format(
          "no key: a server answers only its authorised keys. Ask its admin for one (`vigild "
          "--config FILE keys add USER ROLE`) and give it with --key FILE, VIGIL_KEY=FILE, or put it "
          "at {}",
          path));
    }
  }
  return api::LoadUserKey(path);
}

void PrintNextPage(const std::string& token, bool json) {
  if (token.empty()) return;
  if (json) {
    fmt::print("{{\"next_page\":{}}}\n", JsonString(token));
  } else {
    fmt::print(stderr, "more rows: add --page {}\n", token);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil: query what vigild recorded"};
  app.require_subcommand(1);
  // Options of vigil itself may follow the subcommand, as the documented form says:
  // `vigil [--server EP] SUBCOMMAND ... [--json]`.
  app.fallthrough();
  std::string data_dir, index_path;
  bool json = false;
  app.add_option("--data", data_dir, "vigild's data directory (holds index.db)")->envname("VIGIL_DATA");
  app.add_option("--index", index_path, "an index file (instead of --data)");
  std::string server;
  app.add_option("--server", server, "a vigild's API, e.g. tcp://127.0.0.1:7700 (instead of --data)")
      ->envname("VIGIL_SERVER");
  app.add_flag("--json", json, "one JSON object per line, UTC times");
  std::string key_path;
  app.add_option("--key", key_path, "your key file for --server (default ~/.config/vigil/key)")
      ->envname("VIGIL_KEY");

  Range range;
  int64_t limit = 1000;
  auto add_range = [&](CLI::App* sub) {
    sub->add_option("--camera,-c", range.cameras, "camera id (repeatable)");
    sub->add_option("--from", range.from, "start: \"2026-11-22 21:00\", \"-30m\", \"yesterday 21:00\"");
    sub->add_option("--to", range.to, "end (default now)");
  };
  CLI::App* status_cmd = app.add_subcommand("status", "the server and each camera's health (--server)");
  CLI::App* cameras_cmd = app.add_subcommand("cameras", "cameras and what is recorded of each");
  CLI::App* footage_cmd = app.add_subcommand("footage", "recorded spans and the gaps between them");
  add_range(footage_cmd);
  CLI::App* segments_cmd = app.add_subcommand("segments", "segment files with size and SHA-256");
  add_range(segments_cmd);
  segments_cmd->add_option("--limit", limit, "most rows");
  CLI::App* gaps_cmd = app.add_subcommand("gaps", "spans without footage and why");
  add_range(gaps_cmd);
  std::string at, page_token;
  int64_t page_limit = 100;
  double radius_m = 0;
  int nearest = 0, fuzzy = -1;
  bool newest = false;
  std::vector<std::string> types, zones, classes, count_lines;
  std::string pattern, count_by;
  auto add_place = [&](CLI::App* sub) {
    sub->add_option("--at", at, "a point: LAT,LON");
    sub->add_option("--radius", radius_m, "metres around --at");
  };
  auto add_page = [&](CLI::App* sub) {
    sub->add_option("--limit", page_limit, "rows per page (1-10000, default 100)");
    sub->add_option("--page", page_token, "token printed by the previous page");
  };
  CLI::App* near_cmd = app.add_subcommand("near", "cameras around a point, nearest first");
  add_place(near_cmd);
  near_cmd->add_option("--nearest", nearest, "the K nearest cameras instead of a radius");
  CLI::App* events_cmd = app.add_subcommand("events", "events by time, camera, type, zone and place");
  add_range(events_cmd);
  add_place(events_cmd);
  add_page(events_cmd);
  events_cmd->add_option("--type,-t", types, "vehicle, person, intrusion, tripwire, loitering, ... or a code");
  events_cmd->add_option("--zone,-z", zones, "zone or line name (repeatable)");
  events_cmd->add_option("--class", classes, "what the object is: person, vehicle, two_wheeler, other (repeatable)");
  events_cmd->add_flag("--newest", newest, "newest first");
  CLI::App* plates_cmd = app.add_subcommand("plates", "plate reads: exact, wildcard (? one, * any run) or fuzzy");
  plates_cmd->add_option("plate", pattern, "plate or pattern, e.g. 云A·12345, 云A*12?45")->required();
  plates_cmd->add_option("--fuzzy", fuzzy, "allow up to N confusable substitutions (0/D/Q/O, 8/B, ...)");
  add_range(plates_cmd);
  add_place(plates_cmd);
  add_page(plates_cmd);
  CLI::App* counts_cmd = app.add_subcommand("counts", "events per camera, type and hour");
  add_range(counts_cmd);
  counts_cmd->add_option("--type,-t", types, "event types (repeatable)");
  counts_cmd->add_option("--line,-l", count_lines, "count the crossings of this line by direction (repeatable)");
  counts_cmd->add_option("--by", count_by, "with --line: 'class' also splits the crossings by object class");
  cli::ApiCommands api_cmds;
  cli::AddApiCommands(app, api_cmds);
  add_range(api_cmds.export_cmd);
  add_place(api_cmds.export_cmd);
  add_range(api_cmds.alerts_cmd);
  api_cmds.alerts_stats->add_option("--from", range.from, "start (default: a day ago)");
  api_cmds.alerts_stats->add_option("--to", range.to, "end (default now)");
  api_cmds.audit_cmd->add_option("--from", range.from, "start (default: the first row)");
  api_cmds.audit_cmd->add_option("--to", range.to, "end (default: the last row)");
  CLI11_PARSE(app, argc, argv);

  if (index_path.empty() && server.empty()) {
    if (data_dir.empty()) {
      std::cerr << "vigil: give --server ENDPOINT (a running vigild), --data DIR (its data_dir) or "
                   "--index FILE\n";
      return 2;
    }
    index_path = JoinPath(data_dir, "index.db");
  }
  int64_t now = SystemClock().WallNs();
  for (auto [text, out] : {std::pair{&range.from, &range.start_ns}, std::pair{&range.to, &range.end_ns}}) {
    if (text->empty()) continue;
    auto t = cli::ParseTimeInput(*text, now);
    if (!t.ok()) {
      std::cerr << "vigil: " << t.error().message() << "\n";
      return 2;
    }
    *out = *t;
  }
  if (range.start_ns >= range.end_ns) {
    std::cerr << "vigil: --from must be before --to\n";
    return 2;
  }
  if (api_cmds.chosen()) {
    cli::ApiContext ctx;
    ctx.server = server;
    ctx.json = json;
    ctx.cameras = range.cameras;
    ctx.range = {range.start_ns, range.end_ns};
    ctx.range_given = !range.from.empty() && !range.to.empty();
    auto key = LoadKey(key_path);
    if (!key.ok()) {
      std::cerr << "vigil: " << key.error().message() << "\n";
      return 4;
    }
    ctx.key = *key;
    if (!at.empty()) {
      auto p = ParseLatLon(at);
      if (!p || radius_m <= 0) {
        std::cerr << "vigil: --at takes LAT,LON with --radius M\n";
        return 2;
      }
      ctx.area = index::Area{*p, radius_m, {}};
    }
    return cli::RunApiCommand(api_cmds, ctx);
  }
  if (*status_cmd) {
    if (server.empty()) {
      std::cerr << "vigil: status asks a running vigild: give --server ENDPOINT\n";
      return 2;
    }
    auto key = LoadKey(key_path);
    if (!key.ok()) {
      std::cerr << "vigil: " << key.error().message() << "\n";
      return 4;
    }
    auto client = api::Client::Connect(server, *key);
    if (!client.ok()) {
      std::cerr << "vigil: " << client.error().message() << "\n";
      return 2;
    }
    api::v1::Request q;
    q.mutable_status();
    auto r = (*client)->Call(q);
    if (!r.ok()) {
      std::cerr << "vigil: " << r.error().message() << "\n";
      return 1;
    }
    const auto& st = r->status();
    if (json) {
      fmt::print("{{\"version\":{},\"now\":{},\"started\":{},\"schema_version\":{}}}\n",
                 JsonString(st.version()), JsonString(FormatUtc(st.now_ns())),
                 JsonString(FormatUtc(st.started_ns())), st.schema_version());
    } else {
      fmt::print("vigild {} up since {}, index schema {}\n", st.version(), FormatLocal(st.started_ns()),
                 st.schema_version());
      fmt::print("{:<12} {:<11} {:>6} {:>9} {:>9} {:>8} {:>10}  {:<10} {}\n", "CAMERA", "STATE", "FPS", "MB/S",
                 "DROPPED", "RETRIES", "CODEC", "ANALYSIS", "LAST ERROR");
    }
    for (const auto& c : st.cameras()) {
      if (json) {
        const auto& d = c.dropped();
        fmt::print("{{\"camera\":{},\"state\":{},\"fps\":{:.1f},\"bitrate_bps\":{:.0f},\"frames\":{},"
                   "\"frames_received\":{},\"frames_dropped\":{},\"dropped\":{{\"packet_loss\":{},"
                   "\"before_key\":{},\"queue_overflow\":{},\"disk_error\":{},\"format_change\":{},"
                   "\"untimed\":{}}},\"lost_packets\":{},\"frames_retimed\":{},"
                   "\"reconnects\":{},\"codec\":{},\"last_error\":{},"
                   "\"last_gap_reason\":{},\"analysis\":{},\"analysis_error\":{},\"analysis_frames\":{},"
                   "\"analysis_dropped\":{},\"analysis_ms\":{:.2f}}}\n",
                   JsonString(c.camera()), JsonString(c.state()), c.fps(), c.bitrate_bps(), c.frames(),
                   c.frames_received(), c.frames_dropped(), d.packet_loss(), d.before_key(), d.queue_overflow(),
                   d.disk_error(), d.format_change(), d.untimed(), c.lost_packets(), c.frames_retimed(),
                   c.reconnects(), JsonString(c.codec()), JsonString(c.last_error()),
                   JsonString(c.last_gap_reason()), JsonString(c.analysis()), JsonString(c.analysis_error()),
                   c.analysis_frames(), c.analysis_dropped(), c.analysis_ms());
      } else {
        std::string error = c.last_error();
        if (!c.analysis_error().empty()) {
          error += (error.empty() ? "" : "; ") + std::string("analysis: ") + c.analysis_error();
        }
        if (c.frames_dropped() > 0) {
          // Never a bare count: say why the frames were not recorded.
          const auto& d = c.dropped();
          const std::pair<int64_t, const char*> parts[] = {
              {d.packet_loss(), "packet loss"}, {d.before_key(), "before a key frame"},
              {d.queue_overflow(), "queue overflow"}, {d.disk_error(), "disk error"},
              {d.format_change(), "format change"}, {d.untimed(), "no timestamp"}};
          std::string why;
          for (const auto& [n, what] : parts) {
            if (n > 0) why += fmt::format("{}{} {}", why.empty() ? "" : ", ", n, what);
          }
          error += fmt::format("{}dropped {} of {} frames: {}", error.empty() ? "" : "; ", c.frames_dropped(),
                               c.frames_received(), why);
        }
        fmt::print("{:<12} {:<11} {:>6.1f} {:>9.2f} {:>9} {:>8} {:>10}  {:<10} {}\n", c.camera(), c.state(),
                   c.fps(), c.bitrate_bps() / 8e6, c.frames_dropped(), c.reconnects(), c.codec(),
                   c.analysis(), error);
      }
    }
    return 0;
  }
  Result<std::unique_ptr<index::Store>> store = Status::Internal("no store");
  if (!server.empty()) {
    auto key = LoadKey(key_path);
    if (!key.ok()) {
      std::cerr << "vigil: " << key.error().message() << "\n";
      return 4;
    }
    auto client = api::Client::Connect(server, *key);
    if (!client.ok()) {
      std::cerr << "vigil: " << client.error().message() << "\n";
      return 2;
    }
    store = api::MakeRemoteStore(std::move(*client));
  } else {
    index::SqliteOptions ro;
    ro.read_only = true;
    store = index::OpenSqliteStore(index_path, ro);
  }
  if (!store.ok()) {
    std::cerr << "vigil: " << store.error().message() << "\n";
    return 1;
  }
  auto fail = [](const Status& st) {
    std::cerr << "vigil: " << st.message() << "\n";
    return st.code() == StatusCode::kUnauthenticated || st.code() == StatusCode::kPermissionDenied ? 4 : 1;
  };
  std::optional<index::Area> area;
  if (!at.empty()) {
    auto p = ParseLatLon(at);
    if (!p) {
      std::cerr << "vigil: --at takes LAT,LON (e.g. 25.0389,102.7183), not '" << at << "'\n";
      return 2;
    }
    area = index::Area{*p, radius_m, {}};
  } else if (radius_m != 0) {
    std::cerr << "vigil: --radius needs --at LAT,LON\n";
    return 2;
  }
  std::vector<index::EventType> event_types;
  for (const auto& t : types) {
    auto parsed = index::ParseEventType(t);
    if (!parsed) {
      std::cerr << "vigil: unknown event type '" << t << "'\n";
      return 2;
    }
    event_types.push_back(*parsed);
  }
  std::vector<index::ObjectClass> object_classes;
  for (const auto& c : classes) {
    auto parsed = index::ParseObjectClass(c);
    if (!parsed) {
      std::cerr << "vigil: unknown object class '" << c << "' (person, vehicle, two_wheeler or other)\n";
      return 2;
    }
    object_classes.push_back(*parsed);
  }
  if (!count_by.empty() && count_by != "class") {
    std::cerr << "vigil: --by takes 'class', not '" << count_by << "'\n";
    return 2;
  }
  if (!count_by.empty() && count_lines.empty()) {
    std::cerr << "vigil: --by class counts line crossings: give --line NAME\n";
    return 2;
  }
  auto query_fail = [](const Status& st) {
    std::cerr << "vigil: " << st.message() << "\n";
    return st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kNotFound ? 2 : 1;
  };
  index::TimeRange time_range{range.start_ns, range.end_ns};

  auto known = (*store)->Cameras();
  if (!known.ok()) return fail(known.error());
  for (const auto& id : range.cameras) {
    bool found = std::any_of(known->begin(), known->end(), [&](const auto& c) { return c.id == id; });
    if (!found) {
      std::cerr << "vigil: unknown camera '" << id << "'\n";
      return 2;
    }
  }
  index::SegmentFilter filter;
  filter.start_ns = range.start_ns;
  filter.end_ns = range.end_ns;
  auto segments = [&]() -> Result<std::vector<index::Segment>> {
    if (range.cameras.empty()) return (*store)->Segments(filter);
    std::vector<index::Segment> all;
    for (const auto& id : range.cameras) {
      index::SegmentFilter f = filter;
      f.camera = id;
      VIGIL_ASSIGN_OR_RETURN(auto some, (*store)->Segments(f));
      all.insert(all.end(), some.begin(), some.end());
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.start_ns < b.start_ns; });
    if (static_cast<int64_t>(all.size()) > filter.limit) all.resize(static_cast<size_t>(filter.limit));
    return all;
  };
  auto gaps = [&]() -> Result<std::vector<index::Gap>> {
    VIGIL_ASSIGN_OR_RETURN(auto all, (*store)->Gaps("", range.start_ns, range.end_ns));
    std::erase_if(all, [&](const index::Gap& g) { return !Wanted(range, g.camera); });
    return all;
  };

  if (*near_cmd) {
    if (!area) {
      std::cerr << "vigil: near needs --at LAT,LON\n";
      return 2;
    }
    auto found = nearest > 0 ? (*store)->NearestCameras(area->center, nearest) : (*store)->CamerasIn(*area);
    if (!found.ok()) return query_fail(found.error());
    if (!json) fmt::print("{:<12} {:>9} {:<24} {}\n", "CAMERA", "DISTANCE", "NAME", "PLACE");
    for (const auto& cd : *found) {
      if (json) {
        fmt::print("{{\"camera\":{},\"distance_m\":{:.1f},\"name\":{},\"place\":{},\"lat\":{},\"lon\":{}}}\n",
                   JsonString(cd.camera.id), cd.distance_m, JsonString(cd.camera.name),
                   JsonString(cd.camera.place), cd.camera.lat, cd.camera.lon);
      } else {
        fmt::print("{:<12} {:>7.0f} m {:<24} {}\n", cd.camera.id, cd.distance_m, cd.camera.name.substr(0, 24),
                   cd.camera.place);
      }
    }
  } else if (*events_cmd) {
    index::EventQuery q;
    q.range = time_range;
    q.cameras = range.cameras;
    q.area = area;
    q.types = event_types;
    q.zones = zones;
    q.classes = object_classes;
    q.newest_first = newest;
    q.page = {page_limit, page_token};
    auto page = (*store)->Events(q);
    if (!page.ok()) return query_fail(page.error());
    if (!json) {
      fmt::print("{:<10} {:<23} {:>8} {:<16} {:<8} {:<16} {:>6} {:>5}\n", "CAMERA", "START", "LENGTH", "TYPE",
                 "ZONE", "CLASS", "TRACK", "SCORE");
    }
    for (const auto& e : page->items) {
      const std::string_view cls = index::ObjectClassName(e.object_class);
      if (json) {
        fmt::print("{{\"id\":{},\"camera\":{},\"start\":{},\"end\":{},\"start_ns\":{},\"end_ns\":{},\"type\":\"{}\","
                   "\"code\":{},\"zone\":{},\"class\":\"{}\",\"class_confidence\":{:.3f},\"track\":{},"
                   "\"score\":{:.3f},\"box\":[{},{},{},{}]}}\n",
                   e.id, JsonString(e.camera), JsonString(FormatUtc(e.start_ns)), JsonString(FormatUtc(e.end_ns)),
                   e.start_ns, e.end_ns, index::EventTypeName(e.type), static_cast<int>(e.type), JsonString(e.zone),
                   cls, e.class_confidence, e.track, e.score, e.box.x, e.box.y, e.box.w, e.box.h);
      } else {
        const std::string shown = cls.empty() ? "-" : fmt::format("{} {:.2f}", cls, e.class_confidence);
        fmt::print("{:<10} {:<23} {:>8} {:<16} {:<8} {:<16} {:>6} {:>5.2f}\n", e.camera, FormatLocal(e.start_ns),
                   Duration(e.end_ns - e.start_ns), index::EventTypeName(e.type), e.zone, shown, e.track, e.score);
      }
    }
    PrintNextPage(page->next_token, json);
  } else if (*plates_cmd) {
    index::PlateQuery q;
    q.pattern = pattern;
    bool wild = pattern.find_first_of("?*") != std::string::npos;
    if (fuzzy >= 0 && wild) {
      std::cerr << "vigil: --fuzzy takes a whole plate, not a pattern with ? or *\n";
      return 2;
    }
    q.match = fuzzy >= 0 ? index::PlateMatch::kFuzzy : wild ? index::PlateMatch::kWildcard : index::PlateMatch::kExact;
    q.max_substitutions = std::max(fuzzy, 0);
    q.range = time_range;
    q.cameras = range.cameras;
    q.area = area;
    q.page = {page_limit, page_token};
    auto page = (*store)->Plates(q);
    if (!page.ok()) return query_fail(page.error());
    if (!json) fmt::print("{:<10} {:<10} {:<23} {:<7} {:>5} {:>4}\n", "PLATE", "CAMERA", "TIME", "COLOUR", "CONF", "SUBS");
    for (const auto& h : page->items) {
      const auto& r = h.read;
      if (json) {
        fmt::print("{{\"id\":{},\"plate\":{},\"camera\":{},\"time\":{},\"time_ns\":{},\"color\":\"{}\","
                   "\"confidence\":{:.3f},\"substitutions\":{},\"box\":[{},{},{},{}]}}\n",
                   r.id, JsonString(r.plate), JsonString(r.camera), JsonString(FormatUtc(r.time_ns)), r.time_ns,
                   index::PlateColorName(r.color), r.confidence, h.substitutions, r.box.x, r.box.y, r.box.w, r.box.h);
      } else {
        fmt::print("{:<10} {:<10} {:<23} {:<7} {:>5.2f} {:>4}\n", r.plate, r.camera, FormatLocal(r.time_ns),
                   index::PlateColorName(r.color), r.confidence, h.substitutions);
      }
    }
    PrintNextPage(page->next_token, json);
  } else if (*counts_cmd && !count_lines.empty()) {
    // Line crossings (tripwire events of the lines) in the range, per line, direction and, with
    // --by class, the object's class: read page by page and tallied here, over --data or --server.
    if (!types.empty()) {
      std::cerr << "vigil: --line counts crossings; leave out --type\n";
      return 2;
    }
    index::EventQuery q;
    q.range = time_range;
    q.cameras = range.cameras;
    q.types = {index::EventType::kTripwire};
    q.zones = count_lines;
    q.page.limit = index::kMaxPageLimit;
    std::map<std::tuple<std::string, std::string, std::string, std::string>, int64_t> tally;
    for (;;) {
      auto page = (*store)->Events(q);
      if (!page.ok()) return query_fail(page.error());
      for (const auto& e : page->items) {
        std::string dir = "both";
        if (auto at = e.attributes.find("\"direction\":\""); at != std::string::npos) {
          at += 13;
          dir = e.attributes.substr(at, e.attributes.find('"', at) - at);
        }
        std::string cls(index::ObjectClassName(e.object_class));
        if (cls.empty()) cls = "unknown";
        ++tally[{e.camera, e.zone, dir, count_by.empty() ? std::string() : cls}];
      }
      if (page->next_token.empty()) break;
      q.page.token = page->next_token;
    }
    if (!json) {
      fmt::print("{:<10} {:<12} {:<8} {}{:>8}\n", "CAMERA", "LINE", "DIRECTION",
                 count_by.empty() ? "" : fmt::format("{:<12} ", "CLASS"), "CROSSINGS");
    }
    for (const auto& [k, n] : tally) {
      const auto& [camera, line, dir, cls] = k;
      if (json) {
        fmt::print("{{\"camera\":{},\"line\":{},\"direction\":\"{}\",{}\"count\":{}}}\n", JsonString(camera),
                   JsonString(line), dir, count_by.empty() ? "" : fmt::format("\"class\":\"{}\",", cls), n);
      } else {
        fmt::print("{:<10} {:<12} {:<8} {}{:>8}\n", camera, line, dir,
                   count_by.empty() ? "" : fmt::format("{:<12} ", cls), n);
      }
    }
    if (tally.empty() && !json) {
      std::cerr << "vigil: no crossings of " << fmt::format("{}", fmt::join(count_lines, ", "))
                << " in that time\n";
    }
  } else if (*counts_cmd) {
    index::CountQuery q;
    q.range = time_range;
    q.cameras = range.cameras;
    q.types = event_types;
    q.page.limit = index::kMaxPageLimit;
    if (!json) fmt::print("{:<17} {:<10} {:<16} {:>8}\n", "HOUR", "CAMERA", "TYPE", "EVENTS");
    for (;;) {
      auto page = (*store)->CountEvents(q);
      if (!page.ok()) return query_fail(page.error());
      for (const auto& c : page->items) {
        if (json) {
          fmt::print("{{\"hour\":{},\"hour_ns\":{},\"camera\":{},\"type\":\"{}\",\"count\":{}}}\n",
                     JsonString(FormatUtc(c.hour_ns)), c.hour_ns, JsonString(c.camera), index::EventTypeName(c.type),
                     c.count);
        } else {
          fmt::print("{:<17} {:<10} {:<16} {:>8}\n", FormatLocal(c.hour_ns).substr(0, 16), c.camera,
                     index::EventTypeName(c.type), c.count);
        }
      }
      if (page->next_token.empty()) break;
      q.page.token = page->next_token;
    }
  } else if (*cameras_cmd) {
    // Over the API there is no disk usage: the cameras are listed without it.
    auto usage = (*store)->Usage();
    if (!usage.ok() && usage.error().code() != StatusCode::kFailedPrecondition) return fail(usage.error());
    std::map<std::string, index::CameraUsage> by_id;
    std::map<std::string, int64_t> last_end;
    if (usage.ok()) {
      for (auto& u : *usage) by_id[u.camera] = u;
      auto segs = segments();
      if (!segs.ok()) return fail(segs.error());
      for (const auto& s : *segs) last_end[s.camera] = std::max(last_end[s.camera], s.end_ns);
    }
    if (!json) {
      fmt::print("{:<12} {:<24} {:<20} {:>9} {:>10} {:>9} {:>11}  {}\n", "CAMERA", "NAME", "PLACE",
                 "LAT", "LON", "SEGMENTS", "SIZE", "RECORDED");
    }
    for (const auto& c : *known) {
      const auto& u = by_id[c.id];
      std::string recorded = u.segments ? FormatLocal(u.oldest_start_ns) + " → " + FormatLocal(last_end[c.id]) : "nothing yet";
      if (json) {
        fmt::print("{{\"camera\":{},\"name\":{},\"place\":{},\"lat\":{},\"lon\":{},\"segments\":{},\"bytes\":{},"
                   "\"oldest\":{},\"newest\":{}}}\n",
                   JsonString(c.id), JsonString(c.name), JsonString(c.place), c.lat, c.lon, u.segments, u.bytes,
                   u.segments ? JsonString(FormatUtc(u.oldest_start_ns)) : "null",
                   u.segments ? JsonString(FormatUtc(last_end[c.id])) : "null");
      } else {
        fmt::print("{:<12} {:<24} {:<20} {:>9.5f} {:>10.5f} {:>9} {:>11}  {}\n", c.id, c.name.substr(0, 24),
                   c.place.substr(0, 20), c.lat, c.lon, u.segments, Megabytes(u.bytes), recorded);
      }
    }
  } else if (*footage_cmd) {
    index::FootageQuery fq;
    fq.range = time_range;
    fq.cameras = range.cameras;
    fq.page.limit = index::kMaxPageLimit;
    std::vector<index::FootageSpan> spans;
    std::vector<index::Gap> gap_rows;
    for (;;) {
      auto page = (*store)->Footage(fq);
      if (!page.ok()) return query_fail(page.error());
      spans.insert(spans.end(), page->spans.begin(), page->spans.end());
      gap_rows.insert(gap_rows.end(), page->gaps.begin(), page->gaps.end());
      if (page->next_token.empty()) break;
      fq.page.token = page->next_token;
    }
    // One timeline per camera: spans and gaps interleaved by time.
    struct Row {
      int64_t start, end;
      bool gap;
      std::string what;
      int64_t bytes;
    };
    std::map<std::string, std::vector<Row>> rows;
    for (const auto& s : spans) {
      rows[s.camera].push_back({s.start_ns, s.end_ns, false, fmt::format("{} segments", s.segments), s.bytes});
    }
    for (const auto& g : gap_rows) rows[g.camera].push_back({g.start_ns, g.end_ns.value_or(now), true, g.reason, 0});
    for (auto& [cam, list] : rows) {
      std::sort(list.begin(), list.end(), [](const Row& a, const Row& b) { return a.start < b.start; });
      if (!json) fmt::print("{}\n", cam);
      for (const auto& r : list) {
        if (json) {
          fmt::print("{{\"camera\":{},\"kind\":\"{}\",\"start\":{},\"end\":{},\"start_ns\":{},\"end_ns\":{},{}}}\n",
                     JsonString(cam), r.gap ? "gap" : "footage", JsonString(FormatUtc(r.start)),
                     JsonString(FormatUtc(r.end)), r.start, r.end,
                     r.gap ? "\"reason\":" + JsonString(r.what) : fmt::format("\"bytes\":{}", r.bytes));
        } else {
          fmt::print("  {} {} → {}  {:>10}  {}\n", r.gap ? "GAP    " : "footage", FormatLocal(r.start),
                     FormatLocal(r.end), Duration(r.end - r.start),
                     r.gap ? r.what : r.what + ", " + Megabytes(r.bytes));
        }
      }
    }
  } else if (*segments_cmd) {
    filter.limit = limit;
    auto segs = segments();
    if (!segs.ok()) return fail(segs.error());
    static const char* kState[] = {"open", "closed", "recovered", "deleting"};
    if (!json) {
      fmt::print("{:<10} {:<19} {:>9} {:>7} {:>5} {:>10} {:<5} {:<9} {:<16} {}\n", "CAMERA", "START", "DURATION",
                 "FRAMES", "LOST", "SIZE", "CODEC", "STATE", "SHA-256", "PATH");
    }
    for (const auto& s : *segs) {
      const char* state = kState[static_cast<int>(s.state)];
      if (json) {
        fmt::print("{{\"camera\":{},\"start\":{},\"end\":{},\"start_ns\":{},\"end_ns\":{},\"frames\":{},"
                   "\"frames_lost\":{},\"bytes\":{},\"codec\":{},\"width\":{},\"height\":{},\"state\":\"{}\","
                   "\"sha256\":{},\"path\":{}}}\n",
                   JsonString(s.camera), JsonString(FormatUtc(s.start_ns)), JsonString(FormatUtc(s.end_ns)),
                   s.start_ns, s.end_ns, s.frames, s.frames_lost, s.bytes, JsonString(s.codec), s.width, s.height, state,
                   JsonString(s.sha256), JsonString(s.path));
      } else {
        fmt::print("{:<10} {:<19} {:>9} {:>7} {:>5} {:>10} {:<5} {:<9} {:<16} {}\n", s.camera,
                   FormatLocal(s.start_ns), Duration(s.end_ns - s.start_ns), s.frames, s.frames_lost,
                   Megabytes(s.bytes), s.codec, state,
                   s.sha256.substr(0, 16), s.path);
      }
    }
  } else if (*gaps_cmd) {
    auto gs = gaps();
    if (!gs.ok()) return fail(gs.error());
    if (!json) fmt::print("{:<10} {:<19} {:<19} {:>10}  {}\n", "CAMERA", "FROM", "TO", "LENGTH", "REASON");
    for (const auto& g : *gs) {
      if (json) {
        fmt::print("{{\"camera\":{},\"start\":{},\"end\":{},\"start_ns\":{},\"end_ns\":{},\"reason\":{}}}\n",
                   JsonString(g.camera), JsonString(FormatUtc(g.start_ns)),
                   g.end_ns ? JsonString(FormatUtc(*g.end_ns)) : "null", g.start_ns,
                   g.end_ns ? std::to_string(*g.end_ns) : "null", JsonString(g.reason));
      } else {
        fmt::print("{:<10} {:<19} {:<19} {:>10}  {}\n", g.camera, FormatLocal(g.start_ns),
                   g.end_ns ? FormatLocal(*g.end_ns) : "(ongoing)", Duration(g.end_ns.value_or(now) - g.start_ns),
                   g.reason);
      }
    }
  }
  return 0;
}
