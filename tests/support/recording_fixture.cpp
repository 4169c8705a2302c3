#include "tests/support/recording_fixture.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <doctest/doctest.h>

#include "base/fs.h"
#include "base/sha256.h"
#include "ingest/media_probe.h"

namespace vigil::testing {

std::unique_ptr<camsim::Simulator> StartCamsim(camsim::SimOptions options) {
  options.port = 0;
  options.replay = true;
  auto sim = camsim::Simulator::Start(options);
  REQUIRE_MESSAGE(sim.ok(), sim.status().ToString());
  return std::move(sim).value();
}

std::string VigildConfig(const std::string& data_dir, const std::string& recording,
                         const std::vector<TomlCamera>& cameras) {
  std::string out = fmt::format("data_dir = \"{}\"\n\n[recording]\n{}\n", data_dir, recording);
  double lat = 24.88;
  for (const auto& c : cameras) {
    out += fmt::format("\n[[cameras]]\nid = \"{}\"\nmain = \"{}\"\nlat = {}\nlon = 102.83\n{}\n",
                       c.id, c.url, lat, c.extra);
    lat += 0.001;
  }
  return out;
}

std::vector<index::Segment> IndexSegments(const std::string& data_dir, const std::string& camera) {
  auto store = index::OpenSqliteStore(JoinPath(data_dir, "index.db"));
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  index::SegmentFilter f;
  if (!camera.empty()) f.camera = camera;
  auto segs = (*store)->Segments(f);
  REQUIRE(segs.ok());
  return *segs;
}

std::vector<index::Gap> IndexGaps(const std::string& data_dir, const std::string& camera) {
  auto store = index::OpenSqliteStore(JoinPath(data_dir, "index.db"));
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  auto gaps = (*store)->Gaps(camera, INT64_MIN, INT64_MAX);
  REQUIRE(gaps.ok());
  return *gaps;
}

std::vector<std::string> RecordingFiles(const std::string& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  std::filesystem::path root = std::filesystem::path(data_dir) / "recordings";
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) {
      out.push_back(std::filesystem::relative(it->path(), data_dir).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void CheckSegmentsMatchFiles(const std::string& data_dir, const std::vector<index::Segment>& segs) {
  for (const auto& s : segs) {
    CAPTURE(s.path);
    std::string abs = JoinPath(data_dir, s.path);
    auto size = FileSize(abs);
    REQUIRE(size.ok());
    CHECK(*size == s.bytes);
    CHECK(Sha256File(abs).value() == s.sha256);
    auto probe = ingest::ProbeMedia(abs, true);
    REQUIRE_MESSAGE(probe.ok(), probe.status().ToString());
    CHECK(probe->frames == s.frames);
    CHECK(probe->first_is_key);
    CHECK(probe->first_is_irap);
    CHECK(probe->first_frame_decoded);
    CHECK(std::llabs(probe->duration_90k - s.media_duration_90k) <= 3600);  // one frame
  }
}

bool WaitFor(const std::function<bool()>& pred, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

}  // namespace vigil::testing
