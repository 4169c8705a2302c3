// The writer's state machine on synthetic input: real encoded frames, a real SQLite index and real
// files, but arrival times and the clock chosen by the test, so every path is deterministic.

#include "ingest/internal/camera_writer.h"

#include <doctest/doctest.h>

#include "base/fs.h"
#include "ingest/media_probe.h"
#include "tests/support/encoded_clip.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace vigil::ingest::internal {
namespace {

constexpr int64_t kWall0 = 1'795'400'000 * kNsPerSec;  // a wall time in 2026
constexpr int64_t kFrameNs = 40 * kNsPerMs;

class FakeClock final : public Clock {
 public:
  int64_t WallNs() const override { return wall; }
  int64_t MonotonicNs() const override { return mono; }
  int64_t wall = kWall0;
  int64_t mono = 1'000 * kNsPerSec;
};

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<index::Store> store;
  FakeClock clock;
  CameraHealth health;
  RecordingOptions options;
  CameraConfig camera;
  std::unique_ptr<CameraWriter> writer;
  testing::EncodedClip clip;
  std::shared_ptr<const StreamFormat> format;

  Fixture() {
    store = std::move(index::OpenSqliteStore(dir / "index.db").value());
    options.data_dir = dir.path();
    options.segment_ns = 4 * kNsPerSec;
    camera.id = "cam1";
    camera.main_url = "rtsp://h/x";
    index::Camera row;
    row.id = "cam1";
    row.name = "cam1";
    row.main_url = camera.main_url;
    REQUIRE(store->UpsertCamera(row).ok());
    auto encoded = testing::EncodeClip(VideoCodec::kH264, 100, 50);
    REQUIRE(encoded.ok());
    clip = std::move(encoded).value();
    format = std::make_shared<StreamFormat>(clip.format);
  }

  void Start(bool crashed = false) {
    writer = std::make_unique<CameraWriter>(
        camera, options, *store, clock,
        [this](const std::function<void(CameraHealth&)>& fn) { fn(health); });
    REQUIRE(writer->Init(crashed).ok());
  }

  // Feeds frame k of the 4 s clip (looping) at media time `media_ns`, arriving `delay_ns` late.
  void Feed(int k, int64_t media_ns, int64_t delay_ns = 5 * kNsPerMs,
            std::shared_ptr<const StreamFormat> fmt = nullptr) {
    const auto& au = clip.units[static_cast<size_t>(k) % clip.units.size()];
    WriterItem item;
    item.frame.data = au.data;
    item.frame.format = fmt ? fmt : format;
    item.frame.dts_ns = media_ns;
    item.frame.pts_ns = media_ns;
    item.frame.duration_ns = kFrameNs;
    item.frame.arrival_wall_ns = kWall0 + media_ns + delay_ns;
    item.frame.key = au.key;
    writer->Handle(item);
  }

  // Feeds frames [first, first+count) of a continuous stream starting at media time base.
  void FeedRun(int first, int count, int64_t base = 0) {
    for (int i = first; i < first + count; ++i) Feed(i, base + i * kFrameNs);
  }

  void Discontinuity(const std::string& reason) {
    WriterItem item;
    item.kind = WriterItem::Kind::kDiscontinuity;
    item.reason = reason;
    item.wall_ns = clock.wall;
    writer->Handle(item);
  }

  void Stop() {
    WriterItem item;
    item.kind = WriterItem::Kind::kStop;
    writer->Handle(item);
    REQUIRE(store->Flush().ok());
  }

  std::vector<index::Segment> Segments() { return store->Segments({}).value(); }
  std::vector<index::Gap> Gaps() { return store->Gaps("cam1", INT64_MIN, INT64_MAX).value(); }
};

TEST_CASE("segments are cut on the first key frame after segment_seconds and are contiguous") {
  Fixture fx;
  fx.Start();
  fx.FeedRun(0, 250);  // 10 s, key frames every 2 s
  fx.Stop();
  auto segs = fx.Segments();
  REQUIRE(segs.size() == 3);
  CHECK(segs[0].frames == 100);
  CHECK(segs[1].frames == 100);
  CHECK(segs[2].frames == 50);
  CHECK(segs[0].start_ns == kWall0 + 5 * kNsPerMs);  // least-delayed frame's offset
  CHECK(segs[1].start_ns == segs[0].end_ns);
  CHECK(segs[2].start_ns == segs[1].end_ns);
  CHECK(segs[2].end_ns - segs[0].start_ns == 10 * kNsPerSec);
  for (const auto& s : segs) {
    CHECK(s.state == index::SegmentState::kClosed);
    auto probe = ProbeMedia(JoinPath(fx.dir.path(), s.path));
    REQUIRE(probe.ok());
    CHECK(probe->frames == s.frames);
    CHECK(probe->first_is_irap);
  }
  CHECK(fx.Gaps().empty());
  CHECK(fx.health.segments == 3);
}

TEST_CASE("frames before the first key frame are not written; the segment starts at the key frame") {
  Fixture fx;
  fx.Start();
  fx.FeedRun(30, 70);  // joins mid-GOP: frames 30..49 undecodable, key frame at 50
  fx.Stop();
  auto segs = fx.Segments();
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].frames == 50);
  CHECK(segs[0].start_ns == kWall0 + 50 * kFrameNs + 5 * kNsPerMs);
}

TEST_CASE("a discontinuity leaves one gap with its reason, ended by the next footage") {
  Fixture fx;
  fx.Start();
  fx.FeedRun(0, 100);
  fx.Discontinuity("connection refused");
  fx.Discontinuity("Service Unavailable (503)");  // retries fail: still one outage
  fx.FeedRun(0, 100, 30 * kNsPerSec);             // back 30 s later, new connection
  fx.Stop();
  auto gaps = fx.Gaps();
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].reason == "connection refused");
  auto segs = fx.Segments();
  REQUIRE(segs.size() == 2);  // 4.0 s before (no key frame after 4 s to cut on), 4.0 s after
  CHECK(gaps[0].start_ns == segs[0].end_ns);
  REQUIRE(gaps[0].end_ns.has_value());
  CHECK(*gaps[0].end_ns == segs[1].start_ns);
  CHECK(segs[1].start_ns == kWall0 + 30 * kNsPerSec + 5 * kNsPerMs);
  CHECK(fx.health.last_gap_reason == "connection refused");
}

TEST_CASE("a camera timestamp jump ends the segment and is stated as a gap") {
  Fixture fx;
  fx.Start();
  fx.FeedRun(0, 75);                                  // 3 s
  for (int i = 75; i < 175; ++i) fx.Feed(i, 3600 * kNsPerSec + i * kFrameNs);  // RTP clock leaps 1 h
  fx.Stop();
  auto gaps = fx.Gaps();
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].reason.find("camera timestamps jumped by +3600") == 0);
  auto segs = fx.Segments();
  REQUIRE(segs.size() >= 2);
  for (size_t i = 1; i < segs.size(); ++i) CHECK(segs[i].start_ns >= segs[i - 1].end_ns);  // never reordered
}

TEST_CASE("a new stream format mid-GOP waits for the next key frame and starts a new segment") {
  Fixture fx;
  fx.Start();
  auto other = std::make_shared<StreamFormat>(fx.clip.format);
  other->codec_data.push_back(0);  // different decoder configuration
  fx.FeedRun(0, 60);
  for (int i = 60; i < 150; ++i) fx.Feed(i, i * kFrameNs, 5 * kNsPerMs, other);
  fx.Stop();
  auto segs = fx.Segments();
  REQUIRE(segs.size() == 2);
  CHECK(segs[0].frames == 60);
  CHECK(segs[1].frames == 50);            // from the key frame at 100
  CHECK(segs[0].frames_lost == 40);       // counted on the segment they fell in
  CHECK(segs[1].frames_lost == 0);
  CHECK(fx.health.dropped.format_change == 40);  // 60..99 could not be written anywhere
  CHECK(fx.health.dropped.Total() == 40);
}

TEST_CASE("frames broken by packet loss are counted on the segment they fell in") {
  Fixture fx;
  fx.Start();
  fx.FeedRun(0, 30);
  WriterItem loss;
  loss.kind = WriterItem::Kind::kLoss;
  loss.lost = 3;
  fx.writer->Handle(loss);
  fx.FeedRun(33, 67);  // the three lost frames' times stay empty
  fx.Stop();
  auto segs = fx.Segments();
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].frames == 97);
  CHECK(segs[0].frames_lost == 3);
}

TEST_CASE("the time vigild was not running is a gap between the last footage and the new") {
  Fixture fx;
  fx.Start();
  fx.FeedRun(0, 100);
  fx.Stop();
  fx.Start();  // restart: reads the last footage end from the index
  fx.FeedRun(0, 100, 120 * kNsPerSec);
  fx.Stop();
  auto gaps = fx.Gaps();
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].reason == "vigild was not running");
  CHECK(*gaps[0].end_ns - gaps[0].start_ns == 116 * kNsPerSec);

  Fixture crashed;
  crashed.Start();
  crashed.FeedRun(0, 100);
  crashed.Stop();
  crashed.Start(/*crashed=*/true);
  crashed.FeedRun(0, 50, 60 * kNsPerSec);
  crashed.Stop();
  REQUIRE(crashed.Gaps().size() == 1);
  CHECK(crashed.Gaps()[0].reason.find("unexpectedly") != std::string::npos);
}

TEST_CASE("a camera failing right after a restart has two gaps: vigild's absence, then the camera's fault") {
  Fixture fx;
  fx.Start();
  fx.FeedRun(0, 100);  // footage until kWall0 + 4 s
  fx.Stop();
  fx.clock.wall = kWall0 + 60 * kNsPerSec;  // vigild comes back a minute later ...
  fx.Start();
  fx.Discontinuity("connection refused");   // ... and the camera is down
  fx.FeedRun(0, 100, 90 * kNsPerSec);       // until 90 s
  fx.Stop();
  auto gaps = fx.Gaps();
  REQUIRE(gaps.size() == 2);
  CHECK(gaps[0].reason == "vigild was not running");
  CHECK(gaps[0].start_ns == kWall0 + 4 * kNsPerSec + 5 * kNsPerMs);
  CHECK(*gaps[0].end_ns == kWall0 + 60 * kNsPerSec);
  CHECK(gaps[1].reason == "connection refused");
  CHECK(gaps[1].start_ns == kWall0 + 60 * kNsPerSec);
  CHECK(*gaps[1].end_ns == kWall0 + 90 * kNsPerSec + 5 * kNsPerMs);
}

TEST_CASE("an unwritable directory is one gap naming the path; recording resumes when it is fixed") {
  Fixture fx;
  std::string blocked = JoinPath(fx.dir.path(), "recordings/cam1");
  REQUIRE(MakeDirs(JoinPath(fx.dir.path(), "recordings")).ok());
  testing::WriteFile(blocked, "a file where the directory should be");
  fx.Start();
  fx.FeedRun(0, 100);  // every key frame retries within the 5 s back-off: no new gap
  CHECK(fx.health.state == CameraState::kDiskError);
  REQUIRE(RemoveFile(blocked).ok());
  fx.clock.mono += 6 * kNsPerSec;  // past the retry delay
  fx.FeedRun(100, 100);
  fx.Stop();
  auto gaps = fx.Gaps();
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].reason.find(blocked) != std::string::npos);
  auto segs = fx.Segments();
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].frames == 100);
  CHECK(*gaps[0].end_ns == segs[0].start_ns);
  CHECK(fx.health.state == CameraState::kStopped);
}

}  // namespace
}  // namespace vigil::ingest::internal
