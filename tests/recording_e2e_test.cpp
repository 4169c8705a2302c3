// End to end: vigil-camsim over loopback RTSP → vigild (a real process) → segments and index rows,
// read back with libavformat and SQLite.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <doctest/doctest.h>

#include "base/clock.h"
#include "base/fs.h"
#include "tests/support/process.h"
#include "tests/support/recording_fixture.h"

namespace vigil::testing {
namespace {

constexpr int64_t kGopNs = 2 * kNsPerSec;

void Sleep(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

struct Vigild {
  Vigild(const TempDir& dir, const std::string& config_text)
      : config(dir / "vigild.toml"), log(dir / "vigild.log") {
    WriteFile(config, config_text);
  }
  std::unique_ptr<Process> Start() {
    auto p = std::make_unique<Process>(
        std::vector<std::string>{BinaryFromEnv("VIGILD"), "--config", config}, log);
    REQUIRE(p->started());
    return p;
  }
  std::string config;
  std::string log;
};

// Each camera's rows: all closed, consecutive segments contiguous, wall spans equal to media spans.
void CheckContiguous(const std::vector<index::Segment>& segs) {
  for (size_t i = 0; i < segs.size(); ++i) {
    CAPTURE(segs[i].path);
    CHECK(segs[i].state == index::SegmentState::kClosed);
    int64_t wall = segs[i].end_ns - segs[i].start_ns;
    int64_t media = segs[i].media_duration_90k * 100'000 / 9;
    CHECK(std::llabs(wall - media) <= media / 2000 + kNsPerMs);  // ≤ 500 ppm slew
    if (i > 0) CHECK(segs[i].start_ns == segs[i - 1].end_ns);
  }
}

TEST_CASE("recorded segments play, start on key frames, add up to the recorded time and match the index") {
  camsim::SimOptions sim_opt;
  sim_opt.cameras = 3;
  sim_opt.codec_of[3] = camsim::Codec::kH265;
  sim_opt.replay_seconds = 4;
  auto sim = StartCamsim(sim_opt);
  TempDir dir;
  std::string data = dir / "data";
  Vigild vigild(dir, VigildConfig(data, "segment_seconds = 4\nretry_max_ms = 2000",
                                  {{"cam1", sim->Url(1, true)},
                                   {"cam2", sim->Url(2, true)},
                                   {"cam3", sim->Url(3, true)}}));
  int64_t t_start = SystemClock().WallNs();
  auto proc = vigild.Start();
  Sleep(16);
  int64_t t_stop = SystemClock().WallNs();
  REQUIRE(StopCleanly(*proc, 30, vigild.log) == 0);
  const std::string log = ReadFile(vigild.log);
  INFO(log);
  CHECK(log.find("camera cam1: receiving rtsp://127.0.0.1:") != std::string::npos);
  CHECK(log.find("(vigil RTSP client)") != std::string::npos);  // the default

  auto all = IndexSegments(data);
  std::vector<std::string> indexed;
  for (const auto& s : all) indexed.push_back(s.path);
  std::sort(indexed.begin(), indexed.end());
  CHECK(indexed == RecordingFiles(data));  // every file has its row and every row its file
  CheckSegmentsMatchFiles(data, all);

  for (std::string cam : {"cam1", "cam2", "cam3"}) {
    CAPTURE(cam);
    auto segs = IndexSegments(data, cam);
    REQUIRE(segs.size() >= 3);
    CheckContiguous(segs);
    for (size_t i = 0; i + 1 < segs.size(); ++i) {  // cut on the first key frame after 4 s
      CHECK(segs[i].media_duration_90k * 100'000 / 9 >= 4 * kNsPerSec);
      CHECK(segs[i].media_duration_90k * 100'000 / 9 <= 4 * kNsPerSec + kGopNs);
    }
    int64_t media_total = 0;
    for (const auto& s : segs) media_total += s.media_duration_90k * 100'000 / 9;
    int64_t span = segs.back().end_ns - segs.front().start_ns;
    CHECK(std::llabs(media_total - span) <= kGopNs);
    // The recording covers the run: connection set-up plus waiting for the first key frame (one GOP)
    // is all that may be missing at the start, and the last frame came in just before SIGTERM.
    CHECK(segs.front().start_ns - t_start <= 2 * kNsPerSec + kGopNs);
    CHECK(std::llabs(t_stop - segs.back().end_ns) <= kNsPerSec);
    CHECK(segs.front().codec == (cam == "cam3" ? "h265" : "h264"));
    CHECK(segs.front().width == 1920);
    CHECK(segs.front().height == 1080);
    CHECK(IndexGaps(data, cam).empty());
  }
}

TEST_CASE("an H.265 camera records as well as an H.264 one") {
  camsim::SimOptions sim_opt;
  sim_opt.cameras = 1;
  sim_opt.codec = camsim::Codec::kH265;
  sim_opt.replay_seconds = 4;
  auto sim = StartCamsim(sim_opt);
  TempDir dir;
  std::string data = dir / "data";
  Vigild vigild(dir, VigildConfig(data, "segment_seconds = 4", {{"cam1", sim->Url(1, true)}}));
  auto proc = vigild.Start();
  Sleep(11);
  REQUIRE(StopCleanly(*proc, 30, vigild.log) == 0);
  auto segs = IndexSegments(data, "cam1");
  REQUIRE(segs.size() >= 2);
  CheckContiguous(segs);
  CheckSegmentsMatchFiles(data, segs);
  for (const auto& s : segs) CHECK(s.codec == "h265");
}

TEST_CASE("cameras behind Digest or Basic authentication record; a wrong or missing password is reported") {
  camsim::SimOptions sim_opt;
  sim_opt.cameras = 1;
  sim_opt.replay_seconds = 4;
  sim_opt.main_size = {1280, 720};
  sim_opt.main_kbps = 2000;
  sim_opt.user = "op";
  sim_opt.password = "s3cr:t";
  auto digest = StartCamsim(sim_opt);
  sim_opt.basic_auth = true;
  auto basic = StartCamsim(sim_opt);  // Basic offered too: vigil still prefers Digest
  sim_opt.basic_auth = false;
  sim_opt.basic_only = true;
  auto basic_only = StartCamsim(sim_opt);  // the password in clear, or nothing
  auto with = [](const std::string& url, const std::string& cred) {
    return "rtsp://" + cred + "@" + url.substr(std::string("rtsp://").size());
  };
  // Both RTSP clients of recording; the analysed sub streams always go through GStreamer's rtspsrc.
  for (const char* client : {"vigil", "gstreamer"}) {
    CAPTURE(client);
    TempDir dir;
    std::string data = dir / "data";
    const std::string analysed_sub = "\n[cameras.analytics]\nfps = 2";
    Vigild vigild(
        dir, VigildConfig(data, fmt::format("segment_seconds = 4\nretry_max_ms = 2000\nrtsp_client = \"{}\"", client),
                          {{"cam1", with(digest->Url(1, true), "op:s3cr%3At")},
                           {"cam2", with(basic->Url(1, true), "op:s3cr%3At")},
                           {"cam3", with(digest->Url(1, true), "op:wrong")},
                           {"cam4", digest->Url(1, true)},
                           // Refused: not sent in clear, reported.
                           {"cam5", with(basic_only->Url(1, true), "op:s3cr%3At")},
                           // Allowed for this camera by its config.
                           {"cam6", with(basic_only->Url(1, true), "op:s3cr%3At"), "allow_basic_auth = true"},
                           // Recorded through Digest; its analysed sub stream offers only Basic.
                           {"cam7", with(digest->Url(1, true), "op:s3cr%3At"),
                            "sub = \"" + with(basic_only->Url(1, false), "op:s3cr%3At") + "\"" + analysed_sub},
                           // The sub stream through Digest is analysed.
                           {"cam8", with(digest->Url(1, true), "op:s3cr%3At"),
                            "sub = \"" + with(digest->Url(1, false), "op:s3cr%3At") + "\"" + analysed_sub}}));
    auto proc = vigild.Start();
    Sleep(11);
    REQUIRE(StopCleanly(*proc, 30, vigild.log) == 0);
    const std::string log = ReadFile(vigild.log);
    INFO(log);
    for (const char* cam : {"cam1", "cam2", "cam6", "cam7", "cam8"}) {
      CAPTURE(cam);
      auto segs = IndexSegments(data, cam);
      REQUIRE(segs.size() >= 2);
      CheckContiguous(segs);
      CheckSegmentsMatchFiles(data, segs);
      CHECK(segs.front().width == 1280);
    }
    CHECK(IndexSegments(data, "cam3").empty());
    CHECK(IndexSegments(data, "cam4").empty());
    CHECK(IndexSegments(data, "cam5").empty());
    const std::string refused =
        "401 Unauthorized: the camera offers only Basic authentication, which would send the password in clear";
    CHECK(log.find("camera cam5: RTSP DESCRIBE rtsp://127.0.0.1:") != std::string::npos);
    CHECK(log.find("camera cam5: RTSP DESCRIBE rtsp://127.0.0.1:" + std::to_string(basic_only->port())) !=
          std::string::npos);
    // The analysis branch of cam7 is refused the same way, recording goes on.
    const size_t cam7 = log.find("camera cam7: analysis stream");
    REQUIRE(cam7 != std::string::npos);
    CHECK(log.find(refused, cam7) != std::string::npos);
    CHECK(log.find("camera cam8: analysis stream") == std::string::npos);
    if (std::string(client) == "vigil") {
      CHECK(log.find("camera cam3: RTSP DESCRIBE rtsp://127.0.0.1:") != std::string::npos);
      CHECK(log.find("401 Unauthorized: the camera refused user 'op'") != std::string::npos);
      CHECK(log.find("401 Unauthorized: the camera requires a user and password") != std::string::npos);
    }
    // The password never reaches the log, nor the index (which the API serves).
    CHECK(log.find("s3cr") == std::string::npos);
    auto store = index::OpenSqliteStore(data + "/index.db");
    REQUIRE(store.ok());
    auto cams = (*store)->Cameras();
    REQUIRE(cams.ok());
    REQUIRE(cams->size() == 8);
    for (const auto& c : *cams) {
      CAPTURE(c.main_url);
      CHECK(c.main_url.find("s3cr") == std::string::npos);
      CHECK(c.main_url.find("wrong") == std::string::npos);
      if (c.id != "cam4") CHECK(c.main_url.rfind("rtsp://op:***@127.0.0.1:", 0) == 0);
    }
  }
}

TEST_CASE("a camera can be recorded with RTP over UDP, or by GStreamer's rtspsrc over TCP") {
  camsim::SimOptions sim_opt;
  sim_opt.replay_seconds = 4;
  sim_opt.main_size = {1280, 720};
  sim_opt.main_kbps = 2000;
  auto sim = StartCamsim(sim_opt);
  for (const char* how : {"transport = \"udp\"", "rtsp_client = \"gstreamer\""}) {
    CAPTURE(how);
    TempDir dir;
    std::string data = dir / "data";
    Vigild vigild(dir, VigildConfig(data, std::string("segment_seconds = 4\n") + how,
                                    {{"cam1", sim->Url(1, true)}}));
    auto proc = vigild.Start();
    Sleep(11);
    REQUIRE(StopCleanly(*proc, 30, vigild.log) == 0);
    const std::string log = ReadFile(vigild.log);
    INFO(log);
    CHECK(log.find("(GStreamer rtspsrc)") != std::string::npos);
    auto segs = IndexSegments(data, "cam1");
    REQUIRE(segs.size() >= 2);
    CheckContiguous(segs);
    CheckSegmentsMatchFiles(data, segs);
    CHECK(segs.front().width == 1280);
  }
}

TEST_CASE("after kill -9 mid-segment the open segment is recovered, playable to within 1 s of the kill") {
  camsim::SimOptions sim_opt;
  sim_opt.replay_seconds = 4;
  auto sim = StartCamsim(sim_opt);
  TempDir dir;
  std::string data = dir / "data";
  Vigild vigild(dir, VigildConfig(data, "segment_seconds = 60", {{"cam1", sim->Url(1, true)}}));
  auto proc = vigild.Start();
  REQUIRE(WaitFor([&] { return !RecordingFiles(data).empty(); }, 20));
  Sleep(6.3);
  int64_t t_kill = SystemClock().WallNs();
  proc->Signal(SIGKILL);
  REQUIRE(proc->Wait(10) == 128 + SIGKILL);

  auto before = IndexSegments(data, "cam1");
  REQUIRE(before.size() == 1);
  CHECK(before[0].state == index::SegmentState::kOpen);  // the row was committed before the file

  auto again = vigild.Start();
  Sleep(7);
  REQUIRE(StopCleanly(*again, 30, vigild.log) == 0);
  INFO(ReadFile(vigild.log));

  auto segs = IndexSegments(data, "cam1");
  REQUIRE(segs.size() >= 2);
  const auto& rec = segs[0];
  CHECK(rec.state == index::SegmentState::kRecovered);
  CHECK(rec.end_ns >= t_kill - kNsPerSec);
  CHECK(rec.end_ns <= t_kill);
  CHECK(rec.frames >= 6 * 25 - 25);
  CheckSegmentsMatchFiles(data, segs);
  CHECK(segs[1].state == index::SegmentState::kClosed);
  // The hole is stated, not hidden: from the last recovered frame to the first new one.
  auto gaps = IndexGaps(data, "cam1");
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].start_ns == rec.end_ns);
  CHECK(gaps[0].end_ns == segs[1].start_ns);
  CHECK(gaps[0].reason.find("unexpectedly") != std::string::npos);
}

TEST_CASE("a camera stopped for 20 s leaves exactly one gap of about 20 s and the others are untouched") {
  camsim::SimOptions sim_opt;
  sim_opt.cameras = 2;
  sim_opt.replay_seconds = 4;
  auto sim = StartCamsim(sim_opt);
  TempDir dir;
  std::string data = dir / "data";
  Vigild vigild(dir, VigildConfig(data,
                                  "segment_seconds = 4\nretry_initial_ms = 250\nretry_max_ms = 1000",
                                  {{"cam1", sim->Url(1, true)}, {"cam2", sim->Url(2, true)}}));
  auto proc = vigild.Start();
  REQUIRE(WaitFor([&] { return RecordingFiles(data).size() >= 2; }, 20));
  Sleep(5);
  int64_t t_down = SystemClock().WallNs();
  REQUIRE(sim->Apply("stop cam1").ok());
  Sleep(20);
  int64_t t_up = SystemClock().WallNs();
  REQUIRE(sim->Apply("start cam1").ok());
  Sleep(10);
  REQUIRE(StopCleanly(*proc, 30, vigild.log) == 0);
  INFO(ReadFile(vigild.log));

  auto gaps = IndexGaps(data, "cam1");
  REQUIRE(gaps.size() == 1);
  const auto& g = gaps[0];
  REQUIRE(g.end_ns.has_value());
  CAPTURE(g.reason);
  CHECK(!g.reason.empty());
  CHECK(std::llabs(g.start_ns - t_down) <= kNsPerSec);
  // Reconnecting takes at most the 1 s backoff cap plus a GOP to the first key frame.
  CHECK(*g.end_ns - g.start_ns >= 20 * kNsPerSec - kNsPerSec);
  CHECK(*g.end_ns - t_up <= kNsPerSec + kGopNs + kNsPerSec);
  auto cam1 = IndexSegments(data, "cam1");
  int before = 0, after = 0;
  for (const auto& s : cam1) {
    if (s.end_ns <= g.start_ns) ++before;
    if (s.start_ns >= *g.end_ns) ++after;
    CHECK((s.end_ns <= g.start_ns || s.start_ns >= *g.end_ns));  // no footage inside the gap
  }
  CHECK(before >= 1);
  CHECK(after >= 2);  // recording resumed
  CheckSegmentsMatchFiles(data, cam1);

  auto cam2 = IndexSegments(data, "cam2");
  CHECK(IndexGaps(data, "cam2").empty());
  CheckContiguous(cam2);
  CHECK(cam2.back().end_ns - cam2.front().start_ns >= 33 * kNsPerSec);
}

TEST_CASE("with a small disk quota the oldest segments and their rows go first and files and index agree") {
  camsim::SimOptions sim_opt;
  sim_opt.replay_seconds = 4;
  auto sim = StartCamsim(sim_opt);
  TempDir dir;
  std::string data = dir / "data";
  // ~1 MB per 2 s segment at 4 Mb/s: a 3 MB quota keeps about three.
  Vigild vigild(dir, VigildConfig(data,
                                  "segment_seconds = 2\nmax_bytes = \"3MB\"\n"
                                  "retention_interval_seconds = 1",
                                  {{"cam1", sim->Url(1, true)}}));
  int64_t t_start = SystemClock().WallNs();
  auto proc = vigild.Start();
  Sleep(20);
  REQUIRE(StopCleanly(*proc, 30, vigild.log) == 0);
  INFO(ReadFile(vigild.log));

  auto segs = IndexSegments(data, "cam1");
  REQUIRE(!segs.empty());
  std::vector<std::string> indexed;
  int64_t bytes = 0, largest = 0;
  for (const auto& s : segs) {
    indexed.push_back(s.path);
    bytes += s.bytes;
    largest = std::max(largest, s.bytes);
  }
  std::sort(indexed.begin(), indexed.end());
  CHECK(indexed == RecordingFiles(data));
  CheckContiguous(segs);  // what is left is the newest footage, without holes
  CHECK(segs.front().start_ns > t_start + 6 * kNsPerSec);  // the oldest went
  // Enforced every second: at most the quota plus what closed since the last pass.
  CHECK(bytes <= 3'000'000 + 2 * largest);
  CheckSegmentsMatchFiles(data, segs);
}

TEST_CASE("a bad config is refused at start with file, line and reason") {
  TempDir dir;
  struct Case {
    std::string toml;
    std::string expect;
  };
  std::string cam = "[[cameras]]\nid = \"cam1\"\nmain = \"rtsp://127.0.0.1:8554/cam1/main\"\n"
                    "lat = 1.0\nlon = 2.0\n";
  std::vector<Case> cases = {
      {"data_dir = \"d\"\n" + cam + "retian_days = 3\n", "vigild.toml:7: unknown key 'retian_days'"},
      {"data_dir = \"d\"\n[[cameras]]\nid = \"cam1\"\nmain = \"http://10.0.0.1/x\"\nlat = 1.0\nlon = 2.0\n",
       "vigild.toml:4: camera cam1: main: 'http://10.0.0.1/x' is not an rtsp:// or rtsps:// URL"},
      {"data_dir = \"d\"\n" + cam + cam,
       "vigild.toml:8: duplicate camera id 'cam1' (first defined at"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.toml);
    WriteFile(dir / "vigild.toml", c.toml);
    std::string log = dir / "out.log";
    std::remove(log.c_str());
    Process p({BinaryFromEnv("VIGILD"), "--config", dir / "vigild.toml"}, log);
    CHECK(p.Wait(20) == 2);
    std::string out = ReadFile(log);
    CAPTURE(out);
    CHECK(out.find(c.expect) != std::string::npos);
  }
}

// A small file system of its own (tmpfs, mounted by the test: it runs as root, as CI does).
struct SmallDisk {
  explicit SmallDisk(const std::string& dir, int mib) : path(dir) {
    (void)MakeDirs(path);
    const std::string cmd = fmt::format("mount -t tmpfs -o size={}m tmpfs '{}'", mib, path);
    mounted = std::system(cmd.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted) (void)std::system(fmt::format("umount -l '{}'", path).c_str());
  }
  std::string path;
  bool mounted = false;
};

TEST_CASE("a full disk: retention makes room by itself and recording resumes, the outage recorded") {
  camsim::SimOptions sim_opt;
  sim_opt.cameras = 2;
  sim_opt.replay_seconds = 4;
  sim_opt.main_size = {1280, 720};
  sim_opt.main_kbps = 2000;
  auto sim = StartCamsim(sim_opt);
  TempDir dir;
  SmallDisk disk(dir / "disk", 48);
  if (!disk.mounted) {
    // As the full-disk case of record-faults: a kernel or user that cannot mount is said plainly.
    MESSAGE("cannot mount a 48 MiB tmpfs here (uid " << ::geteuid() << "): the disk-full cycle is skipped");
    return;
  }
  const std::string data = disk.path + "/data";
  Vigild vigild(dir, VigildConfig(data,
                                  "segment_seconds = 2\nretry_max_ms = 1000\nmin_free_bytes = \"6MiB\"\n"
                                  "reserve_bytes = \"4MiB\"\nretention_interval_seconds = 1",
                                  {{"cam1", sim->Url(1, true)}, {"cam2", sim->Url(2, true)}}));
  auto proc = vigild.Start();
  REQUIRE(WaitFor([&] { return RecordingFiles(data).size() >= 6; }, 30));
  Sleep(2);
  auto reserve = FileSize(data + "/.vigil-reserve");
  CHECK((reserve.ok() && *reserve == 4 << 20));
  // Something else fills the disk to the last byte (a log gone wild, a copy left behind).
  const std::string filler = disk.path + "/filler";
  (void)std::system(fmt::format("dd if=/dev/zero of='{}' bs=1M 2>/dev/null; sync", filler).c_str());
  const int64_t filled_ns = SystemClock().WallNs();
  auto left = FreeBytes(disk.path);  // at most the reserve, if a writer has given it up already
  CHECK((left.ok() && *left < (5 << 20)));
  // Within seconds: the reserve is given up, the oldest footage deleted, the cameras record again.
  Sleep(15);
  REQUIRE_MESSAGE(proc->Running(), ReadFile(vigild.log));
  REQUIRE(StopCleanly(*proc, 30, vigild.log) == 0);
  const std::string log = ReadFile(vigild.log);
  INFO(log);
  CHECK((log.find("its reserve is released") != std::string::npos ||
         log.find("the reserve (4 MB) is released") != std::string::npos));
  CHECK(log.find("cannot record gap") == std::string::npos);  // the outage is in the index
  CHECK(log.find("retention: deleted") != std::string::npos);
  for (const char* cam : {"cam1", "cam2"}) {
    CAPTURE(cam);
    auto segs = IndexSegments(data, cam);
    REQUIRE_FALSE(segs.empty());
    // Recording resumed: footage from well after the disk was filled.
    CHECK(segs.back().end_ns > filled_ns + 8 * kNsPerSec);
    CheckSegmentsMatchFiles(data, segs);
  }
  // Whatever was lost while the disk was full is a gap saying so (or nothing was lost at all).
  for (const auto& g : IndexGaps(data)) {
    if (g.start_ns >= filled_ns - 3 * kNsPerSec) {
      CAPTURE(g.reason);
      CHECK(g.reason.find("No space left") != std::string::npos);
    }
  }
}

}  // namespace
}  // namespace vigil::testing
