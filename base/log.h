#pragma once
// One named spdlog logger per module ("ingest", "index", "camsim", ...). Level from VIGIL_LOG
// (trace, debug, info, warn, error) or SetLogLevel(); output to stderr. Thread-safe.

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace vigil {

std::shared_ptr<spdlog::logger> Logger(const std::string& module);
void SetLogLevel(const std::string& level);

}  // namespace vigil
