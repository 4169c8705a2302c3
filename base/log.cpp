#include "base/log.h"

#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace vigil {
namespace {

std::mutex g_mu;
spdlog::level::level_enum g_level = [] {
  const char* env = std::getenv("VIGIL_LOG");
  return env ? spdlog::level::from_str(env) : spdlog::level::info;
}();

}  // namespace

std::shared_ptr<spdlog::logger> Logger(const std::string& module) {
  std::lock_guard lock(g_mu);
  if (auto existing = spdlog::get(module)) return existing;
  auto logger = spdlog::stderr_color_mt(module);
  logger->set_level(g_level);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ %n: %v");
  return logger;
}

void SetLogLevel(const std::string& level) {
  std::lock_guard lock(g_mu);
  g_level = spdlog::level::from_str(level);
  spdlog::apply_all([](std::shared_ptr<spdlog::logger> l) { l->set_level(g_level); });
}

}  // namespace vigil
