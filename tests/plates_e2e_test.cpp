// Plates end to end: vigil-camsim plays plate-camera scenes (samples/plates: vehicles of every GA 36
// kind passing a checkpoint) as live 1080p RTSP cameras; vigild (a real process) records them, decodes
// their main streams for plates, and writes one plate read per vehicle pass. A plate on the watchlist
// raises exactly one alert, while the vehicle is in view, which a ZeroMQ subscriber receives with
// what dispatch needs (the response zone's units first), and its acknowledgement and closure through
// `vigil alerts` are recorded with who and when and counted in the zone's response statistics.
//
// Quality, not speed: the reads are matched to the scenes' ground truth (same camera, exact plate,
// time within the pass ±1 s) and the recall and wrong-read counts are asserted against floors set
// from the measured accuracy (docs/plates.md).
//
// Environment: VIGILD, VIGIL (set by meson), VIGIL_PLATE_SCENES (samples/plates).


#include <chrono>
#include <thread>

#include <doctest/doctest.h>
#include <zmq.hpp>

#include "base/clock.h"
#include "base/fs.h"
#include "base/plate_text.h"
#include "index/store.h"
#include "proto/client.h"
#include "proto/vigil.pb.h"
#include "tests/support/process.h"
#include "tests/support/recording_fixture.h"
#include "tests/support/scene_config.h"
#include "tools/camsim/script.h"
#include "tools/camsim/simulator.h"

namespace vigil::testing {
namespace {

int Run(const std::vector<std::string>& argv, const std::string& log) {
  Process p(argv, log);
  REQUIRE(p.started());
  return p.Wait(60);
}

// Measured on the committed model (docs/plates.md): 0.825-0.90 of the passes read exactly, 1-2 wrong
// reads in 34-38 (live streams: a run loses a frame here and there). Floors, so a worse reader fails.
constexpr double kMinRecall = 0.8;       // passes read with the exact plate
constexpr double kMaxWrongShare = 0.10;  // reads that are no pass's plate, of all reads

}  // namespace

TEST_CASE("plate passes are read once each, and a watched plate raises one alert that is acknowledged") {
  const char* dir_env = std::getenv("VIGIL_PLATE_SCENES");
  REQUIRE_MESSAGE(dir_env, "VIGIL_PLATE_SCENES names samples/plates");
  auto loaded = LoadScenes(dir_env);
  REQUIRE_MESSAGE(loaded.ok(), loaded.error().ToString());
  auto scripts = *loaded;
  REQUIRE(scripts.size() == 2);

  double longest = 0;
  auto sim_r = camsim::Simulator::Start(PlateSceneOptions(scripts, &longest));
  REQUIRE_MESSAGE(sim_r.ok(), sim_r.error().ToString());
  auto sim = std::move(*sim_r);
  const int64_t t0 = sim->scene_start_wall_ns();

  TempDir dir;
  const std::string data = dir / "data";
  const std::string requests = fmt::format("tcp://127.0.0.1:{}", FreePort());
  const std::string events = fmt::format("tcp://127.0.0.1:{}", FreePort());
  std::vector<TomlCamera> cams;
  for (int k = 1; k <= 2; ++k) {
    cams.push_back({fmt::format("cam{}", k), sim->Url(k, true),
                    fmt::format("sub = \"{}\"\nplace = \"checkpoint {}\"\n[cameras.plates]\nfps = 8", sim->Url(k, false), k)});
  }
  std::string config = VigildConfig(data, "segment_seconds = 30", cams);
  config += fmt::format("\n[api]\nrequests = \"{}\"\nevents = \"{}\"\n[plates]\nworkers = 1\n", requests, events);
  // Response zones: a station's block around cam1 (24.880, 102.830) inside a district holding both
  // cameras. cam1's alerts go to the block's units.
  config += R"(
[[zones]]
id = "z-block"
name = "checkpoint 1 station"
units = ["P-07", "P-08"]
polygon = [[24.8796, 102.8296], [24.8796, 102.8304], [24.8804, 102.8304], [24.8804, 102.8296]]

[[zones]]
id = "z-district"
units = ["P-21"]
polygon = [[24.87, 102.82], [24.87, 102.84], [24.89, 102.84], [24.89, 102.82]]
)";
  WriteFile(dir / "vigild.toml", config);

  // The watched vehicle: cam1's first pass that starts 25 s or more into the scene (time to set up).
  auto truth1 = camsim::ComputePlateTruth(*scripts[0]);
  auto watched = std::find_if(truth1.begin(), truth1.end(), [](const auto& p) { return p.start >= 25; });
  REQUIRE(watched != truth1.end());
  const std::string wanted = watched->plate;

  // The monitoring room listens (operator); an admin keeps the watchlist and zones.
  const std::string op_key = MakeKey(dir / "vigild.toml", "op.room", "operator", dir.path());
  const std::string admin_key = MakeKey(dir / "vigild.toml", "admin.plates", "admin", dir.path());
  const std::string unit_key = MakeKey(dir / "vigild.toml", "P-07", "dispatch", dir.path());
  ::setenv("VIGIL_KEY", admin_key.c_str(), 1);
  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  REQUIRE(api::UseKey(sub, api::LoadUserKey(op_key).value()).ok());
  sub.set(zmq::sockopt::subscribe, "alert.");
  sub.set(zmq::sockopt::subscribe, "plate.");
  sub.set(zmq::sockopt::subscribe, "unit.");
  sub.connect(events);
  std::vector<api::v1::Alert> alerts_seen;
  std::vector<std::string> alert_topics;  // in order of arrival, for the new alert
  std::vector<double> latency_ms;         // frame wall time → here
  int plates_seen = 0;
  auto drain = [&] {
    for (;;) {
      zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) == 0) return;
      zmq::message_t topic, body;
      REQUIRE(sub.recv(topic));
      REQUIRE(sub.recv(body));
      api::v1::LiveMessage m;
      REQUIRE(m.ParseFromArray(body.data(), static_cast<int>(body.size())));
      if (m.has_alert()) {
        alert_topics.push_back(topic.to_string());
        if (topic.to_string().rfind("alert.", 0) == 0) {
          alerts_seen.push_back(m.alert());
          latency_ms.push_back(static_cast<double>(SystemClock().WallNs() - m.alert().time_ns()) / 1e6);
        }
      }
      if (m.has_plate()) ++plates_seen;
    }
  };

  Process vigild({BinaryFromEnv("VIGILD"), "--config", dir / "vigild.toml"}, dir / "vigild.log");
  REQUIRE(vigild.started());
  const std::string vigil = BinaryFromEnv("VIGIL");
  REQUIRE(WaitFor([&] {
    return Run({vigil, "--server", requests, "watchlist", "add", wanted, "--reason", "stolen vehicle, case 7",
                "--priority", "1"},
               dir / "watchlist.log") == 0;
  }, 20));
  // A wildcard entry no plate of the scenes matches: it must stay silent.
  REQUIRE(Run({vigil, "--server", requests, "watchlist", "add", "京A*99?9", "--reason", "no such car"},
              dir / "watchlist2.log") == 0);
  while (SystemClock().WallNs() < t0 + static_cast<int64_t>((longest + 4) * kNsPerSec)) {
    REQUIRE_MESSAGE(vigild.Running(), ReadFile(dir / "vigild.log"));
    drain();
  }
  // One RTSP session per main stream: the plate branch decodes the recording connection's frames.
  for (int k = 1; k <= 2; ++k) CHECK(sim->Stats(k, true).clients == 1);
  drain();

  // One alert, for the watched plate, with the dispatch payload.
  // (When this fails: did the subscriber hear plate reads at all, and when did the entry go in?)
  REQUIRE_MESSAGE(alerts_seen.size() == 1,
                  "plate reads heard: " << plates_seen << ", alert messages: " << alert_topics.size()
                                        << "\nwatchlist: " << ReadFile(dir / "watchlist.log")
                                        << "\n" << ReadFile(dir / "vigild.log"));
  const auto& alert = alerts_seen[0];
  CHECK(alert.plate() == wanted);
  CHECK(alert.camera() == "cam1");
  CHECK(alert.kind() == "watchlist");
  CHECK(alert.state() == "new");
  CHECK(alert.priority() == 1);
  CHECK(alert.reason() == "stolen vehicle, case 7");
  CHECK(alert.place() == "checkpoint 1");
  CHECK(alert.position().lat() != 0);
  REQUIRE(alert.nearest_size() == 1);
  CHECK(alert.nearest(0).camera().id() == "cam2");
  CHECK(alert.color() == watched->color);
  CHECK(std::filesystem::exists(JoinPath(data, alert.snapshot())));
  const int64_t pass_start = t0 + static_cast<int64_t>(watched->start * kNsPerSec);
  const int64_t pass_end = t0 + static_cast<int64_t>(watched->end * kNsPerSec);
  CHECK(alert.clip().range().from_ns() <= pass_start - 14 * kNsPerSec);
  CHECK(alert.clip().range().to_ns() >= pass_end + 14 * kNsPerSec);
  CHECK(alert.clip().cameras(0) == "cam1");
  CHECK(alert.time_ns() >= pass_start - kNsPerSec);
  CHECK(alert.time_ns() <= pass_end + kNsPerSec);
  // Raised on the early read, while the vehicle was still in view.
  CHECK(alert.time_ns() < pass_end);
  MESSAGE("alert latency, frame wall time -> subscriber: " << latency_ms[0] << " ms");
  // The zone's units heard it first, then the monitoring room.
  CHECK(alert.zone() == "z-block");
  CHECK(alert.units_size() == 2);
  CHECK(alert_topics == std::vector<std::string>{"unit.P-07", "unit.P-08", "alert.cam1"});

  // The room acknowledges it, and the unit (dispatch) closes it; the unit may fetch the alert's
  // clip and nothing else.
  REQUIRE(Run({vigil, "--server", requests, "--key", op_key, "alerts", "ack", std::to_string(alert.id()),
               "--note", "unit 12 sent"},
              dir / "ack.log") == 0);
  REQUIRE(Run({vigil, "--server", requests, "--key", unit_key, "alerts", "close", std::to_string(alert.id()),
               "--note", "stopped"},
              dir / "close.log") == 0);
  {
    auto unit = api::Client::Connect(requests, api::LoadUserKey(unit_key).value());
    REQUIRE(unit.ok());
    api::v1::Request clip;
    *clip.mutable_export_clip() = alert.clip();
    clip.mutable_export_clip()->mutable_range()->set_to_ns(
        std::min(clip.export_clip().range().to_ns(), clip.export_clip().range().from_ns() + 60 * kNsPerSec));
    auto ok = (*unit)->Call(clip);
    CHECK_MESSAGE(ok.ok(), (ok.ok() ? std::string() : ok.error().ToString()));
    api::v1::Request other = clip;
    other.mutable_export_clip()->set_cameras(0, "cam2");  // no alert there
    auto refused = (*unit)->Call(other);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == StatusCode::kPermissionDenied);
  }
  REQUIRE(Run({vigil, "--server", requests, "alerts", "stats", "--from", "-1h", "--zone", "z-block"},
              dir / "stats.log") == 0);
  const std::string stats = ReadFile(dir / "stats.log");
  CHECK_MESSAGE(stats.find("z-block") != std::string::npos, stats);
  CHECK_MESSAGE(stats.find("100 % (1/1)") != std::string::npos, stats);
  REQUIRE(Run({vigil, "--server", requests, "zones"}, dir / "zones.log") == 0);
  CHECK(ReadFile(dir / "zones.log").find("P-07,P-08") != std::string::npos);
  REQUIRE_MESSAGE(StopCleanly(vigild, 60, dir / "vigild.log") == 0, "vigild did not stop cleanly");
  sim.reset();

  auto store = index::OpenSqliteStore(JoinPath(data, "index.db"));
  REQUIRE(store.ok());
  index::AlertQuery aq;
  aq.range = {t0 - 60 * kNsPerSec, t0 + 3600 * kNsPerSec};
  auto stored = (*store)->Alerts(aq);
  REQUIRE(stored.ok());
  REQUIRE(stored->items.size() == 1);
  const index::Alert& kept = stored->items[0];
  CHECK(kept.state == index::AlertState::kClosed);
  CHECK(kept.acknowledged_by == "op.room");  // the keys' holders
  CHECK(kept.closed_by == "P-07");
  CHECK(kept.note == "stopped");
  CHECK(kept.raised_ns >= kept.time_ns);
  CHECK(kept.acknowledged_ns > kept.raised_ns);
  CHECK(kept.closed_ns >= kept.acknowledged_ns);
  CHECK(kept.zone == "z-block");
  CHECK(kept.plate_read_id > 0);  // linked to the pass's read when the pass ended
  index::AlertStatsQuery sq;
  sq.range = aq.range;
  sq.now_ns = SystemClock().WallNs();
  auto by_zone = (*store)->AlertStatistics(sq);
  REQUIRE(by_zone.ok());
  REQUIRE(by_zone->size() == 2);  // "*" and z-block
  CHECK(by_zone->at(1).zone == "z-block");
  CHECK(by_zone->at(1).responded == 1);
  CHECK(by_zone->at(1).closed == 1);
  CHECK(by_zone->at(1).within == 1);

  // Every pass read once: match the vehicle events (one per read pass) to the truth.
  int truth_n = 0, read_ok = 0, reads = 0, wrong = 0, duplicates = 0;
  for (int k = 1; k <= 2; ++k) {
    const std::string cam = fmt::format("cam{}", k);
    index::EventQuery q;
    q.range = {t0 - 60 * kNsPerSec, t0 + 3600 * kNsPerSec};
    q.cameras = {cam};
    q.types = {index::EventType::kVehicle};
    q.page.limit = 10'000;
    auto page = (*store)->Events(q);
    REQUIRE(page.ok());
    auto truth = camsim::ComputePlateTruth(*scripts[static_cast<size_t>(k - 1)]);
    truth_n += static_cast<int>(truth.size());
    std::vector<int> hits(truth.size(), 0);
    for (const auto& e : page->items) {
      ++reads;
      auto at = e.attributes.find("\"plate\":\"");
      REQUIRE(at != std::string::npos);
      std::string plate = e.attributes.substr(at + 9, e.attributes.find('"', at + 9) - at - 9);
      bool matched = false;
      for (size_t i = 0; i < truth.size(); ++i) {
        const int64_t s = t0 + static_cast<int64_t>((truth[i].start - 1) * kNsPerSec);
        const int64_t en = t0 + static_cast<int64_t>((truth[i].end + 1) * kNsPerSec);
        if (truth[i].plate == plate && e.start_ns <= en && e.end_ns >= s) {
          ++hits[i];
          matched = true;
          break;
        }
      }
      if (!matched) {
        ++wrong;
        MESSAGE(cam << ": read " << plate << " at " << static_cast<double>(e.start_ns - t0) / kNsPerSec
                    << " s matches no pass");
      }
      // The plate read behind the event is in the index too.
      index::PlateQuery pq;
      pq.pattern = plate;
      pq.range = q.range;
      pq.cameras = {cam};
      auto hit = (*store)->Plates(pq);
      REQUIRE(hit.ok());
      CHECK(!hit->items.empty());
    }
    for (size_t i = 0; i < truth.size(); ++i) {
      if (hits[i] >= 1) ++read_ok;
      if (hits[i] > 1) ++duplicates;
      if (hits[i] == 0) MESSAGE(cam << ": missed " << truth[i].plate << " at " << truth[i].start << " s");
    }
  }
  const double recall = static_cast<double>(read_ok) / truth_n;
  MESSAGE(fmt::format("plate passes: {} in the truth, {} read exactly ({:.3f}), {} reads, {} wrong, {} "
                      "read twice; {} plate messages on the PUB socket",
                      truth_n, read_ok, recall, reads, wrong, duplicates, plates_seen));
  CHECK(recall >= kMinRecall);
  CHECK(duplicates == 0);
  CHECK(static_cast<double>(wrong) / std::max(1, reads) <= kMaxWrongShare);
  CHECK(plates_seen == reads);
}

}  // namespace vigil::testing
