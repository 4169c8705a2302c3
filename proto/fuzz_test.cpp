// The request decoder and dispatcher under mutated input: 100,000 requests made by flipping,
// inserting, deleting, duplicating and truncating the bytes of valid requests of every kind. Every
// one must give a Response (a result or a typed Error) without crashing; the store must still answer
// afterwards. (Run under ASan with meson -Db_sanitize=address for leaks and overflows.)

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include <doctest/doctest.h>
#include <zmq.hpp>

#include "index/testing/city.h"
#include "proto/client.h"
#include "proto/server.h"
#include "proto/testing/keys.h"
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

// A generated city of 20 cameras over one day, and an index holding it.
index::testing::CityOptions CityOf(uint64_t seed, int events, int plate_reads, int vehicles) {
  index::testing::CityOptions o;
  o.seed = seed;
  o.cameras = 20;
  o.days = 1;
  o.events = events;
  o.plate_reads = plate_reads;
  o.vehicles = vehicles;
  return o;
}

std::unique_ptr<index::Store> StoreOf(const index::testing::City& city, const std::string& path) {
  auto store = std::move(index::OpenSqliteStore(path).value());
  for (const auto& c : city.cameras()) REQUIRE(store->UpsertCamera(c).ok());
  city.Events([&](const index::Event& e) { REQUIRE(store->AddEvent(e).ok()); });
  city.PlateReads([&](const index::PlateRead& r) { REQUIRE(store->AddPlateRead(r).ok()); });
  REQUIRE(store->Flush().ok());
  return store;
}

TEST_CASE("100,000 mutated requests each get a response and the server still answers") {
  vigil::testing::TempDir dir;
  index::testing::City city(CityOf(8, 3000, 1000, 100));
  auto store = StoreOf(city, dir / "index.db");
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

// Over authenticated connections: the whole server (ZAP, role checks, field limits, audit, the
// workers, the exporter's parked fetches) under mutated requests from four clients, one per role,
// each with up to 64 requests in flight. Every frame sent must be answered, and the server must still
// answer afterwards. VIGIL_FUZZ_REQUESTS sets the total (default 20,000; docs/api.md gives the
// 1,000,000-request run under AddressSanitizer and UBSan, and tools/test runs 100,000 of them).
TEST_CASE("mutated requests over authenticated connections, every role: each answered, the server stands") {
  vigil::testing::TempDir dir;
  index::testing::City city(CityOf(9, 2000, 500, 50));
  auto store = StoreOf(city, dir / "index.db");
  testing::TestKeys keys(dir / "keys");
  ServerOptions so;
  so.requests = "tcp://127.0.0.1:*";
  so.events = "tcp://127.0.0.1:*";
  so.workers = 2;
  so.server_key = keys.server;
  so.keyring = keys.keyring;
  so.exports.data_dir = dir.path();
  so.exports.park_ns = 1'000'000;
  const std::string path = dir / "index.db";
  auto server = std::move(Server::Start(so, *store, [path]() {
    index::SqliteOptions ro;
    ro.read_only = true;
    return index::OpenSqliteStore(path, ro);
  }, SystemClock()).value());

  int64_t total = 20'000;
  if (const char* n = std::getenv("VIGIL_FUZZ_REQUESTS")) total = std::max<int64_t>(4, std::atoll(n));
  const auto seeds = Seeds(city);
  std::atomic<int64_t> sent{0}, answered{0}, unanswered{0}, errors{0};
  std::vector<UserKey> users;
  for (Role role : kAllRoles) users.push_back(keys.Add(fmt::format("fuzz.{}", RoleName(role)), role));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < users.size(); ++t) {
    threads.emplace_back([&, t] {
      zmq::context_t ctx(1);
      zmq::socket_t s(ctx, zmq::socket_type::dealer);
      (void)UseKey(s, users[t]);
      s.set(zmq::sockopt::linger, 0);
      s.connect(server->requests_endpoint());
      std::mt19937 rng(static_cast<unsigned>(2026 + t));
      const int64_t mine = total / static_cast<int64_t>(users.size());
      int64_t out = 0, in = 0;
      auto receive = [&](int timeout_ms) {
        zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) == 0) return false;
        zmq::message_t m;
        (void)s.recv(m);
        v1::Response r;
        if (!r.ParseFromArray(m.data(), static_cast<int>(m.size()))) ++errors;  // never: a Response
        ++in;
        return true;
      };
      while (out < mine) {
        while (out - in < 64 && out < mine) {
          std::string bytes = Mutate(seeds[static_cast<size_t>(out) % seeds.size()], rng);
          if (bytes.empty()) bytes = "x";  // an empty frame is still a frame to answer
          s.send(zmq::buffer(bytes), zmq::send_flags::none);
          ++out;
        }
        if (!receive(30'000)) break;
      }
      while (in < out && receive(30'000)) {
      }
      sent += out;
      answered += in;
      unanswered += out - in;
    });
  }
  for (auto& th : threads) th.join();
  MESSAGE(sent.load(), " mutated requests over CURVE from 4 roles: ", answered.load(), " answered");
  CHECK(sent.load() >= total - 4);
  CHECK(unanswered.load() == 0);
  CHECK(errors.load() == 0);
  // Still serving, and the audit chain is whole.
  auto admin = Client::Connect(server->requests_endpoint(), users.back());
  REQUIRE(admin.ok());
  v1::Request q;
  q.mutable_audit()->mutable_range()->set_from_ns(0);
  q.mutable_audit()->mutable_range()->set_to_ns(INT64_MAX);
  q.mutable_audit()->mutable_page()->set_limit(1);
  q.mutable_audit()->set_verify(true);
  auto r = (*admin)->Call(q, std::chrono::seconds(120));
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->audit().verification().intact());
}

}  // namespace
}  // namespace vigil::api
