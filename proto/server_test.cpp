// The API over real ZeroMQ sockets on loopback: every request kind against the store's own answer,
// bad frames, a client that never reads, concurrent clients, and the PUB socket.

#include "proto/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <random>
#include <thread>

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <zmq.hpp>

#include "index/testing/city.h"
#include "proto/client.h"
#include "proto/convert.h"
#include "proto/remote_store.h"
#include "proto/testing/keys.h"
#include "tests/support/temp_dir.h"

namespace vigil::api {
namespace {

using index::testing::City;

struct Fixture {
  vigil::testing::TempDir dir;
  index::testing::CityOptions options = [] {
    index::testing::CityOptions o;
    o.seed = 3;
    o.cameras = 30;
    o.radius_m = 2000;
    o.days = 1;
    o.events = 5000;
    o.plate_reads = 2000;
    o.vehicles = 200;
    o.checkpoint_share = 0.5;
    return o;
  }();
  City city{options};
  std::unique_ptr<index::Store> store;
  testing::TestKeys keys{dir / "keys"};
  std::map<std::string, UserKey> users;
  std::unique_ptr<Server> server;

  explicit Fixture(const std::function<void(ServerOptions&)>& adjust = {}) {
    store = std::move(index::OpenSqliteStore(dir / "index.db").value());
    for (const auto& c : city.cameras()) REQUIRE(store->UpsertCamera(c).ok());
    city.Events([&](const index::Event& e) { REQUIRE(store->AddEvent(e).ok()); });
    city.PlateReads([&](const index::PlateRead& r) { REQUIRE(store->AddPlateRead(r).ok()); });
    REQUIRE(store->Flush().ok());
    ServerOptions so;
    so.requests = "tcp://127.0.0.1:*";
    so.events = "tcp://127.0.0.1:*";
    so.workers = 3;
    so.max_request_bytes = 64 * 1024;
    so.server_key = keys.server;
    so.keyring = keys.keyring;
    if (adjust) adjust(so);
    const std::string path = dir / "index.db";
    auto started = Server::Start(so, *store, [path]() {
      index::SqliteOptions ro;
      ro.read_only = true;
      return index::OpenSqliteStore(path, ro);
    }, SystemClock());
    REQUIRE(started.ok());
    server = std::move(*started);
  }

  // The user's key, made on first use with `role`.
  const UserKey& Key(const std::string& user, Role role = Role::kAdmin) {
    auto it = users.find(user);
    if (it == users.end()) it = users.emplace(user, keys.Add(user, role)).first;
    return it->second;
  }

  std::unique_ptr<Client> NewClient(const std::string& user = "inv.chen", Role role = Role::kAdmin) {
    auto c = Client::Connect(server->requests_endpoint(), Key(user, role));
    REQUIRE(c.ok());
    return std::move(*c);
  }

  // A subscriber to the events socket as `user`.
  zmq::socket_t Subscriber(zmq::context_t& ctx, const std::string& user, Role role = Role::kOperator) {
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    REQUIRE(UseKey(sub, Key(user, role)).ok());
    sub.set(zmq::sockopt::linger, 0);
    return sub;
  }

  v1::TimeRange All() const {
    v1::TimeRange r;
    r.set_from_ns(options.start_ns);
    r.set_to_ns(city.end_ns());
    return r;
  }
};

TEST_CASE("every query kind answers over the socket what the store answers") {
  Fixture f;
  auto client = f.NewClient();

  v1::Request status;
  status.mutable_status();
  auto st = client->Call(status);
  REQUIRE(st.ok());
  CHECK(st->status().schema_version() == index::SqliteSchemaVersion());

  v1::Request cams;
  cams.mutable_cameras();
  auto cr = client->Call(cams);
  REQUIRE(cr.ok());
  CHECK(cr->cameras().cameras_size() == 30);

  // Events: every page through the API equals every page from the store.
  v1::Request ev;
  *ev.mutable_events()->mutable_range() = f.All();
  ev.mutable_events()->add_cameras(f.city.cameras()[0].id);
  ev.mutable_events()->add_cameras(f.city.cameras()[1].id);
  ev.mutable_events()->add_types("vehicle");
  ev.mutable_events()->mutable_page()->set_limit(25);
  index::EventQuery eq;
  eq.range = FromPb(f.All());
  eq.cameras = {f.city.cameras()[0].id, f.city.cameras()[1].id};
  eq.types = {index::EventType::kVehicle};
  eq.page.limit = 25;
  int pages = 0;
  for (;;) {
    auto got = client->Call(ev);
    REQUIRE(got.ok());
    auto want = f.store->Events(eq);
    REQUIRE(want.ok());
    REQUIRE(got->events().events_size() == static_cast<int>(want->items.size()));
    for (size_t i = 0; i < want->items.size(); ++i) {
      CHECK(got->events().events(static_cast<int>(i)).id() == want->items[i].id);
      CHECK(got->events().events(static_cast<int>(i)).type() == "vehicle");
    }
    CHECK(got->events().next_page_token() == want->next_token);
    ++pages;
    if (want->next_token.empty()) break;
    ev.mutable_events()->mutable_page()->set_page_token(want->next_token);
    eq.page.token = want->next_token;
  }
  CHECK(pages > 1);

  // Place: 5 nearest, then a radius.
  v1::Request place;
  place.mutable_place()->mutable_area()->mutable_center()->set_lat(f.options.center.lat);
  place.mutable_place()->mutable_area()->mutable_center()->set_lon(f.options.center.lon);
  place.mutable_place()->set_nearest(5);
  auto near = client->Call(place);
  REQUIRE(near.ok());
  auto want_near = f.store->NearestCameras(f.options.center, 5);
  REQUIRE(near->place().cameras_size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(near->place().cameras(i).camera().id() == want_near->at(static_cast<size_t>(i)).camera.id);
  }

  // Plates: fuzzy search for a plate that was read.
  const std::string plate = f.city.plates()[0];
  v1::Request pl;
  pl.mutable_plates()->set_pattern(plate);
  pl.mutable_plates()->set_match(v1::FUZZY);
  pl.mutable_plates()->set_max_substitutions(1);
  *pl.mutable_plates()->mutable_range() = f.All();
  auto hits = client->Call(pl);
  REQUIRE(hits.ok());
  index::PlateQuery pq;
  pq.pattern = plate;
  pq.match = index::PlateMatch::kFuzzy;
  pq.max_substitutions = 1;
  pq.range = eq.range;
  auto want_hits = f.store->Plates(pq);
  REQUIRE(want_hits.ok());
  REQUIRE(hits->plates().hits_size() == static_cast<int>(want_hits->items.size()));
  CHECK(hits->plates().hits_size() > 0);

  // Counts and footage (no segments recorded here: empty, not an error).
  v1::Request counts;
  *counts.mutable_counts()->mutable_range() = f.All();
  counts.mutable_counts()->add_cameras(f.city.cameras()[2].id);
  auto cnt = client->Call(counts);
  REQUIRE(cnt.ok());
  int64_t total = 0;
  for (const auto& c : cnt->counts().counts()) total += c.count();
  int64_t want_total = 0;
  index::CountQuery cq;
  cq.range = eq.range;
  cq.cameras = {f.city.cameras()[2].id};
  auto want_counts = f.store->CountEvents(cq);
  REQUIRE(want_counts.ok());
  for (const auto& c : want_counts->items) want_total += c.count;
  CHECK(total == want_total);
  v1::Request fo;
  *fo.mutable_footage()->mutable_range() = f.All();
  auto foot = client->Call(fo);
  REQUIRE(foot.ok());
  CHECK(foot->footage().spans_size() == 0);

  // Watchlist and alerts: written through the node's store, read back through a worker's.
  v1::Request add;
  add.mutable_watchlist_add()->mutable_entry()->set_pattern(plate);
  add.mutable_watchlist_add()->mutable_entry()->set_reason("case 11");
  auto added = client->Call(add);
  REQUIRE(added.ok());
  v1::Request list;
  list.mutable_watchlist();
  auto listed = client->Call(list);
  REQUIRE(listed.ok());
  REQUIRE(listed->watchlist().entries_size() == 1);
  CHECK(listed->watchlist().entries(0).added_by() == "inv.chen");
  index::Alert a;
  a.camera = f.city.cameras()[0].id;
  a.time_ns = f.options.start_ns + 1000;
  a.kind = "watchlist";
  auto alert_id = f.store->RaiseAlert(a);
  REQUIRE(alert_id.ok());
  v1::Request ack;
  ack.mutable_alert_update()->set_id(alert_id->id);
  ack.mutable_alert_update()->set_state("acknowledged");
  REQUIRE(client->Call(ack).ok());
  auto again = client->Call(ack);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == StatusCode::kFailedPrecondition);
  v1::Request alerts;
  *alerts.mutable_alerts()->mutable_range() = f.All();
  auto al = client->Call(alerts);
  REQUIRE(al.ok());
  REQUIRE(al->alerts().alerts_size() == 1);
  CHECK(al->alerts().alerts(0).state() == "acknowledged");
  CHECK(al->alerts().alerts(0).state_by() == "inv.chen");
}

TEST_CASE("bad requests get typed errors and the server keeps serving") {
  Fixture f;
  auto client = f.NewClient();
  auto decode = [](const std::string& bytes) {
    v1::Response r;
    REQUIRE(r.ParseFromString(bytes));
    return r;
  };
  auto garbage = client->CallRaw(std::string("\xff\xff\xff\x07not a protobuf", 17));
  REQUIRE(garbage.ok());
  CHECK(decode(*garbage).error().code() == v1::Error::MALFORMED);

  v1::Request ok;
  ok.set_id(77);
  ok.mutable_status();
  std::string truncated = ok.SerializeAsString();
  v1::Request big;
  big.mutable_plates()->set_pattern(std::string(100, 'A'));
  std::string bytes = big.SerializeAsString();
  auto cut = client->CallRaw(bytes.substr(0, bytes.size() - 10));
  REQUIRE(cut.ok());
  CHECK(decode(*cut).error().code() == v1::Error::MALFORMED);

  auto empty_kind = client->CallRaw(v1::Request().SerializeAsString());
  REQUIRE(empty_kind.ok());
  CHECK(decode(*empty_kind).error().code() == v1::Error::UNKNOWN_REQUEST);

  auto oversized = client->CallRaw(std::string(100 * 1024, 'x'));
  REQUIRE(oversized.ok());
  CHECK(decode(*oversized).error().code() == v1::Error::RESOURCE_EXHAUSTED);

  v1::Request unknown_cam;
  *unknown_cam.mutable_events()->mutable_range() = f.All();
  unknown_cam.mutable_events()->add_cameras("no-such-camera");
  auto uc = client->Call(unknown_cam);
  REQUIRE_FALSE(uc.ok());
  CHECK(uc.error().code() == StatusCode::kNotFound);
  CHECK(uc.error().message().find("no-such-camera") != std::string::npos);

  v1::Request inverted;
  inverted.mutable_events()->mutable_range()->set_from_ns(100);
  inverted.mutable_events()->mutable_range()->set_to_ns(50);
  auto inv = client->Call(inverted);
  REQUIRE_FALSE(inv.ok());
  CHECK(inv.error().code() == StatusCode::kInvalidArgument);

  v1::Request bad_type;
  *bad_type.mutable_events()->mutable_range() = f.All();
  bad_type.mutable_events()->add_types("dragon");
  CHECK(client->Call(bad_type).error().message().find("dragon") != std::string::npos);

  auto still = client->CallRaw(truncated);
  REQUIRE(still.ok());
  CHECK(decode(*still).id() == 77);
  CHECK(decode(*still).has_status());
}

TEST_CASE("50 clients at once: one floods requests and never reads its replies, the 49 others are answered") {
  Fixture f;
  // The greedy client floods requests and never reads.
  zmq::context_t ctx(1);
  zmq::socket_t greedy(ctx, zmq::socket_type::dealer);
  REQUIRE(UseKey(greedy, f.Key("inv.greedy", Role::kInvestigator)).ok());
  greedy.set(zmq::sockopt::linger, 0);
  greedy.connect(f.server->requests_endpoint());
  v1::Request ev;
  *ev.mutable_events()->mutable_range() = f.All();
  ev.mutable_events()->mutable_page()->set_limit(500);
  std::string flood = ev.SerializeAsString();
  for (int i = 0; i < 3000; ++i) (void)greedy.send(zmq::buffer(flood), zmq::send_flags::dontwait);

  std::atomic<int> answered = 0, failed = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 49; ++t) f.Key("op" + std::to_string(t), Role::kOperator);
  for (int t = 0; t < 49; ++t) {
    threads.emplace_back([&, t] {
      auto c = Client::Connect(f.server->requests_endpoint(), f.users.at("op" + std::to_string(t)));
      if (!c.ok()) return (void)++failed;
      v1::Request q;
      q.mutable_place()->mutable_area()->mutable_center()->set_lat(f.options.center.lat);
      q.mutable_place()->mutable_area()->mutable_center()->set_lon(f.options.center.lon);
      q.mutable_place()->set_nearest(3);
      for (int i = 0; i < 10; ++i) {
        auto r = (*c)->Call(q, std::chrono::seconds(30));
        r.ok() ? ++answered : ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failed == 0);
  CHECK(answered == 490);
}

TEST_CASE("a client sending large requests faster than they are served: the server holds at most 32 MB of them") {
  Fixture f;
  zmq::context_t ctx(1);
  zmq::socket_t greedy(ctx, zmq::socket_type::dealer);
  REQUIRE(UseKey(greedy, f.Key("inv.greedy", Role::kInvestigator)).ok());
  greedy.set(zmq::sockopt::linger, 0);
  greedy.connect(f.server->requests_endpoint());
  v1::Request ev;
  *ev.mutable_events()->mutable_range() = f.All();
  ev.mutable_events()->mutable_page()->set_limit(500);
  // 60 zone names of 1,000 bytes: within every field limit and under max_request_bytes (64 KiB).
  for (int i = 0; i < 60; ++i) ev.mutable_events()->add_zones(std::string(1000, 'a' + i % 26));
  const std::string big = ev.SerializeAsString();
  REQUIRE(big.size() > 60'000);
  REQUIRE(big.size() <= 64 * 1024);
  // 900 requests: under the count limit (1,000 waiting per client), 54 MB in all.
  const int kSent = 900;
  for (int i = 0; i < kSent; ++i) REQUIRE(greedy.send(zmq::buffer(big), zmq::send_flags::none));
  int busy = 0, other = 0, replies = 0;
  std::string busy_message;
  while (replies < kSent) {
    zmq::pollitem_t item{greedy.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::seconds(60)) == 0) break;
    zmq::message_t m;
    REQUIRE(greedy.recv(m));
    ++replies;
    v1::Response r;
    REQUIRE(r.ParseFromArray(m.data(), static_cast<int>(m.size())));
    if (r.has_error() && r.error().code() == v1::Error::UNAVAILABLE) {
      ++busy;
      busy_message = r.error().message();
    } else {
      ++other;
    }
  }
  INFO(busy_message);
  CHECK(replies == kSent);  // every request is answered: served, or refused at once
  CHECK(busy > 0);
  CHECK(busy_message.find("of them") != std::string::npos);
  CHECK(busy_message.find("MB) yours") != std::string::npos);
  MESSAGE(busy << " of " << kSent << " large requests refused while waiting; " << other << " served");
  // Others are still served.
  auto op = f.NewClient("op.after", Role::kOperator);
  v1::Request st;
  st.mutable_status();
  CHECK(op->Call(st).ok());
}

TEST_CASE("subscribers get live messages by topic, numbered in order") {
  Fixture f;
  zmq::context_t ctx(1);
  zmq::socket_t sub = f.Subscriber(ctx, "op.room");
  sub.set(zmq::sockopt::subscribe, "alert.");
  sub.set(zmq::sockopt::rcvtimeo, 200);
  sub.connect(f.server->events_endpoint());
  // PUB/SUB joins asynchronously: publish until the subscriber hears, then check order.
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 100 && seqs.size() < 5; ++i) {
    v1::LiveMessage ev;
    ev.mutable_event()->set_camera("c00001");
    f.server->Publish("event.c00001", ev);  // not subscribed: must not arrive
    v1::LiveMessage al;
    al.mutable_alert()->set_camera("c00001");
    al.mutable_alert()->set_kind("watchlist");
    f.server->Publish("alert.c00001", al);
    zmq::message_t topic, body;
    while (sub.recv(topic)) {
      REQUIRE(topic.more());
      REQUIRE(sub.recv(body));
      CHECK(topic.to_string() == "alert.c00001");
      v1::LiveMessage m;
      REQUIRE(m.ParseFromArray(body.data(), static_cast<int>(body.size())));
      CHECK(m.has_alert());
      seqs.push_back(m.sequence());
    }
  }
  REQUIRE(seqs.size() >= 5);
  for (size_t i = 1; i < seqs.size(); ++i) CHECK(seqs[i] > seqs[i - 1]);
}

TEST_CASE("an alert in a response zone goes to its units, and its steps are published and counted") {
  Fixture f;
  const index::Camera& cam = f.city.cameras()[3];
  auto admin = f.NewClient("sgt.he");
  // A zone around camera 3 (about 220 m square) with two units, set through the API.
  v1::Request zq;
  auto* z = zq.mutable_zone_upsert()->mutable_zone();
  z->set_id("z-017");
  z->set_name("Dianchi Rd station");
  for (auto [dlat, dlon] : {std::pair{-0.001, -0.001}, {-0.001, 0.001}, {0.001, 0.001}, {0.001, -0.001}}) {
    auto* v = z->add_polygon();
    v->set_lat(cam.lat + dlat);
    v->set_lon(cam.lon + dlon);
  }
  z->add_units("P-07");
  z->add_units("P-08");
  REQUIRE(admin->Call(zq).ok());
  v1::Request bad = zq;
  bad.mutable_zone_upsert()->mutable_zone()->add_units("P-07");
  auto refused = admin->Call(bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == StatusCode::kInvalidArgument);
  CHECK(refused.error().message().find("unit P-07 is listed twice") != std::string::npos);
  v1::Request list;
  list.mutable_zones();
  auto zones = admin->Call(list);
  REQUIRE(zones.ok());
  REQUIRE(zones->zones().zones_size() == 1);
  CHECK(zones->zones().zones(0).updated_by() == "sgt.he");
  CHECK(zones->zones().zones(0).units_size() == 2);

  index::Alert a;
  a.camera = cam.id;
  a.time_ns = f.options.start_ns + 5000;
  a.raised_ns = a.time_ns + 30'000'000;
  a.kind = "watchlist";
  a.message = "云A12345 on the watchlist";
  auto raised = f.store->RaiseAlert(a);
  REQUIRE(raised.ok());
  CHECK(raised->zone == "z-017");
  CHECK(raised->units == std::vector<std::string>{"P-07", "P-08"});
  zmq::context_t ctx(1);
  zmq::socket_t sub = f.Subscriber(ctx, "unit.p07", Role::kDispatch);
  sub.set(zmq::sockopt::subscribe, "alert." + a.camera);
  sub.set(zmq::sockopt::subscribe, "unit.P-07");
  sub.connect(f.server->events_endpoint());
  // Wait until the subscription has joined: a probe message on the same topic arrives.
  bool joined = false;
  for (int i = 0; i < 100 && !joined; ++i) {
    v1::LiveMessage probe;
    probe.mutable_alert()->set_id(-1);
    f.server->Publish("alert." + a.camera, probe);
    zmq::message_t t, b;
    sub.set(zmq::sockopt::rcvtimeo, 50);
    if (sub.recv(t)) {
      REQUIRE(sub.recv(b));
      joined = true;
    }
  }
  REQUIRE(joined);
  sub.set(zmq::sockopt::rcvtimeo, 3000);
  auto client = f.NewClient("op.li", Role::kOperator);
  std::vector<std::string> states;
  for (const char* state : {"acknowledged", "closed"}) {
    v1::Request u;
    u.mutable_alert_update()->set_id(raised->id);
    u.mutable_alert_update()->set_state(state);
    u.mutable_alert_update()->set_note("patrol 12 sent");
    REQUIRE(client->Call(u).ok());
    std::vector<std::string> topics;  // the unit's copy first, then the monitoring room's
    while (topics.size() < 2) {
      zmq::message_t t, b;
      REQUIRE(sub.recv(t));
      REQUIRE(sub.recv(b));
      v1::LiveMessage m;
      REQUIRE(m.ParseFromArray(b.data(), static_cast<int>(b.size())));
      if (m.alert().id() != raised->id) continue;  // a late probe
      topics.push_back(t.to_string());
      CHECK(m.alert().state_by() == "op.li");
      CHECK(m.alert().note() == "patrol 12 sent");
      CHECK(m.alert().message() == a.message);
      CHECK(m.alert().zone() == "z-017");
      CHECK(m.alert().raised_ns() == a.raised_ns);
      CHECK(m.alert().acknowledged_by() == "op.li");
      if (topics.size() == 1) states.push_back(m.alert().state());
    }
    CHECK(topics == std::vector<std::string>{"unit.P-07", "alert." + a.camera});
  }
  CHECK(states == std::vector<std::string>{"acknowledged", "closed"});

  // The zone's response times, over the API.
  v1::Request sq;
  *sq.mutable_alert_stats()->mutable_range() = f.All();
  sq.mutable_alert_stats()->add_zones("z-017");
  auto stats = client->Call(sq);
  REQUIRE(stats.ok());
  CHECK(stats->alert_stats().within_ns() == 180 * kNsPerSec);
  REQUIRE(stats->alert_stats().rows_size() == 2);  // "*" and z-017
  const auto& row = stats->alert_stats().rows(1);
  CHECK(row.zone() == "z-017");
  CHECK(row.raised() == 1);
  CHECK(row.responded() == 1);
  CHECK(row.closed() == 1);
  // Acknowledged now, months after the synthetic day it was raised on: well past the target.
  CHECK(row.within() == 0);
  CHECK(row.decided() == 1);
  sq.mutable_alert_stats()->set_period_ns(-5);
  auto inverted = client->Call(sq);
  REQUIRE_FALSE(inverted.ok());
  CHECK(inverted.error().code() == StatusCode::kInvalidArgument);

  // And the zone goes; its alerts keep its id.
  v1::Request rm;
  rm.mutable_zone_remove()->set_id("z-017");
  REQUIRE(admin->Call(rm).ok());
  auto again = admin->Call(rm);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == StatusCode::kNotFound);
}

TEST_CASE("a footage query is written to the audit trail with who asked") {
  Fixture f;
  auto client = f.NewClient("inv.wang", Role::kInvestigator);
  v1::Request q;
  *q.mutable_footage()->mutable_range() = f.All();
  q.mutable_footage()->add_cameras(f.city.cameras()[1].id);
  REQUIRE(client->Call(q).ok());
  index::AuditQuery aq;
  aq.range = {INT64_MIN, INT64_MAX};
  aq.who = "inv.wang";
  REQUIRE(f.store->Flush().ok());  // audit rows are queued with the writer's next batch
  auto audit = f.store->Audit(aq);
  REQUIRE(audit.ok());
  REQUIRE(audit->items.size() == 1);
  CHECK(audit->items[0].action == "footage");
  CHECK(audit->items[0].detail.find(f.city.cameras()[1].id) != std::string::npos);
}


namespace vigil::api {
namespace {

TEST_CASE("the Store interface over the API answers what the local store answers") {
  Fixture f;
  auto remote = MakeRemoteStore(f.NewClient("inv.remote"));
  std::mt19937 rng(4);
  for (int i = 0; i < 40; ++i) {
    index::EventQuery q;
    int64_t a = f.options.start_ns + static_cast<int64_t>(rng() % 80'000) * 1'000'000'000;
    q.range = {a, a + 3'600'000'000'000};
    if (i % 2) q.cameras = {f.city.cameras()[rng() % 30].id, f.city.cameras()[rng() % 30].id};
    if (i % 3 == 0) q.area = index::Area{f.options.center, 1500, {}};
    if (i % 5 == 0) q.types = {index::EventType::kPerson};
    q.newest_first = i % 4 == 0;
    q.page.limit = 7;
    for (int page = 0; page < 3; ++page) {
      auto local = f.store->Events(q);
      auto over = remote->Events(q);
      REQUIRE(local.ok());
      REQUIRE(over.ok());
      REQUIRE(over->items.size() == local->items.size());
      for (size_t k = 0; k < local->items.size(); ++k) {
        CHECK(over->items[k].id == local->items[k].id);
        CHECK(over->items[k].camera == local->items[k].camera);
        CHECK(over->items[k].start_ns == local->items[k].start_ns);
        CHECK(over->items[k].type == local->items[k].type);
        CHECK(over->items[k].box == local->items[k].box);
      }
      CHECK(over->next_token == local->next_token);
      if (local->next_token.empty()) break;
      q.page.token = local->next_token;
    }
  }
  index::PlateQuery pq;
  pq.pattern = f.city.plates()[1];
  pq.match = index::PlateMatch::kFuzzy;
  pq.max_substitutions = 2;
  pq.range = {f.options.start_ns, f.city.end_ns()};
  auto lp = f.store->Plates(pq);
  auto rp = remote->Plates(pq);
  REQUIRE(lp.ok());
  REQUIRE(rp.ok());
  REQUIRE(rp->items.size() == lp->items.size());
  for (size_t k = 0; k < lp->items.size(); ++k) {
    CHECK(rp->items[k].read.id == lp->items[k].read.id);
    CHECK(rp->items[k].read.plate == lp->items[k].read.plate);
    CHECK(rp->items[k].read.color == lp->items[k].read.color);
    CHECK(rp->items[k].substitutions == lp->items[k].substitutions);
  }
  auto ln = f.store->NearestCameras(f.options.center, 4);
  auto rn = remote->NearestCameras(f.options.center, 4);
  REQUIRE(rn.ok());
  REQUIRE(rn->size() == 4);
  for (size_t k = 0; k < 4; ++k) CHECK(rn->at(k).camera.id == ln->at(k).camera.id);
  index::CountQuery cq;
  cq.range = pq.range;
  cq.page.limit = 10'000;
  auto lc = f.store->CountEvents(cq);
  auto rc = remote->CountEvents(cq);
  REQUIRE(rc.ok());
  CHECK(rc->items.size() == lc->items.size());
  CHECK(remote->Cameras()->size() == 30);
  // What a remote client cannot do is refused by name, not half-done.
  auto seg = remote->Segments({});
  REQUIRE_FALSE(seg.ok());
  CHECK(seg.error().code() == StatusCode::kFailedPrecondition);
  CHECK(remote->AddEvent(index::Event{}).error().code() == StatusCode::kFailedPrecondition);
  // Errors travel with their kind.
  index::EventQuery bad;
  bad.range = {10, 5};
  CHECK(remote->Events(bad).error().code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::api

// ---- Security: identity, roles, audit, limits ---------------------------------------------------

namespace {

// A request of `kind` with its body left empty: enough to pass or fail the role check.
v1::Request EmptyOfKind(int field_number) {
  v1::Request q;
  const auto* field = v1::Request::descriptor()->FindFieldByNumber(field_number);
  REQUIRE(field);
  (void)q.GetReflection()->MutableMessage(&q, field);
  return q;
}

}  // namespace

TEST_CASE("without an authorised key nothing is answered: no key, an unknown key, a revoked key") {
  Fixture f;
  const int64_t before = f.server->answered();
  // A plain ZeroMQ client (what a client generated from vigil.proto does by default).
  zmq::context_t ctx(1);
  zmq::socket_t plain(ctx, zmq::socket_type::dealer);
  plain.set(zmq::sockopt::linger, 0);
  plain.set(zmq::sockopt::rcvtimeo, 1500);
  plain.connect(f.server->requests_endpoint());
  v1::Request q;
  q.mutable_cameras();
  REQUIRE(plain.send(zmq::buffer(q.SerializeAsString()), zmq::send_flags::dontwait));
  zmq::message_t m;
  CHECK_FALSE(plain.recv(m));

  // A CURVE client with a key the server never authorised: refused at the handshake, and told so.
  UserKey stranger;
  stranger.user = "stranger";
  stranger.pair = NewKeyPair();
  stranger.server_key = f.keys.server.public_key;
  auto c = Client::Connect(f.server->requests_endpoint(), stranger);
  REQUIRE(c.ok());
  auto refused = (*c)->Call(q, std::chrono::seconds(5));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == StatusCode::kUnauthenticated);
  CHECK(f.server->answered() == before);

  // A subscriber without a key hears nothing, though alerts are published.
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::rcvtimeo, 50);
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect(f.server->events_endpoint());
  for (int i = 0; i < 20; ++i) {
    v1::LiveMessage al;
    al.mutable_alert()->set_camera("c00001");
    f.server->Publish("alert.c00001", al);
    CHECK_FALSE(sub.recv(m));
  }

  // A key revoked while its connection is open: refused from the next request, no restart.
  auto inv = f.NewClient("inv.gone", Role::kInvestigator);
  REQUIRE(inv->Call(q).ok());
  REQUIRE(Keyring::Revoke(f.keys.authorized, "inv.gone", SystemClock().WallNs()).ok());
  auto after = inv->Call(q);
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().code() == StatusCode::kUnauthenticated);
  // ... and a new connection with it is refused at the handshake.
  auto again = Client::Connect(f.server->requests_endpoint(), f.users.at("inv.gone"));
  REQUIRE(again.ok());
  auto r2 = (*again)->Call(q, std::chrono::seconds(5));
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().code() == StatusCode::kUnauthenticated);
}

TEST_CASE("every request kind with every role: allowed exactly as the table says, refusals audited") {
  Fixture f;
  int checked = 0;
  for (Role role : kAllRoles) {
    auto client = f.NewClient(fmt::format("user.{}", RoleName(role)), role);
    for (const auto& rule : AccessRules()) {
      v1::Request q = EmptyOfKind(static_cast<int>(rule.kind));
      auto r = client->Call(q);
      // Refused by the role table (dispatch's export_clip passes it and is then checked for being
      // an alert's clip: an empty request is not).
      const bool denied = !r.ok() && r.error().code() == StatusCode::kPermissionDenied &&
                          r.error().message().find("is not allowed") != std::string::npos;
      INFO(RoleName(role), " ", rule.request, ": ", r.ok() ? std::string("ok") : r.error().ToString());
      CHECK(denied != Allowed(role, rule.kind));
      if (!r.ok()) CHECK(r.error().code() != StatusCode::kUnauthenticated);
      if (denied) {
        CHECK(r.error().message().find(std::string(RoleName(role))) != std::string::npos);
      }
      ++checked;
    }
  }
  CHECK(checked == 4 * 21);
  // Each refusal left a row naming the user, role and request.
  index::AuditQuery aq;
  aq.range = {INT64_MIN, INT64_MAX};
  aq.who = "user.dispatch";
  aq.page.limit = 1000;
  REQUIRE(f.store->Flush().ok());  // audit rows are queued with the writer's next batch
  auto rows = f.store->Audit(aq);
  REQUIRE(rows.ok());
  int denied_rows = 0;
  for (const auto& e : rows->items) {
    if (e.action.starts_with("denied:")) {
      ++denied_rows;
      CHECK(e.role == "dispatch");
    }
  }
  int expected = 0;
  for (const auto& rule : AccessRules()) expected += !Allowed(Role::kDispatch, rule.kind);
  CHECK(denied_rows == expected);
}

TEST_CASE("the user recorded is the key's holder, never the name a request claims") {
  Fixture f;
  auto op = f.NewClient("op.zhang", Role::kOperator);
  index::Alert a;
  a.camera = f.city.cameras()[0].id;
  a.time_ns = f.options.start_ns + 1000;
  a.kind = "watchlist";
  a.message = "test";
  auto raised = f.store->RaiseAlert(a);
  REQUIRE(raised.ok());
  v1::Request u;
  u.set_user("Commissioner");
  u.set_role("admin");
  u.mutable_alert_update()->set_id(raised->id);
  u.mutable_alert_update()->set_state("acknowledged");
  REQUIRE(op->Call(u).ok());
  index::AlertQuery aq;
  aq.range = {INT64_MIN, INT64_MAX};
  aq.id = raised->id;
  auto got = f.store->Alerts(aq);
  REQUIRE(got.ok());
  REQUIRE(got->items.size() == 1);
  CHECK(got->items[0].acknowledged_by == "op.zhang");
  // Claiming admin changes nothing: an operator may not change zones.
  v1::Request z;
  z.set_role("admin");
  z.mutable_zone_upsert()->mutable_zone()->set_id("z-nobody");
  auto refused = op->Call(z);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == StatusCode::kPermissionDenied);
}

TEST_CASE("subscriptions are filtered by role: dispatch hears alerts and units only, investigators nothing live") {
  Fixture f;
  zmq::context_t ctx(1);
  zmq::socket_t op = f.Subscriber(ctx, "op.room", Role::kOperator);
  zmq::socket_t dispatch_all = f.Subscriber(ctx, "dispatch.all", Role::kDispatch);
  zmq::socket_t dispatch_alerts = f.Subscriber(ctx, "dispatch.alerts", Role::kDispatch);
  zmq::socket_t inv = f.Subscriber(ctx, "inv.live", Role::kInvestigator);
  op.set(zmq::sockopt::subscribe, "");
  dispatch_all.set(zmq::sockopt::subscribe, "");        // refused: would match event.*
  dispatch_alerts.set(zmq::sockopt::subscribe, "alert.");
  inv.set(zmq::sockopt::subscribe, "alert.");           // refused: no live topics
  for (auto* s : {&op, &dispatch_all, &dispatch_alerts, &inv}) {
    s->set(zmq::sockopt::rcvtimeo, 20);
    s->connect(f.server->events_endpoint());
  }
  std::map<std::string, std::set<std::string>> heard;
  auto drain = [&](zmq::socket_t& s, const std::string& who) {
    zmq::message_t t, b;
    while (s.recv(t)) {
      REQUIRE(s.recv(b));
      heard[who].insert(t.to_string());
    }
  };
  for (int i = 0; i < 150 && !(heard["op"].size() == 2 && heard["dispatch.alerts"].size() == 1); ++i) {
    v1::LiveMessage ev;
    ev.mutable_event()->set_camera("c00001");
    f.server->Publish("event.c00001", ev);
    v1::LiveMessage al;
    al.mutable_alert()->set_camera("c00001");
    f.server->Publish("alert.c00001", al);
    drain(op, "op");
    drain(dispatch_all, "dispatch.all");
    drain(dispatch_alerts, "dispatch.alerts");
    drain(inv, "inv");
  }
  CHECK(heard["op"] == std::set<std::string>{"alert.c00001", "event.c00001"});
  CHECK(heard["dispatch.alerts"] == std::set<std::string>{"alert.c00001"});
  CHECK(heard["dispatch.all"].empty());
  CHECK(heard["inv"].empty());
}

TEST_CASE("the audit trail is hash-chained: an edit in the database is found, and only admins read it") {
  Fixture f;
  auto inv = f.NewClient("inv.liu", Role::kInvestigator);
  for (int i = 0; i < 5; ++i) {
    v1::Request q;
    *q.mutable_footage()->mutable_range() = f.All();
    q.mutable_footage()->add_cameras(f.city.cameras()[i].id);
    REQUIRE(inv->Call(q).ok());
  }
  v1::Request audit;
  audit.mutable_audit()->mutable_range()->set_from_ns(0);
  audit.mutable_audit()->mutable_range()->set_to_ns(INT64_MAX);
  audit.mutable_audit()->set_verify(true);
  auto denied = inv->Call(audit);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().code() == StatusCode::kPermissionDenied);
  auto admin = f.NewClient("admin.ma", Role::kAdmin);
  auto r = admin->Call(audit);
  REQUIRE(r.ok());
  const auto& v = r->audit().verification();
  CHECK(v.intact());
  CHECK(v.rows() >= 6);
  CHECK(v.unchained() == 0);
  int footage = 0;
  for (const auto& row : r->audit().rows()) {
    if (row.action() == "footage" && row.user() == "inv.liu") {
      ++footage;
      CHECK(row.role() == "investigator");
      CHECK(row.hash().size() == 64);
    }
  }
  CHECK(footage == 5);
  // Someone with the database file changes who asked: the chain breaks at that row.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((f.dir / "index.db").c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "UPDATE audit SET who = 'nobody' WHERE id = 3", nullptr, nullptr, nullptr) ==
        SQLITE_OK);
  sqlite3_close(db);
  auto after = f.store->VerifyAudit();
  REQUIRE(after.ok());
  CHECK_FALSE(after->intact);
  CHECK(after->first_bad_id == 3);
}

TEST_CASE("a camera changed over the API keeps what the change does not name; no password is stored") {
  Fixture f;
  auto admin = f.NewClient("admin.ma", Role::kAdmin);
  const index::Camera before = f.city.cameras()[3];
  REQUIRE((before.lat != 0 || before.lon != 0));
  auto find = [&](const std::string& id) {
    auto cams = f.store->Cameras();
    REQUIRE(cams.ok());
    for (const auto& c : *cams) {
      if (c.id == id) return c;
    }
    FAIL("camera " << id << " not found");
    return index::Camera{};
  };
  // A rename names only the name: the camera stays where it is (in its response zone), with its URLs.
  v1::Request rename;
  rename.mutable_upsert_camera()->mutable_camera()->set_id(before.id);
  rename.mutable_upsert_camera()->mutable_camera()->set_name("North gate, renamed");
  REQUIRE(admin->Call(rename).ok());
  index::Camera now = find(before.id);
  CHECK(now.name == "North gate, renamed");
  CHECK(now.lat == before.lat);
  CHECK(now.lon == before.lon);
  CHECK(now.main_url == before.main_url);
  CHECK(now.tags == before.tags);
  // A move names only the position.
  v1::Request move;
  move.mutable_upsert_camera()->mutable_camera()->set_id(before.id);
  move.mutable_upsert_camera()->mutable_camera()->set_lat(before.lat + 0.001);
  move.mutable_upsert_camera()->mutable_camera()->set_lon(before.lon);
  REQUIRE(admin->Call(move).ok());
  now = find(before.id);
  CHECK(now.name == "North gate, renamed");
  CHECK(now.lat == doctest::Approx(before.lat + 0.001));
  // A password in a camera URL is refused (every role lists cameras), and the audit row of the
  // refused request does not keep it either.
  v1::Request pw;
  auto* cam = pw.mutable_upsert_camera()->mutable_camera();
  cam->set_id("cam-new");
  cam->set_main_url("rtsp://admin:Hik12345@10.1.4.31:554/Streaming/Channels/101");
  cam->set_lat(24.88);
  cam->set_lon(102.83);
  auto refused = admin->Call(pw);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == StatusCode::kInvalidArgument);
  CHECK(refused.error().message().find("carries no password") != std::string::npos);
  CHECK(refused.error().message().find("Hik12345") == std::string::npos);
  auto cams = f.store->Cameras();
  REQUIRE(cams.ok());
  for (const auto& c : *cams) CHECK(c.id != "cam-new");
  v1::Request audit;
  audit.mutable_audit()->mutable_range()->set_from_ns(0);
  audit.mutable_audit()->mutable_range()->set_to_ns(INT64_MAX);
  auto rows = admin->Call(audit);
  REQUIRE(rows.ok());
  bool seen = false;
  for (const auto& row : rows->audit().rows()) {
    CHECK(row.detail().find("Hik12345") == std::string::npos);
    if (row.detail().find("cam-new") != std::string::npos) {
      seen = true;
      CHECK(row.detail().find("rtsp://admin:***@10.1.4.31:554/") != std::string::npos);
    }
  }
  CHECK(seen);
}

TEST_CASE("RedactUrlPasswords hides passwords in any URL of a text and nothing else") {
  CHECK(RedactUrlPasswords("main_url: \"rtsp://op:s3cr%3At@cam/x\" sub_url: \"rtsp://cam/y\"") ==
        "main_url: \"rtsp://op:***@cam/x\" sub_url: \"rtsp://cam/y\"");
  CHECK(RedactUrlPasswords("rtsp://a:b@h rtsp://c:d@e/f") == "rtsp://a:***@h rtsp://c:***@e/f");
  CHECK(RedactUrlPasswords("rtsp://user@h/x") == "rtsp://user@h/x");
  CHECK(RedactUrlPasswords("note: 10:30 a@b") == "note: 10:30 a@b");
  CHECK(RedactUrlPasswords("rtsp://h:554/x@y") == "rtsp://h:554/x@y");
  CHECK(RedactUrlPasswords("rtsp://u:p@ss@h/x") == "rtsp://u:***@h/x");
  CHECK_FALSE(HasUrlPassword("rtsp://10.0.0.1:554/live"));
  CHECK(HasUrlPassword("rtsps://u:p@10.0.0.1/live"));
}

TEST_CASE("hostile field values are refused by name, and nothing grows with them") {
  Fixture f;
  auto inv = f.NewClient("inv.chen", Role::kInvestigator);
  v1::Request huge;
  *huge.mutable_footage()->mutable_range() = f.All();
  huge.mutable_footage()->add_cameras(std::string(60'000, 'x'));
  auto r = inv->Call(huge);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == StatusCode::kInvalidArgument);
  CHECK(r.error().message().find("footage.cameras[0]") != std::string::npos);
  CHECK(r.error().message().size() < 200);
  v1::Request forged;
  *forged.mutable_events()->mutable_range() = f.All();
  forged.mutable_events()->add_cameras("cam1\n[info] admin logged in");
  auto fr = inv->Call(forged);
  REQUIRE_FALSE(fr.ok());
  CHECK(fr.error().message().find("control character") != std::string::npos);
  index::AuditQuery aq;
  aq.range = {INT64_MIN, INT64_MAX};
  aq.page.limit = 1000;
  REQUIRE(f.store->Flush().ok());  // audit rows are queued with the writer's next batch
  auto rows = f.store->Audit(aq);
  REQUIRE(rows.ok());
  for (const auto& e : rows->items) CHECK(e.detail.size() <= 2100);
}

TEST_CASE("connections beyond the cap per peer are closed at once; authorised clients still connect") {
  Fixture f([](ServerOptions& so) { so.max_connections_per_peer = 20; });
  const std::string ep = f.server->requests_endpoint();  // tcp://127.0.0.1:PORT
  const int port = std::stoi(ep.substr(ep.rfind(':') + 1));
  // 60 idle TCP connections that never say a word, as an attacker's would.
  std::vector<int> fds;
  for (int i = 0; i < 60; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    fds.push_back(fd);
  }
  // Those beyond the cap are closed by the server: the next read sees the end of the stream (the
  // ones within it are left alone until their handshake times out).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int closed = 0;
  for (int fd : fds) {
    char buf[64];
    timeval tv{0, 200'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    // ZMTP greets first (a few bytes), then the end of the stream when it was refused.
    while (n > 0) n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) ++closed;
  }
  CHECK(closed >= 40);
  CHECK(closed <= 41);
  for (int fd : fds) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // The attacker's connections are gone: an authorised client connects and is answered.
  auto client = f.NewClient("op.after", Role::kOperator);
  v1::Request q;
  q.mutable_cameras();
  CHECK(client->Call(q).ok());
}

}  // namespace
}  // namespace vigil::api
