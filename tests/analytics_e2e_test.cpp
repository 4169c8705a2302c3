// The analytics scene suite, end to end: vigil-camsim plays scripted scenes (samples/scenes) as live
// RTSP cameras, vigild (a real process) records them and analyses their sub streams, and the events it
// indexed are matched against the ground truth computed from the scripts (tools/camsim/script.h):
// same type and zone (and direction for lines), start within ±1 s, one to one.
//
// Asserted, per event type: precision ≥ 0.95 and recall ≥ 0.95; on the distractor-only scenes (noise,
// rain, foliage, light ramps, night) at most 1 false alarm per camera-hour. Quality thresholds only;
// nothing here depends on how fast the machine is, beyond analysis keeping up with 5 fps.
//
// Environment: VIGILD (set by meson), VIGIL_SCENES (the scene directory), VIGIL_SCENE_BATCH (cameras
// per vigild run, default 8), VIGIL_SCENE_FILTER (substring of scene names to run, for debugging).

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <thread>

#include <doctest/doctest.h>

#include "base/clock.h"
#include "base/fs.h"
#include "index/store.h"
#include "tests/support/event_matching.h"
#include "tests/support/process.h"
#include "tests/support/recording_fixture.h"
#include "tests/support/scene_config.h"
#include "tools/camsim/script.h"
#include "tools/camsim/simulator.h"

namespace vigil::testing {
namespace {

}  // namespace

TEST_CASE("analytics finds the scripted events of the scene suite and nothing in the distractors") {
  const char* dir_env = std::getenv("VIGIL_SCENES");
  REQUIRE_MESSAGE(dir_env, "VIGIL_SCENES names the scene directory");
  const char* filter = std::getenv("VIGIL_SCENE_FILTER");
  auto loaded = LoadScenes(dir_env, filter ? filter : "");
  REQUIRE_MESSAGE(loaded.ok(), loaded.error().ToString());
  auto scripts = *loaded;
  if (!filter) REQUIRE(scripts.size() >= 50);
  const int batch = std::max(1, std::atoi(std::getenv("VIGIL_SCENE_BATCH") ? std::getenv("VIGIL_SCENE_BATCH") : "8"));

  std::map<std::string, TypeTally> by_type;
  int false_alarms = 0;
  double distractor_s = 0;
  std::vector<std::string> problems;

  for (size_t first = 0; first < scripts.size(); first += static_cast<size_t>(batch)) {
    std::vector<SceneCamera> runs;
    camsim::SimOptions opt;
    opt.port = 0;
    opt.main_size = {640, 360};
    opt.sub_size = {640, 360};
    opt.main_kbps = 700;
    opt.sub_kbps = 600;
    double longest = 0;
    for (size_t i = first; i < std::min(scripts.size(), first + batch); ++i) {
      int k = static_cast<int>(runs.size()) + 1;
      runs.push_back({scripts[i], fmt::format("cam{}", k)});
      opt.scenes[k] = scripts[i];
      longest = std::max(longest, scripts[i]->duration);
    }
    opt.cameras = static_cast<int>(runs.size());
    TempDir dir;
    const std::string data = dir / "data";
    // vigild first, so that it is connecting while camsim starts the scenes' clocks.
    auto sim_r = camsim::Simulator::Start(opt);
    REQUIRE_MESSAGE(sim_r.ok(), sim_r.error().ToString());
    auto sim = std::move(*sim_r);
    WriteFile(dir / "vigild.toml",
              SceneVigildConfig(data, runs, *sim, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", 2));
    Process vigild({BinaryFromEnv("VIGILD"), "--config", dir / "vigild.toml"}, dir / "vigild.log");
    REQUIRE(vigild.started());
    const int64_t t0 = sim->scene_start_wall_ns();
    while (SystemClock().WallNs() < t0 + static_cast<int64_t>((longest + 2) * kNsPerSec)) {
      REQUIRE_MESSAGE(vigild.Running(), ReadFile(dir / "vigild.log"));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    REQUIRE_MESSAGE(StopCleanly(vigild, 60, dir / "vigild.log") == 0,
                    "vigild did not stop cleanly (its log and threads are on stderr)");
    sim.reset();

    auto store = index::OpenSqliteStore(JoinPath(data, "index.db"));
    REQUIRE(store.ok());
    for (const auto& run : runs) {
      const auto& script = *run.script;
      index::EventQuery q;
      q.range = {t0 - 60 * kNsPerSec, t0 + static_cast<int64_t>((script.duration + 60) * kNsPerSec)};
      q.cameras = {run.camera};
      q.page.limit = 10'000;
      auto page = (*store)->Events(q);
      REQUIRE(page.ok());
      std::vector<index::Event> found = page->items;
      auto truth = camsim::ComputeTruth(script);
      const bool distractor = script.name.rfind("distractor", 0) == 0;
      if (distractor) {
        false_alarms += static_cast<int>(found.size());
        distractor_s += script.duration;
        for (const auto& e : found) {
          problems.push_back(fmt::format("{}: false alarm {} {} at {:.1f} s", script.name,
                                         index::EventTypeName(e.type), e.zone,
                                         static_cast<double>(e.start_ns - t0) / kNsPerSec));
        }
      }
      std::vector<ExpectedEvent> expected;
      for (const auto& t : truth) expected.push_back({t.type, t.zone, t.direction, t.start, ""});
      // Distractor scenes' events are counted as false alarms above, not listed twice.
      MatchEvents(script.name, expected, found, t0, !distractor, by_type, problems);
    }
  }
  std::string report = TallyTable(by_type);
  double hours = distractor_s / 3600;
  report += fmt::format("distractor scenes: {:.3f} camera-hours, {} false alarms ({:.1f} per camera-hour)\n",
                        hours, false_alarms, hours > 0 ? false_alarms / hours : 0.0);
  for (const auto& p : problems) report += p + "\n";
  MESSAGE(report);
  for (const auto& [type, t] : by_type) {
    CAPTURE(type);
    CHECK(t.precision() >= 0.95);
    CHECK(t.recall() >= 0.95);
  }
  if (hours > 0) CHECK(false_alarms / hours <= 1.0);
}

}  // namespace vigil::testing
