// Events, places, plates and counts checked against a brute-force scan of the same generated data
// (a small synthetic city, fixed seed), in a real SQLite file.

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "base/clock.h"
#include "base/plate_text.h"
#include "index/geo.h"
#include "index/store.h"
#include "index/testing/city.h"
#include "tests/support/temp_dir.h"

namespace vigil::index {
namespace {

using index::testing::City;
using index::testing::CityOptions;

constexpr int64_t kHour = 3600 * kNsPerSec;

CityOptions SmallCity() {
  CityOptions o;
  o.seed = 42;
  o.cameras = 60;
  o.radius_m = 3000;
  o.days = 2;
  o.events = 30'000;
  o.plate_reads = 8'000;
  o.vehicles = 600;
  o.checkpoint_share = 0.3;
  o.misread_share = 0.05;
  return o;
}

// The city loaded into a store, and every row as the store numbered it.
struct Loaded {
  vigil::testing::TempDir dir;
  City city{SmallCity()};
  std::unique_ptr<Store> store;
  std::vector<Event> events;
  std::vector<PlateRead> reads;
  std::map<std::string, Camera> cameras;

  Loaded() {
    auto opened = OpenSqliteStore(dir / "index.db");
    REQUIRE(opened.ok());
    store = std::move(*opened);
    for (const auto& c : city.cameras()) {
      REQUIRE(store->UpsertCamera(c).ok());
      cameras[c.id] = c;
    }
    city.Events([&](const Event& e) {
      auto id = store->AddEvent(e);
      REQUIRE(id.ok());
      events.push_back(e);
      events.back().id = *id;
      events.back().score = static_cast<double>(std::llround(e.score * 1000)) / 1000;
    });
    city.PlateReads([&](const PlateRead& r) {
      auto id = store->AddPlateRead(r);
      REQUIRE(id.ok());
      reads.push_back(r);
      reads.back().id = *id;
      reads.back().confidence = static_cast<double>(std::llround(r.confidence * 1000)) / 1000;
    });
    REQUIRE(store->Flush().ok());
  }

  std::vector<std::string> RandomCameras(std::mt19937& rng, int max) {
    std::vector<std::string> ids;
    int n = std::uniform_int_distribution(0, max)(rng);
    for (int i = 0; i < n; ++i) {
      ids.push_back(city.cameras()[std::uniform_int_distribution<size_t>(0, city.cameras().size() - 1)(rng)].id);
    }
    return ids;
  }

  TimeRange RandomRange(std::mt19937& rng) {
    int64_t span = city.end_ns() - city.options().start_ns;
    int64_t a = city.options().start_ns - kHour +
                std::uniform_int_distribution<int64_t>(0, span + 2 * kHour)(rng);
    int64_t len = std::uniform_int_distribution<int64_t>(1, 6 * kHour)(rng);
    if (rng() % 10 == 0) len = span;  // sometimes everything
    return {a, a + len};
  }

  // Cameras of a query (explicit list and/or area) by brute force; empty optional: all.
  std::optional<std::set<std::string>> CameraSet(const std::vector<std::string>& ids,
                                                 const std::optional<Area>& area) {
    std::optional<std::set<std::string>> out;
    if (!ids.empty()) out.emplace(ids.begin(), ids.end());
    if (area) {
      std::set<std::string> in;
      for (const auto& [id, c] : cameras) {
        bool inside = area->polygon.empty()
                          ? DistanceM(area->center, {c.lat, c.lon}) <= area->radius_m
                          : InsidePolygon(area->polygon, {c.lat, c.lon});
        if (inside && (!out || out->count(id))) in.insert(id);
      }
      out = std::move(in);
    }
    return out;
  }

  Area RandomArea(std::mt19937& rng) {
    Area a;
    auto& c = city.cameras()[rng() % city.cameras().size()];
    std::uniform_real_distribution<double> jitter(-0.01, 0.01);
    if (rng() % 3 == 0) {
      LatLon p{c.lat + jitter(rng), c.lon + jitter(rng)};
      for (int k = 0; k < 3 + static_cast<int>(rng() % 4); ++k) {
        a.polygon.push_back({p.lat + jitter(rng) * 2, p.lon + jitter(rng) * 2});
      }
    } else {
      a.center = {c.lat + jitter(rng) / 10, c.lon + jitter(rng) / 10};
      a.radius_m = std::uniform_real_distribution<double>(50, 1500)(rng);
    }
    return a;
  }
};

Loaded& Data() {
  static Loaded loaded;
  return loaded;
}

template <typename T, typename Q, typename F>
std::vector<T> AllPages(Q q, F query, int* pages = nullptr) {
  std::vector<T> out;
  for (int guard = 0; guard < 100000; ++guard) {
    auto page = query(q);
    REQUIRE(page.ok());
    if (pages) ++*pages;
    out.insert(out.end(), page->items.begin(), page->items.end());
    if (page->next_token.empty()) break;
    q.page.token = page->next_token;
  }
  return out;
}

TEST_CASE("events by time, cameras, types, zones, classes and area match a brute-force scan over every page") {
  Loaded& d = Data();
  std::mt19937 rng(1);
  const auto& types = AllEventTypes();
  int nonempty = 0, multipage = 0;
  for (int i = 0; i < 1500; ++i) {
    EventQuery q;
    q.range = d.RandomRange(rng);
    q.cameras = d.RandomCameras(rng, 6);
    if (rng() % 4 == 0) q.area = d.RandomArea(rng);
    for (int k = static_cast<int>(rng() % 4); k > 0 && rng() % 2; --k) q.types.push_back(types[rng() % types.size()]);
    if (rng() % 5 == 0) q.zones = {"zone-" + std::to_string(1 + rng() % 3)};
    if (rng() % 4 == 0) {
      q.classes = {static_cast<ObjectClass>(1 + rng() % 4)};
      if (rng() % 2) q.classes.push_back(static_cast<ObjectClass>(1 + rng() % 4));
    }
    q.newest_first = rng() % 2;
    q.page.limit = std::uniform_int_distribution(1, 300)(rng);

    auto cams = d.CameraSet(q.cameras, q.area);
    std::vector<Event> want;
    for (const auto& e : d.events) {
      if (e.start_ns < q.range.start_ns || e.start_ns >= q.range.end_ns) continue;
      if (cams && !cams->count(e.camera)) continue;
      if (!q.types.empty() && std::find(q.types.begin(), q.types.end(), e.type) == q.types.end()) continue;
      if (!q.zones.empty() && std::find(q.zones.begin(), q.zones.end(), e.zone) == q.zones.end()) continue;
      if (!q.classes.empty() &&
          std::find(q.classes.begin(), q.classes.end(), e.object_class) == q.classes.end()) {
        continue;
      }
      want.push_back(e);
    }
    std::sort(want.begin(), want.end(), [&](const Event& a, const Event& b) {
      auto ka = std::pair(a.start_ns, a.id), kb = std::pair(b.start_ns, b.id);
      return q.newest_first ? ka > kb : ka < kb;
    });
    if (want.size() > 3000) continue;  // keep the walk short; large ranges are covered by the bench
    int pages = 0;
    auto got = AllPages<Event>(q, [&](const EventQuery& x) { return d.store->Events(x); }, &pages);
    REQUIRE(got.size() == want.size());
    for (size_t k = 0; k < got.size(); ++k) {
      CAPTURE(k);
      REQUIRE(got[k].id == want[k].id);
      CHECK(got[k].camera == want[k].camera);
      CHECK(got[k].start_ns == want[k].start_ns);
      CHECK(got[k].end_ns == want[k].end_ns);
      CHECK(got[k].type == want[k].type);
      CHECK(got[k].zone == want[k].zone);
      CHECK(got[k].box == want[k].box);
      CHECK(got[k].score == doctest::Approx(want[k].score));
      CHECK(got[k].object_class == want[k].object_class);
      CHECK(got[k].class_confidence == doctest::Approx(want[k].class_confidence));
    }
    nonempty += !want.empty();
    multipage += pages > 1;
  }
  // The random cases exercised what they should.
  CHECK(nonempty > 300);
  CHECK(multipage > 100);
}

TEST_CASE("place queries (radius, polygon, k nearest) match great-circle brute force") {
  Loaded& d = Data();
  std::mt19937 rng(2);
  for (int i = 0; i < 2000; ++i) {
    Area a = d.RandomArea(rng);
    auto got = d.store->CamerasIn(a);
    REQUIRE(got.ok());
    auto want = d.CameraSet({}, a);
    std::set<std::string> got_ids;
    for (const auto& cd : *got) got_ids.insert(cd.camera.id);
    CHECK(got_ids == *want);
    for (size_t k = 1; k < got->size(); ++k) CHECK((*got)[k - 1].distance_m <= (*got)[k].distance_m);

    LatLon p{a.center.lat + 0.001, a.center.lon - 0.002};
    int kn = 1 + static_cast<int>(rng() % 20);
    auto nearest = d.store->NearestCameras(p, kn);
    REQUIRE(nearest.ok());
    std::vector<std::pair<double, std::string>> all;
    for (const auto& [id, c] : d.cameras) all.push_back({DistanceM(p, {c.lat, c.lon}), id});
    std::sort(all.begin(), all.end());
    REQUIRE(nearest->size() == static_cast<size_t>(kn));
    for (int k = 0; k < kn; ++k) {
      CHECK((*nearest)[static_cast<size_t>(k)].camera.id == all[static_cast<size_t>(k)].second);
      CHECK((*nearest)[static_cast<size_t>(k)].distance_m == doctest::Approx(all[static_cast<size_t>(k)].first));
    }
  }
}

// Expected plate hits by brute force: every read scanned, ranked by substitutions then newest first.
std::vector<PlateHit> BrutePlates(Loaded& d, const PlateQuery& q) {
  auto cams = d.CameraSet(q.cameras, q.area);
  std::vector<PlateHit> out;
  auto query = plate::Normalize(q.pattern);
  std::optional<plate::Pattern> pat;
  if (q.match == PlateMatch::kWildcard) pat = *plate::ParsePattern(q.pattern);
  for (const auto& r : d.reads) {
    if (r.time_ns < q.range.start_ns || r.time_ns >= q.range.end_ns) continue;
    if (cams && !cams->count(r.camera)) continue;
    auto text = plate::Decode(r.plate);
    int subs = 0;
    if (q.match == PlateMatch::kExact) {
      if (text != query) continue;
    } else if (q.match == PlateMatch::kWildcard) {
      if (!plate::Matches(*pat, text)) continue;
    } else {
      auto s = plate::ConfusableSubstitutions(query, text);
      if (!s || *s > q.max_substitutions) continue;
      subs = *s;
    }
    out.push_back({r, subs});
  }
  std::sort(out.begin(), out.end(), [](const PlateHit& a, const PlateHit& b) {
    return std::tuple(a.substitutions, -a.read.time_ns, -a.read.id) <
           std::tuple(b.substitutions, -b.read.time_ns, -b.read.id);
  });
  return out;
}

TEST_CASE("plate search (exact, wildcard, fuzzy) matches a brute-force scan, ranked and paged") {
  Loaded& d = Data();
  std::mt19937 rng(3);
  int nonempty[3] = {0, 0, 0}, with_subs = 0;
  for (int i = 0; i < 3000; ++i) {
    PlateQuery q;
    const std::string& base = d.reads[rng() % d.reads.size()].plate;
    std::u32string p = plate::Decode(base);
    q.match = static_cast<PlateMatch>(i % 3);
    if (q.match == PlateMatch::kWildcard) {
      // Replace one or two positions by '?', or a run by '*'.
      int kind = static_cast<int>(rng() % 4);
      size_t pos = 1 + rng() % (p.size() - 1);
      if (kind == 0) {
        p[pos] = U'?';
      } else if (kind == 1) {
        p[pos] = U'?';
        p[1 + rng() % (p.size() - 1)] = U'?';
      } else if (kind == 2) {
        size_t len = 1 + rng() % std::min<size_t>(3, p.size() - pos);
        p.replace(pos, len, U"*");
      } else {
        p = p.substr(0, 2) + U"*" + p.substr(p.size() - 2);  // only the ends remembered
      }
    } else if (q.match == PlateMatch::kFuzzy) {
      // A witness's or reader's version: up to two confusable substitutions.
      for (int k = static_cast<int>(rng() % 3); k > 0; --k) {
        size_t pos = 2 + rng() % (p.size() - 2);
        for (auto g : plate::kConfusableGroups) {
          if (g.find(p[pos]) != std::u32string_view::npos) p[pos] = g[rng() % g.size()];
        }
      }
      q.max_substitutions = static_cast<int>(rng() % 3);
    }
    q.pattern = plate::Encode(p);
    if (rng() % 2) q.pattern.insert(q.pattern.find_first_of("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ?*"), "·");
    q.range = d.RandomRange(rng);
    if (rng() % 3 == 0) q.range = {d.city.options().start_ns, d.city.end_ns()};
    q.cameras = d.RandomCameras(rng, rng() % 4 == 0 ? 8 : 0);
    q.page.limit = std::uniform_int_distribution(1, 40)(rng);
    CAPTURE(q.pattern);
    CAPTURE(static_cast<int>(q.match));
    auto want = BrutePlates(d, q);
    auto got = AllPages<PlateHit>(q, [&](const PlateQuery& x) { return d.store->Plates(x); });
    REQUIRE(got.size() == want.size());
    for (size_t k = 0; k < got.size(); ++k) {
      CAPTURE(k);
      REQUIRE(got[k].read.id == want[k].read.id);
      CHECK(got[k].substitutions == want[k].substitutions);
      CHECK(got[k].read.plate == want[k].read.plate);
      CHECK(got[k].read.camera == want[k].read.camera);
      CHECK(got[k].read.time_ns == want[k].read.time_ns);
      CHECK(got[k].read.color == want[k].read.color);
    }
    nonempty[static_cast<int>(q.match)] += !want.empty();
    for (const auto& h : want) with_subs += h.substitutions > 0;
  }
  CHECK(nonempty[0] > 300);
  CHECK(nonempty[1] > 300);
  CHECK(nonempty[2] > 300);
  CHECK(with_subs > 100);  // fuzzy search found misreads, not just exact plates
}

TEST_CASE("hourly counts per camera and type equal counting the rows") {
  Loaded& d = Data();
  std::mt19937 rng(4);
  for (int i = 0; i < 300; ++i) {
    CountQuery q;
    q.range = d.RandomRange(rng);
    q.cameras = d.RandomCameras(rng, 3);
    if (rng() % 2) q.types = {EventType::kVehicle, EventType::kIntrusion};
    q.page.limit = std::uniform_int_distribution(1, 500)(rng);
    int64_t from = q.range.start_ns - ((q.range.start_ns % kHour) + kHour) % kHour;
    std::map<std::tuple<int64_t, std::string, int>, int64_t> want;
    std::set<std::string> cams(q.cameras.begin(), q.cameras.end());
    for (const auto& e : d.events) {
      // Whole hours: every hour that overlaps the range counts in full.
      int64_t hour = e.start_ns - ((e.start_ns % kHour) + kHour) % kHour;
      if (hour < from || hour >= q.range.end_ns) continue;
      if (!cams.empty() && !cams.count(e.camera)) continue;
      if (!q.types.empty() && std::find(q.types.begin(), q.types.end(), e.type) == q.types.end()) continue;
      ++want[{hour, e.camera, static_cast<int>(e.type)}];
    }
    auto got = AllPages<EventCount>(q, [&](const CountQuery& x) { return d.store->CountEvents(x); });
    std::map<std::tuple<int64_t, std::string, int>, int64_t> have;
    for (const auto& c : got) have[{c.hour_ns, c.camera, static_cast<int>(c.type)}] += c.count;
    CHECK(have == want);
  }
}

TEST_CASE("hourly counts over an open range (since ever, until ever) count every row") {
  Loaded& d = Data();
  CountQuery q;
  q.range = {INT64_MIN, INT64_MAX};
  q.page.limit = 10'000;
  auto got = AllPages<EventCount>(q, [&](const CountQuery& x) { return d.store->CountEvents(x); });
  int64_t total = 0;
  for (const auto& c : got) total += c.count;
  CHECK(total == static_cast<int64_t>(d.events.size()));
}

TEST_CASE("paging while writes continue never repeats or skips a row that was there") {
  vigil::testing::TempDir dir;
  auto store = std::move(OpenSqliteStore(dir / "index.db").value());
  City city(SmallCity());
  for (const auto& c : city.cameras()) REQUIRE(store->UpsertCamera(c).ok());
  std::vector<Event> events;
  city.Events([&](const Event& e) { events.push_back(e); });
  // The first half is in the store before paging starts; the second half is written meanwhile,
  // with times spread over the same range (some behind the cursor, some ahead of it).
  size_t half = events.size() / 2;
  std::set<int64_t> before;
  for (size_t i = 0; i < half; ++i) before.insert(*store->AddEvent(events[i * 2]));
  REQUIRE(store->Flush().ok());
  EventQuery q;
  q.range = {city.options().start_ns, city.end_ns()};
  q.page.limit = 97;
  std::set<int64_t> seen;
  std::pair<int64_t, int64_t> last{INT64_MIN, INT64_MIN};
  bool repeated = false, out_of_order = false;
  size_t written = 0;
  for (;;) {
    auto page = store->Events(q);
    REQUIRE(page.ok());
    for (const auto& e : page->items) {
      repeated |= !seen.insert(e.id).second;
      out_of_order |= std::pair(e.start_ns, e.id) <= last;
      last = std::pair(e.start_ns, e.id);
    }
    if (page->next_token.empty()) break;
    q.page.token = page->next_token;
    // Between pages the recorder goes on writing: the next rows of the second half, committed.
    for (size_t k = 0; k < 120 && written < half; ++k, ++written) {
      REQUIRE(store->AddEvent(events[written * 2 + 1]).ok());
    }
    REQUIRE(store->Flush().ok());
  }
  CHECK_FALSE(repeated);
  CHECK_FALSE(out_of_order);
  size_t missing = 0;
  for (int64_t id : before) missing += !seen.count(id);
  CHECK(missing == 0);
  CHECK(seen.size() > before.size());  // some concurrent rows ahead of the cursor were seen
}

TEST_CASE("bad queries get typed errors naming what was wrong") {
  Loaded& d = Data();
  Store& s = *d.store;
  TimeRange ok{d.city.options().start_ns, d.city.end_ns()};
  auto expect = [](const Status& st, StatusCode code, std::string_view words) {
    CAPTURE(st.ToString());
    CHECK(st.code() == code);
    CHECK(st.message().find(words) != std::string::npos);
  };
  EventQuery q;
  q.range = {ok.end_ns, ok.start_ns};
  expect(s.Events(q).error(), StatusCode::kInvalidArgument, "inverted");
  q.range = {ok.start_ns, ok.start_ns};
  expect(s.Events(q).error(), StatusCode::kInvalidArgument, "empty");
  q.range = ok;
  q.cameras = {"no-such-camera"};
  expect(s.Events(q).error(), StatusCode::kNotFound, "no-such-camera");
  q.cameras = {};
  q.page.limit = 0;
  expect(s.Events(q).error(), StatusCode::kInvalidArgument, "limit");
  q.page.limit = 10;
  q.area = Area{{25, 102.7}, 0, {}};
  expect(s.Events(q).error(), StatusCode::kInvalidArgument, "radius");
  q.area = Area{{25, 102.7}, -5, {}};
  expect(s.Events(q).error(), StatusCode::kInvalidArgument, "radius");
  q.area = Area{{95, 102.7}, 500, {}};
  expect(s.Events(q).error(), StatusCode::kInvalidArgument, "latitude");
  q.area = Area{{}, 0, {{25, 102}, {25.1, 102}}};
  expect(s.Events(q).error(), StatusCode::kInvalidArgument, "3 vertices");
  q.area.reset();
  q.types = {static_cast<EventType>(77)};
  expect(s.Events(q).error(), StatusCode::kInvalidArgument, "77");
  q.types = {};

  // A token from another query, from another kind of query, and a mangled one.
  auto first = s.Events(q);
  REQUIRE(first.ok());
  REQUIRE_FALSE(first->next_token.empty());
  EventQuery other = q;
  other.types = {EventType::kVehicle};
  other.page.token = first->next_token;
  expect(s.Events(other).error(), StatusCode::kInvalidArgument, "another query");
  PlateQuery pq;
  pq.pattern = "云A12345";
  pq.range = ok;
  pq.page.token = first->next_token;
  expect(s.Plates(pq).error(), StatusCode::kInvalidArgument, "events query");
  other = q;
  other.page.token = "events.zz.1";
  expect(s.Events(other).error(), StatusCode::kInvalidArgument, "malformed");
  other.page.token = first->next_token + ".5";
  expect(s.Events(other).error(), StatusCode::kInvalidArgument, "malformed");

  pq.page.token.clear();
  pq.pattern = "云A12#45";
  expect(s.Plates(pq).error(), StatusCode::kInvalidArgument, "'#'");
  pq.match = PlateMatch::kWildcard;
  pq.pattern = "*";
  expect(s.Plates(pq).error(), StatusCode::kInvalidArgument, "at least 2");
  pq.pattern = "";
  expect(s.Plates(pq).error(), StatusCode::kInvalidArgument, "empty");
  pq.match = PlateMatch::kFuzzy;
  pq.pattern = "云A12?45";
  expect(s.Plates(pq).error(), StatusCode::kInvalidArgument, "wildcard");
  pq.pattern = "云A12345";
  pq.max_substitutions = -1;
  expect(s.Plates(pq).error(), StatusCode::kInvalidArgument, "substitutions");

  expect(s.NearestCameras({25, 102.7}, 0).error(), StatusCode::kInvalidArgument, "k = 0");
  expect(s.CamerasIn(Area{{25, 200}, 100, {}}).error(), StatusCode::kInvalidArgument, "longitude");

  Event e;
  e.camera = "nope";
  e.start_ns = ok.start_ns;
  e.end_ns = ok.start_ns;
  expect(s.AddEvent(e).error(), StatusCode::kNotFound, "nope");
  e.camera = d.city.cameras()[0].id;
  e.end_ns = e.start_ns - 1;
  expect(s.AddEvent(e).error(), StatusCode::kInvalidArgument, "before it starts");
  e.end_ns = e.start_ns;
  e.score = 1.5;
  expect(s.AddEvent(e).error(), StatusCode::kInvalidArgument, "score");
  PlateRead r;
  r.camera = e.camera;
  r.plate = "云A12*45";
  expect(s.AddPlateRead(r).error(), StatusCode::kInvalidArgument, "wildcard");

  // The store still answers after all of that.
  CHECK(s.Events(q).ok());
}

TEST_CASE("watchlist, alert states and audit trail keep their history") {
  Loaded& d = Data();
  Store& s = *d.store;
  const std::string cam = d.city.cameras()[3].id;
  auto w = s.AddWatch({0, "云A·D1234", PlateMatch::kFuzzy, 1, "stolen, case 7", "officer.li", 100});
  REQUIRE(w.ok());
  CHECK_FALSE(s.AddWatch({0, "云*", PlateMatch::kWildcard, 0, "too broad", "officer.li", 100}).ok());
  WatchEntry urgent{0, "云A*88", PlateMatch::kWildcard, 0, "armed suspect", "officer.li", 100, 1, 5000};
  auto w2 = s.AddWatch(urgent);
  REQUIRE(w2.ok());
  urgent.priority = 9;
  CHECK(s.AddWatch(urgent).error().message().find("priority 9") != std::string::npos);
  urgent.priority = 1;
  urgent.expires_ns = 50;  // before it was added
  CHECK(s.AddWatch(urgent).error().code() == StatusCode::kInvalidArgument);
  auto list = s.Watchlist();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK(list->at(0).pattern == "云AD1234");
  CHECK(list->at(0).priority == 3);
  CHECK(list->at(0).expires_ns == 0);
  CHECK(list->at(1).priority == 1);
  CHECK(list->at(1).expires_ns == 5000);
  // Matching: fuzzy within its substitutions, wildcard until it expires.
  CHECK(WatchMatches(list->at(0), U"云AD1234", 1'000'000));
  CHECK(WatchMatches(list->at(0), U"云A01234", 1'000'000));   // D read as 0
  CHECK_FALSE(WatchMatches(list->at(0), U"云A0I234", 1'000'000));  // two substitutions
  CHECK(WatchMatches(list->at(1), U"云A12388", 4999));
  CHECK_FALSE(WatchMatches(list->at(1), U"云A12388", 5000));  // expired
  CHECK_FALSE(WatchMatches(list->at(1), U"云B12388", 10));
  REQUIRE(s.RemoveWatch(*w2, "officer.li", 150).ok());

  Alert a;
  a.camera = cam;
  a.time_ns = d.city.options().start_ns + kHour;
  a.kind = "watchlist";
  a.message = "云AD1234 seen";
  a.watch_id = *w;
  auto raised = s.RaiseAlert(a);
  REQUIRE(raised.ok());
  CHECK(raised->raised_ns == a.time_ns);  // not given: when it was seen
  CHECK(raised->zone.empty());           // no zones drawn in this city
  const auto id = &raised->id;
  CHECK(s.SetAlertState(*id, AlertState::kAcknowledged, "op.wang", "dispatching", 200).ok());
  auto bad = s.SetAlertState(*id, AlertState::kAcknowledged, "op.wang", "", 201);
  CHECK(bad.code() == StatusCode::kFailedPrecondition);
  CHECK(bad.message().find("acknowledged") != std::string::npos);
  CHECK(s.SetAlertState(*id, AlertState::kClosed, "op.zhao", "vehicle stopped", 300).ok());
  CHECK(s.SetAlertState(*id, AlertState::kAcknowledged, "op.wang", "", 301).code() ==
        StatusCode::kFailedPrecondition);
  CHECK(s.SetAlertState(*id + 1000, AlertState::kClosed, "op", "", 301).code() == StatusCode::kNotFound);
  AlertQuery aq;
  aq.range = {d.city.options().start_ns, d.city.end_ns()};
  aq.states = {AlertState::kClosed};
  auto alerts = s.Alerts(aq);
  REQUIRE(alerts.ok());
  REQUIRE(alerts->items.size() == 1);
  CHECK(alerts->items[0].state_by == "op.zhao");
  CHECK(alerts->items[0].note == "vehicle stopped");
  CHECK(alerts->items[0].acknowledged_by == "op.wang");
  CHECK(alerts->items[0].acknowledged_ns == 200);
  CHECK(alerts->items[0].closed_by == "op.zhao");
  CHECK(alerts->items[0].closed_ns == 300);
  CHECK(alerts->items[0].camera == cam);
  aq.states = {AlertState::kNew};
  CHECK(s.Alerts(aq)->items.empty());

  CHECK(s.RemoveWatch(*w, "officer.li", 400).ok());
  CHECK(s.RemoveWatch(*w, "officer.li", 401).code() == StatusCode::kNotFound);
  CHECK(s.Watchlist()->empty());

  for (int i = 0; i < 25; ++i) {
    REQUIRE(s.AppendAudit({0, 1000 + i, i % 2 ? "inv.chen" : "inv.liu", "footage", "cams c00001", "", "investigator", ""}).ok());
  }
  AuditQuery q;
  q.range = {0, 5000};
  q.who = "inv.chen";
  q.page.limit = 5;
  auto all = AllPages<AuditEntry>(q, [&](const AuditQuery& x) { return s.Audit(x); });
  CHECK(all.size() == 12);
  for (size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].time_ns > all[i].time_ns);
}

}  // namespace
}  // namespace vigil::index
