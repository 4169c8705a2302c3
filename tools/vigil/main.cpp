// vigil: the command line for operators, investigators and scripts.
//
//   vigil --data DIR [--json] cameras
//   vigil --data DIR [--json] footage  [--camera ID]... [--from T] [--to T]
//   vigil --data DIR [--json] segments [--camera ID]... [--from T] [--to T] [--limit N]
//   vigil --data DIR [--json] gaps     [--camera ID]... [--from T] [--to T]
//
// Reads the index of a vigild data directory (read-only, safe beside a running vigild). Times are
// shown in the local zone for people and as UTC (RFC 3339 and nanoseconds) with --json.
// Exit codes: 0 success, 1 the index could not be read, 2 bad command line.

#include <cstdlib>
#include <iostream>
#include <map>
#include <set>

#include <CLI/CLI.hpp>

#include "base/clock.h"
#include "base/fs.h"
#include "index/footage.h"
#include "index/store.h"
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil: query what vigild recorded"};
  app.require_subcommand(1);
  std::string data_dir, index_path;
  bool json = false;
  app.add_option("--data", data_dir, "vigild's data directory (holds index.db)")->envname("VIGIL_DATA");
  app.add_option("--index", index_path, "an index file (instead of --data)");
  app.add_flag("--json", json, "one JSON object per line, UTC times");

  Range range;
  int64_t limit = 1000;
  auto add_range = [&](CLI::App* sub) {
    sub->add_option("--camera,-c", range.cameras, "camera id (repeatable)");
    sub->add_option("--from", range.from, "start: \"2026-11-22 21:00\", \"-30m\", \"yesterday 21:00\"");
    sub->add_option("--to", range.to, "end (default now)");
  };
  CLI::App* cameras_cmd = app.add_subcommand("cameras", "cameras and what is recorded of each");
  CLI::App* footage_cmd = app.add_subcommand("footage", "recorded spans and the gaps between them");
  add_range(footage_cmd);
  CLI::App* segments_cmd = app.add_subcommand("segments", "segment files with size and SHA-256");
  add_range(segments_cmd);
  segments_cmd->add_option("--limit", limit, "most rows");
  CLI::App* gaps_cmd = app.add_subcommand("gaps", "spans without footage and why");
  add_range(gaps_cmd);
  CLI11_PARSE(app, argc, argv);

  if (index_path.empty()) {
    if (data_dir.empty()) {
      std::cerr << "vigil: give --data DIR (vigild's data_dir) or --index FILE\n";
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
  index::SqliteOptions ro;
  ro.read_only = true;
  auto store = index::OpenSqliteStore(index_path, ro);
  if (!store.ok()) {
    std::cerr << "vigil: " << store.error().message() << "\n";
    return 1;
  }
  auto fail = [](const Status& st) {
    std::cerr << "vigil: " << st.message() << "\n";
    return 1;
  };
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

  if (*cameras_cmd) {
    auto usage = (*store)->Usage();
    if (!usage.ok()) return fail(usage.error());
    std::map<std::string, index::CameraUsage> by_id;
    for (auto& u : *usage) by_id[u.camera] = u;
    auto segs = segments();
    if (!segs.ok()) return fail(segs.error());
    std::map<std::string, int64_t> last_end;
    for (const auto& s : *segs) last_end[s.camera] = std::max(last_end[s.camera], s.end_ns);
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
    auto segs = segments();
    auto gs = gaps();
    if (!segs.ok()) return fail(segs.error());
    if (!gs.ok()) return fail(gs.error());
    // One timeline per camera: spans and gaps interleaved by time.
    struct Row {
      int64_t start, end;
      bool gap;
      std::string what;
      int64_t bytes;
    };
    std::map<std::string, std::vector<Row>> rows;
    for (const auto& s : index::MergeFootage(*segs)) {
      rows[s.camera].push_back({s.start_ns, s.end_ns, false, fmt::format("{} segments", s.segments), s.bytes});
    }
    for (const auto& g : *gs) rows[g.camera].push_back({g.start_ns, g.end_ns.value_or(now), true, g.reason, 0});
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
      fmt::print("{:<10} {:<19} {:>9} {:>7} {:>10} {:<5} {:<9} {:<16} {}\n", "CAMERA", "START", "DURATION",
                 "FRAMES", "SIZE", "CODEC", "STATE", "SHA-256", "PATH");
    }
    for (const auto& s : *segs) {
      const char* state = kState[static_cast<int>(s.state)];
      if (json) {
        fmt::print("{{\"camera\":{},\"start\":{},\"end\":{},\"start_ns\":{},\"end_ns\":{},\"frames\":{},"
                   "\"bytes\":{},\"codec\":{},\"width\":{},\"height\":{},\"state\":\"{}\",\"sha256\":{},\"path\":{}}}\n",
                   JsonString(s.camera), JsonString(FormatUtc(s.start_ns)), JsonString(FormatUtc(s.end_ns)),
                   s.start_ns, s.end_ns, s.frames, s.bytes, JsonString(s.codec), s.width, s.height, state,
                   JsonString(s.sha256), JsonString(s.path));
      } else {
        fmt::print("{:<10} {:<19} {:>9} {:>7} {:>10} {:<5} {:<9} {:<16} {}\n", s.camera, FormatLocal(s.start_ns),
                   Duration(s.end_ns - s.start_ns), s.frames, Megabytes(s.bytes), s.codec, state,
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
