// Response zones, the life of an alert, and response-time statistics, in a real SQLite file; the
// statistics are checked against a brute-force computation over random alert histories.

#include <algorithm>
#include <map>
#include <random>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include "base/clock.h"
#include "index/geo.h"
#include "index/internal/schema.h"
#include "index/store.h"
#include "tests/support/temp_dir.h"

namespace vigil::index {
namespace {

constexpr int64_t kMin = 60 * kNsPerSec;
constexpr int64_t kDay = 24 * 60 * kMin;
constexpr int64_t kT0 = 1'795'000'000LL * kNsPerSec;  // 2026-11-18, a round start for periods

Camera Cam(const std::string& id, double lat, double lon) {
  Camera c;
  c.id = id;
  c.name = id;
  c.main_url = "rtsp://127.0.0.1/" + id;
  c.lat = lat;
  c.lon = lon;
  return c;
}

// A square around (lat, lon), half_deg on each side.
std::vector<LatLon> Square(double lat, double lon, double half_deg) {
  return {{lat - half_deg, lon - half_deg},
          {lat - half_deg, lon + half_deg},
          {lat + half_deg, lon + half_deg},
          {lat + half_deg, lon - half_deg}};
}

struct Fixture {
  vigil::testing::TempDir dir;
  std::unique_ptr<Store> store;
  Fixture() {
    auto opened = OpenSqliteStore(dir / "index.db");
    REQUIRE(opened.ok());
    store = std::move(*opened);
    // Kunming: a district zone (about 4.4 km across) holding a station's block zone (about 440 m).
    REQUIRE(store->UpsertCamera(Cam("block", 25.0400, 102.7100)).ok());     // in both
    REQUIRE(store->UpsertCamera(Cam("district", 25.0550, 102.7250)).ok());  // in the district only
    REQUIRE(store->UpsertCamera(Cam("outside", 25.2000, 102.9000)).ok());   // in none
    REQUIRE(store->UpsertCamera(Cam("unplaced", 0, 0)).ok());               // not on the map
    REQUIRE(store->UpsertZone({"z-district", "Wuhua district", Square(25.04, 102.71, 0.02),
                               {"P-11", "P-12"}, "admin", 1})
                .ok());
    REQUIRE(store->UpsertZone({"z-block", "Dianchi Rd station", Square(25.04, 102.71, 0.002),
                               {"P-07"}, "admin", 1})
                .ok());
  }
  Alert Raise(const std::string& camera, int64_t raised_ns) {
    Alert a;
    a.camera = camera;
    a.time_ns = raised_ns - 40'000'000;  // seen 40 ms before it was raised
    a.raised_ns = raised_ns;
    a.kind = "watchlist";
    auto r = store->RaiseAlert(a);
    REQUIRE(r.ok());
    return *r;
  }
};

void ExpectError(const Status& st, StatusCode code, std::string_view needle) {
  CHECK(st.code() == code);
  CHECK_MESSAGE(st.message().find(needle) != std::string::npos, st.message());
}

TEST_CASE("zones are validated, stored and listed by id") {
  Fixture f;
  Store& s = *f.store;
  auto zones = s.Zones();
  REQUIRE(zones.ok());
  REQUIRE(zones->size() == 2);
  CHECK(zones->at(0).id == "z-block");
  CHECK(zones->at(1).id == "z-district");
  CHECK(zones->at(1).units == std::vector<std::string>{"P-11", "P-12"});
  CHECK(zones->at(1).polygon.size() == 4);
  CHECK(zones->at(1).polygon[2].lat == doctest::Approx(25.06).epsilon(1e-9));
  CHECK(zones->at(1).polygon[2].lon == doctest::Approx(102.73).epsilon(1e-9));
  CHECK(zones->at(1).updated_by == "admin");

  ResponseZone bad{"", "x", Square(25, 102, 0.01), {"P-1"}, "admin", 1};
  ExpectError(s.UpsertZone(bad), StatusCode::kInvalidArgument, "zone id is empty");
  bad.id = "z.1";
  ExpectError(s.UpsertZone(bad), StatusCode::kInvalidArgument, "names a topic");
  bad.id = "z-1";
  bad.polygon.resize(2);
  ExpectError(s.UpsertZone(bad), StatusCode::kInvalidArgument, "at least 3 vertices");
  bad.polygon = {{25, 102}, {25.01, 102.01}, {25.02, 102.02}};  // a line
  ExpectError(s.UpsertZone(bad), StatusCode::kInvalidArgument, "no area");
  bad.polygon = Square(25, 102, 0.01);
  bad.polygon[1].lon = 190;
  ExpectError(s.UpsertZone(bad), StatusCode::kInvalidArgument, "vertex 2");
  bad.polygon = Square(25, 102, 0.01);
  bad.units = {"P-1", "P-1"};
  ExpectError(s.UpsertZone(bad), StatusCode::kInvalidArgument, "listed twice");
  bad.units = {"P 1"};
  ExpectError(s.UpsertZone(bad), StatusCode::kInvalidArgument, "unit 'P 1'");
  ExpectError(s.RemoveZone("z-nowhere"), StatusCode::kNotFound, "z-nowhere");
  CHECK(s.Zones()->size() == 2);  // nothing bad was stored

  // Upsert replaces; remove removes.
  ResponseZone moved = zones->at(0);
  moved.units = {"P-07", "P-08"};
  moved.updated_by = "sgt.he";
  REQUIRE(s.UpsertZone(moved).ok());
  CHECK(s.Zones()->at(0).units == std::vector<std::string>{"P-07", "P-08"});
  CHECK(s.Zones()->at(0).updated_by == "sgt.he");
  REQUIRE(s.RemoveZone("z-block").ok());
  CHECK(s.Zones()->size() == 1);
}

TEST_CASE("an alert carries the smallest zone holding its camera and that zone's units then") {
  Fixture f;
  Store& s = *f.store;
  Alert in_block = f.Raise("block", kT0);
  CHECK(in_block.id > 0);
  CHECK(in_block.zone == "z-block");  // the block lies inside the district too: the smaller wins
  CHECK(in_block.units == std::vector<std::string>{"P-07"});
  CHECK(in_block.raised_ns == kT0);
  CHECK(in_block.state == AlertState::kNew);
  Alert in_district = f.Raise("district", kT0 + kMin);
  CHECK(in_district.zone == "z-district");
  CHECK(in_district.units == std::vector<std::string>{"P-11", "P-12"});
  CHECK(f.Raise("outside", kT0 + 2 * kMin).zone.empty());
  Alert unplaced = f.Raise("unplaced", kT0 + 3 * kMin);
  CHECK(unplaced.zone.empty());
  CHECK(unplaced.units.empty());

  // Units change with the shift: new alerts go to the new units, old ones keep whom they went to.
  REQUIRE(s.UpsertZone({"z-district", "Wuhua district", Square(25.04, 102.71, 0.02), {"P-21"},
                        "sgt.he", 2})
              .ok());
  CHECK(f.Raise("district", kT0 + 4 * kMin).units == std::vector<std::string>{"P-21"});

  // A caller may name the zone (a dispatcher raising one by hand); an unknown one is refused.
  Alert named;
  named.camera = "outside";
  named.time_ns = kT0 + 5 * kMin;
  named.kind = "manual";
  named.zone = "z-block";
  auto r = s.RaiseAlert(named);
  REQUIRE(r.ok());
  CHECK(r->units == std::vector<std::string>{"P-07"});
  named.zone = "z-nowhere";
  ExpectError(s.RaiseAlert(named).status(), StatusCode::kNotFound, "z-nowhere");

  // Each step keeps who and when; the listing filters by zone ("" = in none).
  REQUIRE(s.SetAlertState(in_block.id, AlertState::kAcknowledged, "op.wang", "P-07 on its way",
                          kT0 + 70 * kNsPerSec)
              .ok());
  REQUIRE(s.SetAlertState(in_block.id, AlertState::kClosed, "P-07", "vehicle stopped",
                          kT0 + 9 * kMin)
              .ok());
  REQUIRE(s.SetAlertState(in_district.id, AlertState::kClosed, "op.zhao", "false read",
                          kT0 + 2 * kMin)
              .ok());
  AlertQuery q;
  q.range = {kT0 - kDay, kT0 + kDay};
  q.zones = {"z-block"};
  auto page = s.Alerts(q);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 2);  // the block camera's, and the one named by hand
  const Alert& got = page->items.back();
  CHECK(got.id == in_block.id);
  CHECK(got.raised_ns == kT0);
  CHECK(got.acknowledged_by == "op.wang");
  CHECK(got.acknowledged_ns == kT0 + 70 * kNsPerSec);
  CHECK(got.closed_by == "P-07");
  CHECK(got.closed_ns == kT0 + 9 * kMin);
  CHECK(got.units == std::vector<std::string>{"P-07"});
  q.zones = {""};
  CHECK(s.Alerts(q)->items.size() == 2);
  q.zones = {"z-district"};
  page = s.Alerts(q);
  REQUIRE(page->items.size() == 2);
  // An alert raised on an early read gets the pass's read when the pass ends.
  REQUIRE(s.LinkAlertRead(in_district.id, 4711).ok());
  ExpectError(s.LinkAlertRead(999'999, 1), StatusCode::kNotFound, "no alert 999999");
  const Alert& closed_only = page->items.back();
  CHECK(closed_only.acknowledged_ns == 0);  // closed without an acknowledgement
  CHECK(closed_only.closed_by == "op.zhao");
  CHECK(s.Alerts(q)->items.back().plate_read_id == 4711);
}

// One random history, and the statistics computed the obvious way.
struct History {
  std::string zone;
  int64_t raised = 0, ack = 0, closed = 0;
};

TEST_CASE("response-time statistics per zone and period match a brute-force count") {
  Fixture f;
  Store& s = *f.store;
  std::mt19937_64 rng(7);
  const std::vector<std::pair<std::string, std::string>> cams = {
      {"block", "z-block"}, {"district", "z-district"}, {"outside", ""}};
  std::vector<History> truth;
  const int64_t now = kT0 + 3 * kDay;
  std::exponential_distribution<double> response_min(1.0 / 2.5);  // mean 2.5 min to answer
  for (int i = 0; i < 600; ++i) {
    const auto& [cam, zone] = cams[rng() % cams.size()];
    History h;
    h.zone = zone;
    h.raised = kT0 + static_cast<int64_t>(rng() % static_cast<uint64_t>(3 * kDay));
    Alert a = f.Raise(cam, h.raised);
    REQUIRE(a.zone == zone);
    const int fate = static_cast<int>(rng() % 10);
    const int64_t answer = static_cast<int64_t>(response_min(rng) * static_cast<double>(kMin));
    if (h.raised + answer < now && fate < 7) {  // acknowledged, then maybe closed
      h.ack = h.raised + answer;
      REQUIRE(s.SetAlertState(a.id, AlertState::kAcknowledged, "op", "", h.ack).ok());
      if (fate < 5 && h.ack + 10 * kMin < now) {
        h.closed = h.ack + static_cast<int64_t>(rng() % static_cast<uint64_t>(10 * kMin));
        REQUIRE(s.SetAlertState(a.id, AlertState::kClosed, "unit", "", h.closed).ok());
      }
    } else if (h.raised + answer < now && fate < 9) {  // closed straight away
      h.closed = h.raised + answer;
      REQUIRE(s.SetAlertState(a.id, AlertState::kClosed, "op", "", h.closed).ok());
    }  // else: still waiting
    truth.push_back(h);
  }

  auto percentile = [](std::vector<int64_t> v, double p) -> int64_t {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    for (size_t i = 0; i < v.size(); ++i) {  // the first value with >= p % at or below it
      if (100.0 * static_cast<double>(i + 1) >= p * static_cast<double>(v.size())) return v[i];
    }
    return v.back();
  };
  AlertStatsQuery q;
  q.range = {kT0, kT0 + 3 * kDay};
  q.period_ns = kDay;
  q.now_ns = now;
  auto rows = s.AlertStatistics(q);
  REQUIRE(rows.ok());
  // 3 days × ("*", z-block, z-district, ""): every cell has alerts with 600 of them.
  REQUIRE(rows->size() == 12);
  const std::vector<std::string> order = {"*", "z-block", "z-district", ""};
  int64_t all_raised = 0;
  for (size_t i = 0; i < rows->size(); ++i) {
    const AlertStats& r = rows->at(i);
    CAPTURE(i);
    CHECK(r.zone == order[i % 4]);
    const int64_t day = static_cast<int64_t>(i / 4);
    CHECK(r.period_start_ns == kT0 + day * kDay);
    CHECK(r.period_end_ns == kT0 + (day + 1) * kDay);
    std::vector<int64_t> response, close;
    int64_t raised = 0, within = 0, decided = 0;
    for (const auto& h : truth) {
      if (h.raised < r.period_start_ns || h.raised >= r.period_end_ns) continue;
      if (r.zone != "*" && h.zone != r.zone) continue;
      ++raised;
      const int64_t first = h.ack ? h.ack : h.closed;
      if (first) {
        response.push_back(first - h.raised);
        ++decided;
        within += first - h.raised <= 3 * kMin;
      } else if (now - h.raised > 3 * kMin) {
        ++decided;
      }
      if (h.closed) close.push_back(h.closed - h.raised);
    }
    if (r.zone != "*") all_raised += raised;
    CHECK(r.raised == raised);
    CHECK(r.responded == static_cast<int64_t>(response.size()));
    CHECK(r.closed == static_cast<int64_t>(close.size()));
    CHECK(r.response_p50_ns == percentile(response, 50));
    CHECK(r.response_p90_ns == percentile(response, 90));
    CHECK(r.close_p50_ns == percentile(close, 50));
    CHECK(r.close_p90_ns == percentile(close, 90));
    CHECK(r.within == within);
    CHECK(r.decided == decided);
    CHECK(r.within_share == doctest::Approx(decided ? double(within) / double(decided) : 0));
    CHECK(r.response_p50_ns <= r.response_p90_ns);
  }
  CHECK(all_raised == 600);
  // With a mean of 2.5 min, a good part but not all is answered within 3 minutes.
  CHECK(rows->at(0).within_share > 0.4);
  CHECK(rows->at(0).within_share < 0.9);

  // The whole range as one period, two zones asked for (one of them with no alerts at all).
  REQUIRE(s.UpsertZone({"z-quiet", "Quiet", Square(24.5, 102.5, 0.01), {"P-99"}, "admin", 1}).ok());
  q.period_ns = 0;
  q.zones = {"z-block", "z-quiet"};
  q.within_ns = 5 * kMin;
  rows = s.AlertStatistics(q);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  CHECK(rows->at(0).zone == "*");
  CHECK(rows->at(1).zone == "z-block");
  CHECK(rows->at(2).zone == "z-quiet");
  CHECK(rows->at(2).raised == 0);
  CHECK(rows->at(2).within_share == 0);
  int64_t block = std::count_if(truth.begin(), truth.end(), [](const History& h) { return h.zone == "z-block"; });
  CHECK(rows->at(0).raised == block);  // "*" is the zones asked for, together
  CHECK(rows->at(1).raised == block);
  CHECK(rows->at(1).within >= 1);

  // The whole time line as one period (a client's "everything"): no overflow, every alert counted.
  q.range = {INT64_MIN, INT64_MAX};
  q.zones.clear();
  q.within_ns = 3 * kMin;
  auto everything = s.AlertStatistics(q);
  REQUIRE(everything.ok());
  REQUIRE_FALSE(everything->empty());
  CHECK(everything->at(0).raised == 600);
  CHECK(everything->at(0).period_start_ns == INT64_MIN);
  CHECK(everything->at(0).period_end_ns == INT64_MAX);
  q.period_ns = kDay;  // ... but not in days
  ExpectError(s.AlertStatistics(q).status(), StatusCode::kInvalidArgument, "more than 100,000 periods");
  q.period_ns = 0;

  // Bad questions get errors that say what was wrong.
  q.range = {kT0 + kDay, kT0};
  ExpectError(s.AlertStatistics(q).status(), StatusCode::kInvalidArgument, "alert statistics");
  q.range = {kT0, kT0 + 3 * kDay};
  q.period_ns = -1;
  ExpectError(s.AlertStatistics(q).status(), StatusCode::kInvalidArgument, "period");
  q.period_ns = kNsPerSec;  // 259,200 periods × 3 rows
  ExpectError(s.AlertStatistics(q).status(), StatusCode::kInvalidArgument, "more than 100,000");
  q.period_ns = kDay;
  q.within_ns = 0;
  ExpectError(s.AlertStatistics(q).status(), StatusCode::kInvalidArgument, "target");
}

TEST_CASE("a schema v3 file keeps its alerts' acknowledgements and closures as lifecycle steps") {
  vigil::testing::TempDir dir;
  const std::string path = dir / "index.db";
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  for (int v = 0; v < 3; ++v) {
    std::string sql(internal::Migrations()[static_cast<size_t>(v)]);
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  REQUIRE(sqlite3_exec(db,
                       "PRAGMA user_version = 3;"
                       "INSERT INTO cameras (id, name, main_url, lat, lon, num) VALUES "
                       "('gate', 'Gate', 'rtsp://x/gate', 25.04, 102.71, 1);"
                       "INSERT INTO alerts (camera, time_ns, kind, state, state_by, state_ns) VALUES "
                       "(1, 1000, 'watchlist', 0, '', 1000), (1, 2000, 'watchlist', 1, 'op.a', 2500), "
                       "(1, 3000, 'watchlist', 2, 'op.b', 3900);",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto store = OpenSqliteStore(path);
  REQUIRE(store.ok());
  AlertQuery q;
  q.range = {0, 10'000};
  auto page = (*store)->Alerts(q);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 3);  // newest first
  CHECK(page->items[2].raised_ns == 1000);
  CHECK(page->items[2].acknowledged_ns == 0);
  CHECK(page->items[1].acknowledged_by == "op.a");
  CHECK(page->items[1].acknowledged_ns == 2500);
  CHECK(page->items[0].closed_by == "op.b");
  CHECK(page->items[0].closed_ns == 3900);
  CHECK(page->items[0].acknowledged_ns == 0);
  AlertStatsQuery sq;
  sq.range = {0, 10'000};
  sq.now_ns = 10'000;
  auto stats = (*store)->AlertStatistics(sq);
  REQUIRE(stats.ok());
  REQUIRE(stats->size() == 2);  // "*" and "" (no zones then)
  CHECK(stats->at(0).responded == 2);
  CHECK(stats->at(0).response_p90_ns == 900);
}

}  // namespace
}  // namespace vigil::index
