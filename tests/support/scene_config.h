#pragma once
// vigild configs for scripted camsim scenes (tests/analytics_e2e_test.cpp, tools/bench/analytics):
// one camera per scene with the scene's [analytics] rules as its [cameras.analytics].

#include <memory>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "tools/camsim/script.h"
#include "tools/camsim/simulator.h"

namespace vigil::testing {

struct SceneCamera {
  std::shared_ptr<const camsim::Script> script;
  std::string camera;  // camK, K from 1 in order
};

// A camera with analytics rules, for AnalyticsVigildConfig.
struct AnalyticsCamera {
  std::string id;
  std::string main;  // URLs
  std::string sub;
  std::string place;
  toml::table analytics;  // its [cameras.analytics]
};

// TOML text of a vigild config recording and analysing `cameras` (30 s segments). `requests`/`events`:
// API endpoints ("tcp://127.0.0.1:*" when the caller does not listen).
std::string AnalyticsVigildConfig(const std::string& data_dir, const std::vector<AnalyticsCamera>& cameras,
                                  const std::string& requests, const std::string& events, int analytics_workers);

// The same for camsim scenes: camK plays cameras[K-1]'s script with its rules.
std::string SceneVigildConfig(const std::string& data_dir, const std::vector<SceneCamera>& cameras,
                              const camsim::Simulator& sim, const std::string& requests,
                              const std::string& events, int analytics_workers);

// camsim options for plate-camera scenes (tests/plates_e2e_test.cpp, tools/bench/lpr): camK plays
// scripts[K-1] on a 1920x1080 4 Mb/s main stream and a 400 kb/s sub stream, on a free port. `longest`
// (optional) gets the longest script's duration in seconds.
camsim::SimOptions PlateSceneOptions(const std::vector<std::shared_ptr<const camsim::Script>>& scripts,
                                     double* longest = nullptr);

// Every *.toml scene script in `dir` whose name contains `filter` (all when empty), by file name.
// Errors name the script that does not load.
Result<std::vector<std::shared_ptr<const camsim::Script>>> LoadScenes(const std::string& dir,
                                                                      const std::string& filter = "");

}  // namespace vigil::testing
