// Bad input at run time: cameras that cannot be reached, speak the wrong codec, freeze, or write to a
// broken or full disk are each reported with a reason while the other cameras keep recording.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

#include <doctest/doctest.h>

#include "base/fs.h"
#include "index/store.h"
#include "ingest/recorder.h"
#include "tests/support/process.h"
#include "tests/support/recording_fixture.h"

namespace vigil::testing {
namespace {

ingest::CameraConfig Cam(const std::string& id, const std::string& url) {
  ingest::CameraConfig c;
  c.id = id;
  c.name = id;
  c.main_url = url;
  c.lat = 24.88;
  c.lon = 102.83;
  return c;
}

const ingest::CameraHealth& HealthOf(const std::vector<ingest::CameraHealth>& all,
                                     const std::string& id) {
  for (const auto& h : all) {
    if (h.camera == id) return h;
  }
  FAIL("no health for " << id);
  return all.front();
}

// A small tmpfs mounted for the test's life, to fill up for real.
class SmallDisk {
 public:
  SmallDisk(const std::string& path, const char* size) : path_(path) {
    REQUIRE(MakeDirs(path).ok());
    std::string opts = std::string("size=") + size;
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST_CASE("unreachable, non-H.264/H.265, frozen, unwritable and full-disk cameras are reported while the others record") {
  camsim::SimOptions sim_opt;
  sim_opt.cameras = 3;
  sim_opt.codec_of[2] = camsim::Codec::kMjpeg;
  sim_opt.replay_seconds = 4;
  auto sim = StartCamsim(sim_opt);
  TempDir dir;
  std::string data = dir / "data";
  REQUIRE(MakeDirs(data + "/recordings").ok());
  // An unwritable place: a plain file where the camera's directory should be (root ignores modes).
  WriteFile(data + "/recordings/blocked", "not a directory");
  // A real full disk needs a small file system: a 1 MB tmpfs, which needs root (tools/test runs as
  // root) and a kernel that allows the mount. Where either is missing that one case is skipped, said
  // plainly; every other case still runs.
  auto disk = std::make_unique<SmallDisk>(data + "/recordings/full", "1m");
  if (!disk->mounted()) {
    MESSAGE("cannot mount a tmpfs here (uid " << ::geteuid() << "): the full-disk case is skipped");
    disk.reset();
    std::filesystem::remove_all(data + "/recordings/full");
  }

  ingest::RecordingOptions opt;
  opt.data_dir = data;
  opt.segment_ns = 4 * kNsPerSec;
  opt.stall_ns = 3 * kNsPerSec;
  opt.connect_timeout_ns = 5 * kNsPerSec;
  opt.retry_initial_ns = 250 * kNsPerMs;
  opt.retry_max_ns = 1 * kNsPerSec;
  std::vector<ingest::CameraConfig> cams = {
      Cam("good", sim->Url(1, true)),
      Cam("mjpeg", sim->Url(2, true)),
      Cam("frozen", sim->Url(3, true)),
      Cam("unreachable", "rtsp://127.0.0.1:1/nothing-listens"),
      Cam("blocked", sim->Url(1, true)),
  };
  if (disk) cams.push_back(Cam("full", sim->Url(1, true)));

  auto store = index::OpenSqliteStore(data + "/index.db");
  REQUIRE(store.ok());
  auto rec = ingest::Recorder::Start(cams, opt, **store);
  REQUIRE_MESSAGE(rec.ok(), rec.status().ToString());
  REQUIRE(WaitFor([&] { return RecordingFiles(data).size() >= 2; }, 20));  // "blocked" is one
  std::this_thread::sleep_for(std::chrono::seconds(3));
  REQUIRE(sim->Apply("freeze cam3").ok());
  std::this_thread::sleep_for(std::chrono::seconds(9));
  auto health = (*rec)->Health();
  (*rec)->Stop();

  auto gap_reason = [&](const std::string& cam) {
    auto gaps = (*store)->Gaps(cam, INT64_MIN, INT64_MAX);
    REQUIRE(gaps.ok());
    REQUIRE_MESSAGE(gaps->size() == 1, cam << " has " << gaps->size() << " gaps");
    return gaps->at(0).reason;
  };
  auto segments = [&](const std::string& cam) {
    index::SegmentFilter f;
    f.camera = cam;
    return (*store)->Segments(f).value();
  };

  {  // the good camera records throughout, untouched
    INFO("the good camera records throughout, untouched");
    auto segs = segments("good");
    CHECK(segs.size() >= 3);
    for (size_t i = 1; i < segs.size(); ++i) CHECK(segs[i].start_ns == segs[i - 1].end_ns);
    CHECK((*store)->Gaps("good", INT64_MIN, INT64_MAX)->empty());
    CHECK(HealthOf(health, "good").state == ingest::CameraState::kRecording);
    CHECK(HealthOf(health, "good").fps > 20);
    CheckSegmentsMatchFiles(data, segs);
  }
  {  // a camera speaking MJPEG is refused by name and retried
    INFO("a camera speaking MJPEG is refused by name and retried");
    std::string reason = gap_reason("mjpeg");
    CAPTURE(reason);
    CHECK(reason.find("unsupported codec JPEG") != std::string::npos);
    CHECK(segments("mjpeg").empty());
    // Between attempts it is retrying; caught during an attempt it is connecting (the snapshot's
    // moment is not ours to choose). Never recording.
    auto state = HealthOf(health, "mjpeg").state;
    CHECK((state == ingest::CameraState::kRetrying || state == ingest::CameraState::kConnecting));
    CHECK(HealthOf(health, "mjpeg").reconnects >= 1);
  }
  {  // an unreachable camera has a gap with the connection error and keeps being retried
    INFO("an unreachable camera has a gap with the connection error and keeps being retried");
    std::string reason = gap_reason("unreachable");
    CAPTURE(reason);
    CHECK(!reason.empty());
    CHECK(HealthOf(health, "unreachable").reconnects >= 3);
    CHECK(segments("unreachable").empty());
  }
  {  // a frozen camera is detected as stalled
    INFO("a frozen camera is detected as stalled");
    std::string reason = gap_reason("frozen");
    CHECK(reason == "stalled: no frame for 3 s");
    CHECK(!segments("frozen").empty());
  }
  {  // an unwritable directory is an error naming the path
    INFO("an unwritable directory is an error naming the path");
    std::string reason = gap_reason("blocked");
    CAPTURE(reason);
    CHECK(reason.find(data + "/recordings/blocked") != std::string::npos);
    CHECK(HealthOf(health, "blocked").state == ingest::CameraState::kDiskError);
    CHECK(segments("blocked").empty());
  }
  {  // a full disk is an error naming the path; what was written before stays indexed
    INFO("a full disk is an error naming the path; what was written before stays indexed");
    if (disk) {
    std::string reason = gap_reason("full");
    CAPTURE(reason);
    CHECK(reason.find("No space left on device") != std::string::npos);
    CHECK(reason.find(data + "/recordings/full") != std::string::npos);
    auto segs = segments("full");
    REQUIRE(!segs.empty());
    CheckSegmentsMatchFiles(data, segs);
    }
  }
}

// The process's resident memory in bytes (VmRSS).
int64_t ResidentBytes() {
  std::string status = ReadFile("/proc/self/status");
  auto at = status.find("VmRSS:");
  if (at == std::string::npos) return -1;
  return std::atoll(status.c_str() + at + 6) * 1024;
}

// A hostile camera: accepts, never reads, and sends RTSP requests as fast as the socket takes them.
struct FloodingCamera {
  FloodingCamera() {
    listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    socklen_t len = sizeof(a);
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    REQUIRE(::listen(listen_fd, 16) == 0);
    thread = std::thread([this] {
      std::string flood;
      for (int i = 0; i < 200; ++i) {
        flood += "GET_PARAMETER rtsp://127.0.0.1/x RTSP/1.0\r\nCSeq: " + std::to_string(i) + "\r\n\r\n";
      }
      while (!stop) {
        pollfd p{listen_fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int fd = ::accept(listen_fd, nullptr, nullptr);
        if (fd < 0) continue;
        ++connections;
        timeval tv{0, 100'000};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        while (!stop) {
          ssize_t n = ::send(fd, flood.data(), flood.size(), MSG_NOSIGNAL);
          if (n > 0) {
            sent += n;
          } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            break;  // vigil hung up
          }
        }
        ::close(fd);
      }
    });
  }
  ~FloodingCamera() {
    stop = true;
    thread.join();
    ::close(listen_fd);
  }
  int listen_fd = -1;
  int port = 0;
  std::atomic<bool> stop{false};
  std::atomic<int> connections{0};
  std::atomic<int64_t> sent{0};
  std::thread thread;
};

TEST_CASE("a camera flooding RTSP requests is disconnected with the reason, and memory stays bounded") {
  FloodingCamera camera;
  TempDir dir;
  ingest::RecordingOptions opt;
  opt.data_dir = dir / "data";
  opt.connect_timeout_ns = 5 * kNsPerSec;
  opt.retry_initial_ns = 250 * kNsPerMs;
  opt.retry_max_ns = 1 * kNsPerSec;
  auto store = index::OpenSqliteStore(dir / "index.db");
  REQUIRE(store.ok());
  const int64_t before = ResidentBytes();
  auto rec = ingest::Recorder::Start({Cam("flood", fmt::format("rtsp://127.0.0.1:{}/x", camera.port))},
                                     opt, **store);
  REQUIRE_MESSAGE(rec.ok(), rec.status().ToString());
  int64_t peak = before;
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    peak = std::max(peak, ResidentBytes());
  }
  auto health = (*rec)->Health();
  (*rec)->Stop();
  MESSAGE("flood: " << camera.sent.load() / 1'000'000 << " MB of requests over " << camera.connections.load()
                    << " connections; resident memory " << before / 1'000'000 << " -> peak "
                    << peak / 1'000'000 << " MB");
  CHECK(camera.sent.load() > 10'000'000);  // it did flood
  CHECK(camera.connections.load() >= 2);  // disconnected, and retried
  CAPTURE(HealthOf(health, "flood").last_error);
  CHECK(HealthOf(health, "flood").last_error.find("faster than it read the answers") != std::string::npos);
  CHECK(peak - before < 64'000'000);  // the answers waiting are bounded, not the flood
}

}  // namespace
}  // namespace vigil::testing
