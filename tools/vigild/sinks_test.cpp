// vigild's sinks on their own: detections in, index rows, pictures and live messages out, with a real
// SQLite index in a temporary directory and a clock the test moves.

#include <filesystem>

#include <doctest/doctest.h>

#include "base/clock.h"
#include "base/fs.h"
#include "index/store.h"
#include "tests/support/temp_dir.h"
#include "tools/vigild/event_sink.h"
#include "tools/vigild/plate_sink.h"

namespace vigil::vigild {
namespace {

constexpr int64_t kT0 = 1'796'000'000LL * kNsPerSec;  // a wall time in 2026

class FakeClock final : public Clock {
 public:
  int64_t WallNs() const override { return wall; }
  int64_t MonotonicNs() const override { return wall - kT0; }
  int64_t wall = kT0;
};

Frame FrameAt(const std::string& camera, int64_t ns) {
  Frame f;
  f.camera = camera;
  f.wall_ns = ns;
  f.bgr = cv::Mat(360, 640, CV_8UC3, cv::Scalar(90, 100, 110));
  return f;
}

std::unique_ptr<index::Store> OpenStore(const testing::TempDir& dir, const std::vector<std::string>& cameras) {
  auto store = std::move(index::OpenSqliteStore(dir / "index.db").value());
  for (const auto& id : cameras) {
    index::Camera c;
    c.id = id;
    c.main_url = "rtsp://127.0.0.1/" + id;
    REQUIRE(store->UpsertCamera(c).ok());
  }
  return store;
}

std::vector<index::Event> AllEvents(index::Store& store) {
  REQUIRE(store.Flush().ok());  // events are queued writes
  index::EventQuery q;
  q.range = {kT0 - 3600 * kNsPerSec, kT0 + 3600 * kNsPerSec};
  auto page = store.Events(q);
  REQUIRE(page.ok());
  return page->items;
}

analytics::Detection Pass(const std::string& plate, int64_t end_ns, int64_t key) {
  analytics::Detection d;
  d.phase = analytics::Phase::kInstant;
  d.type = EventType::kVehicle;
  d.start_ns = end_ns - 2 * kNsPerSec;
  d.end_ns = end_ns;
  d.track = key;
  d.key = key;
  d.score = 0.9;
  d.box = {300, 200, 120, 40};
  d.plate = analytics::Detection::Plate{plate, "blue", 0.93, 6, end_ns - kNsPerSec};
  return d;
}

}  // namespace

TEST_CASE("the event sink stores an event when it starts, sets its end when it ends, and publishes both") {
  testing::TempDir dir;
  auto store = OpenStore(dir, {"cam1", "cam2"});
  std::vector<std::pair<index::Event, bool>> published;
  EventSink sink(*store, dir.path(), true, [&](const index::Event& e, bool ongoing) { published.push_back({e, ongoing}); });

  analytics::Detection start;
  start.phase = analytics::Phase::kStart;
  start.type = EventType::kIntrusion;
  start.zone = "yard";
  start.track = 4;
  start.key = 7;
  start.start_ns = start.end_ns = kT0 + 5 * kNsPerSec;
  start.score = 0.8;
  start.box = {100, 120, 40, 90};
  start.object_class = ObjectClass::kVehicle;  // its first look
  start.class_confidence = 0.45;
  sink.OnDetection(start, FrameAt("cam1", kT0 + 6 * kNsPerSec));
  REQUIRE(published.size() == 1);
  CHECK(published[0].second);  // ongoing
  auto rows = AllEvents(*store);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].end_ns == rows[0].start_ns);
  CHECK(rows[0].zone == "yard");
  CHECK(rows[0].object_class == ObjectClass::kVehicle);
  CHECK(published[0].first.object_class == ObjectClass::kVehicle);
  // Its pictures are on disk, and its attributes say which frame it was seen in.
  REQUIRE_FALSE(rows[0].snapshot.empty());
  CHECK(std::filesystem::exists(JoinPath(dir.path(), rows[0].snapshot)));
  CHECK(rows[0].attributes.find(fmt::format("\"frame_ns\":{}", kT0 + 6 * kNsPerSec)) != std::string::npos);
  CHECK(rows[0].attributes.find("\"crop\":") != std::string::npos);

  // An end nobody started (its start was lost) changes nothing.
  analytics::Detection stray;
  stray.phase = analytics::Phase::kEnd;
  stray.type = EventType::kIntrusion;
  stray.key = 99;
  stray.end_ns = kT0 + 9 * kNsPerSec;
  sink.OnDetection(stray, FrameAt("cam1", kT0 + 9 * kNsPerSec));
  CHECK(published.size() == 1);

  // Looked at again while it lasted, the object is a person: the end carries that, and so does the row.
  analytics::Detection end = start;
  end.phase = analytics::Phase::kEnd;
  end.end_ns = kT0 + 12 * kNsPerSec;
  end.object_class = ObjectClass::kPerson;
  end.class_confidence = 0.82;
  sink.OnDetection(end, FrameAt("cam1", kT0 + 13 * kNsPerSec));
  REQUIRE(published.size() == 2);
  CHECK_FALSE(published[1].second);
  CHECK(published[1].first.id == published[0].first.id);
  CHECK(published[1].first.object_class == ObjectClass::kPerson);
  rows = AllEvents(*store);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].end_ns == kT0 + 12 * kNsPerSec);
  CHECK(rows[0].object_class == ObjectClass::kPerson);
  CHECK(rows[0].class_confidence == doctest::Approx(0.82));

  // The same key on another camera is another event.
  sink.OnDetection(start, FrameAt("cam2", kT0 + 6 * kNsPerSec));
  CHECK(AllEvents(*store).size() == 2);
  CHECK(sink.events() == 2);
}

TEST_CASE("the plate sink alerts on a watchlist plate once per vehicle, timed by its clock") {
  testing::TempDir dir;
  auto store = OpenStore(dir, {"gate"});
  Config config;
  config.recording.data_dir = dir.path();
  config.plates_node.nearest = 0;
  ingest::CameraConfig cam;
  cam.id = "gate";
  cam.place = "North gate";
  config.cameras.push_back(cam);
  index::WatchEntry stolen;
  stolen.pattern = "云A12345";
  stolen.reason = "stolen";
  stolen.added_by = "test";
  stolen.added_ns = kT0;
  REQUIRE(store->AddWatch(stolen).ok());
  FakeClock clock;
  std::vector<std::string> topics;
  PlateSink sink(*store, config, [&](const std::string& topic, api::v1::LiveMessage) { topics.push_back(topic); },
                 clock);

  clock.wall = kT0 + 10 * kNsPerSec + 80 * kNsPerMs;
  sink.OnPass(Pass("云A12345", kT0 + 10 * kNsPerSec, 1), FrameAt("gate", kT0 + 10 * kNsPerSec));
  CHECK(sink.reads() == 1);
  REQUIRE(sink.alerts() == 1);
  CHECK(topics == std::vector<std::string>{"plate.gate", "alert.gate"});
  index::AlertQuery q;
  q.range = {kT0, kT0 + 3600 * kNsPerSec};
  auto alerts = store->Alerts(q);
  REQUIRE(alerts.ok());
  REQUIRE(alerts->items.size() == 1);
  CHECK(alerts->items[0].time_ns == kT0 + 10 * kNsPerSec);                    // the frame that decided it
  CHECK(alerts->items[0].raised_ns == kT0 + 10 * kNsPerSec + 80 * kNsPerMs);  // the sink's clock
  CHECK(alerts->items[0].message.find("North gate") != std::string::npos);

  // The same vehicle a minute later (inside duplicate_ns, 120 s): read, not alerted again.
  clock.wall = kT0 + 70 * kNsPerSec;
  sink.OnPass(Pass("云A12345", kT0 + 70 * kNsPerSec, 2), FrameAt("gate", kT0 + 70 * kNsPerSec));
  CHECK(sink.reads() == 2);
  CHECK(sink.alerts() == 1);
  CHECK(sink.suppressed() == 1);

  // A plate added to the watchlist is seen once the sink re-reads it (at most a second later, by
  // its clock): not at once, then after the clock has moved a second.
  index::WatchEntry wanted = stolen;
  wanted.pattern = "云B00001";
  REQUIRE(store->AddWatch(wanted).ok());
  clock.wall += 500 * kNsPerMs;
  sink.OnPass(Pass("云B00001", clock.wall, 3), FrameAt("gate", clock.wall));
  CHECK(sink.alerts() == 1);
  clock.wall += kNsPerSec;
  sink.OnPass(Pass("云B00001", clock.wall, 4), FrameAt("gate", clock.wall));
  CHECK(sink.alerts() == 2);
  // Each pass is also a vehicle event with its plate.
  auto rows = AllEvents(*store);
  CHECK(rows.size() == 4);
  for (const auto& e : rows) CHECK(e.type == EventType::kVehicle);
}

}  // namespace vigil::vigild
