// Clip export through the API on real sockets: recorded segments (real H.264 in fragmented MP4,
// indexed like the recorder does), an ExportRequest, the clip downloaded while it is written or left
// on the server, its manifest and audit rows, and every bad request.

#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <thread>
#include <fstream>
#include <map>
#include <sstream>

#include <doctest/doctest.h>

#include "base/fs.h"
#include "base/sha256.h"
#include "ingest/media_probe.h"
#include "ingest/segment_writer.h"
#include "proto/client.h"
#include "proto/server.h"
#include "proto/testing/keys.h"
#include "tests/support/encoded_clip.h"
#include "tests/support/temp_dir.h"

namespace vigil::api {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1000 * kMs;
constexpr int64_t kT0 = 1'795'000'000'000'000'000;
constexpr int64_t kFrameNs = 40 * kMs;

struct Fixture {
  vigil::testing::TempDir dir;
  std::unique_ptr<index::Store> store;
  std::unique_ptr<Server> server;

  // cam1 at the origin: 3 segments of 8 s each (GOP 2 s), a 5 s outage between the 2nd and 3rd.
  // cam2 500 m north: one segment of 8 s. cam3 far away: nothing recorded.
  Fixture() {
    store = std::move(index::OpenSqliteStore(dir / "index.db").value());
    AddCamera("cam1", 25.0400, 102.7100);
    AddCamera("cam2", 25.0445, 102.7100);
    AddCamera("cam3", 26.0, 103.0);
    auto clip = vigil::testing::EncodeClip(ingest::VideoCodec::kH264, 200, 50);
    REQUIRE(clip.ok());
    Record("cam1", *clip, kT0);
    Record("cam1", *clip, kT0 + 8 * kSec);
    index::Gap gap;
    gap.camera = "cam1";
    gap.start_ns = kT0 + 16 * kSec;
    gap.reason = "connection refused";
    auto gap_id = store->OpenGap(gap);
    REQUIRE(gap_id.ok());
    REQUIRE(store->CloseGap(*gap_id, kT0 + 21 * kSec).ok());
    Record("cam1", *clip, kT0 + 21 * kSec);
    Record("cam2", *clip, kT0);
    REQUIRE(store->Flush().ok());
    Serve();
  }

  void AddCamera(const std::string& id, double lat, double lon) {
    index::Camera c;
    c.id = id;
    c.name = "Camera " + id;
    c.main_url = "rtsp://127.0.0.1/" + id;
    c.lat = lat;
    c.lon = lon;
    c.place = "Dongfeng Rd";
    REQUIRE(store->UpsertCamera(c).ok());
  }

  void Record(const std::string& camera, const vigil::testing::EncodedClip& clip, int64_t start) {
    std::string rel = fmt::format("recordings/{}/{}.mp4", camera, start);
    REQUIRE(MakeDirs(DirName(dir / rel)).ok());
    auto w = ingest::SegmentWriter::Create(dir / rel, clip.format, 1'000'000'000);
    REQUIRE(w.ok());
    for (const auto& au : clip.units) {
      REQUIRE((*w)->Write(au.data.data(), au.data.size(), au.dts_ns, au.pts_ns, au.duration_ns,
                          au.key)
                  .ok());
    }
    auto closed = (*w)->Close();
    REQUIRE(closed.ok());
    index::Segment s;
    s.camera = camera;
    s.start_ns = start;
    s.end_ns = start;
    s.path = rel;
    s.codec = "h264";
    s.width = clip.format.width;
    s.height = clip.format.height;
    auto id = store->BeginSegment(s);
    REQUIRE(id.ok());
    s.id = *id;
    s.state = index::SegmentState::kClosed;
    s.end_ns = start + static_cast<int64_t>(clip.units.size()) * kFrameNs;
    s.bytes = closed->bytes;
    s.frames = closed->frames;
    s.media_duration_90k = closed->media_duration_90k;
    s.sha256 = closed->sha256;
    REQUIRE(store->FinishSegment(s).ok());
  }

  void Serve() {
    server.reset();
    ServerOptions so;
    so.requests = "tcp://127.0.0.1:*";
    so.events = "tcp://127.0.0.1:*";
    so.workers = 2;
    so.exports.data_dir = dir.path();
    so.exports.max_clip_ns = 3600 * kSec;
    so.exports.server_name = "test";
    so.exports.settle_ns = 500 * kMs;
    so.server_key = keys.server;
    so.keyring = keys.keyring;
    so.exports.max_area_bytes = area_quota;
    so.exports.max_user_bytes = user_quota;
    const std::string path = dir / "index.db";
    auto started = Server::Start(so, *store, [path]() {
      index::SqliteOptions ro;
      ro.read_only = true;
      return index::OpenSqliteStore(path, ro);
    }, SystemClock());
    REQUIRE(started.ok());
    server = std::move(*started);
  }

  std::unique_ptr<Client> NewClient(const std::string& user = "inv.chen",
                                    Role role = Role::kInvestigator) {
    auto it = users.find(user);
    if (it == users.end()) it = users.emplace(user, keys.Add(user, role)).first;
    auto c = Client::Connect(server->requests_endpoint(), it->second);
    REQUIRE(c.ok());
    return std::move(*c);
  }
  testing::TestKeys keys{dir / "keys"};
  std::map<std::string, UserKey> users;
  int64_t area_quota = 50LL << 30;
  int64_t user_quota = 10LL << 30;
};

v1::Request ExportOf(std::vector<std::string> cameras, int64_t from, int64_t to) {
  v1::Request q;
  auto* e = q.mutable_export_clip();
  for (auto& c : cameras) e->add_cameras(c);
  e->mutable_range()->set_from_ns(from);
  e->mutable_range()->set_to_ns(to);
  e->set_case_ref("KM-2026-1123");
  return q;
}

TEST_CASE("an exported clip downloads while written, starts on a key frame, matches its manifest") {
  Fixture f;
  auto client = f.NewClient();
  // 3.0 s .. 26.5 s: key frame at 2 s; across segments 1→2, the outage 16..21 s, into segment 3.
  auto r = client->Call(ExportOf({"cam1"}, kT0 + 3 * kSec, kT0 + 26'500 * kMs));
  REQUIRE(r.ok());
  const auto& plan = r->export_clip();
  REQUIRE(plan.clips_size() == 1);
  CHECK(plan.export_id().size() >= 20);
  CHECK(plan.clips(0).camera() == "cam1");
  CHECK(plan.clips(0).sources_size() == 3);
  REQUIRE(plan.clips(0).gaps_size() == 1);
  CHECK(plan.clips(0).gaps(0).reason() == "connection refused");

  std::string local = f.dir / "downloaded.mp4";
  std::vector<int64_t> seen;
  auto m = DownloadClip(*client, plan.export_id(), 0, local,
                        [&](int64_t bytes, int64_t, int64_t) { seen.push_back(bytes); },
                        /*window=*/3, /*chunk=*/64 * 1024);
  REQUIRE(m.ok());
  CHECK(m->state() == "done");
  CHECK(m->sha256() == Sha256File(local).value());
  CHECK(m->bytes() == FileSize(local).value());
  CHECK(m->start_ns() == kT0 + 3 * kSec);         // presented from the requested start ...
  CHECK(m->decode_start_ns() == kT0 + 2 * kSec);  // ... after the pre-roll from the key frame at 2 s
  CHECK(m->end_ns() == kT0 + 26'520 * kMs);  // frame at 26.48 s is the last one before 26.5 s
  CHECK(m->requested_by() == "inv.chen");
  CHECK(m->case_ref() == "KM-2026-1123");
  CHECK(m->camera_name() == "Camera cam1");
  CHECK(m->sources_size() == 3);
  for (const auto& s : m->sources()) {
    CHECK(s.verified());
    CHECK(s.verified_sha256() == s.sha256());
  }
  CHECK(seen.size() >= 2);

  auto probe = ingest::ProbeMedia(local, true);
  REQUIRE(probe.ok());
  CHECK(probe->first_is_key);
  CHECK(probe->first_is_irap);
  CHECK(probe->first_frame_decoded);
  // 24.52 s of wall time (2.0 .. 26.52 s), the 5 s outage included.
  CHECK(probe->duration_90k == (24'520 * 90));
  CHECK(probe->frames == 150 + 200 + (26'520 - 21'000) / 40);

  // The same clip on the server's disk, with its manifest as JSON beside it.
  CHECK(Sha256File(f.dir / m->path()).value() == m->sha256());
  std::ifstream in(f.dir / m->manifest_path());
  std::stringstream text;
  text << in.rdbuf();
  v1::ClipManifest on_disk;
  REQUIRE(google::protobuf::util::JsonStringToMessage(text.str(), &on_disk).ok());
  CHECK(on_disk.sha256() == m->sha256());
  CHECK(on_disk.export_id() == plan.export_id());
  CHECK(text.str().find("\"sha256\"") != std::string::npos);

  // Audit: who asked and when, and the clip with its hash.
  REQUIRE(f.store->Flush().ok());
  index::AuditQuery aq;
  aq.range = {kT0 - 1, INT64_MAX};
  auto audit = f.store->Audit(aq);
  REQUIRE(audit.ok());
  int requested = 0, written = 0;
  for (const auto& a : audit->items) {
    if (a.action != "export" || a.who != "inv.chen") continue;
    CHECK(a.role == "investigator");
    if (a.detail.find(plan.export_id() + " requested") != std::string::npos) ++requested;
    if (a.result_sha256 == m->sha256()) ++written;
  }
  CHECK(requested == 1);
  CHECK(written == 1);
}

TEST_CASE("an export whose range ends in the future waits for the footage instead of being cut short") {
  Fixture f;
  f.AddCamera("live", 25.0401, 102.7101);
  auto clip = vigil::testing::EncodeClip(ingest::VideoCodec::kH264, 150, 50);
  REQUIRE(clip.ok());
  auto client = f.NewClient();
  const int64_t now = SystemClock().WallNs();
  // Dispatch asks for the alert's clip at once: 2 s before now to 2 s after.
  auto r = client->Call(ExportOf({"live"}, now - 2 * kSec, now + 2 * kSec));
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  const auto& plan = r->export_clip().clips(0);
  CHECK(plan.state() == "waiting");
  CHECK(plan.wait_until_ns() == now + 2 * kSec + 500 * kMs);
  CHECK(plan.note().find("future") != std::string::npos);
  // The footage is recorded after the request: 6 s from 3 s before it.
  f.Record("live", *clip, now - 3 * kSec);
  REQUIRE(f.store->Flush().ok());
  auto m = DownloadClip(*client, r->export_clip().export_id(), 0, f.dir / "live.mp4", {});
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  CHECK(m->state() == "done");
  CHECK(SystemClock().WallNs() >= now + 2 * kSec);  // written after the range's end, not before
  CHECK(m->start_ns() == now - 2 * kSec);
  CHECK(m->end_ns() >= now + 2 * kSec - kFrameNs);  // the whole range, to its last frame
  CHECK(m->sources_size() == 1);

  // Further ahead than the server waits: refused, saying why.
  auto far = client->Call(ExportOf({"live"}, now, now + 3600 * kSec));
  REQUIRE_FALSE(far.ok());
  CHECK(far.error().code() == StatusCode::kInvalidArgument);
  CHECK(far.error().message().find("at most 600 s ahead") != std::string::npos);
}

TEST_CASE("a clip left on the server reports progress and survives a server restart") {
  Fixture f;
  auto client = f.NewClient();
  auto r = client->Call(ExportOf({"cam1", "cam2"}, kT0, kT0 + 6 * kSec));
  REQUIRE(r.ok());
  std::string id = r->export_clip().export_id();
  REQUIRE(r->export_clip().clips_size() == 2);
  for (int clip = 0; clip < 2; ++clip) {
    int64_t last_covered = -1;
    auto m = WaitForClip(*client, id, clip, [&](int64_t, int64_t covered, int64_t total) {
      CHECK(covered >= last_covered);
      CHECK(total == 6 * kSec);
      last_covered = covered;
    });
    REQUIRE(m.ok());
    CHECK(m->camera() == (clip == 0 ? "cam1" : "cam2"));
    CHECK(m->frames() == 150);
    CHECK(Sha256File(f.dir / m->path()).value() == m->sha256());
  }
  f.Serve();  // a new server process: the export is served from its manifests on disk
  auto again = f.NewClient();
  std::string local = f.dir / "after-restart.mp4";
  auto m = DownloadClip(*again, id, 1, local);
  REQUIRE(m.ok());
  CHECK(m->camera() == "cam2");
  CHECK(Sha256File(local).value() == m->sha256());
}

TEST_CASE("an area export has one clip per camera with footage, nearest first") {
  Fixture f;
  auto client = f.NewClient();
  v1::Request q = ExportOf({}, kT0 + kSec, kT0 + 5 * kSec);
  auto* area = q.mutable_export_clip()->mutable_area();
  area->mutable_center()->set_lat(25.0440);
  area->mutable_center()->set_lon(102.7100);
  area->set_radius_m(1000);
  auto r = client->Call(q);
  REQUIRE(r.ok());
  const auto& plan = r->export_clip();
  REQUIRE(plan.clips_size() == 2);
  CHECK(plan.clips(0).camera() == "cam2");  // 55 m from the centre
  CHECK(plan.clips(1).camera() == "cam1");  // 445 m
  for (int i = 0; i < 2; ++i) {
    auto m = WaitForClip(*client, plan.export_id(), i);
    REQUIRE(m.ok());
    CHECK(m->start_ns() == kT0 + kSec);  // presented from the start asked
    CHECK(m->decode_start_ns() == kT0);  // the key frame before it
  }
  // Only cam3's surroundings: cameras there have no footage.
  area->mutable_center()->set_lat(26.0);
  area->mutable_center()->set_lon(103.0);
  auto none = client->Call(q);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code() == StatusCode::kNotFound);
}

TEST_CASE("bad export requests get typed errors and the server goes on") {
  Fixture f;
  auto client = f.NewClient();
  auto code = [&](v1::Request q) {
    auto r = client->Call(q);
    REQUIRE_FALSE(r.ok());
    return r.error().code();
  };
  CHECK(code(ExportOf({"cam1"}, kT0 + 5 * kSec, kT0)) == StatusCode::kInvalidArgument);
  CHECK(code(ExportOf({"nope"}, kT0, kT0 + kSec)) == StatusCode::kNotFound);
  CHECK(code(ExportOf({}, kT0, kT0 + kSec)) == StatusCode::kInvalidArgument);
  CHECK(code(ExportOf({"cam1"}, kT0, kT0 + 3601 * kSec)) == StatusCode::kResourceExhausted);
  CHECK(code(ExportOf({"cam3"}, kT0, kT0 + kSec)) == StatusCode::kNotFound);
  CHECK(code(ExportOf({"cam1"}, kT0 + 17 * kSec, kT0 + 20 * kSec)) == StatusCode::kNotFound);
  {
    // Dispatch exports an alert's clip only: cam1 raised none.
    auto dispatch = f.NewClient("unit.p07", Role::kDispatch);
    auto r = dispatch->Call(ExportOf({"cam1"}, kT0, kT0 + kSec));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == StatusCode::kPermissionDenied);
    CHECK(r.error().message().find("alert") != std::string::npos);
  }
  auto fetch = [&](const std::string& id, int clip, int64_t offset, int max) {
    v1::Request q;
    auto* e = q.mutable_export_fetch();
    e->set_export_id(id);
    e->set_clip(clip);
    e->set_offset(offset);
    e->set_max_bytes(max);
    return q;
  };
  CHECK(code(fetch("20261123T000000Z-0000", 0, 0, 100)) == StatusCode::kNotFound);
  CHECK(code(fetch("../../etc", 0, 0, 100)) == StatusCode::kInvalidArgument);
  auto ok = client->Call(ExportOf({"cam1"}, kT0, kT0 + kSec));
  REQUIRE(ok.ok());
  std::string id = ok->export_clip().export_id();
  // "<UTC second>-<128 random bits>": not guessable from the time of the request.
  REQUIRE(id.size() == 16 + 1 + 32);
  CHECK(id.find_first_not_of("0123456789abcdef", 17) == std::string::npos);
  {
    // Another investigator cannot fetch it (it does not exist for them); an admin can.
    auto other = f.NewClient("inv.other", Role::kInvestigator);
    auto r = other->Call(fetch(id, 0, 0, 100));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == StatusCode::kNotFound);
    auto admin = f.NewClient("admin.ma", Role::kAdmin);
    CHECK(WaitForClip(*admin, id, 0).ok());
  }
  CHECK(code(fetch(id, 5, 0, 100)) == StatusCode::kNotFound);
  CHECK(code(fetch(id, 0, -1, 100)) == StatusCode::kInvalidArgument);
  CHECK(code(fetch(id, 0, 0, kMaxFetchBytes + 1)) == StatusCode::kInvalidArgument);
  // A camera in the list without footage gets a failed clip beside the others.
  auto mixed = client->Call(ExportOf({"cam1", "cam3"}, kT0, kT0 + kSec));
  REQUIRE(mixed.ok());
  REQUIRE(mixed->export_clip().clips_size() == 2);
  CHECK(mixed->export_clip().clips(1).state() == "failed");
  auto failed = WaitForClip(*client, mixed->export_clip().export_id(), 1);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code() == StatusCode::kNotFound);
  CHECK(WaitForClip(*client, mixed->export_clip().export_id(), 0).ok());
  // Still serving.
  v1::Request status;
  status.mutable_status();
  CHECK(client->Call(status).ok());
}

TEST_CASE("1,000 exports asked at once by one user: a few run, the rest are refused naming the limit") {
  Fixture f;
  f.AddCamera("live", 25.0401, 102.7101);
  auto client = f.NewClient();
  const int64_t now = SystemClock().WallNs();
  int accepted = 0, refused = 0;
  for (int i = 0; i < 1000; ++i) {
    // Ranges ending in the future: each stays in progress (waiting for its footage).
    auto r = client->Call(ExportOf({"live"}, now - 2 * kSec, now + 120 * kSec));
    if (r.ok()) {
      ++accepted;
      continue;
    }
    CHECK(r.error().code() == StatusCode::kResourceExhausted);
    CHECK(r.error().message().find("inv.chen has 4 exports in progress") != std::string::npos);
    ++refused;
  }
  CHECK(accepted == 4);
  CHECK(refused == 996);
  // Nothing was written for the refused ones, and another user is not held up.
  int dirs = 0;
  for (const auto& e : std::filesystem::directory_iterator(f.dir / "exports")) dirs += e.is_directory();
  CHECK(dirs == 4);
  auto other = f.NewClient("inv.other", Role::kInvestigator);
  CHECK(other->Call(ExportOf({"live"}, now - 2 * kSec, now + 120 * kSec)).ok());
}

TEST_CASE("a full export area refuses new exports until old ones expire or are removed") {
  Fixture f;
  f.area_quota = 1;  // one byte: full after the first clip
  f.Serve();
  auto client = f.NewClient();
  auto first = client->Call(ExportOf({"cam1"}, kT0, kT0 + 2 * kSec));
  REQUIRE(first.ok());
  REQUIRE(WaitForClip(*client, first->export_clip().export_id(), 0).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // past the size cache
  auto second = client->Call(ExportOf({"cam1"}, kT0, kT0 + 2 * kSec));
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == StatusCode::kResourceExhausted);
  CHECK(second.error().message().find("the export area holds") != std::string::npos);
}

TEST_CASE("one user's exports fill only that user's share: others still export, also after a restart") {
  Fixture f;
  f.user_quota = 1;  // one byte: a user is at the limit after their first clip
  f.Serve();
  auto chen = f.NewClient("inv.chen");
  auto first = chen->Call(ExportOf({"cam1"}, kT0, kT0 + 2 * kSec));
  REQUIRE(first.ok());
  REQUIRE(WaitForClip(*chen, first->export_clip().export_id(), 0).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // past the size cache
  auto again = chen->Call(ExportOf({"cam1"}, kT0, kT0 + 2 * kSec));
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == StatusCode::kResourceExhausted);
  CHECK(again.error().message().find("inv.chen's exports hold") != std::string::npos);
  CHECK(again.error().message().find("export_user_quota") != std::string::npos);
  auto liu = f.NewClient("inv.liu");
  auto other = liu->Call(ExportOf({"cam1"}, kT0, kT0 + 2 * kSec));
  REQUIRE(other.ok());
  REQUIRE(WaitForClip(*liu, other->export_clip().export_id(), 0).ok());
  // A restarted server knows whose exports are on disk from their manifests.
  f.Serve();
  chen = f.NewClient("inv.chen");
  auto after = chen->Call(ExportOf({"cam1"}, kT0, kT0 + 2 * kSec));
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().message().find("inv.chen's exports hold") != std::string::npos);
}

}  // namespace
}  // namespace vigil::api
