#include <sqlite3.h>

#include <algorithm>
#include <random>

#include <doctest/doctest.h>

#include "base/clock.h"
#include "index/geo.h"
#include "index/internal/schema.h"
#include "index/store.h"
#include "tests/support/temp_dir.h"

namespace vigil::index {
namespace {

Camera MakeCamera(const std::string& id) {
  Camera c;
  c.id = id;
  c.name = "Camera " + id;
  c.main_url = "rtsp://127.0.0.1:8554/" + id + "/main";
  c.lat = 24.88;
  c.lon = 102.83;
  c.place = "Dongfeng Square";
  c.tags = {"plaza", "night"};
  return c;
}

TEST_CASE("a new index file is migrated to the current schema and keeps cameras") {
  testing::TempDir dir;
  {
    auto store = OpenSqliteStore(dir / "index.db");
    REQUIRE(store.ok());
    REQUIRE((*store)->UpsertCamera(MakeCamera("cam1")).ok());
    Camera changed = MakeCamera("cam1");
    changed.name = "Renamed";
    REQUIRE((*store)->UpsertCamera(changed).ok());
  }
  auto store = OpenSqliteStore(dir / "index.db");
  REQUIRE(store.ok());
  auto cams = (*store)->Cameras();
  REQUIRE(cams.ok());
  REQUIRE(cams->size() == 1);
  CHECK(cams->at(0).name == "Renamed");
  CHECK(cams->at(0).tags == std::vector<std::string>{"plaza", "night"});
}

TEST_CASE("an index written by a newer vigil is refused with both versions named") {
  testing::TempDir dir;
  { REQUIRE(OpenSqliteStore(dir / "index.db").ok()); }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "index.db").c_str(), &db) == SQLITE_OK);
  std::string sql = "PRAGMA user_version = " + std::to_string(SqliteSchemaVersion() + 5);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto store = OpenSqliteStore(dir / "index.db");
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code() == StatusCode::kFailedPrecondition);
  CHECK(store.error().message().find(std::to_string(SqliteSchemaVersion() + 5)) !=
        std::string::npos);
}

TEST_CASE("a segment row is open before its file exists and complete after FinishSegment") {
  testing::TempDir dir;
  auto store = std::move(OpenSqliteStore(dir / "index.db").value());
  REQUIRE(store->UpsertCamera(MakeCamera("cam1")).ok());
  Segment seg;
  seg.camera = "cam1";
  seg.start_ns = 1'000'000'000;
  seg.path = "recordings/cam1/2026-11-23/a.mp4";
  seg.codec = "h264";
  auto id = store->BeginSegment(seg);
  REQUIRE(id.ok());
  SegmentFilter open_only;
  open_only.state = SegmentState::kOpen;
  auto open = store->Segments(open_only);
  REQUIRE(open.ok());
  REQUIRE(open->size() == 1);
  CHECK(open->at(0).id == *id);

  seg.id = *id;
  seg.state = SegmentState::kClosed;
  seg.end_ns = 61'000'000'000;
  seg.bytes = 12345;
  seg.frames = 1500;
  seg.sha256 = std::string(64, 'a');
  REQUIRE(store->FinishSegment(seg).ok());
  REQUIRE(store->Flush().ok());
  auto all = store->Segments({});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(all->at(0).state == SegmentState::kClosed);
  CHECK(all->at(0).bytes == 12345);
  CHECK(all->at(0).end_ns == 61'000'000'000);

  // A second row with the same path is refused: one file, one row.
  auto dup = store->BeginSegment(seg);
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code() == StatusCode::kAlreadyExists);

  Segment unknown = seg;
  unknown.id = 999;
  REQUIRE(store->FinishSegment(unknown).ok());  // queued
  Status flushed = store->Flush();
  CHECK(flushed.code() == StatusCode::kNotFound);
  CHECK(store->Flush().ok());  // the error is reported once
}

TEST_CASE("gaps are open until closed and found by time overlap") {
  testing::TempDir dir;
  auto store = std::move(OpenSqliteStore(dir / "index.db").value());
  REQUIRE(store->UpsertCamera(MakeCamera("cam1")).ok());
  Gap g;
  g.camera = "cam1";
  g.start_ns = 100;
  g.reason = "connection refused";
  auto id = store->OpenGap(g);
  REQUIRE(id.ok());
  auto gaps = store->Gaps("cam1", 0, 1000);
  REQUIRE(gaps.ok());
  REQUIRE(gaps->size() == 1);
  CHECK_FALSE(gaps->at(0).end_ns.has_value());
  REQUIRE(store->CloseGap(*id, 500).ok());
  REQUIRE(store->Flush().ok());
  gaps = store->Gaps("cam1", 0, 1000);
  REQUIRE(gaps->at(0).end_ns == 500);
  CHECK(store->Gaps("cam1", 600, 1000)->empty());
  CHECK(store->Gaps("", 400, 1000)->size() == 1);
}

}  // namespace
}  // namespace vigil::index

namespace vigil::index {
namespace {

TEST_CASE("a read-only store reads beside a writer and refuses writes") {
  testing::TempDir dir;
  auto writer = std::move(OpenSqliteStore(dir / "index.db").value());
  REQUIRE(writer->UpsertCamera(MakeCamera("cam1")).ok());
  SqliteOptions ro;
  ro.read_only = true;
  auto reader = OpenSqliteStore(dir / "index.db", ro);
  REQUIRE(reader.ok());
  CHECK((*reader)->Cameras()->size() == 1);
  Status st = (*reader)->UpsertCamera(MakeCamera("cam2"));
  CHECK(st.code() == StatusCode::kFailedPrecondition);
  CHECK(st.message().find("read-only") != std::string::npos);
  REQUIRE(writer->UpsertCamera(MakeCamera("cam3")).ok());
  CHECK((*reader)->Cameras()->size() == 2);  // sees the writer's commits
  CHECK_FALSE(OpenSqliteStore(dir / "missing.db", ro).ok());
}

}  // namespace
}  // namespace vigil::index

namespace vigil::index {
namespace {

TEST_CASE("a schema v1 file (recording only) is migrated to v2 and keeps its rows") {
  testing::TempDir dir;
  const std::string path = dir / "index.db";
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  std::string v1(internal::Migrations()[0]);
  REQUIRE(sqlite3_exec(db, v1.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "PRAGMA user_version = 1;"
                       "INSERT INTO cameras (id, name, main_url, lat, lon) VALUES "
                       "('gate', 'Gate', 'rtsp://x/gate', 25.04, 102.71), "
                       "('yard', 'Yard', 'rtsp://x/yard', 0, 0);"
                       "INSERT INTO segments (camera, state, start_ns, end_ns, path, codec) VALUES "
                       "('gate', 1, 1000, 2000, 'recordings/gate/a.mp4', 'h264');",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);

  auto store = OpenSqliteStore(path);
  REQUIRE(store.ok());
  auto cams = (*store)->Cameras();
  REQUIRE(cams.ok());
  CHECK(cams->size() == 2);
  SegmentFilter f;
  CHECK((*store)->Segments(f)->size() == 1);
  // The migrated camera has a key and a place: events and place queries work on it at once.
  Event e;
  e.camera = "gate";
  e.start_ns = e.end_ns = 1500;
  REQUIRE((*store)->AddEvent(e).ok());
  REQUIRE((*store)->Flush().ok());
  EventQuery q;
  q.range = {0, 10'000};
  auto page = (*store)->Events(q);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0].camera == "gate");
  auto near = (*store)->CamerasIn(Area{{25.04, 102.71}, 100, {}});
  REQUIRE(near.ok());
  REQUIRE(near->size() == 1);  // the unplaced camera (0, 0) is in no area
  CHECK(near->at(0).camera.id == "gate");

  sqlite3* check = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &check) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(check, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == SqliteSchemaVersion());
  sqlite3_finalize(st);
  sqlite3_close(check);
}

TEST_CASE("a read-only store sees cameras another process adds") {
  testing::TempDir dir;
  auto writer = std::move(OpenSqliteStore(dir / "index.db").value());
  REQUIRE(writer->UpsertCamera(MakeCamera("cam1")).ok());
  SqliteOptions ro;
  ro.read_only = true;
  auto reader = std::move(OpenSqliteStore(dir / "index.db", ro).value());
  CHECK(reader->Cameras()->size() == 1);
  REQUIRE(writer->UpsertCamera(MakeCamera("cam2")).ok());
  Event e;
  e.camera = "cam2";
  e.start_ns = e.end_ns = 5;
  REQUIRE(writer->AddEvent(e).ok());
  REQUIRE(writer->Flush().ok());
  CHECK(reader->Cameras()->size() == 2);
  EventQuery q;
  q.range = {0, 10};
  q.cameras = {"cam2"};
  auto page = reader->Events(q);
  REQUIRE(page.ok());
  CHECK(page->items.size() == 1);
  CHECK(reader->AddEvent(e).error().code() == StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vigil::index

namespace vigil::index {
namespace {

TEST_CASE("footage spans and gaps over camera sets, areas and pages match a brute-force merge") {
  testing::TempDir dir;
  auto store = std::move(OpenSqliteStore(dir / "index.db").value());
  std::mt19937 rng(9);
  std::vector<Camera> cams;
  for (int i = 0; i < 6; ++i) {
    Camera c = MakeCamera("cam" + std::to_string(i + 1));
    c.lat = 24.88 + 0.01 * i;
    c.lon = 102.83;
    cams.push_back(c);
    REQUIRE(store->UpsertCamera(c).ok());
  }
  std::vector<Segment> segs;
  std::vector<Gap> gaps;
  for (const auto& c : cams) {
    int64_t t = 1'000'000'000'000;
    for (int k = 0; k < 60; ++k) {
      Segment s;
      s.camera = c.id;
      s.start_ns = t;
      s.path = c.id + "/" + std::to_string(k) + ".mp4";
      s.codec = "h264";
      auto id = store->BeginSegment(s);
      REQUIRE(id.ok());
      s.id = *id;
      s.end_ns = t + 60 * kNsPerSec;
      s.state = SegmentState::kClosed;
      REQUIRE(store->FinishSegment(s).ok());
      segs.push_back(s);
      t = s.end_ns;
      if (rng() % 5 == 0) {  // an outage before the next segment
        Gap g{0, c.id, t, t + (1 + rng() % 30) * kNsPerSec, "connection refused"};
        auto gid = store->OpenGap(g);
        REQUIRE(gid.ok());
        g.id = *gid;
        gaps.push_back(g);
        t = *g.end_ns;
      }
    }
  }
  REQUIRE(store->Flush().ok());
  for (int i = 0; i < 300; ++i) {
    FootageQuery q;
    int64_t a = 1'000'000'000'000 + static_cast<int64_t>(rng() % 4000) * kNsPerSec;
    q.range = {a, a + static_cast<int64_t>(1 + rng() % 3000) * kNsPerSec};
    for (const auto& c : cams) {
      if (rng() % 3 == 0) q.cameras.push_back(c.id);
    }
    if (rng() % 4 == 0) q.area = Area{{24.88 + 0.01 * (rng() % 6), 102.83}, 1500, {}};
    q.page.limit = 1 + static_cast<int64_t>(rng() % 15);
    // Brute force: per camera (in the order they were added), spans then gaps by start.
    std::vector<std::string> wanted_cams;
    for (const auto& c : cams) {
      bool listed = q.cameras.empty() || std::count(q.cameras.begin(), q.cameras.end(), c.id);
      bool inside = !q.area || DistanceM(q.area->center, {c.lat, c.lon}) <= q.area->radius_m;
      if (listed && inside) wanted_cams.push_back(c.id);
    }
    std::vector<std::string> want, got;
    for (const auto& id : wanted_cams) {
      std::vector<Segment> mine;
      for (const auto& s : segs) {
        if (s.camera == id && s.end_ns > q.range.start_ns && s.start_ns < q.range.end_ns) mine.push_back(s);
      }
      std::vector<std::pair<int64_t, std::string>> rows;
      for (const auto& sp : MergeFootage(mine)) rows.push_back({sp.start_ns, fmt::format("{} span {} {}", id, sp.start_ns, sp.end_ns)});
      for (const auto& g : gaps) {
        if (g.camera == id && g.start_ns < q.range.end_ns && *g.end_ns > q.range.start_ns) {
          rows.push_back({g.start_ns, fmt::format("{} gap {} {}", id, g.start_ns, *g.end_ns)});
        }
      }
      std::stable_sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      for (auto& r : rows) want.push_back(r.second);
    }
    for (int guard = 0; guard < 1000; ++guard) {
      auto page = store->Footage(q);
      REQUIRE(page.ok());
      CHECK(static_cast<int64_t>(page->spans.size() + page->gaps.size()) <= q.page.limit);
      // Interleave this page's spans and gaps per camera by start, as the brute force does.
      std::vector<std::tuple<std::string, int64_t, std::string>> rows;
      for (const auto& sp : page->spans) rows.push_back({sp.camera, sp.start_ns, fmt::format("{} span {} {}", sp.camera, sp.start_ns, sp.end_ns)});
      for (const auto& g : page->gaps) rows.push_back({g.camera, g.start_ns, fmt::format("{} gap {} {}", g.camera, g.start_ns, *g.end_ns)});
      std::stable_sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
        return std::pair(std::get<0>(x).size(), std::get<0>(x)) != std::pair(std::get<0>(y).size(), std::get<0>(y))
                   ? std::pair(std::get<0>(x).size(), std::get<0>(x)) < std::pair(std::get<0>(y).size(), std::get<0>(y))
                   : std::get<1>(x) < std::get<1>(y);
      });
      for (auto& r : rows) got.push_back(std::get<2>(r));
      if (page->next_token.empty()) break;
      q.page.token = page->next_token;
    }
    CHECK(got == want);
  }
}

}  // namespace
}  // namespace vigil::index
