// SQLite implementation of index::Store: one writer thread batching queued writes into transactions,
// one read connection (WAL lets it read while the writer commits).

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/log.h"
#include "index/internal/schema.h"
#include "index/internal/sqlite_db.h"
#include "index/store.h"

namespace vigil::index {
namespace {

using internal::Db;
using internal::Stmt;

// Statements prepared once per connection, keyed by their SQL text's address (string literals).
class StmtCache {
 public:
  explicit StmtCache(Db& db) : db_(db) {}
  Result<Stmt*> Get(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
      VIGIL_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(sql));
      it = stmts_.emplace(sql, std::move(s)).first;
    }
    it->second.Reset();
    return &it->second;
  }
  Db& db() { return db_; }

 private:
  Db& db_;
  std::unordered_map<const char*, Stmt> stmts_;
};

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
    "height, sha256";

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
  return seg;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<Db> writer, std::unique_ptr<Db> reader, SqliteOptions options)
      : writer_db_(std::move(writer)),
        reader_db_(std::move(reader)),
        options_(options),
        log_(Logger("index")) {
    if (writer_db_) {
      writer_stmts_ = std::make_unique<StmtCache>(*writer_db_);
      thread_ = std::thread([this] { WriterLoop(); });
    } else {
      stopping_ = true;  // read-only: every write is refused
    }
  }

  ~SqliteStore() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Status UpsertCamera(const Camera& c) override {
    return WriteSync([c](StmtCache& sc) -> Status {
      static const char* kSql =
          "INSERT INTO cameras (id, name, main_url, sub_url, lat, lon, place, district, tags) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO UPDATE SET "
          "name=excluded.name, main_url=excluded.main_url, sub_url=excluded.sub_url, "
          "lat=excluded.lat, lon=excluded.lon, place=excluded.place, district=excluded.district, "
          "tags=excluded.tags";
      VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get(kSql));
      s->Bind(1, c.id).Bind(2, c.name).Bind(3, c.main_url).Bind(4, c.sub_url).Bind(5, c.lat);
      s->Bind(6, c.lon).Bind(7, c.place).Bind(8, c.district).Bind(9, JoinTags(c.tags));
      return s->Run();
    });
  }

  Result<std::vector<Camera>> Cameras() override {
    std::lock_guard lock(read_mu_);
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, reader_stmts_.Get("SELECT id, name, main_url, sub_url, lat, lon, place, district, "
                                    "tags FROM cameras ORDER BY id"));
    std::vector<Camera> out;
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
      out.push_back(std::move(c));
    }
    return out;
  }

  Result<int64_t> BeginSegment(const Segment& seg) override {
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

  Status FinishSegment(const Segment& seg) override {
    return WriteAsync([seg](StmtCache& sc) -> Status {
      static const char* kSql =
          "UPDATE segments SET state=?2, start_ns=?3, end_ns=?4, bytes=?5, frames=?6, "
          "media_duration_90k=?7, sha256=?8, width=?9, height=?10 WHERE id=?1";
      VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get(kSql));
      s->Bind(1, seg.id).Bind(2, static_cast<int>(seg.state)).Bind(3, seg.start_ns);
      s->Bind(4, seg.end_ns).Bind(5, seg.bytes).Bind(6, seg.frames);
      s->Bind(7, seg.media_duration_90k).Bind(8, seg.sha256).Bind(9, seg.width);
      s->Bind(10, seg.height);
      VIGIL_RETURN_IF_ERROR(s->Run());
      if (sc.db().Changes() != 1) {
        return Status::NotFound(fmt::format("segment {} ({}) has no row", seg.id, seg.path));
      }
      return Status::Ok();
    });
  }

  Result<std::vector<Segment>> Segments(const SegmentFilter& f) override {
    std::string sql = fmt::format(
        "SELECT {} FROM segments WHERE end_ns >= ?1 AND start_ns < ?2 {} {} ORDER BY start_ns {}, "
        "id {} LIMIT ?5",
        kSegmentColumns, f.camera ? "AND camera = ?3" : "", f.state ? "AND state = ?4" : "",
        f.oldest_first ? "ASC" : "DESC", f.oldest_first ? "ASC" : "DESC");
    std::lock_guard lock(read_mu_);
    VIGIL_ASSIGN_OR_RETURN(Stmt s, reader_db_->Prepare(sql));
    s.Bind(1, f.start_ns).Bind(2, f.end_ns).Bind(5, f.limit);
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

  Status MarkDeleting(const std::vector<int64_t>& ids) override {
    return WriteSync([ids](StmtCache& sc) -> Status {
      VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get("UPDATE segments SET state=3 WHERE id=?1"));
      for (int64_t id : ids) {
        s->Bind(1, id);
        VIGIL_RETURN_IF_ERROR(s->Run());
      }
      return Status::Ok();
    });
  }

  Status DeleteSegments(const std::vector<int64_t>& ids) override {
    return WriteSync([ids](StmtCache& sc) -> Status {
      VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get("DELETE FROM segments WHERE id=?1"));
      for (int64_t id : ids) {
        s->Bind(1, id);
        VIGIL_RETURN_IF_ERROR(s->Run());
      }
      return Status::Ok();
    });
  }

  Result<std::vector<CameraUsage>> Usage() override {
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

  Result<int64_t> OpenGap(const Gap& gap) override {
    auto id = std::make_shared<int64_t>(0);
    Status st = WriteSync([gap, id](StmtCache& sc) -> Status {
      VIGIL_ASSIGN_OR_RETURN(
          Stmt * s, sc.Get("INSERT INTO gaps (camera, start_ns, end_ns, reason) VALUES (?1, ?2, ?3, ?4)"));
      s->Bind(1, gap.camera).Bind(2, gap.start_ns).Bind(3, gap.end_ns).Bind(4, gap.reason);
      VIGIL_RETURN_IF_ERROR(s->Run());
      *id = sc.db().LastInsertId();
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return *id;
  }

  Status CloseGap(int64_t id, int64_t end_ns) override {
    return WriteAsync([id, end_ns](StmtCache& sc) -> Status {
      VIGIL_ASSIGN_OR_RETURN(Stmt * s, sc.Get("UPDATE gaps SET end_ns=?2 WHERE id=?1"));
      s->Bind(1, id).Bind(2, end_ns);
      return s->Run();
    });
  }

  Result<std::vector<Gap>> Gaps(const std::string& camera, int64_t start_ns,
                                int64_t end_ns) override {
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

  Status Flush() override {
    Status st = WriteSync([](StmtCache&) { return Status::Ok(); });
    std::lock_guard lock(mu_);
    Status first = std::move(async_error_);
    async_error_ = Status::Ok();
    return first.ok() ? st : first;
  }

 private:
  using WriteFn = std::function<Status(StmtCache&)>;
  struct Op {
    WriteFn fn;
    std::shared_ptr<std::promise<Status>> done;  // null for queued (async) writes
  };

  Status WriteSync(WriteFn fn) {
    auto done = std::make_shared<std::promise<Status>>();
    auto fut = done->get_future();
    if (Status st = Enqueue({std::move(fn), done}); !st.ok()) return st;
    return fut.get();
  }

  Status WriteAsync(WriteFn fn) { return Enqueue({std::move(fn), nullptr}); }

  Status Enqueue(Op op) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        return Status::FailedPrecondition(writer_db_ ? "index store is closing"
                                                     : "index store is open read-only");
      }
      queue_.push_back(std::move(op));
    }
    cv_.notify_one();
    return Status::Ok();
  }

  void WriterLoop() {
    std::vector<Op> batch;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) return;
        while (!queue_.empty() && batch.size() < static_cast<size_t>(options_.max_batch)) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      CommitBatch(batch);
      batch.clear();
    }
  }

  // Runs each op under its own savepoint so that one failing op does not undo the others.
  void CommitBatch(std::vector<Op>& batch) {
    std::vector<Status> results(batch.size());
    Status txn = writer_db_->Exec("BEGIN IMMEDIATE");
    if (txn.ok()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        (void)writer_db_->Exec("SAVEPOINT op");
        results[i] = batch[i].fn(*writer_stmts_);
        if (!results[i].ok()) (void)writer_db_->Exec("ROLLBACK TO op");
        (void)writer_db_->Exec("RELEASE op");
      }
      txn = writer_db_->Exec("COMMIT");
      if (!txn.ok()) (void)writer_db_->Exec("ROLLBACK");
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      Status st = txn.ok() ? results[i] : txn;
      if (batch[i].done) {
        batch[i].done->set_value(st);
      } else if (!st.ok()) {
        log_->error("queued index write failed: {}", st);
        std::lock_guard lock(mu_);
        if (async_error_.ok()) async_error_ = st;
      }
    }
  }

  std::unique_ptr<Db> writer_db_;
  std::unique_ptr<Db> reader_db_;
  std::unique_ptr<StmtCache> writer_stmts_;  // writer thread only
  SqliteOptions options_;
  std::shared_ptr<spdlog::logger> log_;

  std::mutex read_mu_;  // guards reader_db_ and reader_stmts_
  StmtCache reader_stmts_{*reader_db_};

  std::mutex mu_;  // guards the members below
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool stopping_ = false;
  Status async_error_;

  std::thread thread_;
};

}  // namespace

int SqliteSchemaVersion() { return static_cast<int>(internal::Migrations().size()); }

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, SqliteOptions options) {
  if (options.read_only) {
    VIGIL_ASSIGN_OR_RETURN(auto reader, Db::Open(path, true));
    VIGIL_ASSIGN_OR_RETURN(Stmt v, reader->Prepare("PRAGMA user_version"));
    VIGIL_ASSIGN_OR_RETURN(bool row, v.Step());
    int64_t version = row ? v.Int(0) : 0;
    if (version != SqliteSchemaVersion()) {
      return Status::FailedPrecondition(fmt::format(
          "index {} has schema version {}, this vigil reads version {}{}", path, version,
          SqliteSchemaVersion(), version < SqliteSchemaVersion() ? " (start vigild to upgrade it)" : ""));
    }
    return std::unique_ptr<Store>(new SqliteStore(nullptr, std::move(reader), options));
  }
  VIGIL_ASSIGN_OR_RETURN(auto writer, Db::Open(path, false));
  // WAL: readers never block the writer. synchronous=FULL: a committed row survives power loss, which
  // the segment crash-order relies on (row before file, fsync before completion).
  VIGIL_RETURN_IF_ERROR(writer->Exec("PRAGMA journal_mode=WAL"));
  VIGIL_RETURN_IF_ERROR(writer->Exec("PRAGMA synchronous=FULL"));
  VIGIL_RETURN_IF_ERROR(writer->Exec("PRAGMA foreign_keys=ON"));
  VIGIL_RETURN_IF_ERROR(internal::Migrate(*writer));
  VIGIL_ASSIGN_OR_RETURN(auto reader, Db::Open(path, true));
  return std::unique_ptr<Store>(new SqliteStore(std::move(writer), std::move(reader), options));
}

}  // namespace vigil::index
