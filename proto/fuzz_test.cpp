// The request decoder and dispatcher under mutated input: 100,000 requests made by flipping,
// inserting, deleting, duplicating and truncating the bytes of valid requests of every kind. Every
// one must give a Response (a result or a typed Error) without crashing; the store must still answer
// afterwards. (Run under ASan with meson -Db_sanitize=address for leaks and overflows.)

#include <atomic>
#include <random>

#include <doctest/doctest.h>

#include "index/testing/city.h"
#include "proto/server.h"
#include "tests/support/temp_dir.h"

namespace vigil::api {
namespace {

std::vector<std::string> Seeds(const index::testing::City& city) {
  std::vector<v1::Request> reqs(20);
  v1::TimeRange all;
  all.set_from_ns(city.options().start_ns);
  all.set_to_ns(city.end_ns());
  reqs[0].mutable_status();
  reqs[1].mutable_cameras();
  reqs[2].mutable_upsert_camera()->mutable_camera()->set_id("fuzz-cam");
  *reqs[3].mutable_events()->mutable_range() = all;
  reqs[3].mutable_events()->add_cameras(city.cameras()[0].id);
  reqs[3].mutable_events()->add_types("vehicle");
  reqs[3].mutable_events()->mutable_page()->set_limit(5);
  *reqs[4].mutable_footage()->mutable_range() = all;
  reqs[5].mutable_place()->mutable_area()->mutable_center()->set_lat(25.04);
  reqs[5].mutable_place()->mutable_area()->mutable_center()->set_lon(102.72);
  reqs[5].mutable_place()->mutable_area()->set_radius_m(800);
  reqs[6].mutable_plates()->set_pattern(city.plates()[0]);
  reqs[6].mutable_plates()->set_match(v1::FUZZY);
  reqs[6].mutable_plates()->set_max_substitutions(2);
  *reqs[6].mutable_plates()->mutable_range() = all;
  reqs[7].mutable_plates()->set_pattern("云A*1?3");
  reqs[7].mutable_plates()->set_match(v1::WILDCARD);
  *reqs[7].mutable_plates()->mutable_range() = all;
  reqs[8].mutable_watchlist_add()->mutable_entry()->set_pattern("云A12345");
  reqs[9].mutable_watchlist_remove()->set_id(1);
  reqs[10].mutable_watchlist();
  *reqs[11].mutable_alerts()->mutable_range() = all;
  reqs[12].mutable_alert_update()->set_id(1);
  reqs[12].mutable_alert_update()->set_state("closed");
  *reqs[13].mutable_counts()->mutable_range() = all;
  reqs[14].mutable_export_clip()->add_cameras(city.cameras()[0].id);
  reqs[14].mutable_export_clip()->mutable_range()->set_from_ns(all.from_ns());
  reqs[14].mutable_export_clip()->mutable_range()->set_to_ns(all.from_ns() + 60'000'000'000);
  reqs[15].mutable_export_fetch()->set_export_id("20261123T000000Z-0000");
  reqs[15].mutable_export_fetch()->set_max_bytes(1024);
  reqs[16].mutable_zones();
  auto* zone = reqs[17].mutable_zone_upsert()->mutable_zone();
  zone->set_id("z-1");
  zone->add_units("P-07");
  for (auto [lat, lon] : {std::pair{25.0, 102.7}, {25.0, 102.71}, {25.01, 102.71}}) {
    auto* v = zone->add_polygon();
    v->set_lat(lat);
    v->set_lon(lon);
  }
  reqs[18].mutable_zone_remove()->set_id("z-1");
  *reqs[19].mutable_alert_stats()->mutable_range() = all;
  reqs[19].mutable_alert_stats()->set_period_ns(3'600'000'000'000);
  std::vector<std::string> out;
  for (auto& r : reqs) {
    r.set_id(42);
    r.set_user("fuzzer");
    out.push_back(r.SerializeAsString());
  }
  return out;
}

std::string Mutate(std::string s, std::mt19937& rng) {
  int edits = 1 + static_cast<int>(rng() % 2);
  for (int e = 0; e < edits; ++e) {
    size_t n = s.size();
    switch (rng() % 8) {
      case 0:  // flip bits
        if (n) s[rng() % n] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:  // random byte
        if (n) s[rng() % n] = static_cast<char>(rng());
        break;
      case 2:  // insert bytes
        s.insert(n ? rng() % n : 0, std::string(1 + rng() % 4, static_cast<char>(rng())));
        break;
      case 3:  // delete a run
        if (n) s.erase(rng() % n, 1 + rng() % 8);
        break;
      case 4:  // truncate
        if (n) s.resize(rng() % n);
        break;
      case 6:
      case 7:  // a printable byte: changes numbers, tags and lengths, keeps strings valid UTF-8
        if (n) s[rng() % n] = static_cast<char>(0x20 + rng() % 95);
        break;
      case 5:  // duplicate a chunk (repeated fields, nested lengths)
        if (n) {
          size_t a = rng() % n;
          s.insert(rng() % n, s.substr(a, 1 + rng() % 16));
        }
        break;
    }
  }
  return s;
}

TEST_CASE("100,000 mutated requests each get a response and the server still answers") {
  vigil::testing::TempDir dir;
  index::testing::CityOptions o;
  o.seed = 8;
  o.cameras = 20;
  o.days = 1;
  o.events = 3000;
  o.plate_reads = 1000;
  o.vehicles = 100;
  index::testing::City city(o);
  auto store = std::move(index::OpenSqliteStore(dir / "index.db").value());
  for (const auto& c : city.cameras()) REQUIRE(store->UpsertCamera(c).ok());
  city.Events([&](const index::Event& e) { REQUIRE(store->AddEvent(e).ok()); });
  city.PlateReads([&](const index::PlateRead& r) { REQUIRE(store->AddPlateRead(r).ok()); });
  REQUIRE(store->Flush().ok());
  index::SqliteOptions ro;
  ro.read_only = true;
  auto reader = std::move(index::OpenSqliteStore(dir / "index.db", ro).value());

  ExportOptions eo;
  eo.data_dir = dir.path();
  eo.park_ns = 1'000'000;
  std::atomic<int64_t> fetches{0}, fetch_replies{0};
  auto exporter = std::make_unique<Exporter>(eo, *store, SystemClock());

  QuietProtobufLogs();
  const auto seeds = Seeds(city);
  std::mt19937 rng(2026);
  int parsed = 0, errors = 0, results = 0;
  for (int i = 0; i < 100'000; ++i) {
    std::string bytes = Mutate(seeds[static_cast<size_t>(i) % seeds.size()], rng);
    v1::Request req;
    if (!req.ParseFromString(bytes)) continue;  // the server answers MALFORMED (server_test)
    ++parsed;
    if (req.kind_case() == v1::Request::kExportFetch) {
      ++fetches;
      exporter->Fetch(req.id(), req.export_fetch(), "fuzz", true, [&](v1::Response r) {
        CHECK((r.has_error() || r.has_export_fetch()));
        ++fetch_replies;
      });
      continue;
    }
    v1::Response resp = Handle(req, Identity{"fuzz", Role::kAdmin}, *reader, *store, SystemClock(), {}, 0, exporter.get());
    CHECK(resp.id() == req.id());
    if (resp.has_error()) {
      ++errors;
      CHECK_FALSE(resp.error().message().empty());
    } else {
      ++results;
    }
  }
  CHECK(parsed > 20'000);  // the mutations reach the dispatcher, not just the decoder
  CHECK(errors > 1'000);
  CHECK(results > 1'000);
  MESSAGE(parsed, " decoded, ", errors, " errors, ", results, " results, ", fetches.load(),
          " export fetches");
  exporter.reset();  // answers whatever is still parked
  CHECK(fetches.load() > 100);
  CHECK(fetch_replies.load() == fetches.load());
  v1::Request ok;
  ok.mutable_cameras();
  CHECK(Handle(ok, Identity{"fuzz", Role::kAdmin}, *reader, *store, SystemClock()).cameras().cameras_size() >= 20);
}

}  // namespace
}  // namespace vigil::api
