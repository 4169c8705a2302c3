#pragma once
// A recording node: every configured camera recorded into segments under <data_dir>/recordings and
// indexed in the Store, with reconnects, gaps, retention and health.
//
// Start-up first reconciles the index with the disk (docs/storage.md): segments left open by a crash
// are truncated to their last complete fragment and indexed as recovered; interrupted deletions are
// finished. Then one pipeline per camera starts.
//
// Thread-safety: all methods may be called from any thread. The Store must outlive the Recorder.

#include <memory>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "index/store.h"
#include "ingest/health.h"
#include "ingest/recording_config.h"

namespace vigil::ingest {

struct RecoveryReport {
  int recovered = 0;         // open segments made playable and indexed
  int discarded = 0;         // open segments with nothing playable (file and row removed)
  int64_t truncated_bytes = 0;
};

// Recovers segments left open by a crash. Exposed for tests; Recorder::Start calls it.
Result<RecoveryReport> RecoverOpenSegments(index::Store& store, const std::string& data_dir,
                                           std::vector<std::string>* cameras_recovered = nullptr);

class Recorder {
 public:
  // Errors: the data directory cannot be created, or the index refuses the cameras. A camera that
  // cannot be reached is not an error: it is retried and reported in Health().
  static Result<std::unique_ptr<Recorder>> Start(std::vector<CameraConfig> cameras,
                                                 RecordingOptions options, index::Store& store,
                                                 Clock& clock = SystemClock());
  // Stops cleanly: every open segment is closed, fsynced and indexed. Returns false when some camera's
  // GStreamer pipeline did not stop (logged with the threads' stacks): its segment is closed all the
  // same, but its stuck thread remains, so the process should exit rather than unload anything.
  ~Recorder();
  bool Stop();

  std::vector<CameraHealth> Health() const;
  const RecoveryReport& recovery() const;

  struct Impl;

 private:
  explicit Recorder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::ingest
