#pragma once
// The subcommands that only a running vigild can answer: export, watch, watchlist, alerts (list,
// ack, close, stats), zones, snapshot, patrol.

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "index/types.h"
#include "proto/keys.h"

namespace vigil::cli {

struct ApiCommands {
  CLI::App* export_cmd = nullptr;
  CLI::App* watch_cmd = nullptr;
  CLI::App* watchlist_cmd = nullptr;
  CLI::App* watchlist_add = nullptr;
  CLI::App* watchlist_remove = nullptr;
  CLI::App* alerts_cmd = nullptr;
  CLI::App* alerts_ack = nullptr;
  CLI::App* alerts_close = nullptr;
  CLI::App* alerts_stats = nullptr;
  CLI::App* zones_cmd = nullptr;
  CLI::App* zones_set = nullptr;
  CLI::App* zones_remove = nullptr;
  CLI::App* snapshot_cmd = nullptr;
  CLI::App* patrol_cmd = nullptr;
  CLI::App* audit_cmd = nullptr;
  // audit
  std::string audit_user;
  bool verify = false;

  // export
  std::string output_dir;  // download the clips here; empty: they stay on the server
  std::string case_ref;
  // watch
  std::vector<std::string> topics;
  std::string events_endpoint;
  int count = 0;         // stop after this many messages (0: run until interrupted)
  double seconds = 0;    // stop after this long (0: no limit)
  // watchlist
  std::string pattern, reason, expires;
  int fuzzy = -1;
  int priority = 3;
  int64_t id = 0;
  // alerts
  std::vector<std::string> states;
  std::string note;
  int64_t limit = 100;
  std::string page;
  std::vector<std::string> zones;
  std::string period = "0", within = "3m";
  // zones
  std::string zone_id, zone_name, polygon;
  std::vector<std::string> units;
  // snapshot, patrol
  std::vector<std::string> live_cameras;
  std::string output;  // a file (snapshot) or a directory (patrol)
  int max_width = 0;
  double every_s = 5;
  int rounds = 1;
  int columns = 0;     // 0: a square-ish grid

  bool chosen() const;
};

// Adds the subcommands to `app`.
void AddApiCommands(CLI::App& app, ApiCommands& c);

struct ApiContext {
  std::string server;
  bool json = false;
  std::vector<std::string> cameras;
  index::TimeRange range;
  bool range_given = false;  // --from or --to was given
  std::optional<index::Area> area;
  api::UserKey key;  // who asks
};

// Runs the chosen one; returns the process's exit code (see main.cpp).
int RunApiCommand(const ApiCommands& c, const ApiContext& ctx);

}  // namespace vigil::cli
