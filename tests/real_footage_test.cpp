// The real-footage suite: real camera clips (../shared/data/video-real, CC BY 4.0 Intel) served over
// loopback RTSP by gst-rtsp-server (payloaded as they are: Intel's own H.264), recorded and analysed
// by a real vigild with the rules an operator would draw (samples/real-footage/<clip>.toml), and the
// events it indexed matched to hand labels (samples/real-footage/events.csv): same type and zone
// (and direction for lines), start within ±1 s, one to one.
//
// Asserted, per event type: precision ≥ 0.9 and recall ≥ 0.9 (issue 18's goal). Clip times map to
// wall times through the server's own record of when each client's media started playing: the
// analysis branch has its own RTSP session (the camera's sub stream), and that session's start is
// the clip's time zero.
//
// Environment: VIGILD (set by meson), VIGIL_REAL_FOOTAGE (the labels' directory), VIGIL_SHARED_DATA
// (optional; default ../shared/data beside the source tree, VIGIL_SOURCE_DIR).

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <toml++/toml.h>

#include "base/clock.h"
#include "base/fs.h"
#include "index/store.h"
#include "tests/support/event_matching.h"
#include "tests/support/file_rtsp_server.h"
#include "tests/support/process.h"
#include "tests/support/scene_config.h"
#include "tests/support/temp_dir.h"
#include "tests/support/video_packets.h"

namespace vigil::testing {
namespace {

struct Label {
  std::string clip;
  std::string type;
  std::string zone;
  std::string cls;
  double start_s = 0;
  std::string direction;
  std::string why;
};

std::vector<std::string> SplitCsv(const std::string& line, size_t fields) {
  std::vector<std::string> out;
  size_t at = 0;
  while (out.size() + 1 < fields) {
    size_t comma = line.find(',', at);
    if (comma == std::string::npos) break;
    out.push_back(line.substr(at, comma - at));
    at = comma + 1;
  }
  out.push_back(line.substr(at));
  return out;
}

std::vector<Label> LoadLabels(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), path << " cannot be read");
  std::vector<Label> out;
  std::string line;
  std::getline(in, line);
  REQUIRE_MESSAGE(line.rfind("clip,type,zone,class,start_s,direction", 0) == 0, path << ": unexpected header " << line);
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    auto f = SplitCsv(line, 7);
    REQUIRE_MESSAGE(f.size() == 7, path << ":" << n << ": 7 fields expected");
    REQUIRE_MESSAGE(index::ParseEventType(f[1]).has_value(), path << ":" << n << ": unknown type " << f[1]);
    REQUIRE_MESSAGE((f[3].empty() || index::ParseObjectClass(f[3]).has_value()),
                    path << ":" << n << ": unknown class " << f[3]);
    out.push_back({f[0], f[1], f[2], f[3], std::stod(f[4]), f[5], f[6]});
  }
  return out;
}

std::string SharedData() {
  if (const char* env = std::getenv("VIGIL_SHARED_DATA"); env && *env) return env;
  const char* src = std::getenv("VIGIL_SOURCE_DIR");
  REQUIRE_MESSAGE(src, "VIGIL_SOURCE_DIR names the source tree");
  return std::filesystem::weakly_canonical(std::string(src) + "/../shared/data").string();
}

// OpenCV's sample videos (Debian's opencv-doc, installed by tools/setup).
std::string OpenCvSamples() {
  if (const char* env = std::getenv("VIGIL_OPENCV_SAMPLES"); env && *env) return env;
  return "/usr/share/doc/opencv-doc/examples/data";
}

}  // namespace

TEST_CASE("real footage: events on real camera clips match the hand labels") {
  const char* labels_dir = std::getenv("VIGIL_REAL_FOOTAGE");
  REQUIRE_MESSAGE(labels_dir, "VIGIL_REAL_FOOTAGE names samples/real-footage");
  const std::string video_dir = SharedData() + "/video-real";
  if (!std::filesystem::exists(video_dir + "/car-detection.mp4")) {
    MESSAGE("SKIPPED: " << video_dir << " is absent (real data: ../shared/data beside the source tree, or "
                           "$VIGIL_SHARED_DATA)");
    return;
  }
  const auto labels = LoadLabels(std::string(labels_dir) + "/events.csv");
  std::vector<std::string> clips;
  for (const auto& l : labels) {
    if (std::find(clips.begin(), clips.end(), l.clip) == clips.end()) clips.push_back(l.clip);
  }
  REQUIRE(clips.size() >= 2);

  TempDir dir;
  std::vector<FileRtspServer::Mount> mounts;
  std::vector<AnalyticsCamera> cameras;
  std::map<std::string, double> duration_s;
  for (size_t i = 0; i < clips.size(); ++i) {
    std::string file = video_dir + "/" + clips[i];
    if (std::filesystem::path(clips[i]).extension() == ".avi") {
      // OpenCV's samples are MS-MPEG4 in AVI: a camera would send H.264, so the test encodes one
      // (libx264, a 2 s GOP, no B-frames, as many cameras do) and serves that.
      const std::string src = OpenCvSamples() + "/" + clips[i];
      REQUIRE_MESSAGE(std::filesystem::exists(src), src << " is missing: tools/setup installs opencv-doc");
      file = dir / (std::filesystem::path(clips[i]).stem().string() + ".mp4");
      Process ffmpeg({"/usr/bin/ffmpeg", "-v", "error", "-y", "-i", src, "-an", "-c:v", "libx264", "-preset",
                      "veryfast", "-crf", "20", "-g", "20", "-bf", "0", "-pix_fmt", "yuv420p", file},
                     dir / "ffmpeg.log");
      REQUIRE(ffmpeg.started());
      REQUIRE_MESSAGE(ffmpeg.Wait(300) == 0, ReadFile(dir / "ffmpeg.log"));
    }
    auto packets = ReadVideoPackets(file);
    REQUIRE_MESSAGE(packets.ok(), packets.status().ToString());
    REQUIRE(packets->codec == "h264");
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (const auto& p : packets->packets) {
      lo = std::min(lo, p.pts_ns);
      hi = std::max(hi, p.pts_ns);
    }
    duration_s[clips[i]] = static_cast<double>(hi - lo) / kNsPerSec;
    const std::string launch =
        fmt::format("( filesrc location={} ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 )", file);
    const std::string cam = fmt::format("real{}", i + 1);
    mounts.push_back({"/" + cam + "-main", launch});
    mounts.push_back({"/" + cam + "-sub", launch});
    const std::string stem = std::filesystem::path(clips[i]).stem().string();
    const std::string rules_path = std::string(labels_dir) + "/" + stem + ".toml";
    toml::table rules;
    try {
      rules = toml::parse_file(rules_path);
    } catch (const toml::parse_error& e) {
      FAIL(rules_path << ": " << e.description());
    }
    REQUIRE_MESSAGE(rules["analytics"].as_table(), rules_path << " has no [analytics] table");
    cameras.push_back({cam, "", "", clips[i], *rules["analytics"].as_table()});
  }
  auto server = FileRtspServer::Start(mounts);
  REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  for (auto& c : cameras) {
    c.main = (*server)->Url("/" + c.id + "-main");
    c.sub = (*server)->Url("/" + c.id + "-sub");
  }
  const std::string data = dir / "data";
  WriteFile(dir / "vigild.toml", AnalyticsVigildConfig(data, cameras, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", 2));
  Process vigild({BinaryFromEnv("VIGILD"), "--config", dir / "vigild.toml"}, dir / "vigild.log");
  REQUIRE(vigild.started());

  // Each clip plays once on its analysis session, then a few seconds for the events to end.
  std::map<std::string, int64_t> t0;
  const auto give_up = SystemClock().WallNs() + 60 * kNsPerSec;
  while (t0.size() < cameras.size()) {
    REQUIRE_MESSAGE(vigild.Running(), ReadFile(dir / "vigild.log"));
    REQUIRE_MESSAGE(SystemClock().WallNs() < give_up, "the analysis sessions did not start playing in 60 s");
    for (const auto& c : cameras) {
      auto starts = (*server)->PlayStarts("/" + c.id + "-sub");
      if (!starts.empty()) t0[c.id] = starts.front();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int64_t until = 0;
  for (const auto& c : cameras) {
    until = std::max(until, t0[c.id] + static_cast<int64_t>((duration_s[c.place] + 5) * kNsPerSec));
  }
  while (SystemClock().WallNs() < until) {
    REQUIRE_MESSAGE(vigild.Running(), ReadFile(dir / "vigild.log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  REQUIRE_MESSAGE(StopCleanly(vigild, 60, dir / "vigild.log") == 0,
                  "vigild did not stop cleanly (its log and threads are on stderr)");

  auto store = index::OpenSqliteStore(JoinPath(data, "index.db"));
  REQUIRE(store.ok());
  std::map<std::string, TypeTally> by_type;
  std::vector<std::string> problems;
  for (const auto& c : cameras) {
    const int64_t start = t0[c.id];
    const double length = duration_s[c.place];
    index::EventQuery q;
    // The first play only: at the clip's end the server ends the stream and vigild plays it again.
    q.range = {start - kNsPerSec, start + static_cast<int64_t>((length + 1) * kNsPerSec)};
    q.cameras = {c.id};
    q.page.limit = 10'000;
    auto page = (*store)->Events(q);
    REQUIRE(page.ok());
    const std::vector<index::Event>& found = page->items;
    std::vector<ExpectedEvent> expected;
    for (const auto& l : labels) {
      if (l.clip != c.place) continue;
      expected.push_back({*index::ParseEventType(l.type), l.zone, l.direction, l.start_s, l.why,
                          index::ParseObjectClass(l.cls).value_or(index::ObjectClass::kUnknown)});
    }
    MatchEvents(c.place, expected, found, start, true, by_type, problems);
  }
  // The traffic-flow count an operator asks for, through the CLI on the node's data: crossings of
  // each line per direction and class over the clip's first play. Per direction it must equal the
  // labelled crossings (the tripwire recall and precision above say each was found once).
  for (const auto& c : cameras) {
    std::map<std::string, int> want;  // line/direction → labelled crossings
    for (const auto& l : labels) {
      if (l.clip == c.place && l.type == "tripwire") ++want[l.zone + "/" + l.direction];
    }
    if (want.empty()) continue;
    const int64_t start = t0[c.id];
    const auto end = start + static_cast<int64_t>((duration_s[c.place] + 1) * kNsPerSec);
    std::vector<std::string> argv{BinaryFromEnv("VIGIL"), "--data", data, "--json", "counts", "--by", "class",
                                  "--camera", c.id, "--from", FormatUtc(start - kNsPerSec), "--to", FormatUtc(end)};
    for (const auto& [key, n] : want) {
      const std::string line = key.substr(0, key.find('/'));
      if (std::find(argv.begin(), argv.end(), line) == argv.end()) {
        argv.push_back("--line");
        argv.push_back(line);
      }
    }
    const std::string out = dir / ("counts-" + c.id + ".jsonl");
    Process cli(argv, out);
    REQUIRE(cli.started());
    REQUIRE_MESSAGE(cli.Wait(60) == 0, ReadFile(out));
    std::map<std::string, int> got;
    int classed_rows = 0;
    std::istringstream rows(ReadFile(out));
    for (std::string row; std::getline(rows, row);) {
      if (row.empty() || row[0] != '{') continue;
      auto field = [&](const std::string& name) {
        auto at = row.find("\"" + name + "\":");
        REQUIRE_MESSAGE(at != std::string::npos, row);
        at += name.size() + 3;
        if (row[at] == '"') ++at;
        return row.substr(at, row.find_first_of("\",}", at) - at);
      };
      got[field("line") + "/" + field("direction")] += std::stoi(field("count"));
      classed_rows += index::ParseObjectClass(field("class")).has_value();
    }
    CAPTURE(ReadFile(out));
    CHECK(got == want);
    CHECK(classed_rows > 0);
  }

  std::string report = TallyTable(by_type);
  for (const auto& p : problems) report += p + "\n";
  MESSAGE(report);
  for (const auto& [type, t] : by_type) {
    CAPTURE(type);
    CHECK(t.precision() >= 0.9);
    CHECK(t.recall() >= 0.9);
  }
  // Class accuracy over every matched event whose label names a class (the row's class: its track's
  // when the event ended, for events that last; when it happened, for crossings). Reported, not yet asserted: the goal is 0.9 and the classifier of
  // OpenCV's shipped detectors and geometry does not reach it on these clips (docs/analytics.md);
  // the trained classifier of issue 18 turns this into a CHECK.
  int classed = 0, right = 0;
  for (const auto& [type, t] : by_type) {
    classed += t.classed;
    right += t.class_right;
  }
  CHECK(classed > 0);  // the labels name classes and the events were matched
  MESSAGE("class accuracy: " << right << " of " << classed << " matched events");
}

}  // namespace vigil::testing
