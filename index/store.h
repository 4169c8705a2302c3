#pragma once
// The index: one interface for what vigil stores about cameras and footage. The SQLite implementation
// is the embedded default; a PostgreSQL one can follow behind the same interface.
//
// Queries take a time range (half-open, start < end, else InvalidArgument), name cameras by id (an
// unknown one is NotFound) and page with keyset tokens: a token is only valid for the query that
// produced it (InvalidArgument otherwise); rows never repeat or go missing across pages, also while
// writes continue (rows added behind the cursor show up in no page of that walk).
//
// Thread-safety: every method may be called from any thread. Writes go through one writer thread that
// batches them into transactions; "durable" methods return after their transaction commits, the others
// return once queued (call Flush() to wait). Reads never block the writer (WAL).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "index/footage.h"
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

  // ---- Places. Cameras without coordinates (lat = lon = 0) are in no area.
  // Cameras inside a circle (nearest first) or a polygon (by id).
  virtual Result<std::vector<CameraDistance>> CamerasIn(const Area& area) = 0;
  // The k cameras nearest to a point, nearest first (1 <= k <= 1000).
  virtual Result<std::vector<CameraDistance>> NearestCameras(LatLon point, int k) = 0;

  // Recorded spans (segments merged) and gaps per camera over a range, cameras in id order.
  virtual Result<FootageResult> Footage(const FootageQuery& query) = 0;

  // ---- Events and plate reads. Queued: the id is assigned at once, the row is readable once its
  // batch commits (Flush waits). InvalidArgument for a bad row (end before start, unknown type,
  // plate with characters no plate has), NotFound for an unknown camera, ResourceExhausted when
  // max_pending rows already wait (the caller counts the drop; nothing blocks on disk).
  virtual Result<int64_t> AddEvent(const Event& event) = 0;
  // Sets the end of an event added earlier (one that was reported when it started); queued like
  // AddEvent and applied after it. `object_class` (unless kUnknown) replaces the class it started
  // with: its object, looked at again while the event lasted. InvalidArgument when end_ns < start_ns.
  virtual Status EndEvent(const std::string& camera, int64_t start_ns, int64_t id, int64_t end_ns,
                          ObjectClass object_class = ObjectClass::kUnknown, double class_confidence = 0) = 0;
  virtual Result<int64_t> AddPlateRead(const PlateRead& read) = 0;
  virtual Result<Page<Event>> Events(const EventQuery& query) = 0;
  // Per camera, type and UTC hour, for dashboards; the range is widened to whole hours.
  virtual Result<Page<EventCount>> CountEvents(const CountQuery& query) = 0;
  virtual Result<Page<PlateHit>> Plates(const PlateQuery& query) = 0;

  // ---- Watchlist (durable). Removed entries stay in the file for the record.
  virtual Result<int64_t> AddWatch(const WatchEntry& entry) = 0;
  virtual Status RemoveWatch(int64_t id, const std::string& by, int64_t now_ns) = 0;
  virtual Result<std::vector<WatchEntry>> Watchlist() = 0;

  // ---- Response zones (durable). UpsertZone: InvalidArgument from ValidateZone. RemoveZone:
  // NotFound for an unknown id; alerts raised in it keep its id.
  virtual Status UpsertZone(const ResponseZone& zone) = 0;
  virtual Status RemoveZone(const std::string& id) = 0;
  virtual Result<std::vector<ResponseZone>> Zones() = 0;

  // ---- Alerts (durable). RaiseAlert stores the alert and returns it as stored: its id, raised_ns
  // (time_ns when not given), and the response zone holding the camera with that zone's units.
  // SetAlertState: new -> acknowledged -> closed, or new -> closed, recording who and when at each
  // step; anything else is FailedPrecondition naming both states.
  virtual Result<Alert> RaiseAlert(const Alert& alert) = 0;
  virtual Status SetAlertState(int64_t id, AlertState state, const std::string& by,
                               const std::string& note, int64_t now_ns) = 0;
  virtual Result<Page<Alert>> Alerts(const AlertQuery& query) = 0;
  // Links an alert raised on an early read to the plate read its pass ended with. NotFound for an
  // unknown alert.
  virtual Status LinkAlertRead(int64_t alert_id, int64_t plate_read_id) = 0;
  // Per period then zone: "*" (every zone together) first, then zones by id, "" (no zone) last.
  // A zone listed in the query gets a row for every period; otherwise zones appear in periods
  // where they raised alerts. InvalidArgument for a bad range, period_ns < 0, within_ns <= 0, or
  // more than 100,000 rows.
  virtual Result<std::vector<AlertStats>> AlertStatistics(const AlertStatsQuery& query) = 0;

  // ---- Audit (durable): who asked for what, when, and the hash of what they got.
  virtual Result<int64_t> AppendAudit(const AuditEntry& entry) = 0;
  // The same, queued: committed with the writer's next batch (in order with every other audit row),
  // without waiting. Returns the error of an earlier queued row that could not be written, until one
  // is written again: a caller that must not act unaudited stops acting. By default: AppendAudit.
  virtual Status QueueAudit(const AuditEntry& entry) { return AppendAudit(entry).status(); }
  virtual Result<Page<AuditEntry>> Audit(const AuditQuery& query) = 0;
  // Recomputes every row's hash in id order: a row changed, inserted or removed in the file breaks
  // the chain there (removing the newest rows shows only against a head hash noted elsewhere).
  virtual Result<AuditVerification> VerifyAudit() = 0;

  // Waits until every queued write has committed; returns the first write error since the last Flush.
  virtual Status Flush() = 0;
};

struct SqliteOptions {
  // Most writes committed per transaction.
  int max_batch = 4096;
  // Most queued event and plate-read rows; AddEvent/AddPlateRead beyond it are ResourceExhausted.
  int64_t max_pending = 1'000'000;
  // SQLite page cache per connection, bytes.
  int64_t cache_bytes = 64 << 20;
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
