// SQLite implementation of index::Store, part 1: the writer thread, cameras, segments and gaps.
// One writer connection on its own thread batches queued writes into transactions; one read
// connection (WAL lets it read while the writer commits).

#include "index/internal/sqlite_store.h"

#include <chrono>

#include "base/clock.h"
#include "index/geo.h"
#include "index/internal/schema.h"

namespace vigil::index {
namespace internal {

Result<Stmt*> StmtCache::Get(const char* sql) {
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) {
    VIGIL_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(sql));
    it = stmts_.emplace(sql, std::move(s)).first;
  }
  it->second.Reset();
  return &it->second;
}

Status ValidateRange(const TimeRange& r, std::string_view what) {
  if (r.end_ns < r.start_ns) {
    return Status::InvalidArgument(fmt::format("{}: time range is inverted: from {} is after to {}",
                                               what, FormatUtc(r.start_ns), FormatUtc(r.end_ns)));
  }
  if (r.end_ns == r.start_ns) {
    return Status::InvalidArgument(fmt::format(
        "{}: time range is empty: from and to are both {}", what, FormatUtc(r.start_ns)));
  }
  return Status::Ok();
}

std::string IntList(const std::vector<int64_t>& values) {
  std::string out;
  for (int64_t v : values) {
    if (!out.empty()) out += ", ";
    out += std::to_string(v);
  }
  return out;
}

namespace {

std::string JoinTags(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) {
    if (!out.empty()) out += ',';
    out += t;
  }
  return out;
}

std::vector<std::string> SplitTags(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

constexpr const char* kSegmentColumns =
    "id, camera, state, start_ns, end_ns, path, bytes, frames, media_duration_90k, codec, width, "
    "height, sha256, frames_lost";

Segment ReadSegment(const Stmt& s) {
  Segment seg;
  seg.id = s.Int(0);
  seg.camera = s.Text(1);
  seg.state = static_cast<SegmentState>(s.Int(2));
  seg.start_ns = s.Int(3);
  seg.end_ns = s.Int(4);
  seg.path = s.Text(5);
  seg.bytes = s.Int(6);
  seg.frames = s.Int(7);
  seg.media_duration_90k = s.Int(8);
  seg.codec = s.Text(9);
  seg.width = static_cast<int>(s.Int(10));
  seg.height = static_cast<int>(s.Int(11));
  seg.sha256 = s.Text(12);
  seg.frames_lost = s.Int(13);
  return seg;
}

}  // namespace

SqliteStore::SqliteStore(std::unique_ptr<Db> writer, std::unique_ptr<Db> reader,
                         SqliteOptions options)
    : writer_db_(std::move(writer)),
      reader_db_(std::move(reader)),
      options_(options),
      log_(Logger("index")) {
  if (writer_db_) {
    writer_stmts_ = std::make_unique<StmtCache>(*writer_db_);
  } else {
    stopping_ = true;  // read-only: every write is refused
  }
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status SqliteStore::Init() {
  VIGIL_RETURN_IF_ERROR(LoadCameras());
  {
    std::lock_guard lock(read_mu_);
    VIGIL_ASSIGN_OR_RETURN(Stmt * s, reader_stmts_.Get("SELECT name, value FROM counters"));
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      if (s->Text(0) == "next_event_id") next_event_id_ = s->Int(1);
      if (s->Text(0) == "next_plate_read_id") next_read_id_ = s->Int(1);
    }
  }
  if (writer_db_) thread_ = std::thread([this] { WriterLoop(); });
  return Status::Ok();
}

// ---- Cameras --------------------------------------------------------------------------------------

Status SqliteStore::RefreshCameras() {
  if (writer_db_) return Status::Ok();  // this store makes every camera change itself
  int64_t version = 0;
  {
    std::lock_guard lock(read_mu_);
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, reader_stmts_.Get("SELECT value FROM counters WHERE name = 'cameras_version'"));
    VIGIL_ASSIGN_OR_RETURN(bool row, s->Step());
    version = row ? s->Int(0) : 0;
    s->Reset();
  }
  {
    std::lock_guard lock(cam_mu_);
    if (version == cameras_version_) return Status::Ok();
  }
  return LoadCameras();
}

Status SqliteStore::LoadCameras() {
  std::unordered_map<std::string, int64_t> by_id;
  std::unordered_map<int64_t, Camera> by_num;
  int64_t version = 0;
  {
    std::lock_guard lock(read_mu_);
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * v, reader_stmts_.Get("SELECT value FROM counters WHERE name = 'cameras_version'"));
    VIGIL_ASSIGN_OR_RETURN(bool vrow, v->Step());
    version = vrow ? v->Int(0) : 0;
    v->Reset();
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, reader_stmts_.Get("SELECT id, name, main_url, sub_url, lat, lon, place, district, "
                                    "tags, num FROM cameras"));
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      Camera c;
      c.id = s->Text(0);
      c.name = s->Text(1);
      c.main_url = s->Text(2);
      c.sub_url = s->Text(3);
      c.lat = s->Double(4);
      c.lon = s->Double(5);
      c.place = s->Text(6);
      c.district = s->Text(7);
      c.tags = SplitTags(s->Text(8));
      int64_t num = s->Int(9);
      by_id[c.id] = num;
      by_num[num] = std::move(c);
    }
  }
  std::lock_guard lock(cam_mu_);
  cameras_version_ = version;
  num_by_id_ = std::move(by_id);
  camera_by_num_ = std::move(by_num);
  return Status::Ok();
}

Result<int64_t> SqliteStore::CameraNum(const std::string& id) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(cam_mu_);
      auto it = num_by_id_.find(id);
      if (it != num_by_id_.end()) return it->second;
    }
    if (attempt == 0) VIGIL_RETURN_IF_ERROR(RefreshCameras());
  }
  return Status::NotFound(fmt::format("unknown camera '{}'", id));
}

std::string SqliteStore::CameraId(int64_t num) {
  std::lock_guard lock(cam_mu_);
  auto it = camera_by_num_.find(num);
  return it == camera_by_num_.end() ? fmt::format("#{}", num) : it->second.id;
}

Status SqliteStore::UpsertCamera(const Camera& c) {
  if (c.id.empty()) return Status::InvalidArgument("camera id is empty");
  if (HasPosition(c)) VIGIL_RETURN_IF_ERROR(ValidatePoint({c.lat, c.lon}, "camera " + c.id));
  auto num = std::make_shared<int64_t>(0);
  VIGIL_RETURN_IF_ERROR(WriteSync([c, num](StmtCache& sc) -> Status {
    static const char* kSql =
        "INSERT INTO cameras (id, name, main_url, sub_url, lat, lon, place, district, tags, num) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
        "(SELECT COALESCE(MAX(num), 0) + 1 FROM cameras)) ON CONFLICT(id) DO UPDATE SET "
        "name=excluded.name, main_url=excluded.main_url, sub_url=excluded.sub_url, "
        "lat=excluded.lat, lon=excluded.lon, place=excluded.place, district=excluded.district, "
        "tags=excluded.tags";
    VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get(kSql));
    s->Bind(1, c.id).Bind(2, c.name).Bind(3, c.main_url).Bind(4, c.sub_url).Bind(5, c.lat);
    s->Bind(6, c.lon).Bind(7, c.place).Bind(8, c.district).Bind(9, JoinTags(c.tags));
    VIGIL_RETURN_IF_ERROR(s->Run());
    VIGIL_ASSIGN_OR_RETURN(Stmt * q, sc.Get("SELECT num FROM cameras WHERE id = ?1"));
    q->Bind(1, c.id);
    VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return Status::Internal("camera row vanished after upsert");
    *num = q->Int(0);
    q->Reset();
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * v, sc.Get("UPDATE counters SET value = value + 1 WHERE name = 'cameras_version'"));
    VIGIL_RETURN_IF_ERROR(v->Run());
    VIGIL_ASSIGN_OR_RETURN(Stmt * d, sc.Get("DELETE FROM cameras_rtree WHERE num = ?1"));
    d->Bind(1, *num);
    VIGIL_RETURN_IF_ERROR(d->Run());
    if (HasPosition(c)) {
      VIGIL_ASSIGN_OR_RETURN(
          Stmt * i, sc.Get("INSERT INTO cameras_rtree VALUES (?1, ?2, ?2, ?3, ?3)"));
      i->Bind(1, *num).Bind(2, c.lat).Bind(3, c.lon);
      VIGIL_RETURN_IF_ERROR(i->Run());
    }
    return Status::Ok();
  }));
  std::lock_guard lock(cam_mu_);
  num_by_id_[c.id] = *num;
  camera_by_num_[*num] = c;
  return Status::Ok();
}

Result<std::vector<Camera>> SqliteStore::Cameras() {
  VIGIL_RETURN_IF_ERROR(RefreshCameras());
  std::vector<Camera> out;
  {
    std::lock_guard lock(cam_mu_);
    for (const auto& [num, c] : camera_by_num_) out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [](const Camera& a, const Camera& b) { return a.id < b.id; });
  return out;
}

// ---- Segments and gaps ----------------------------------------------------------------------------

Result<int64_t> SqliteStore::BeginSegment(const Segment& seg) {
  auto id = std::make_shared<int64_t>(0);
  Status st = WriteSync([seg, id](StmtCache& sc) -> Status {
    static const char* kSql =
        "INSERT INTO segments (camera, state, start_ns, end_ns, path, codec, width, height) "
        "VALUES (?1, 0, ?2, ?2, ?3, ?4, ?5, ?6)";
    VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get(kSql));
    s->Bind(1, seg.camera).Bind(2, seg.start_ns).Bind(3, seg.path).Bind(4, seg.codec);
    s->Bind(5, seg.width).Bind(6, seg.height);
    VIGIL_RETURN_IF_ERROR(s->Run());
    *id = sc.db().LastInsertId();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return *id;
}

Status SqliteStore::FinishSegment(const Segment& seg) {
  return WriteAsync([seg](StmtCache& sc) -> Status {
    static const char* kSql =
        "UPDATE segments SET state=?2, start_ns=?3, end_ns=?4, bytes=?5, frames=?6, "
        "media_duration_90k=?7, sha256=?8, width=?9, height=?10, frames_lost=?11 WHERE id=?1";
    VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get(kSql));
    s->Bind(1, seg.id).Bind(2, static_cast<int>(seg.state)).Bind(3, seg.start_ns);
    s->Bind(4, seg.end_ns).Bind(5, seg.bytes).Bind(6, seg.frames);
    s->Bind(7, seg.media_duration_90k).Bind(8, seg.sha256).Bind(9, seg.width);
    s->Bind(10, seg.height).Bind(11, seg.frames_lost);
    VIGIL_RETURN_IF_ERROR(s->Run());
    if (sc.db().Changes() != 1) {
      return Status::NotFound(fmt::format("segment {} ({}) has no row", seg.id, seg.path));
    }
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * m, sc.Get("UPDATE counters SET value = max(value, ?1) WHERE name = 'max_segment_ns'"));
    m->Bind(1, seg.end_ns - seg.start_ns);
    return m->Run();
  });
}

Result<std::vector<Segment>> SqliteStore::Segments(const SegmentFilter& f) {
  // No segment is longer than max_segment_ns (open ones have end = start), so only segments starting
  // at or after start_ns - max_segment_ns can reach start_ns: a bounded index range per camera.
  std::string sql = fmt::format(
      "SELECT {} FROM segments WHERE end_ns >= ?1 AND start_ns < ?2 AND start_ns >= ?6 {} {} "
      "ORDER BY start_ns {}, id {} LIMIT ?5",
      kSegmentColumns, f.camera ? "AND camera = ?3" : "", f.state ? "AND state = ?4" : "",
      f.oldest_first ? "ASC" : "DESC", f.oldest_first ? "ASC" : "DESC");
  std::lock_guard lock(read_mu_);
  int64_t max_len = 0;
  {
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * m, reader_stmts_.Get("SELECT value FROM counters WHERE name = 'max_segment_ns'"));
    VIGIL_ASSIGN_OR_RETURN(bool row, m->Step());
    max_len = row ? m->Int(0) : INT64_MAX;
    m->Reset();
  }
  const int64_t lowest_start =
      f.start_ns < INT64_MIN + max_len ? INT64_MIN : f.start_ns - max_len;
  VIGIL_ASSIGN_OR_RETURN(Stmt s, reader_db_->Prepare(sql));
  s.Bind(1, f.start_ns).Bind(2, f.end_ns).Bind(5, f.limit).Bind(6, lowest_start);
  if (f.camera) s.Bind(3, *f.camera);
  if (f.state) s.Bind(4, static_cast<int>(*f.state));
  std::vector<Segment> out;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadSegment(s));
  }
  return out;
}

Status SqliteStore::MarkDeleting(const std::vector<int64_t>& ids) {
  return WriteSync([ids](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get("UPDATE segments SET state=3 WHERE id=?1"));
    for (int64_t id : ids) {
      s->Bind(1, id);
      VIGIL_RETURN_IF_ERROR(s->Run());
    }
    return Status::Ok();
  });
}

Status SqliteStore::DeleteSegments(const std::vector<int64_t>& ids) {
  return WriteSync([ids](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get("DELETE FROM segments WHERE id=?1"));
    for (int64_t id : ids) {
      s->Bind(1, id);
      VIGIL_RETURN_IF_ERROR(s->Run());
    }
    return Status::Ok();
  });
}

Result<std::vector<CameraUsage>> SqliteStore::Usage() {
  std::lock_guard lock(read_mu_);
  VIGIL_ASSIGN_OR_RETURN(
      Stmt * s, reader_stmts_.Get("SELECT camera, SUM(bytes), COUNT(*), MIN(start_ns) FROM "
                                  "segments WHERE state IN (1, 2) GROUP BY camera ORDER BY camera"));
  std::vector<CameraUsage> out;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back({s->Text(0), s->Int(1), s->Int(2), s->Int(3)});
  }
  return out;
}

Result<int64_t> SqliteStore::OpenGap(const Gap& gap) {
  auto id = std::make_shared<int64_t>(0);
  Status st = WriteSync([gap, id](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s,
        sc.Get("INSERT INTO gaps (camera, start_ns, end_ns, reason) VALUES (?1, ?2, ?3, ?4)"));
    s->Bind(1, gap.camera).Bind(2, gap.start_ns).Bind(3, gap.end_ns).Bind(4, gap.reason);
    VIGIL_RETURN_IF_ERROR(s->Run());
    *id = sc.db().LastInsertId();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return *id;
}

Status SqliteStore::CloseGap(int64_t id, int64_t end_ns) {
  return WriteAsync([id, end_ns](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get("UPDATE gaps SET end_ns=?2 WHERE id=?1"));
    s->Bind(1, id).Bind(2, end_ns);
    return s->Run();
  });
}

Result<std::vector<Gap>> SqliteStore::Gaps(const std::string& camera, int64_t start_ns,
                                           int64_t end_ns) {
  std::lock_guard lock(read_mu_);
  VIGIL_ASSIGN_OR_RETURN(
      Stmt * s,
      reader_stmts_.Get("SELECT id, camera, start_ns, end_ns, reason FROM gaps WHERE (?1 = '' OR "
                        "camera = ?1) AND start_ns < ?3 AND (end_ns IS NULL OR end_ns > ?2) "
                        "ORDER BY start_ns, id"));
  s->Bind(1, camera).Bind(2, start_ns).Bind(3, end_ns);
  std::vector<Gap> out;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    Gap g;
    g.id = s->Int(0);
    g.camera = s->Text(1);
    g.start_ns = s->Int(2);
    if (!s->IsNull(3)) g.end_ns = s->Int(3);
    g.reason = s->Text(4);
    out.push_back(std::move(g));
  }
  return out;
}

// ---- Writer ---------------------------------------------------------------------------------------

Status SqliteStore::Flush() {
  Status st = WriteSync([](StmtCache&) { return Status::Ok(); });
  std::lock_guard lock(mu_);
  Status first = std::move(async_error_);
  async_error_ = Status::Ok();
  return first.ok() ? st : first;
}

Status SqliteStore::WriteSync(WriteFn fn) {
  auto done = std::make_shared<std::promise<Status>>();
  auto fut = done->get_future();
  if (Status st = Enqueue({std::move(fn), done}); !st.ok()) return st;
  return fut.get();
}

Status SqliteStore::WriteAsync(WriteFn fn) { return Enqueue({std::move(fn), nullptr}); }

Status SqliteStore::ClosedError() const {
  return Status::FailedPrecondition(writer_db_ ? "index store is closing"
                                               : "index store is open read-only");
}

Status SqliteStore::Enqueue(Op op) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return ClosedError();
    queue_.push_back(std::move(op));
  }
  cv_.notify_one();
  return Status::Ok();
}

void SqliteStore::WriterLoop() {
  int64_t batches = 0, rows = 0, largest = 0;
  double busy_s = 0;
  std::vector<Op> ops;
  std::vector<EventRow> events;
  std::vector<ReadRow> reads;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] {
        return stopping_ || !queue_.empty() || !pending_events_.empty() || !pending_reads_.empty();
      });
      if (queue_.empty() && pending_events_.empty() && pending_reads_.empty() && stopping_) {
        log_->debug("writer: {} transactions, {} rows (largest {}), busy {:.1f} s", batches, rows,
                    largest, busy_s);
        return;
      }
      while (!queue_.empty() && ops.size() < static_cast<size_t>(options_.max_batch)) {
        ops.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      // All pending rows go in this transaction, so that a Flush queued after them (or any sync
      // op) completes only once they are committed. max_pending bounds the transaction.
      events.swap(pending_events_);
      reads.swap(pending_reads_);
    }
    auto t0 = std::chrono::steady_clock::now();
    CommitBatch(ops, events, reads);
    busy_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++batches;
    int64_t n = static_cast<int64_t>(ops.size() + events.size() + reads.size());
    rows += n;
    largest = std::max(largest, n);
    ops.clear();
    events.clear();
    reads.clear();
  }
}

// Runs each op under its own savepoint so that one failing op does not undo the others; event and
// plate-read rows go in bulk under one savepoint each (they were validated when queued).
void SqliteStore::CommitBatch(std::vector<Op>& ops, std::vector<EventRow>& events,
                              std::vector<ReadRow>& reads) {
  std::vector<Status> results(ops.size());
  Status rows_status;
  Status txn = writer_db_->Exec("BEGIN IMMEDIATE");
  if (txn.ok()) {
    auto guarded = [&](const std::function<Status()>& fn) {
      (void)writer_db_->Exec("SAVEPOINT op");
      Status st = fn();
      if (!st.ok()) (void)writer_db_->Exec("ROLLBACK TO op");
      (void)writer_db_->Exec("RELEASE op");
      return st;
    };
    for (size_t i = 0; i < ops.size(); ++i) {
      results[i] = guarded([&] { return ops[i].fn(*writer_stmts_); });
    }
    if (!events.empty()) {
      Status st = guarded([&] { return InsertEvents(*writer_stmts_, events); });
      if (!st.ok()) rows_status = st.WithContext(fmt::format("writing {} events", events.size()));
    }
    if (!reads.empty()) {
      Status st = guarded([&] { return InsertReads(*writer_stmts_, reads); });
      if (!st.ok() && rows_status.ok()) {
        rows_status = st.WithContext(fmt::format("writing {} plate reads", reads.size()));
      }
      if (!st.ok()) plate_ids_.clear();  // ids inserted in the rolled-back savepoint are gone
    }
    txn = writer_db_->Exec("COMMIT");
    if (!txn.ok()) {
      (void)writer_db_->Exec("ROLLBACK");
      plate_ids_.clear();
    }
  }
  if (!txn.ok() && (!events.empty() || !reads.empty())) rows_status = txn;
  if (!rows_status.ok()) {
    log_->error("lost {} events and {} plate reads: {}", events.size(), reads.size(), rows_status);
    std::lock_guard lock(mu_);
    if (async_error_.ok()) async_error_ = rows_status;
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    Status st = txn.ok() ? results[i] : txn;
    if (ops[i].done) {
      ops[i].done->set_value(st);
    } else if (!st.ok()) {
      log_->error("queued index write failed: {}", st);
      std::lock_guard lock(mu_);
      if (async_error_.ok()) async_error_ = st;
    }
  }
}

}  // namespace internal

int SqliteSchemaVersion() { return static_cast<int>(internal::Migrations().size()); }

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, SqliteOptions options) {
  using internal::Db;
  using internal::SqliteStore;
  using internal::Stmt;
  std::string cache = fmt::format("PRAGMA cache_size = -{}", std::max<int64_t>(options.cache_bytes >> 10, 1024));
  std::unique_ptr<Db> writer;
  if (options.read_only) {
    VIGIL_ASSIGN_OR_RETURN(auto reader, Db::Open(path, true));
    VIGIL_ASSIGN_OR_RETURN(Stmt v, reader->Prepare("PRAGMA user_version"));
    VIGIL_ASSIGN_OR_RETURN(bool row, v.Step());
    int64_t version = row ? v.Int(0) : 0;
    if (version != SqliteSchemaVersion()) {
      return Status::FailedPrecondition(fmt::format(
          "index {} has schema version {}, this vigil reads version {}{}", path, version,
          SqliteSchemaVersion(),
          version < SqliteSchemaVersion() ? " (start vigild to upgrade it)" : ""));
    }
    VIGIL_RETURN_IF_ERROR(reader->Exec(cache));
    auto store = std::make_unique<SqliteStore>(nullptr, std::move(reader), options);
    VIGIL_RETURN_IF_ERROR(store->Init());
    return std::unique_ptr<Store>(std::move(store));
  }
  VIGIL_ASSIGN_OR_RETURN(writer, Db::Open(path, false));
  // 16 KB pages for a new file (no effect on an existing one): shallower trees, ~20 % faster event
  // ingest than 4 KB at 10 M events (tools/bench/index). Must precede the first write.
  VIGIL_RETURN_IF_ERROR(writer->Exec("PRAGMA page_size=16384"));
  // WAL: readers never block the writer. synchronous=FULL: a committed row survives power loss, which
  // the segment crash-order relies on (row before file, fsync before completion).
  VIGIL_RETURN_IF_ERROR(writer->Exec("PRAGMA journal_mode=WAL"));
  VIGIL_RETURN_IF_ERROR(writer->Exec("PRAGMA synchronous=FULL"));
  VIGIL_RETURN_IF_ERROR(writer->Exec("PRAGMA foreign_keys=ON"));
  // Debian builds SQLite with SECURE_DELETE: zeroing freed pages doubles the cost of retention.
  VIGIL_RETURN_IF_ERROR(writer->Exec("PRAGMA secure_delete=OFF"));
  VIGIL_RETURN_IF_ERROR(writer->Exec(cache));
  VIGIL_RETURN_IF_ERROR(internal::Migrate(*writer));
  VIGIL_ASSIGN_OR_RETURN(auto reader, Db::Open(path, true));
  VIGIL_RETURN_IF_ERROR(reader->Exec(cache));
  auto store = std::make_unique<SqliteStore>(std::move(writer), std::move(reader), options);
  VIGIL_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace vigil::index
