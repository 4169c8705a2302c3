// Plate reading benchmark: how fast the reader and the finder are on one core, what one plate camera
// costs, and so how many plate cameras one core reads at 8 fps.
//
//   vigil-bench-lpr --camsim BIN [--crops 2000] [--frames 100] [--streams 2] [--seconds 15] [--fps 8]
//                   [--alert-runs N --vigild BIN --scenes samples/plates]
//
// 1. Reader: held-out synthetic crops (seed 3) read one at a time and in batches of 16, on this
//    thread: crops per CPU second, and exact-read accuracy.
// 2. Finder: 1920x1080 street frames with one or two plates on cars (tools/plates StreetFrame):
//    CPU ms per frame (candidates, rectification, reading), plates read per CPU second; the same
//    frames with the detectors' corners alone (no corner network) are the baseline.
// 2b. Scenes (--scene-seconds S, 0: whole): camsim's two plate scenes rendered at 1080p and fed at
//    `fps` to a plate camera as vigild runs one (finder with FindNext, tracker): CPU ms per frame and
//    passes read, with still regions kept from frame to frame, and the baseline reading every region.
// 3. Decode: vigil-camsim (replay mode, on the other cores) serves 1080p25 4 Mb/s H.264 streams; this
//    process, pinned to one core, runs the ingest plate branch on them (RTSP, depay, decode on one
//    thread, `fps` frames kept as full-size BGR), as vigild does: CPU ms per stream-second.
// Plate cameras per core at `fps` = 1000 / (decode ms/s + fps × finder ms per frame), for the street
// frames (each frame new: the worst case) and for the scenes (a camera's stream).
// 4. Alert latency (--alert-runs N, run first and not pinned): vigil-camsim's plate scenes (two 1080p
//    checkpoint cameras, 40 passes a run) into the real vigild, every plate of the scenes on the
//    watchlist; a ZeroMQ subscriber times each alert from the wall time of the frame that decided it
//    (Alert.time_ns) to its arrival: p50, p99, max, and how many came before the vehicle had left;
//    runs alternate with the baseline, the reader without its corner network. The scenes are encoded
//    before each run (camsim's replay mode), so that camsim's encoders do not share vigild's cores;
//    --alert-live renders and encodes them while sending, as before 2026-12-02.

#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <algorithm>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include "analytics/plate_camera.h"
#include "analytics/plate_finder.h"
#include "base/log.h"
#include "base/plate_text.h"
#include "index/store.h"
#include "ingest/recorder.h"
#include "proto/client.h"
#include "proto/vigil.pb.h"
#include "tests/support/process.h"
#include "tests/support/scene_config.h"
#include "tests/support/temp_dir.h"
#include "tools/camsim/script.h"
#include "tools/camsim/simulator.h"
#include "tools/plates/evaluation.h"
#include "tools/plates/plate_synth.h"

namespace {

using namespace vigil;

double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double ProcessCpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void Sleep(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

std::unique_ptr<analytics::PlateReader> LoadReader() {
  auto r = analytics::PlateReader::Load(analytics::DefaultPlateModel());
  if (!r.ok()) throw std::runtime_error(r.error().ToString());
  return std::move(*r);
}

void BenchReader(int count) {
  auto crops = plates::GenerateCrops(3, count);
  if (!crops.ok()) throw std::runtime_error(crops.error().ToString());
  auto reader = LoadReader();
  for (size_t batch : {size_t{1}, size_t{16}}) {
    int exact = 0;
    double c0 = ThreadCpu();
    for (size_t s = 0; s < crops->size(); s += batch) {
      std::vector<cv::Mat> in;
      for (size_t i = s; i < std::min(crops->size(), s + batch); ++i) in.push_back((*crops)[i].crop);
      auto reads = reader->Read(in);
      if (!reads.ok()) throw std::runtime_error(reads.error().ToString());
      for (size_t i = 0; i < in.size(); ++i) exact += (*reads)[i].plate == (*crops)[s + i].plate;
    }
    double cpu = ThreadCpu() - c0;
    fmt::print("reader, batch {:>2}: {:>7.0f} crops per CPU second ({:.2f} ms each), exact {:.2f} %\n", batch,
               static_cast<double>(crops->size()) / cpu, cpu * 1000 / static_cast<double>(crops->size()),
               100.0 * exact / static_cast<double>(crops->size()));
  }
}

// `refine`: with the corner network (the finder as vigild runs it) or, as the baseline, the
// detectors' corners alone.
double BenchFinder(int frames, bool refine) {
  auto renderer = plates::PlateRenderer::Create();
  if (!renderer.ok()) throw std::runtime_error(renderer.error().ToString());
  analytics::PlateFinderOptions options;
  options.refine_corners = refine;
  analytics::PlateFinder finder(LoadReader(), options);
  if (refine && !finder.reader().has_corner_model()) return -1;
  std::mt19937_64 rng(11);
  std::vector<cv::Mat> pictures;
  std::vector<std::vector<plates::PlateSpec>> truth;
  for (int i = 0; i < frames; ++i) {
    std::vector<plates::PlateSpec> specs;
    std::vector<cv::Rect> boxes;
    pictures.push_back(plates::StreetFrame(**renderer, rng, {1920, 1080}, 1 + i % 2, specs, boxes));
    truth.push_back(specs);
  }
  int plates_total = 0, read = 0, wrong = 0;
  double cpu = 0;
  cv::Mat frame;
  for (int i = 0; i < frames; ++i) {
    // Into one buffer just before it is searched, as the decoder has just written the frame that a
    // plate worker gets: 100 frames made in advance are 600 MB of cold memory, and the first pass
    // over a cold frame cost 8 ms more than over the frame just written (measured here).
    pictures[static_cast<size_t>(i)].copyTo(frame);
    const double c0 = ThreadCpu();
    auto found = finder.Find(frame);
    cpu += ThreadCpu() - c0;
    if (!found.ok()) throw std::runtime_error(found.error().ToString());
    plates_total += static_cast<int>(truth[static_cast<size_t>(i)].size());
    for (const auto& f : *found) {
      bool ok = false;
      for (const auto& s : truth[static_cast<size_t>(i)]) ok |= plate::Encode(s.text) == f.text.plate;
      ok ? ++read : ++wrong;
    }
  }
  double ms = cpu * 1000 / frames;
  fmt::print("finder, 1080p, {}: {:.1f} CPU ms per frame, {:.0f} plates read per CPU second; {} of {} plates "
             "read exactly, {} wrong reads\n",
             refine ? "corner network" : "detector corners (baseline)", ms, read / cpu, read, plates_total, wrong);
  return ms;
}

// The plate scenes (camsim's two 1080p checkpoint cameras, rendered here frame by frame and not
// encoded) through a plate camera as vigild runs one (PlateCamera: finder with FindNext, tracker),
// at `fps`: CPU ms per frame, and passes read exactly against the scenes' truth. The baseline in the
// same run, on the same frames: every region of every frame read (still_reuse_frames = 0), the whole
// of every frame searched (whole_search_frames = 1). Returns the CPU ms per frame of the last setting.
double BenchScenes(const std::string& scenes_dir, double fps, double seconds) {
  auto loaded = testing::LoadScenes(scenes_dir);
  if (!loaded.ok()) throw std::runtime_error(loaded.error().ToString());
  struct Setting {
    const char* name;
    int reuse, whole;
    double cpu = 0;
    int frames = 0, exact = 0, wrong = 0, passes = 0;
    int64_t read = 0, reused = 0, whole_searches = 0, part_searches = 0;
  } settings[] = {{"every region read (baseline)", 0, 1},
                  {"still regions kept", 40, 1},
                  {"still regions kept, between whole searches only changed parts searched", 40, 8}};
  fmt::print("plate scenes through a plate camera, {} fps:\n", fps);
  for (const auto& script : *loaded) {
    const double duration = std::min(script->duration, seconds > 0 ? seconds : script->duration);
    std::set<std::string> truth;
    for (const auto& p : camsim::ComputePlateTruth(*script)) {
      if (p.start < duration) truth.insert(p.plate);
    }
    camsim::ScriptedScene scene(script, {1920, 1080}, "CAM 1");
    std::vector<std::unique_ptr<analytics::PlateCamera>> cameras;
    for (const auto& s : settings) {
      analytics::PlatesConfig c;
      c.enabled = true;
      c.fps = fps;
      c.still_reuse_frames = s.reuse;
      c.whole_search_frames = s.whole;
      cameras.push_back(std::make_unique<analytics::PlateCamera>(c, LoadReader()));
    }
    std::vector<std::set<std::string>> reported(std::size(settings));
    cv::Mat rendered;
    const int n = static_cast<int>(duration * fps);
    for (int i = 0; i < n; ++i) {
      const double t = i / fps;
      scene.Render(t, fmt::format("2026-12-02 12:{:02d}:{:02d}", static_cast<int>(t) / 60, static_cast<int>(t) % 60),
                   rendered);
      for (size_t k = 0; k < std::size(settings); ++k) {
        Frame f;
        f.camera = "cam";
        f.wall_ns = static_cast<int64_t>(t * 1e9) + kNsPerSec;
        f.sequence = i + 1;
        f.bgr = rendered.clone();  // each camera its own, just written, as a decoder hands it over
        std::vector<analytics::Detection> out;
        const double c0 = ThreadCpu();
        cameras[k]->Process(f, out);
        if (i == n - 1) cameras[k]->Flush(out);
        settings[k].cpu += ThreadCpu() - c0;
        for (const auto& d : out) {
          if (d.phase == analytics::Phase::kInstant && d.plate) reported[k].insert(d.plate->text);
        }
      }
    }
    for (size_t k = 0; k < std::size(settings); ++k) {
      auto& s = settings[k];
      s.frames += n;
      s.passes += static_cast<int>(truth.size());
      for (const auto& p : reported[k]) truth.count(p) ? ++s.exact : ++s.wrong;
      s.read += cameras[k]->finder().regions_read();
      s.reused += cameras[k]->finder().regions_reused();
      s.whole_searches += cameras[k]->finder().whole_searches();
      s.part_searches += cameras[k]->finder().part_searches();
    }
  }
  for (const auto& s : settings) {
    fmt::print("  {}: {:.1f} CPU ms per frame; {} of {} passes read exactly, {} wrong; regions read {:.1f} and kept "
               "{:.1f} a frame\n",
               s.name, s.cpu * 1000 / s.frames, s.exact, s.passes, s.wrong, static_cast<double>(s.read) / s.frames,
               static_cast<double>(s.reused) / s.frames);
    if (s.part_searches > 0) {
      fmt::print("    {} frames searched whole, {} only where they changed\n", s.whole_searches, s.part_searches);
    }
  }
  return settings[std::size(settings) - 1].cpu * 1000 / settings[std::size(settings) - 1].frames;
}

double BenchDecode(const std::string& camsim, int streams, double seconds, double fps) {
  testing::TempDir dir("vigil-bench-lpr");
  const int port = 20000 + static_cast<int>(getpid() % 20000);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  std::string others = ncpu > 1 ? fmt::format("1-{}", ncpu - 1) : "0";
  testing::Process sim({"/usr/bin/taskset", "-c", others, camsim, "--cameras", std::to_string(streams), "--port",
                        std::to_string(port), "--replay", "--replay-seconds", "8", "--main-kbps", "4000"},
                       dir / "camsim.log");
  for (int i = 0; i < 900 && testing::ReadFile(dir / "camsim.log").find("serving") == std::string::npos; ++i) {
    Sleep(0.1);
  }
  if (testing::ReadFile(dir / "camsim.log").find("serving") == std::string::npos) {
    throw std::runtime_error("vigil-camsim did not start: " + testing::ReadFile(dir / "camsim.log"));
  }
  auto store = index::OpenSqliteStore(dir / "index.db");
  if (!store.ok()) throw std::runtime_error(store.error().ToString());
  std::vector<ingest::CameraConfig> cams;
  for (int k = 1; k <= streams; ++k) {
    ingest::CameraConfig c;
    c.id = fmt::format("cam{}", k);
    c.main_url = fmt::format("rtsp://127.0.0.1:{}/cam{}/main", port, k);
    c.record = false;  // the plate branch only
    c.plates_fps = fps;
    cams.push_back(c);
  }
  std::atomic<int64_t> frames{0};
  ingest::RecordingOptions opt;
  opt.data_dir = dir.path();
  opt.on_plate_frame = [&frames](Frame&&) {
    ++frames;
    return true;
  };
  auto rec = ingest::Recorder::Start(cams, opt, **store);
  if (!rec.ok()) throw std::runtime_error(rec.error().ToString());
  Sleep(6);
  int64_t f0 = frames;
  double c0 = ProcessCpu();
  auto t0 = std::chrono::steady_clock::now();
  Sleep(seconds);
  double cpu = ProcessCpu() - c0;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int64_t got = frames - f0;
  (*rec)->Stop();
  sim.Signal(SIGTERM);
  sim.Wait(10);
  double ms = cpu * 1000 / (wall * streams);
  fmt::print("decode, 1080p25 4 Mb/s H.264: {:.1f} CPU ms per stream-second ({:.1f} % of a core), {} of {:.0f} "
             "frames at {} fps handed over\n",
             ms, ms / 10, got, fps * streams * wall, fps);
  return ms;
}

}  // namespace

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// One run of the plate scenes through vigild with every plate watched; appends each alert's latency.
void AlertRun(const std::string& vigild, const std::string& scenes_dir, const std::string& model, int run, bool live,
              std::vector<double>& latency_ms, int& early, int& passes) {
  auto loaded = testing::LoadScenes(scenes_dir);
  if (!loaded.ok()) throw std::runtime_error(loaded.error().ToString());
  if (loaded->size() != 2) throw std::runtime_error("need the two plate scenes in " + scenes_dir);
  double longest = 0;
  camsim::SimOptions opt = testing::PlateSceneOptions(*loaded, &longest);
  // Pre-encoded (replay): camsim sends the scenes' frames without rendering and encoding them on the
  // cores vigild runs on, so the figure is vigil's; --alert-live renders them as they are sent.
  opt.replay = !live;
  const auto encode_start = std::chrono::steady_clock::now();
  auto sim = camsim::Simulator::Start(opt);
  if (!sim.ok()) throw std::runtime_error(sim.error().ToString());
  if (!live) fmt::print("  scenes encoded in {:.0f} s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - encode_start).count());
  const int64_t t0 = (*sim)->scene_start_wall_ns();
  testing::TempDir dir("vigil-bench-alerts");
  const std::string requests = fmt::format("tcp://127.0.0.1:{}", testing::FreePort());
  const std::string events = fmt::format("tcp://127.0.0.1:{}", testing::FreePort());
  std::string config = fmt::format("data_dir = \"{}\"\n[recording]\nsegment_seconds = 30\n"
                                   "[api]\nrequests = \"{}\"\nevents = \"{}\"\n[plates]\nworkers = 1\nmodel = \"{}\"\n",
                                   dir / "data", requests, events, model);
  for (int k = 1; k <= 2; ++k) {
    config += fmt::format("[[cameras]]\nid = \"cam{}\"\nmain = \"{}\"\nsub = \"{}\"\nlat = 24.88\n"
                          "lon = {}\n[cameras.plates]\nfps = 8\n",
                          k, (*sim)->Url(k, true), (*sim)->Url(k, false), 102.83 + 0.001 * k);
  }
  testing::WriteFile(dir / "vigild.toml", config);
  ::setenv("VIGILD", vigild.c_str(), 1);
  const api::UserKey key = api::LoadUserKey(testing::MakeKey(dir / "vigild.toml", "bench", "admin", dir.path())).value();
  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  if (!api::UseKey(sub, key).ok()) throw std::runtime_error("cannot use the bench key");
  sub.set(zmq::sockopt::subscribe, "alert.");
  sub.connect(events);
  testing::Process proc({vigild, "--config", dir / "vigild.toml"}, dir / "vigild.log");
  auto client = api::Client::Connect(requests, key);
  if (!client.ok()) throw std::runtime_error(client.error().ToString());
  std::map<std::string, double> pass_end;  // plate → when the vehicle left (scene seconds)
  for (int k = 1; k <= 2; ++k) {
    for (const auto& p : camsim::ComputePlateTruth(*(*loaded)[static_cast<size_t>(k - 1)])) pass_end[p.plate] = p.end;
  }
  for (const auto& [plate, end] : pass_end) {
    api::v1::Request q;
    q.mutable_watchlist_add()->mutable_entry()->set_pattern(plate);
    q.mutable_watchlist_add()->mutable_entry()->set_reason("bench");
    for (int tries = 0;; ++tries) {
      auto r = (*client)->Call(q);
      if (r.ok()) break;
      if (tries > 100) throw std::runtime_error("watchlist: " + r.error().ToString());
      Sleep(0.2);
    }
  }
  passes += static_cast<int>(pass_end.size());
  int got = 0;
  bool slow = false;
  while (SystemClock().WallNs() < t0 + static_cast<int64_t>((longest + 4) * kNsPerSec)) {
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
    zmq::message_t topic, body;
    if (!sub.recv(topic) || !topic.more() || !sub.recv(body)) continue;
    const int64_t now = SystemClock().WallNs();
    api::v1::LiveMessage m;
    if (!m.ParseFromArray(body.data(), static_cast<int>(body.size())) || !m.has_alert()) continue;
    if (m.alert().state() != "new") continue;
    latency_ms.push_back(static_cast<double>(now - m.alert().time_ns()) / 1e6);
    if (latency_ms.back() > 300) {
      fmt::print("  slow alert: {} on {} at {:.1f} s of the scene, {:.0f} ms\n", m.alert().plate(), m.alert().camera(),
                 static_cast<double>(m.alert().time_ns() - t0) / 1e9, latency_ms.back());
      slow = true;
    }
    auto end = pass_end.find(m.alert().plate());
    if (end != pass_end.end() && m.alert().time_ns() < t0 + static_cast<int64_t>(end->second * kNsPerSec)) ++early;
    ++got;
  }
  proc.Signal(SIGTERM);
  proc.Wait(60);
  fmt::print("  run {} ({}): {} alerts for {} watched passes; camsim published {} + {} main-stream frames of {:.0f} "
             "each\n",
             run, model, got, pass_end.size(), (*sim)->Stats(1, true).frames_published,
             (*sim)->Stats(2, true).frames_published, longest * opt.fps);
  if (slow) {
    const std::string kept = fmt::format("/tmp/vigil-bench-alerts-run{}.log", run);
    testing::WriteFile(kept, testing::ReadFile(dir / "vigild.log"));
    fmt::print("  (vigild's log kept as {}: slow alerts are explained there)\n", kept);
  }
  std::fflush(stdout);
}

void BenchAlerts(const std::string& vigild, const std::string& scenes, int runs, bool live) {
  // The baseline in the same run: the reader without the corner network beside it (runs alternate,
  // so that this VM's drift in speed falls on both alike).
  const std::filesystem::path model = std::filesystem::absolute("samples/models/plate_reader.onnx");
  testing::TempDir plain("vigil-bench-reader-alone");
  std::filesystem::copy_file(model, plain / "plate_reader.onnx");
  struct Setting {
    std::string name, model;
    std::vector<double> ms;
    int early = 0, passes = 0;
  } settings[] = {{"detector corners (baseline)", plain / "plate_reader.onnx", {}, 0, 0},
                  {"corner network", model.string(), {}, 0, 0}};
  fmt::print("alert latency, frame wall time → ZeroMQ subscriber (2 plate cameras, every plate watched; scenes {}):\n",
             live ? "rendered and encoded live" : "encoded before each run");
  for (int r = 1; r <= runs; ++r) {
    for (auto& s : settings) AlertRun(vigild, scenes, s.model, r, live, s.ms, s.early, s.passes);
  }
  for (const auto& s : settings) {
    fmt::print("  {}: {} alerts for {} passes ({} raised while the vehicle was in view): p50 {:.0f} ms, p99 {:.0f} ms, "
               "max {:.0f} ms\n",
               s.name, s.ms.size(), s.passes, s.early, Percentile(s.ms, 0.5), Percentile(s.ms, 0.99),
               Percentile(s.ms, 1.0));
  }
}

int main(int argc, char** argv) {
  CLI::App app{"vigil plate reading benchmark"};
  std::string camsim;
  int crops = 2000, frames = 100, streams = 2;
  double seconds = 15, fps = 8;
  app.add_option("--camsim", camsim, "vigil-camsim binary")->required();
  app.add_option("--crops", crops, "held-out crops for the reader");
  app.add_option("--frames", frames, "1080p frames for the finder");
  app.add_option("--streams", streams, "1080p streams decoded");
  app.add_option("--seconds", seconds, "decode measurement window");
  app.add_option("--fps", fps, "plate frames a second per camera");
  int alert_runs = 0;
  std::string vigild, scenes = "samples/plates";
  app.add_option("--alert-runs", alert_runs, "runs of the plate scenes through vigild for alert latency (0: skip)");
  app.add_option("--vigild", vigild, "vigild binary (alert latency)");
  app.add_option("--scenes", scenes, "the plate scenes (alert latency)");
  double scene_seconds = 0;
  app.add_option("--scene-seconds", scene_seconds, "plate scenes through a plate camera: seconds of each (0: whole)");
  bool alert_live = false;
  app.add_flag("--alert-live", alert_live, "alert latency: camsim renders and encodes the scenes while sending them");
  CLI11_PARSE(app, argc, argv);
  SetLogLevel("warn");
  try {
    if (alert_runs > 0) {
      if (vigild.empty()) throw std::runtime_error("--vigild is needed for --alert-runs");
      BenchAlerts(vigild, scenes, alert_runs, alert_live);
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    sched_setaffinity(0, sizeof(set), &set);
    cv::setNumThreads(1);  // one core: what one plate worker gets
    fmt::print("plate reading on one core\n");
    BenchReader(crops);
    const double baseline_ms = BenchFinder(frames, false);
    double find_ms = BenchFinder(frames, true);
    if (find_ms < 0) find_ms = baseline_ms;  // no corner network beside the reader
    const double scene_ms = BenchScenes(scenes, fps, scene_seconds);
    double decode_ms = BenchDecode(camsim, streams, seconds, fps);
    for (const auto& [what, ms] : {std::pair{"independent street frames", find_ms}, std::pair{"the plate scenes", scene_ms}}) {
      const double per_camera = decode_ms + fps * ms;
      fmt::print("one plate camera at {} fps ({}): {:.0f} ms/s decode + {:.0f} ms/s finding and reading = {:.1f} % "
                 "of a core: {:.1f} plate cameras per core\n",
                 fps, what, decode_ms, fps * ms, per_camera / 10, 1000 / per_camera);
    }
  } catch (const std::exception& e) {
    std::cerr << "vigil-bench-lpr: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
