#include "tests/support/scene_config.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <toml++/toml.h>

namespace vigil::testing {

std::string AnalyticsVigildConfig(const std::string& data_dir, const std::vector<AnalyticsCamera>& cameras,
                                  const std::string& requests, const std::string& events, int analytics_workers) {
  toml::table root;
  root.insert("data_dir", data_dir);
  toml::table recording;
  recording.insert("segment_seconds", 30);
  root.insert("recording", recording);
  toml::table api;
  api.insert("requests", requests);
  api.insert("events", events);
  root.insert("api", api);
  toml::table node;
  node.insert("workers", analytics_workers);
  root.insert("analytics", node);
  toml::array cams;
  int k = 0;
  for (const auto& c : cameras) {
    ++k;
    toml::table t;
    t.insert("id", c.id);
    t.insert("main", c.main);
    if (!c.sub.empty()) t.insert("sub", c.sub);
    t.insert("lat", 25.0 + 0.001 * k);
    t.insert("lon", 102.7);
    t.insert("place", c.place);
    t.insert("analytics", c.analytics);
    cams.push_back(std::move(t));
  }
  root.insert("cameras", std::move(cams));
  std::ostringstream out;
  out << toml::toml_formatter(root);
  return out.str();
}

std::string SceneVigildConfig(const std::string& data_dir, const std::vector<SceneCamera>& cameras,
                              const camsim::Simulator& sim, const std::string& requests,
                              const std::string& events, int analytics_workers) {
  std::vector<AnalyticsCamera> cams;
  int k = 0;
  for (const auto& c : cameras) {
    ++k;
    cams.push_back({c.camera, sim.Url(k, true), sim.Url(k, false), c.script->name, c.script->analytics_table});
  }
  return AnalyticsVigildConfig(data_dir, cams, requests, events, analytics_workers);
}

Result<std::vector<std::shared_ptr<const camsim::Script>>> LoadScenes(const std::string& dir,
                                                                      const std::string& filter) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".toml") files.push_back(e.path());
  }
  if (ec) return Status::NotFound(fmt::format("scene directory {}: {}", dir, ec.message()));
  std::sort(files.begin(), files.end());
  std::vector<std::shared_ptr<const camsim::Script>> out;
  for (const auto& f : files) {
    VIGIL_ASSIGN_OR_RETURN(auto s, camsim::LoadScript(f));
    if (!filter.empty() && s.name.find(filter) == std::string::npos) continue;
    out.push_back(std::make_shared<camsim::Script>(std::move(s)));
  }
  return out;
}

camsim::SimOptions PlateSceneOptions(const std::vector<std::shared_ptr<const camsim::Script>>& scripts,
                                     double* longest) {
  camsim::SimOptions opt;
  opt.port = 0;
  opt.cameras = static_cast<int>(scripts.size());
  opt.main_size = {1920, 1080};
  opt.main_kbps = 4000;
  opt.sub_kbps = 400;
  if (longest) *longest = 0;
  for (size_t i = 0; i < scripts.size(); ++i) {
    opt.scenes[static_cast<int>(i) + 1] = scripts[i];
    if (longest) *longest = std::max(*longest, scripts[i]->duration);
  }
  return opt;
}

}  // namespace vigil::testing
