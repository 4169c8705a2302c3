#pragma once
// Retention: which segments go when, and removing them without ever leaving the index and the disk
// disagreeing. Oldest first; only closed or recovered segments (never one being written).
//
// Rules, applied in order: per-camera age (retain_days), per-camera size (retain_bytes), the node's
// quota over all cameras (max_bytes), and free space on the disk (min_free_bytes), so that a full
// disk costs the oldest footage, never the newest.

#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"
#include "index/store.h"
#include "ingest/recording_config.h"

namespace vigil::ingest {

struct RetentionPolicy {
  std::string data_dir;
  std::map<std::string, CameraConfig> cameras;  // by id, for retain_days / retain_bytes
  int64_t max_bytes = 0;
  int64_t min_free_bytes = 0;
};

struct RetentionResult {
  int64_t segments_deleted = 0;
  int64_t bytes_deleted = 0;
};

// Deletes what the policy says must go: rows marked deleting (durable), then files removed, then rows
// deleted. Safe to interrupt anywhere: FinishInterruptedDeletes() completes the work at start-up.
Result<RetentionResult> EnforceRetention(index::Store& store, const RetentionPolicy& policy,
                                         int64_t now_wall_ns);

// Completes deletions a crash interrupted (rows in state deleting): removes their files and rows.
Status FinishInterruptedDeletes(index::Store& store, const std::string& data_dir);

}  // namespace vigil::ingest
