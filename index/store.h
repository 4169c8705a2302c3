#pragma once
// The index: one interface for what vigil stores about cameras and footage. The SQLite implementation
// is the embedded default; a PostgreSQL one can follow behind the same interface.
//
// Thread-safety: every method may be called from any thread. Writes go through one writer thread that
// batches them into transactions; "durable" methods return after their transaction commits, the others
// return once queued (call Flush() to wait). Reads never block the writer (WAL).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "index/types.h"

namespace vigil::index {

class Store {
 public:
  virtual ~Store() = default;

  // Inserts or updates a camera by id. Durable.
  virtual Status UpsertCamera(const Camera& camera) = 0;
  virtual Result<std::vector<Camera>> Cameras() = 0;

  // Commits a row in state kOpen for a segment about to be written and returns its id. Durable: the
  // row exists before the file does, so a crash leaves a row to recover from, never an orphan file.
  virtual Result<int64_t> BeginSegment(const Segment& segment) = 0;
  // Records the final state (kClosed or kRecovered), end time, size, frames and hash of segment.id.
  // Queued; call only after the file has been fsynced.
  virtual Status FinishSegment(const Segment& segment) = 0;
  virtual Result<std::vector<Segment>> Segments(const SegmentFilter& filter) = 0;
  // Marks rows kDeleting (durable), before their files are removed.
  virtual Status MarkDeleting(const std::vector<int64_t>& ids) = 0;
  // Removes rows whose files are gone. Durable.
  virtual Status DeleteSegments(const std::vector<int64_t>& ids) = 0;
  // Bytes and count of closed/recovered segments per camera, and the oldest start.
  virtual Result<std::vector<CameraUsage>> Usage() = 0;

  // Opens a gap (end unknown) and returns its id. Durable.
  virtual Result<int64_t> OpenGap(const Gap& gap) = 0;
  // Sets the end of an open gap. Queued.
  virtual Status CloseGap(int64_t id, int64_t end_ns) = 0;
  // Gaps of a camera (or all, when camera is empty) overlapping [start_ns, end_ns), oldest first.
  virtual Result<std::vector<Gap>> Gaps(const std::string& camera, int64_t start_ns,
                                        int64_t end_ns) = 0;

  // Waits until every queued write has committed; returns the first write error since the last Flush.
  virtual Status Flush() = 0;
};

struct SqliteOptions {
  // Most writes committed per transaction.
  int max_batch = 4096;
  // Open for reading only (the command line beside a running vigild): no writer thread, no
  // migrations; writes fail with FailedPrecondition. A file of another schema version is refused.
  bool read_only = false;
};

// Opens (creating if needed) the SQLite index at `path` and applies pending migrations. Refuses a file
// whose schema is newer than this binary knows (FailedPrecondition naming both versions).
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, SqliteOptions options = {});

// Schema version this binary writes.
int SqliteSchemaVersion();

}  // namespace vigil::index
