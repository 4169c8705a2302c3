// Analytics benchmark: what one core of a node analyses, and how soon an event is known.
//
//   vigil-bench-analytics [--streams 10,20,30,40] [--seconds 20] [--warmup 6] [--cores 1]
//                         [--latency-seconds 0] [--scenes DIR] [--latency-cameras 8]
//
// Capacity: vigil-camsim (replay mode, a separate process on the other cores) serves N 640x360@25
// H.264 streams (512 kb/s, a street with people and vehicles); this process, pinned to `--cores`
// CPUs, runs the ingest analysis branch (RTSP, depay, decode on one thread per stream, 5 fps kept,
// I420 → BGR) and analytics::Engine (one worker per core) on them, as vigild does. Measured over the
// window: process CPU, split into analysis (each worker's thread CPU time) and decode (the rest:
// RTSP, decoding, conversion); frames analysed against 5 × N × seconds; frames dropped (replaced
// before analysis: analytics behind). "Held": nothing dropped and ≥ 97 % of the frames analysed.
//
// Latency (--latency-seconds > 0): vigil-camsim plays the scripted scenes with line crossings and
// intrusions; vigild (the real server) analyses them; a ZeroMQ subscriber and an index poller (every
// 10 ms) time each event against the wall time of the frame it was seen in (attributes.frame_ns).

#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include "analytics/engine.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "index/store.h"
#include "ingest/recorder.h"
#include "proto/client.h"
#include "proto/vigil.pb.h"
#include "tests/support/process.h"
#include "tests/support/scene_config.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace vigil;
using Steady = std::chrono::steady_clock;

double CpuSeconds(pid_t pid) {
  std::string stat = testing::ReadFile(fmt::format("/proc/{}/stat", pid));
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void Sleep(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoi(item));
  return out;
}

int FreePort() {
  // Port 0 is not an option for camsim's CLI users in a script; pick from a range by pid.
  return 20000 + static_cast<int>(getpid() % 20000);
}

struct Capacity {
  int streams = 0;
  double decode_ms_per_s = 0;    // per stream
  double analysis_ms_per_s = 0;  // per stream
  int64_t expected = 0;
  int64_t analysed = 0;
  int64_t dropped = 0;
  bool held = false;
};

Capacity RunCapacity(int n, int cores, double warmup, double seconds, const std::string& camsim) {
  Capacity out;
  out.streams = n;
  testing::TempDir dir("vigil-bench-analytics");
  const int port = FreePort();
  // camsim on the cores this process does not use.
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  std::string others = cores >= ncpu ? "0" : fmt::format("{}-{}", cores, ncpu - 1);
  testing::Process sim({"/usr/bin/taskset", "-c", others, camsim, "--cameras", std::to_string(n), "--port",
                        std::to_string(port), "--replay", "--replay-seconds", "8", "--main-size",
                        "640x360", "--main-kbps", "300", "--sub-size", "640x360", "--sub-kbps", "512"},
                       dir / "camsim.log");
  for (int i = 0; i < 600 && testing::ReadFile(dir / "camsim.log").find("serving") == std::string::npos; ++i) {
    Sleep(0.1);
  }
  if (testing::ReadFile(dir / "camsim.log").find("serving") == std::string::npos) {
    throw std::runtime_error("vigil-camsim did not start: " + testing::ReadFile(dir / "camsim.log"));
  }
  auto store = index::OpenSqliteStore(dir / "index.db");
  if (!store.ok()) throw std::runtime_error(store.error().ToString());
  analytics::Engine engine(cores, [](const analytics::Detection&, const Frame&) {});
  std::vector<ingest::CameraConfig> cams;
  analytics::AnalyticsConfig rules;
  rules.enabled = true;
  rules.masks = {{{0, 0}, {0.45, 0}, {0.45, 0.1}, {0, 0.1}}, {{0, 0.92}, {0.45, 0.92}, {0.45, 1}, {0, 1}}};
  rules.zones.push_back({"road", {{0.1, 0.6}, {0.9, 0.6}, {0.9, 0.9}, {0.1, 0.9}}, true, 1.0, 0, 0, {}});
  rules.lines.push_back({"mid", {0.5, 0.4}, {0.5, 1.0}, analytics::Direction::kBoth, {}});
  for (int k = 1; k <= n; ++k) {
    ingest::CameraConfig c;
    c.id = fmt::format("cam{}", k);
    c.main_url = fmt::format("rtsp://127.0.0.1:{}/cam{}/main", port, k);
    c.sub_url = fmt::format("rtsp://127.0.0.1:{}/cam{}/sub", port, k);
    c.record = false;  // decoding and analysis only
    c.analysis_fps = 5;
    cams.push_back(c);
    if (Status st = engine.AddCamera(c.id, rules); !st.ok()) throw std::runtime_error(st.ToString());
  }
  ingest::RecordingOptions opt;
  opt.data_dir = dir.path();
  opt.on_frame = [&engine](Frame&& f) { return engine.Submit(std::move(f)); };
  auto rec = ingest::Recorder::Start(cams, opt, **store);
  if (!rec.ok()) throw std::runtime_error(rec.error().ToString());
  Sleep(warmup);
  auto totals = [&] {
    analytics::CameraAnalyticsStats sum;
    for (const auto& c : cams) {
      auto s = engine.Stats(c.id);
      sum.frames_analysed += s.frames_analysed;
      sum.frames_dropped += s.frames_dropped;
      sum.cpu_ms += s.cpu_ms;
    }
    return sum;
  };
  auto s0 = totals();
  double cpu0 = CpuSeconds(getpid());
  auto t0 = Steady::now();
  Sleep(seconds);
  auto s1 = totals();
  double cpu1 = CpuSeconds(getpid());
  double wall = std::chrono::duration<double>(Steady::now() - t0).count();
  (*rec)->Stop();
  engine.Stop();
  double analysis_s = (s1.cpu_ms - s0.cpu_ms) / 1000;
  double decode_s = std::max(0.0, cpu1 - cpu0 - analysis_s);
  out.analysis_ms_per_s = analysis_s * 1000 / (wall * n);
  out.decode_ms_per_s = decode_s * 1000 / (wall * n);
  out.expected = static_cast<int64_t>(5 * n * wall);
  out.analysed = s1.frames_analysed - s0.frames_analysed;
  out.dropped = s1.frames_dropped - s0.frames_dropped;
  out.held = out.dropped == 0 && out.analysed >= 0.97 * static_cast<double>(out.expected);
  sim.Signal(SIGTERM);
  sim.Wait(10);
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

int64_t FrameNs(const std::string& attributes) {
  auto at = attributes.find("\"frame_ns\":");
  if (at == std::string::npos) return 0;
  return std::atoll(attributes.c_str() + at + 11);
}

void RunLatency(double seconds, const std::string& scenes_dir, int cameras, const std::string& vigild) {
  auto loaded = testing::LoadScenes(scenes_dir);
  if (!loaded.ok()) throw std::runtime_error(loaded.error().ToString());
  const auto& all = *loaded;
  std::vector<testing::SceneCamera> runs;
  camsim::SimOptions opt;
  opt.port = 0;
  opt.main_size = {640, 360};
  opt.sub_size = {640, 360};
  opt.main_kbps = 600;
  opt.sub_kbps = 600;
  for (const auto& s : all) {
    if (static_cast<int>(runs.size()) >= cameras) break;
    if (s->name.rfind("tripwire", 0) != 0 && s->name.rfind("intrusion", 0) != 0) continue;
    int k = static_cast<int>(runs.size()) + 1;
    runs.push_back({s, fmt::format("cam{}", k)});
    opt.scenes[k] = s;
  }
  opt.cameras = static_cast<int>(runs.size());
  testing::TempDir dir("vigil-bench-latency");
  auto sim = camsim::Simulator::Start(opt);
  if (!sim.ok()) throw std::runtime_error(sim.error().ToString());
  const std::string events = fmt::format("tcp://127.0.0.1:{}", FreePort() + 1);
  testing::WriteFile(dir / "vigild.toml", testing::SceneVigildConfig(dir / "data", runs, **sim,
                                                                     "tcp://127.0.0.1:*", events, 1));
  ::setenv("VIGILD", vigild.c_str(), 1);
  const api::UserKey key =
      api::LoadUserKey(testing::MakeKey(dir / "vigild.toml", "bench", "operator", dir.path())).value();
  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  if (!api::UseKey(sub, key).ok()) throw std::runtime_error("cannot use the bench key");
  sub.set(zmq::sockopt::subscribe, "event.");
  sub.connect(events);
  testing::Process proc({vigild, "--config", dir / "vigild.toml"}, dir / "vigild.log");
  std::vector<double> pub_ms, index_ms;
  std::set<int64_t> seen_pub;
  sqlite3* db = nullptr;
  int64_t last_id = 0;
  auto end = Steady::now() + std::chrono::duration<double>(seconds);
  auto next_poll = Steady::now();
  while (Steady::now() < end) {
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(5)) > 0) {
      zmq::message_t topic, body;
      if (sub.recv(topic) && topic.more() && sub.recv(body)) {
        int64_t now = SystemClock().WallNs();
        api::v1::LiveMessage m;
        if (m.ParseFromArray(body.data(), static_cast<int>(body.size())) && m.has_event() &&
            seen_pub.insert(m.event().id()).second) {
          int64_t f = FrameNs(m.event().attributes_json());
          if (f > 0) pub_ms.push_back(static_cast<double>(now - f) / kNsPerMs);
        }
      }
    }
    if (Steady::now() >= next_poll) {
      next_poll = Steady::now() + std::chrono::milliseconds(10);
      if (!db && std::filesystem::exists(dir / "data/index.db")) {
        sqlite3_open_v2((dir / "data/index.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
      }
      if (db) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT id, attributes FROM events WHERE id > ?1 ORDER BY id", -1, &st,
                               nullptr) == SQLITE_OK) {
          sqlite3_bind_int64(st, 1, last_id);
          int64_t now = SystemClock().WallNs();
          while (sqlite3_step(st) == SQLITE_ROW) {
            last_id = std::max<int64_t>(last_id, sqlite3_column_int64(st, 0));
            const char* a = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
            int64_t f = a ? FrameNs(a) : 0;
            if (f > 0) index_ms.push_back(static_cast<double>(now - f) / kNsPerMs);
          }
        }
        sqlite3_finalize(st);
      }
    }
  }
  if (db) sqlite3_close(db);
  proc.Signal(SIGTERM);
  proc.Wait(30);
  fmt::print("\nevent latency, frame wall time → event ({} cameras of scripted scenes, {:.0f} s):\n",
             runs.size(), seconds);
  fmt::print("  PUB subscriber: {} events, p50 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms\n", pub_ms.size(),
             Percentile(pub_ms, 0.5), Percentile(pub_ms, 0.99), Percentile(pub_ms, 1.0));
  fmt::print("  index (row committed, polled every 10 ms): {} events, p50 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms\n",
             index_ms.size(), Percentile(index_ms, 0.5), Percentile(index_ms, 0.99),
             Percentile(index_ms, 1.0));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil analytics benchmark"};
  std::string streams = "10,20,30,40", camsim, vigild, scenes = "samples/scenes";
  double seconds = 20, warmup = 6, latency_seconds = 0;
  int cores = 1, latency_cameras = 8;
  app.add_option("--streams", streams, "comma-separated stream counts");
  app.add_option("--seconds", seconds, "measurement window per count");
  app.add_option("--warmup", warmup, "seconds before measuring");
  app.add_option("--cores", cores, "CPUs this process is pinned to (camsim gets the others)");
  app.add_option("--camsim", camsim, "vigil-camsim binary")->required();
  app.add_option("--vigild", vigild, "vigild binary (latency)");
  app.add_option("--scenes", scenes, "scene directory (latency)");
  app.add_option("--latency-seconds", latency_seconds, "0: skip the latency run");
  app.add_option("--latency-cameras", latency_cameras, "scripted cameras in the latency run");
  CLI11_PARSE(app, argc, argv);
  SetLogLevel("warn");
  try {
    if (cores > 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      for (int c = 0; c < cores; ++c) CPU_SET(c, &set);
      sched_setaffinity(0, sizeof(set), &set);
    }
    fmt::print("analysis capacity on {} core(s): 640x360@25 H.264 streams decoded, 5 fps analysed\n", cores);
    fmt::print("{:>7} {:>12} {:>12} {:>10} {:>10} {:>9} {:>6}\n", "streams", "decode ms/s", "analysis ms/s",
               "% core/str", "analysed", "dropped", "held");
    int best = 0;
    for (int n : ParseList(streams)) {
      Capacity c = RunCapacity(n, cores, warmup, seconds, camsim);
      double pct = (c.decode_ms_per_s + c.analysis_ms_per_s) / 10;
      fmt::print("{:>7} {:>12.1f} {:>12.1f} {:>10.2f} {:>5}/{:<5} {:>8} {:>6}\n", n, c.decode_ms_per_s,
                 c.analysis_ms_per_s, pct, c.analysed, c.expected, c.dropped, c.held ? "yes" : "NO");
      std::fflush(stdout);
      if (c.held) best = std::max(best, n);
    }
    fmt::print("largest count held: {} streams on {} core(s) = {:.0f} per core (goal >= 20)\n", best, cores,
               static_cast<double>(best) / std::max(1, cores));
    if (latency_seconds > 0) {
      if (vigild.empty()) throw std::runtime_error("--vigild is needed for the latency run");
      RunLatency(latency_seconds, scenes, latency_cameras, vigild);
    }
  } catch (const std::exception& e) {
    std::cerr << "vigil-bench-analytics: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
