#pragma once
// The SQLite Store, declared here so that its parts can live in one file per concern:
// sqlite_store.cpp (writer thread, cameras, segments, gaps), sqlite_events.cpp (events, counts,
// footage, places), sqlite_plates.cpp (plate reads, plate search, watchlist), sqlite_alerts.cpp
// (response zones, alerts, alert statistics, audit).

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "base/log.h"
#include "index/internal/sqlite_db.h"
#include "index/store.h"

namespace vigil::index::internal {

// Statements prepared once per connection, keyed by their SQL text's address (string literals).
class StmtCache {
 public:
  explicit StmtCache(Db& db) : db_(db) {}
  Result<Stmt*> Get(const char* sql);
  Db& db() { return db_; }

 private:
  Db& db_;
  std::unordered_map<const char*, Stmt> stmts_;
};

// InvalidArgument for an inverted or empty range, naming what was asked.
Status ValidateRange(const TimeRange& range, std::string_view what);
// ", 3, 5, 9" style list of integers for IN (...) (only ever integers: never user text).
std::string IntList(const std::vector<int64_t>& values);

// A read transaction for the life of the object: several statements see one snapshot.
class ReadTxn {
 public:
  explicit ReadTxn(Db& db) : db_(db), open_(db.Exec("BEGIN").ok()) {}
  ~ReadTxn() {
    if (open_) (void)db_.Exec("COMMIT");
  }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

 private:
  Db& db_;
  bool open_;
};

class Fingerprint;
// Adds an optional area to a query fingerprint.
void AddArea(Fingerprint& fp, const std::optional<Area>& area);

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<Db> writer, std::unique_ptr<Db> reader, SqliteOptions options);
  ~SqliteStore() override;
  // Loads the camera cache and id counters; called once after construction.
  Status Init();

  Status UpsertCamera(const Camera& camera) override;
  Result<std::vector<Camera>> Cameras() override;
  Result<int64_t> BeginSegment(const Segment& segment) override;
  Status FinishSegment(const Segment& segment) override;
  Result<std::vector<Segment>> Segments(const SegmentFilter& filter) override;
  Status MarkDeleting(const std::vector<int64_t>& ids) override;
  Status DeleteSegments(const std::vector<int64_t>& ids) override;
  Result<std::vector<CameraUsage>> Usage() override;
  Result<int64_t> OpenGap(const Gap& gap) override;
  Status CloseGap(int64_t id, int64_t end_ns) override;
  Result<std::vector<Gap>> Gaps(const std::string& camera, int64_t start_ns,
                                int64_t end_ns) override;

  Result<std::vector<CameraDistance>> CamerasIn(const Area& area) override;
  Result<std::vector<CameraDistance>> NearestCameras(LatLon point, int k) override;
  Result<FootageResult> Footage(const FootageQuery& query) override;

  Result<int64_t> AddEvent(const Event& event) override;
  Status EndEvent(const std::string& camera, int64_t start_ns, int64_t id, int64_t end_ns,
                  ObjectClass object_class, double class_confidence) override;
  Result<int64_t> AddPlateRead(const PlateRead& read) override;
  Result<Page<Event>> Events(const EventQuery& query) override;
  Result<Page<EventCount>> CountEvents(const CountQuery& query) override;
  Result<Page<PlateHit>> Plates(const PlateQuery& query) override;

  Result<int64_t> AddWatch(const WatchEntry& entry) override;
  Status RemoveWatch(int64_t id, const std::string& by, int64_t now_ns) override;
  Result<std::vector<WatchEntry>> Watchlist() override;

  Status UpsertZone(const ResponseZone& zone) override;
  Status RemoveZone(const std::string& id) override;
  Result<std::vector<ResponseZone>> Zones() override;

  Result<Alert> RaiseAlert(const Alert& alert) override;
  Status SetAlertState(int64_t id, AlertState state, const std::string& by,
                       const std::string& note, int64_t now_ns) override;
  Result<Page<Alert>> Alerts(const AlertQuery& query) override;
  Status LinkAlertRead(int64_t alert_id, int64_t plate_read_id) override;
  Result<std::vector<AlertStats>> AlertStatistics(const AlertStatsQuery& query) override;

  Result<int64_t> AppendAudit(const AuditEntry& entry) override;
  Status QueueAudit(const AuditEntry& entry) override;
  Result<Page<AuditEntry>> Audit(const AuditQuery& query) override;
  Result<AuditVerification> VerifyAudit() override;

  Status Flush() override;

 private:
  using WriteFn = std::function<Status(StmtCache&)>;
  struct Op {
    WriteFn fn;
    std::shared_ptr<std::promise<Status>> done;  // null for queued (async) writes
  };
  struct EventRow {
    Event event;
    int64_t camera_num;
  };
  struct ReadRow {
    PlateRead read;  // plate normalised
    int64_t camera_num;
    std::string rev;
    std::string cls;
  };

  Status WriteSync(WriteFn fn);
  std::mutex audit_mu_;
  Status audit_error_;  // of the last queued audit row that failed; guarded by audit_mu_
  Status WriteAsync(WriteFn fn);
  Status Enqueue(Op op);
  Status ClosedError() const;
  void WriterLoop();
  void CommitBatch(std::vector<Op>& ops, std::vector<EventRow>& events,
                   std::vector<ReadRow>& reads);
  Status InsertEvents(StmtCache& sc, const std::vector<EventRow>& rows);
  Status InsertReads(StmtCache& sc, const std::vector<ReadRow>& rows);
  Result<int64_t> PlateId(StmtCache& sc, const ReadRow& row);

  // Cameras: id <-> num, kept in memory (thousands of rows); reloaded on a miss, since in read-only
  // mode another process may have added cameras.
  Status LoadCameras();
  // Reloads in read-only mode when another process changed the cameras (counters.cameras_version).
  Status RefreshCameras();
  Result<int64_t> CameraNum(const std::string& id);
  std::string CameraId(int64_t num);
  // Camera nums for an explicit list and/or an area; nullopt means every camera.
  Result<std::optional<std::vector<int64_t>>> ResolveCameras(const std::vector<std::string>& ids,
                                                             const std::optional<Area>& area);
  Result<std::vector<CameraDistance>> CamerasInLocked(const Area& area);

  // Plate search helpers (sqlite_plates.cpp).
  struct Candidate {
    int64_t plate_id;
    std::string text;
    int substitutions;
  };
  Result<std::optional<std::vector<Candidate>>> PlateCandidates(const PlateQuery& q);

  std::unique_ptr<Db> writer_db_;
  std::unique_ptr<Db> reader_db_;
  std::unique_ptr<StmtCache> writer_stmts_;  // writer thread only
  SqliteOptions options_;
  std::shared_ptr<spdlog::logger> log_;

  std::mutex read_mu_;  // guards reader_db_ and reader_stmts_
  StmtCache reader_stmts_{*reader_db_};

  std::mutex cam_mu_;  // guards the two maps
  std::unordered_map<std::string, int64_t> num_by_id_;
  std::unordered_map<int64_t, Camera> camera_by_num_;
  int64_t cameras_version_ = -1;

  std::unordered_map<std::string, int64_t> plate_ids_;  // writer thread only: text -> plates.id

  std::mutex mu_;  // guards the members below
  std::condition_variable cv_;
  std::deque<Op> queue_;
  std::vector<EventRow> pending_events_;
  std::vector<ReadRow> pending_reads_;
  int64_t next_event_id_ = 1;
  int64_t next_read_id_ = 1;
  bool stopping_ = false;
  Status async_error_;

  std::thread thread_;
};

}  // namespace vigil::index::internal
