// vigil-camsim: an RTSP server of simulated cameras for the demo, tests and benchmarks.
//
//   vigil-camsim --cameras N --port P [--seed S] [--codec h264|h265|mjpeg] [--replay]
//                [--faults FILE] [--scene K=FILE ...] [--truth FILE]
//
// Commands on standard input, one per line: stop|start|freeze|thaw|refuse|accept camK, quit.
// A fault script (--faults) holds lines "SECONDS ACTION camK" run at that time after start.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "tools/camsim/simulator.h"

namespace {

std::atomic<bool> g_quit{false};

bool ParseSize(const std::string& text, cv::Size& out) {
  int w = 0, h = 0;
  if (std::sscanf(text.c_str(), "%dx%d", &w, &h) != 2) return false;
  out = {w, h};
  return true;
}

struct ScriptedFault {
  double at_seconds;
  std::string command;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace vigil;
  CLI::App app{"vigil-camsim: RTSP server of simulated street cameras"};
  camsim::SimOptions opt;
  std::string codec = "h264", main_size = "1920x1080", sub_size = "640x360", faults_file;
  std::vector<std::string> codec_of, scene_specs;
  std::string truth_file;
  app.add_option("--cameras,-n", opt.cameras, "number of cameras (camK, K from 1)");
  app.add_option("--port,-p", opt.port, "RTSP port on 127.0.0.1 (0: any, printed)");
  app.add_option("--seed", opt.seed, "scene seed");
  app.add_option("--codec", codec, "h264, h265 or mjpeg");
  app.add_option("--camera-codec", codec_of, "per-camera codec, K=CODEC (repeatable)");
  app.add_flag("--replay", opt.replay, "encode a loop once and serve it to every camera (a --scene: the whole scene, encoded before serving)");
  app.add_option("--replay-seconds", opt.replay_seconds, "replay loop length");
  app.add_option("--bframes", opt.bframes, "replay: B-frames between references (0-4; default 0)");
  app.add_option("--main-size", main_size, "main stream size WxH");
  app.add_option("--sub-size", sub_size, "sub stream size WxH");
  app.add_option("--fps", opt.fps, "frames per second");
  app.add_option("--gop-seconds", opt.gop_seconds, "seconds between key frames");
  app.add_option("--main-kbps", opt.main_kbps, "main stream bitrate");
  app.add_option("--sub-kbps", opt.sub_kbps, "sub stream bitrate");
  app.add_option("--user", opt.user, "require this user (Digest authentication) on every request");
  app.add_option("--password", opt.password, "the user's password");
  app.add_flag("--basic-auth", opt.basic_auth, "accept Basic authentication as well as Digest");
  app.add_flag("--basic-only", opt.basic_only, "accept Basic authentication only (no Digest)");
  app.add_option("--faults", faults_file, "fault script: lines 'SECONDS ACTION camK'");
  app.add_option("--scene", scene_specs, "scripted scene for camera K: K=FILE (repeatable)");
  app.add_option("--truth", truth_file, "write the scripted cameras' ground truth (JSON) here");
  CLI11_PARSE(app, argc, argv);

  auto log = Logger("camsim");
  auto parsed = camsim::ParseCodec(codec);
  if (!parsed.ok()) {
    std::cerr << "vigil-camsim: " << parsed.error().message() << "\n";
    return 2;
  }
  opt.codec = *parsed;
  for (const auto& spec : codec_of) {
    auto eq = spec.find('=');
    auto c = eq == std::string::npos ? parsed : camsim::ParseCodec(spec.substr(eq + 1));
    if (eq == std::string::npos || !c.ok()) {
      std::cerr << "vigil-camsim: --camera-codec " << spec << ": expected K=h264|h265|mjpeg\n";
      return 2;
    }
    opt.codec_of[std::atoi(spec.substr(0, eq).c_str())] = *c;
  }
  if (!ParseSize(main_size, opt.main_size) || !ParseSize(sub_size, opt.sub_size)) {
    std::cerr << "vigil-camsim: sizes are WxH, e.g. 1920x1080\n";
    return 2;
  }
  std::vector<ScriptedFault> script;
  if (!faults_file.empty()) {
    std::ifstream in(faults_file);
    if (!in) {
      std::cerr << "vigil-camsim: cannot read fault script " << faults_file << "\n";
      return 2;
    }
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.empty() || line[0] == '#') continue;
      ScriptedFault f;
      char cmd[128] = {};
      char cam[32] = {};
      if (std::sscanf(line.c_str(), "%lf %127s %31s", &f.at_seconds, cmd, cam) != 3) {
        std::cerr << "vigil-camsim: " << faults_file << ":" << n
                  << ": expected 'SECONDS ACTION camK'\n";
        return 2;
      }
      f.command = std::string(cmd) + " " + cam;
      script.push_back(f);
    }
  }

  for (const auto& spec : scene_specs) {
    auto eq = spec.find('=');
    int k = eq == std::string::npos ? 0 : std::atoi(spec.substr(0, eq).c_str());
    if (k < 1) {
      std::cerr << "vigil-camsim: --scene " << spec << ": expected K=FILE\n";
      return 2;
    }
    auto script = camsim::LoadScript(spec.substr(eq + 1));
    if (!script.ok()) {
      std::cerr << "vigil-camsim: " << script.error().message() << "\n";
      return 2;
    }
    opt.scenes[k] = std::make_shared<camsim::Script>(std::move(*script));
  }

  RaiseFileLimit();
  auto sim = camsim::Simulator::Start(opt);
  if (!sim.ok()) {
    std::cerr << "vigil-camsim: " << sim.error().ToString() << "\n";
    return 1;
  }
  if (!truth_file.empty()) {
    std::vector<std::pair<std::string, const camsim::Script*>> cams;
    for (const auto& [k, script] : opt.scenes) cams.emplace_back(fmt::format("cam{}", k), script.get());
    std::string json = camsim::TruthJson(cams, (*sim)->scene_start_wall_ns());
    if (Status st = WriteFile(truth_file, json.data(), json.size()); !st.ok()) {
      std::cerr << "vigil-camsim: " << st.message() << "\n";
      return 1;
    }
  }
  for (int k = 1; k <= opt.cameras; ++k) {
    std::cout << (*sim)->Url(k, true) << "\n" << (*sim)->Url(k, false) << "\n";
  }
  std::cout.flush();

  signal(SIGINT, [](int) { g_quit = true; });
  signal(SIGTERM, [](int) { g_quit = true; });
  signal(SIGPIPE, SIG_IGN);

  std::thread script_thread([&] {
    auto start = std::chrono::steady_clock::now();
    for (const auto& f : script) {
      auto at = start + std::chrono::duration<double>(f.at_seconds);
      while (!g_quit && std::chrono::steady_clock::now() < at) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (g_quit) return;
      Status st = (*sim)->Apply(f.command);
      if (!st.ok()) log->error("fault script: {}", st);
    }
  });
  // Standard input commands; a closed stdin (as under a CI runner) just means no commands.
  std::thread stdin_thread([&] {
    std::string line;
    while (!g_quit && std::getline(std::cin, line)) {
      if (line == "quit") {
        g_quit = true;
        break;
      }
      if (line.empty()) continue;
      Status st = (*sim)->Apply(line);
      std::cout << (st.ok() ? "ok" : st.ToString()) << std::endl;
    }
  });
  stdin_thread.detach();
  while (!g_quit) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  script_thread.join();
  sim->reset();
  return 0;
}
