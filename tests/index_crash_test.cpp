// Crash consistency of the index: a writer process is killed (SIGKILL) at random moments, again and
// again; after each kill the file passes integrity_check and holds every row the writer had seen
// committed (Flush returned), with ids contiguous from 1 (nothing half-written is visible).

#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>

#include "index/store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace vigil {
namespace {

int64_t Scalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

std::string Text(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  std::string v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return v;
}

TEST_CASE("kill -9 of the writer in a loop loses no committed row and never corrupts the file") {
  testing::TempDir dir;
  const std::string db_path = dir / "index.db";
  const std::string writer = testing::BinaryFromEnv("INDEX_CRASH_WRITER");
  std::mt19937 rng(5);
  int64_t committed_events = 0, committed_reads = 0;
  int kills_mid_run = 0;
  for (int round = 0; round < 15; ++round) {
    CAPTURE(round);
    const std::string log = dir / ("writer-" + std::to_string(round) + ".log");
    {
      testing::Process p({writer, db_path}, log);
      REQUIRE(p.started());
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution(40, 400)(rng)));
      REQUIRE(p.Running());  // it must still be writing when the power goes
      p.Signal(SIGKILL);
      CHECK(p.Wait(10) == 128 + SIGKILL);
    }
    // The last complete "committed" line the writer printed before it died.
    std::istringstream lines(testing::ReadFile(log));
    std::string line;
    int64_t e = 0, r = 0;
    bool any = false;
    while (std::getline(lines, line)) {
      long long a = 0, b = 0;
      if (std::sscanf(line.c_str(), "committed %lld %lld", &a, &b) == 2) {
        e = a;
        r = b;
        any = true;
      }
    }
    if (any) {
      CHECK(e >= committed_events);
      committed_events = std::max(committed_events, e);
      committed_reads = std::max(committed_reads, r);
      ++kills_mid_run;
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
    CHECK(Text(db, "PRAGMA integrity_check") == "ok");
    int64_t events = Scalar(db, "SELECT COUNT(*) FROM events");
    int64_t max_event = Scalar(db, "SELECT COALESCE(MAX(id), 0) FROM events");
    int64_t reads = Scalar(db, "SELECT COUNT(*) FROM plate_reads");
    int64_t max_read = Scalar(db, "SELECT COALESCE(MAX(id), 0) FROM plate_reads");
    CHECK(events >= committed_events);  // nothing committed was lost
    CHECK(reads >= committed_reads);
    CHECK(events == max_event);  // ids 1..n, no holes: no partial batch is visible
    CHECK(reads == max_read);
    // The hourly counts were committed with the rows they count.
    CHECK(Scalar(db, "SELECT COALESCE(SUM(n), 0) FROM event_counts") == events);
    sqlite3_close(db);
  }
  CHECK(kills_mid_run >= 10);  // most rounds got past at least one commit
  CHECK(committed_events > 3000);

  auto store = index::OpenSqliteStore(db_path);
  REQUIRE(store.ok());
  index::EventQuery q;
  q.range = {0, INT64_MAX};
  q.page.limit = 10;
  auto page = (*store)->Events(q);
  REQUIRE(page.ok());
  CHECK(page->items.size() == 10);
  CHECK(page->items.front().id == 1);
}

}  // namespace
}  // namespace vigil
