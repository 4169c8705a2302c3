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

bool LogLimiter::Allow(int64_t now_ns, int64_t* held_back) {
  std::lock_guard lock(mu_);
  *held_back = 0;
  if (window_start_ns_ == INT64_MIN || now_ns - window_start_ns_ >= window_ns_) {
    window_start_ns_ = now_ns;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++held_back_;
    return false;
  }
  ++in_window_;
  *held_back = held_back_;
  held_back_ = 0;
  return true;
}

}  // namespace vigil
