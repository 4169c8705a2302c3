#include "ingest/retention.h"

#include <doctest/doctest.h>

#include "base/fs.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace vigil::ingest {
namespace {

constexpr int64_t kDay = 86'400 * kNsPerSec;
constexpr int64_t kNow = 1'800'000'000 * kNsPerSec;

// A store with real files: `n` segments per camera, one an hour, oldest first, each `bytes` long.
struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<index::Store> store;

  Fixture() {
    store = std::move(index::OpenSqliteStore(dir / "index.db").value());
  }

  void AddCamera(const std::string& cam, int n, int64_t first_start, int64_t bytes,
                 index::SegmentState state = index::SegmentState::kClosed) {
    index::Camera c;
    c.id = cam;
    c.name = cam;
    c.main_url = "rtsp://h/" + cam;
    REQUIRE(store->UpsertCamera(c).ok());
    for (int i = 0; i < n; ++i) {
      index::Segment s;
      s.camera = cam;
      s.start_ns = first_start + i * 3600 * kNsPerSec;
      s.path = "recordings/" + cam + "/" + std::to_string(s.start_ns) + ".mp4";
      s.codec = "h264";
      REQUIRE(MakeDirs(DirName(dir / s.path)).ok());
      testing::WriteFile(dir / s.path, std::string(static_cast<size_t>(bytes), 'x'));
      s.id = store->BeginSegment(s).value();
      if (state != index::SegmentState::kOpen) {
        s.state = state;
        s.end_ns = s.start_ns + 3600 * kNsPerSec;
        s.bytes = bytes;
        REQUIRE(store->FinishSegment(s).ok());
      }
    }
    REQUIRE(store->Flush().ok());
  }

  std::vector<index::Segment> Left(const std::string& cam) {
    index::SegmentFilter f;
    f.camera = cam;
    return store->Segments(f).value();
  }

  bool FileExists(const std::string& rel) { return FileSize(dir / rel).ok(); }
};

TEST_CASE("segments older than a camera's retain_days go, with their files; newer ones stay") {
  Fixture fx;
  fx.AddCamera("old", 48, kNow - 2 * kDay, 100);  // two days of hourly segments
  RetentionPolicy p;
  p.data_dir = fx.dir.path();
  p.cameras["old"].retain_days = 1;
  auto r = EnforceRetention(*fx.store, p, kNow);
  REQUIRE(r.ok());
  auto left = fx.Left("old");
  CHECK(left.size() == 24);  // ends after now - 1 day: the last 24
  CHECK(r->segments_deleted == 24);
  for (const auto& s : left) CHECK(s.end_ns > kNow - kDay);
  CHECK(fx.FileExists(left.front().path));
  CHECK_FALSE(fx.FileExists("recordings/old/" + std::to_string(kNow - 2 * kDay) + ".mp4"));
}

TEST_CASE("a camera over its retain_bytes loses its oldest segments only") {
  Fixture fx;
  fx.AddCamera("a", 10, kNow - kDay, 1000);
  fx.AddCamera("b", 10, kNow - kDay, 1000);
  RetentionPolicy p;
  p.data_dir = fx.dir.path();
  p.cameras["a"].retain_bytes = 4500;
  REQUIRE(EnforceRetention(*fx.store, p, kNow).ok());
  auto a = fx.Left("a");
  REQUIRE(a.size() == 4);
  CHECK(a.front().start_ns == kNow - kDay + 6 * 3600 * kNsPerSec);
  CHECK(fx.Left("b").size() == 10);
}

TEST_CASE("the node quota deletes oldest first across cameras and never an open segment") {
  Fixture fx;
  fx.AddCamera("a", 5, kNow - 10 * 3600 * kNsPerSec, 1000);  // hours -10..-6
  fx.AddCamera("b", 5, kNow - 8 * 3600 * kNsPerSec, 1000);   // hours -8..-4
  fx.AddCamera("c", 1, kNow - 20 * 3600 * kNsPerSec, 1000, index::SegmentState::kOpen);
  RetentionPolicy p;
  p.data_dir = fx.dir.path();
  p.max_bytes = 6000;
  p.count_other_bytes = false;  // footage only here: the index file would dwarf these segments
  auto r = EnforceRetention(*fx.store, p, kNow);
  REQUIRE(r.ok());
  CHECK(r->bytes_deleted == 4000);
  // Deleted: a's hours -10, -9, and then the two oldest of (a -8, b -8): by start time.
  auto a = fx.Left("a"), b = fx.Left("b");
  CHECK(a.size() + b.size() == 6);
  int64_t oldest_left = std::min(a.front().start_ns, b.front().start_ns);
  CHECK(oldest_left >= kNow - 8 * 3600 * kNsPerSec);
  CHECK(fx.Left("c").size() == 1);  // open: being written, never touched
}

TEST_CASE("exports and the index count toward the node quota: footage goes to make room for them") {
  Fixture fx;
  fx.AddCamera("a", 10, kNow - 10 * 3600 * kNsPerSec, 1000);
  REQUIRE(MakeDirs(fx.dir / "exports/x").ok());
  testing::WriteFile(fx.dir / "exports/x/cam.mp4", std::string(1'000'000, 'e'));
  RetentionPolicy p;
  p.data_dir = fx.dir.path();
  p.max_bytes = 1'000'000;  // the export alone fills it
  auto r = EnforceRetention(*fx.store, p, kNow);
  REQUIRE(r.ok());
  CHECK(r->bytes_deleted == 10'000);  // all the footage there was: exports are not retention's to delete
  CHECK(fx.Left("a").empty());
}

TEST_CASE("deletions interrupted by a crash are finished at start-up") {
  Fixture fx;
  fx.AddCamera("a", 3, kNow - kDay, 100);
  auto segs = fx.Left("a");
  REQUIRE(fx.store->MarkDeleting({segs[0].id, segs[1].id}).ok());
  REQUIRE(RemoveFile(fx.dir / segs[0].path).ok());  // crash after one unlink
  REQUIRE(FinishInterruptedDeletes(*fx.store, fx.dir.path()).ok());
  auto left = fx.Left("a");
  REQUIRE(left.size() == 1);
  CHECK(left[0].id == segs[2].id);
  CHECK_FALSE(fx.FileExists(segs[1].path));
  CHECK(fx.FileExists(segs[2].path));
}

}  // namespace
}  // namespace vigil::ingest
