#pragma once
// Clip export behind the API: plans an export from the index (segments, gaps, cameras), writes the
// clips in the background (ingest/clip.h), writes each clip's manifest as JSON beside it and an audit
// row per clip, and serves the bytes to clients that fetch them while they are being written.
//
// Files: <data_dir>/exports/<export id>/<camera>.mp4 and <camera>.json. An export id is
// "<UTC time>-<128 random bits in hex>", e.g. 20261123T150102Z-3fa9...: not guessable. Only the user
// who asked for an export (or an admin) may fetch it. A fetch for an export this process no longer
// holds (a restart) is served from the manifest on disk.
//
// Thread-safe. Fetches that ask for bytes not yet written are parked and answered from the job's
// thread (through the Reply they came with) as soon as the bytes exist, when the clip ends, or after
// `park_ns` with what there is: no API worker ever waits on an export.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "index/store.h"
#include "proto/access.h"
#include "proto/vigil.pb.h"

namespace vigil::api {

struct ExportOptions {
  std::string data_dir;  // empty: exports are refused (FAILED_PRECONDITION)
  int64_t max_clip_ns = 2 * 3600 * 1'000'000'000LL;
  int max_cameras = 100;  // per export (an area can hold many)
  int concurrent = 2;     // exports written at once; later ones wait in line
  int64_t park_ns = 5'000'000'000;
  bool verify_sources = true;
  // A range ending in the future waits for its footage (until its end + settle_ns) when it ends at
  // most max_wait_ns ahead; further ahead it is refused.
  int64_t max_wait_ns = 600'000'000'000;
  int64_t settle_ns = 3'000'000'000;  // a fragment, the writer's round and the read batching, with margin
  std::string server_name;  // host and version, for the manifest
  // Limits: exports one user may have queued, waiting or being written at once; bytes the export
  // area may hold (new exports are refused beyond it); age after which an export's directory is
  // deleted (0: never).
  int max_per_user = 4;
  int64_t max_area_bytes = 50LL << 30;
  // Bytes one user's exports may hold in the area (new exports of that user are refused beyond it),
  // so that one investigator cannot fill the area for everyone.
  int64_t max_user_bytes = 10LL << 30;
  int64_t expire_ns = 30LL * 86400 * 1'000'000'000;
};

constexpr int kMaxFetchBytes = 1 << 20;

class Exporter {
 public:
  // Sends a response to the client that asked; callable from any thread, any number of times.
  using Reply = std::function<void(v1::Response)>;

  // `writer` (audit rows) must outlive the exporter.
  Exporter(ExportOptions options, index::Store& writer, Clock& clock);
  ~Exporter();  // cancels running exports (their clips fail "server stopping") and answers every parked fetch
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // Validates and plans `request` against `reader`, queues the export and returns the plan.
  // InvalidArgument (range, no cameras named), NotFound (unknown camera, no footage at all),
  // ResourceExhausted (longer than max_clip_ns, too many cameras), FailedPrecondition (disabled).
  // The audit rows it writes (requested, each clip written) name `who`.
  Result<v1::ExportResult> Start(const v1::ExportRequest& request, const Identity& who,
                                 index::Store& reader);

  // Answers `request` of `user` through `reply` now or later (see ExportFetchRequest in
  // vigil.proto). NotFound for an export of someone else, unless `admin`.
  void Fetch(uint64_t request_id, const v1::ExportFetchRequest& request, const std::string& user,
             bool admin, Reply reply);

  // Exports waiting or being written.
  int active() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::api
