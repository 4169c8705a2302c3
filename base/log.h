#pragma once
// One named spdlog logger per module ("ingest", "index", "camsim", ...). Level from VIGIL_LOG
// (trace, debug, info, warn, error) or SetLogLevel(); output to stderr. Thread-safe.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/spdlog.h>

namespace vigil {

std::shared_ptr<spdlog::logger> Logger(const std::string& module);
void SetLogLevel(const std::string& level);

// Keeps a warning that anyone on the network can cause (refused handshakes, refused subscriptions)
// from flooding the log: at most `burst` lines per `window_ns`; what was held back is counted and
// said on the first line after the window. Thread-safe.
class LogLimiter {
 public:
  LogLimiter(int burst, int64_t window_ns) : burst_(burst), window_ns_(window_ns) {}
  // Whether to log now (monotonic `now_ns`); `*held_back` gets how many were not logged since the
  // last line that was (0 usually).
  bool Allow(int64_t now_ns, int64_t* held_back);

 private:
  std::mutex mu_;
  const int burst_;
  const int64_t window_ns_;
  int64_t window_start_ns_ = INT64_MIN;
  int in_window_ = 0;
  int64_t held_back_ = 0;
};

}  // namespace vigil
