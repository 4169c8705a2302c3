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
  int64_t max_bytes = 0;       // over footage, exports, the index and its WAL
  int64_t min_free_bytes = 0;
  int64_t reserve_bytes = 0;   // data_dir/.vigil-reserve (see RecordingOptions::reserve_bytes)
  bool count_other_bytes = true;  // exports, index and WAL count toward max_bytes
};

// Makes the reserve file when it is missing and there is room for it besides min_free_bytes
// (fallocate: real blocks, not a sparse file). Returns whether the reserve is in place.
bool EnsureReserve(const RetentionPolicy& policy);
// Gives up data_dir's reserve at once (a write found the disk full): the index rows that say what
// happened (the outage, the segment that could not be closed) get room to be written, and retention
// room to commit its deletions. Returns whether there was one. Thread-safe.
bool ReleaseReserve(const std::string& data_dir);

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
