// Recording benchmark: how many 1080p25 ~4 Mb/s camera streams one node holds, and at what CPU cost
// against the usual baseline, `ffmpeg -rtsp_transport tcp -i URL -c copy -f segment`, one process per
// stream, run in the same invocation against the same simulated cameras.
//
//   vigil-bench-record [--streams 10,50,100,200] [--seconds 30] [--warmup 10] [--no-ffmpeg] [--gstreamer]
//                      [--bframes N]
//
// --gstreamer also records each N through GStreamer's rtspsrc (the recorder's other RTSP client, the
// one vigild used before its own) in the same invocation.
//
// For each N: vigil-camsim (replay mode, a separate process) serves N streams; the recorder (the
// same library vigild runs) records them into a temporary data directory; CPU is read from
// /proc/<pid>/stat over the measurement window. Frames lost are counted exactly: media time comes
// from the cameras' RTP clocks, so a segment whose frame count is below its media duration × 25 is
// missing frames; the same count is applied to ffmpeg's files. "Held" means 0 frames lost, 0 gaps.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

extern "C" {
#include <libavutil/log.h>
}

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "index/store.h"
#include "ingest/media_probe.h"
#include "ingest/recorder.h"
#include "tests/support/process.h"

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

struct Outcome {
  double cpu_per_stream_s = 0;  // CPU-seconds per stream-second
  int64_t frames = 0;
  int64_t frames_lost = 0;
  int64_t gaps = 0;
  int64_t bytes_written = 0;
  int64_t bytes_received = 0;
  int held_streams = 0;  // streams that recorded through the window without loss or gap
  int64_t startup_gaps = 0;  // gaps that began before the window (connection set-up under load)
  std::map<std::string, int> gap_reasons;
};

// Frames missing from a file: its media duration at 25 fps minus the frames it holds.
int64_t MissingFrames(int64_t frames, int64_t duration_90k) {
  int64_t expected = (duration_90k + 1800) / 3600;
  return std::max<int64_t>(0, expected - frames);
}

Outcome RunVigil(int n, const std::vector<std::string>& urls, double warmup, double seconds,
                 const std::string& dir, bool gstreamer, double read_interval_ms) {
  Outcome out;
  std::filesystem::create_directories(dir);
  auto store = index::OpenSqliteStore(dir + "/index.db");
  if (!store.ok()) throw std::runtime_error(store.error().ToString());
  ingest::RecordingOptions opt;
  opt.data_dir = dir;
  opt.gstreamer_rtsp = gstreamer;
  opt.read_interval_ns = static_cast<int64_t>(read_interval_ms * 1e6);
  opt.segment_ns = 10 * kNsPerSec;
  std::vector<ingest::CameraConfig> cams;
  for (int i = 0; i < n; ++i) {
    ingest::CameraConfig c;
    c.id = fmt::format("cam{}", i + 1);
    c.main_url = urls[static_cast<size_t>(i)];
    cams.push_back(c);
  }
  auto rec = ingest::Recorder::Start(cams, opt, **store);
  if (!rec.ok()) throw std::runtime_error(rec.error().ToString());
  Sleep(warmup);
  double cpu0 = CpuSeconds(getpid());
  auto t0 = Steady::now();
  int64_t window_start = SystemClock().WallNs();
  Sleep(seconds);
  int64_t window_end = SystemClock().WallNs();
  double cpu1 = CpuSeconds(getpid());
  double wall = std::chrono::duration<double>(Steady::now() - t0).count();
  Sleep(1);  // the window's last frames are still in the jitter buffer (latency) and queues
  (*rec)->Stop();
  auto health = (*rec)->Health();
  out.cpu_per_stream_s = (cpu1 - cpu0) / (wall * n);
  for (const auto& h : health) {
    out.bytes_received += h.bytes;
    // Frames before a connection's first key frame cannot be decoded by anyone: not counted as lost
    // here (vigild counts them as dropped before_key), as ffmpeg's are not.
    out.frames_lost += h.dropped.Total() - h.dropped.before_key;
  }
  auto segs = (*store)->Segments({}).value();
  std::map<std::string, int64_t> lost_by_cam;
  std::map<std::string, int64_t> covered_ns;  // footage inside the window, per camera
  for (const auto& s : segs) {
    out.frames += s.frames;
    out.bytes_written += s.bytes;
    int64_t missing = MissingFrames(s.frames, s.media_duration_90k);
    out.frames_lost += missing;
    lost_by_cam[s.camera] += missing;
    covered_ns[s.camera] += std::max<int64_t>(0, std::min(s.end_ns, window_end) - std::max(s.start_ns, window_start));
  }
  auto gaps = (*store)->Gaps("", INT64_MIN, INT64_MAX).value();
  out.gaps = static_cast<int64_t>(gaps.size());
  std::set<std::string> window_gap_cams;
  for (const auto& g : gaps) {
    ++out.gap_reasons[g.reason];
    if (g.start_ns < window_start) ++out.startup_gaps;
    if (g.start_ns < window_end && g.end_ns.value_or(INT64_MAX) > window_start) window_gap_cams.insert(g.camera);
  }
  // Held: footage through the whole window (less one frame at each edge), no gap in it, no frame lost.
  for (const auto& c : cams) {
    if (!window_gap_cams.count(c.id) && lost_by_cam[c.id] == 0 &&
        covered_ns[c.id] >= window_end - window_start - 80 * kNsPerMs) {
      ++out.held_streams;
    } else if (std::getenv("VIGIL_BENCH_DEBUG")) {
      fmt::print(stderr, "{}: lost {} covered {:.3f} of {:.3f} s\n", c.id, lost_by_cam[c.id],
                 covered_ns[c.id] / 1e9, (window_end - window_start) / 1e9);
      for (const auto& s : segs) {
        if (s.camera == c.id) fmt::print(stderr, "   {} {:.3f} {:.3f}\n", s.path, s.start_ns / 1e9, s.end_ns / 1e9);
      }
    }
  }
  return out;
}

Outcome RunFfmpeg(int n, const std::vector<std::string>& urls, double warmup, double seconds,
                  const std::string& dir) {
  Outcome out;
  std::vector<std::unique_ptr<testing::Process>> procs;
  for (int i = 0; i < n; ++i) {
    std::string cam_dir = fmt::format("{}/cam{}", dir, i + 1);
    std::filesystem::create_directories(cam_dir);
    procs.push_back(std::make_unique<testing::Process>(
        std::vector<std::string>{"/usr/bin/ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport",
                                 "tcp", "-i", urls[static_cast<size_t>(i)], "-c", "copy", "-f", "segment",
                                 "-segment_time", "10", "-reset_timestamps", "1",
                                 cam_dir + "/%05d.mp4"},
        cam_dir + "/ffmpeg.log"));
  }
  Sleep(warmup);
  auto cpu = [&] {
    double total = 0;
    for (auto& p : procs) total += CpuSeconds(p->pid());
    return total;
  };
  double cpu0 = cpu();
  auto t0 = Steady::now();
  Sleep(seconds);
  double cpu1 = cpu();
  double wall = std::chrono::duration<double>(Steady::now() - t0).count();
  for (auto& p : procs) p->Signal(SIGINT);  // ffmpeg finishes its files on SIGINT
  for (auto& p : procs) {
    if (p->Wait(20) < 0) p->Signal(SIGKILL);
  }
  out.cpu_per_stream_s = (cpu1 - cpu0) / (wall * n);
  for (int i = 0; i < n; ++i) {
    std::string cam_dir = fmt::format("{}/cam{}", dir, i + 1);
    int64_t cam_lost = 0;
    bool any = false;
    for (const auto& e : std::filesystem::directory_iterator(cam_dir)) {
      if (e.path().extension() != ".mp4") continue;
      if (e.file_size() == 0) continue;
      auto probe = ingest::ProbeMedia(e.path().string());
      if (!probe.ok() || probe->frames == 0) continue;
      any = true;
      out.frames += probe->frames;
      out.bytes_written += static_cast<int64_t>(e.file_size());
      cam_lost += MissingFrames(probe->frames, probe->duration_90k);
    }
    out.frames_lost += cam_lost;
    if (any && cam_lost == 0) ++out.held_streams;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil recording benchmark: vigild vs ffmpeg -c copy"};
  std::string streams = "10,50,100,200";
  double seconds = 30, warmup = 10;
  bool no_ffmpeg = false, gstreamer = false;
  double read_interval_ms = 20;
  std::string camsim = "build/tools/camsim/vigil-camsim";
  app.add_option("--streams", streams, "comma-separated stream counts");
  app.add_option("--seconds", seconds, "measurement window per run");
  app.add_option("--warmup", warmup, "seconds before measuring (connections, first key frames)");
  app.add_flag("--no-ffmpeg", no_ffmpeg, "skip the ffmpeg baseline");
  app.add_flag("--gstreamer", gstreamer, "also record through GStreamer's rtspsrc");
  int bframes = 0;
  app.add_option("--bframes", bframes, "camsim's streams with B-frames (0-4; 2 and more with a pyramid)");
  app.add_option("--read-interval-ms", read_interval_ms, "vigil's RTSP client: batching of reads (ms)");
  app.add_option("--camsim", camsim, "path of vigil-camsim");
  CLI11_PARSE(app, argc, argv);
  SetLogLevel("error");
  av_log_set_level(AV_LOG_QUIET);  // ffmpeg's unfinished files are expected; counted, not printed
  RaiseFileLimit();
  signal(SIGPIPE, SIG_IGN);

  std::vector<int> counts;
  std::stringstream ss(streams);
  for (std::string tok; std::getline(ss, tok, ',');) counts.push_back(std::stoi(tok));

  fmt::print("# vigil recording benchmark: 1080p25 H.264 ~4 Mb/s streams{} from vigil-camsim (replay), "
             "{:.0f} s window after {:.0f} s warm-up, {} cores\n",
             bframes > 0 ? fmt::format(" with {} B-frames", bframes) : std::string(), seconds, warmup,
             std::thread::hardware_concurrency());
  fmt::print("{:>5} | {:>14} {:>7} {:>5} {:>5} {:>9} | {:>14} {:>7} {:>5} | {:>6} | {:>12}\n", "N",
             "vigil cpu/st-s", "lost", "gaps", "held", "wr/recv", "ffmpeg cpu/st-s", "lost", "held",
             "ratio", "camsim cpu/st");
  for (int n : counts) {
    std::string work = fmt::format("/tmp/vigil-bench-record-{}", getpid());
    std::filesystem::remove_all(work);
    std::filesystem::create_directories(work);
    int port = 20000 + (getpid() % 5000);
    testing::Process sim({camsim, "--cameras", std::to_string(n), "--port", std::to_string(port),
                          "--replay", "--replay-seconds", "4", "--bframes", std::to_string(bframes)},
                         work + "/camsim.log");
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
      Sleep(0.1);
      up = testing::ReadFile(work + "/camsim.log").find("serving") != std::string::npos;
    }
    if (!up) {
      fmt::print("camsim did not start: {}\n", testing::ReadFile(work + "/camsim.log"));
      return 1;
    }
    std::vector<std::string> urls;
    for (int i = 1; i <= n; ++i) urls.push_back(fmt::format("rtsp://127.0.0.1:{}/cam{}/main", port, i));

    double sim_cpu0 = CpuSeconds(sim.pid());
    auto t0 = Steady::now();
    Outcome v = RunVigil(n, urls, warmup, seconds, work + "/vigil", false, read_interval_ms);
    double sim_cpu = (CpuSeconds(sim.pid()) - sim_cpu0) /
                     (std::chrono::duration<double>(Steady::now() - t0).count() * n);
    Outcome g;
    if (gstreamer) g = RunVigil(n, urls, warmup, seconds, work + "/gstreamer", true, read_interval_ms);
    Outcome f;
    if (!no_ffmpeg) f = RunFfmpeg(n, urls, warmup, seconds, work + "/ffmpeg");
    sim.Signal(SIGTERM);
    sim.Wait(20);
    double ratio = no_ffmpeg || f.cpu_per_stream_s == 0 ? 0 : v.cpu_per_stream_s / f.cpu_per_stream_s;
    fmt::print("{:>5} | {:>14.4f} {:>7} {:>5} {:>5} {:>9.4f} | {:>15.4f} {:>7} {:>5} | {:>6.2f} | {:>12.4f}\n",
               n, v.cpu_per_stream_s, v.frames_lost, v.gaps, v.held_streams,
               v.bytes_received ? static_cast<double>(v.bytes_written) / static_cast<double>(v.bytes_received) : 0,
               f.cpu_per_stream_s, f.frames_lost, f.held_streams, ratio, sim_cpu);
    for (const auto& [reason, count] : v.gap_reasons) {
      fmt::print("      vigil gaps: {} x \"{}\"\n", count, reason);
    }
    if (v.startup_gaps) fmt::print("      ({} of vigil's gaps began before the window)\n", v.startup_gaps);
    if (gstreamer) {
      fmt::print("      through GStreamer rtspsrc: {:.4f} cpu/st-s, {} lost, {} gaps, {} held{}\n", g.cpu_per_stream_s,
                 g.frames_lost, g.gaps, g.held_streams,
                 no_ffmpeg || f.cpu_per_stream_s == 0 ? "" : fmt::format(", {:.2f}x ffmpeg", g.cpu_per_stream_s / f.cpu_per_stream_s));
    }
    std::fflush(stdout);
    std::filesystem::remove_all(work);
  }
  return 0;
}
