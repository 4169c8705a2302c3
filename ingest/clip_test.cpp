#include "ingest/clip.h"

#include <fcntl.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "base/fs.h"
#include "base/sha256.h"
#include "ingest/media_probe.h"
#include "tests/support/encoded_clip.h"
#include "tests/support/temp_dir.h"
#include "tests/support/video_packets.h"

namespace vigil::ingest {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1'795'000'000'000'000'000;  // 2026-11-18, any wall time will do
constexpr int64_t kFrameNs = 40 * kMs;

// Three segments of one camera from a 250-frame clip (key frame every 50 = 2 s): frames 0-99 at
// T0, frames 100-199 right after, then a 3 s outage, then frames 200-249.
struct Recorded {
  testing::TempDir dir;
  std::vector<ClipSource> sources;
};

void Record(Recorded& rec, VideoCodec codec, bool last_open = false) {
  auto clip = testing::EncodeClip(codec, 250, 50);
  REQUIRE(clip.ok());
  struct Part {
    int first, last;
    int64_t wall_start;
  };
  for (Part p : {Part{0, 100, kT0}, Part{100, 200, kT0 + 100 * kFrameNs},
                 Part{200, 250, kT0 + 200 * kFrameNs + 3000 * kMs}}) {
    std::string path = rec.dir / fmt::format("seg{}.mp4", p.first);
    auto w = SegmentWriter::Create(path, clip->format, 1'000'000'000);
    REQUIRE(w.ok());
    for (int i = p.first; i < p.last; ++i) {
      const auto& au = clip->units[static_cast<size_t>(i)];
      REQUIRE((*w)->Write(au.data.data(), au.data.size(), au.dts_ns, au.pts_ns, au.duration_ns,
                          au.key)
                  .ok());
    }
    ClipSource src;
    src.path = path;
    src.start_ns = p.wall_start;
    bool open = last_open && p.first == 200;
    if (open) {
      (*w).reset();  // what a segment still being written looks like: fragments, no trailer
      src.end_ns = src.start_ns;
    } else {
      auto closed = (*w)->Close();
      REQUIRE(closed.ok());
      src.end_ns = p.wall_start + (p.last - p.first) * kFrameNs;
      src.media_duration_90k = closed->media_duration_90k;
      src.sha256 = closed->sha256;
    }
    rec.sources.push_back(src);
  }
}

ClipSpec Spec(const Recorded& rec, int64_t from_ms, int64_t to_ms, const std::string& name) {
  ClipSpec spec;
  spec.sources = rec.sources;
  spec.from_ns = kT0 + from_ms * kMs;
  spec.to_ns = kT0 + to_ms * kMs;
  spec.output = rec.dir / name;
  return spec;
}

TEST_CASE("a clip starts at the key frame before its start, crosses segments and hashes as stored") {
  for (VideoCodec codec : {VideoCodec::kH264, VideoCodec::kH265}) {
    CAPTURE(VideoCodecName(codec));
    Recorded rec;
  Record(rec, codec);
    ClipSpec spec = Spec(rec, 1300, 6100, "clip.mp4");
    std::vector<std::pair<int64_t, int64_t>> progress;
    auto clip = WriteClip(spec, [&](int64_t bytes, int64_t covered) {
      progress.emplace_back(bytes, covered);
    });
    REQUIRE(clip.ok());
    CHECK(clip->start_ns == kT0 + 1300 * kMs);  // presented from the requested start
    CHECK(clip->decode_start_ns == kT0);         // key frame 0 is the last one at or before 1.3 s
    CHECK(clip->frames == 153);    // frames 0..152: frame 152 starts at 6.08 s < 6.1 s
    CHECK(clip->end_ns == kT0 + 153 * kFrameNs);
    CHECK(clip->bytes == FileSize(spec.output).value());
    CHECK(clip->sha256 == Sha256File(spec.output).value());
    CHECK(clip->codec == VideoCodecName(codec));
    REQUIRE(clip->sources.size() == 3);
    CHECK(clip->sources[0].used);
    CHECK(clip->sources[1].used);
    CHECK_FALSE(clip->sources[2].used);
    for (const auto& s : clip->sources) CHECK(s.matches);

    auto probe = ProbeMedia(spec.output, true);
    REQUIRE(probe.ok());
    CHECK(probe->frames == 153);
    CHECK(probe->first_is_key);
    CHECK(probe->first_is_irap);
    CHECK(probe->first_frame_decoded);
    CHECK(probe->duration_90k == 153 * 3600);

    REQUIRE(!progress.empty());
    for (size_t i = 1; i < progress.size(); ++i) {
      CHECK(progress[i].first > progress[i - 1].first);
      CHECK(progress[i].second >= progress[i - 1].second);
    }
    CHECK(progress.back().first <= clip->bytes);
  }
}

TEST_CASE("a clip presents the requested range: pre-roll hidden by an edit list, the segments' frame times kept") {
  Recorded rec;
  Record(rec, VideoCodec::kH264);
  // The index's wall span of the first segment runs 0.2 % longer than its media (the server's clock
  // slewed): the clip keeps 40 ms between frames all the same (re-timing them at 40.08 ms made
  // ffmpeg see equal times).
  rec.sources[0].end_ns = kT0 + 100 * kFrameNs * 1002 / 1000;
  rec.sources[1].start_ns = rec.sources[0].end_ns;
  rec.sources[1].end_ns = rec.sources[1].start_ns + 100 * kFrameNs;
  ClipSpec spec = Spec(rec, 1300, 6100, "exact.mp4");
  auto clip = WriteClip(spec);
  REQUIRE(clip.ok());
  auto packets = testing::ReadVideoPackets(spec.output);
  REQUIRE(packets.ok());
  REQUIRE(packets->packets.size() == 153);
  // Presentation time 0 is the requested start: the key frame 1.3 s before it is pre-roll.
  CHECK(std::llabs(packets->packets.front().pts_ns + 1300 * kMs) <= kMs);
  for (size_t i = 1; i < packets->packets.size(); ++i) {
    CAPTURE(i);
    CHECK(std::llabs(packets->packets[i].dts_ns - packets->packets[i - 1].dts_ns - kFrameNs) <= kMs / 10);
  }
  CHECK(testing::DecodeWarnings(spec.output) == "");
}

TEST_CASE("a gap in the footage stays a gap in the clip's timeline") {
  Recorded rec;
  Record(rec, VideoCodec::kH264);
  ClipSpec spec = Spec(rec, 5000, 14000, "gap.mp4");
  auto clip = WriteClip(spec);
  REQUIRE(clip.ok());
  CHECK(clip->decode_start_ns == kT0 + 4000 * kMs);  // key frame 100
  CHECK(clip->start_ns == kT0 + 5000 * kMs);
  CHECK(clip->frames == 150);
  CHECK(clip->end_ns == kT0 + 250 * kFrameNs + 3000 * kMs);
  auto probe = ProbeMedia(spec.output);
  REQUIRE(probe.ok());
  CHECK(probe->frames == 150);
  // 4 s .. 13 s of wall time: 6 s of frames and the 3 s outage between them.
  CHECK(probe->duration_90k == 9 * 90000);
  CHECK_FALSE(clip->sources[0].used);
  CHECK(clip->sources[1].used);
  CHECK(clip->sources[2].used);
}

TEST_CASE("a start inside the last frame of a GOP takes that GOP") {
  Recorded rec;
  Record(rec, VideoCodec::kH264);
  // Frame 99 is on screen from 3.96 s to 4.0 s; key frame 100 comes at 4.0 s.
  auto clip = WriteClip(Spec(rec, 3990, 4500, "edge.mp4"));
  REQUIRE(clip.ok());
  CHECK(clip->decode_start_ns == kT0 + 2000 * kMs);
  CHECK(clip->start_ns == kT0 + 3990 * kMs);
  // Exactly on a key frame: that key frame.
  auto exact = WriteClip(Spec(rec, 4000, 4500, "exact.mp4"));
  REQUIRE(exact.ok());
  CHECK(exact->start_ns == kT0 + 4000 * kMs);
  CHECK(exact->decode_start_ns == kT0 + 4000 * kMs);
  CHECK(exact->frames == 13);
}

TEST_CASE("a range wider than the footage gets all of it") {
  Recorded rec;
  Record(rec, VideoCodec::kH264);
  auto clip = WriteClip(Spec(rec, -60'000, 60'000, "all.mp4"));
  REQUIRE(clip.ok());
  CHECK(clip->frames == 250);
  CHECK(clip->start_ns == kT0);
  CHECK(clip->end_ns == kT0 + 250 * kFrameNs + 3000 * kMs);
}

TEST_CASE("a segment still being recorded contributes its complete fragments") {
  Recorded rec;
  Record(rec, VideoCodec::kH264, /*last_open=*/true);
  auto clip = WriteClip(Spec(rec, 10'000, 60'000, "open.mp4"));
  REQUIRE(clip.ok());
  CHECK(clip->start_ns == kT0 + 200 * kFrameNs + 3000 * kMs);
  CHECK(clip->frames >= 25);  // whole 1 s fragments: at least one of the two is on disk
  CHECK(clip->frames < 50);
  CHECK(clip->sources[2].used);
  CHECK_FALSE(clip->sources[2].matches);  // nothing to compare with yet
  CHECK(clip->sources[2].actual_sha256.empty());
}

TEST_CASE("clip errors name what is wrong and leave no file") {
  Recorded rec;
  Record(rec, VideoCodec::kH264);
  SUBCASE("no frames in the range (inside the outage)") {
    ClipSpec spec = Spec(rec, 8500, 10'500, "none.mp4");
    auto clip = WriteClip(spec);
    REQUIRE_FALSE(clip.ok());
    CHECK(clip.error().code() == StatusCode::kNotFound);
    CHECK_FALSE(FileSize(spec.output).ok());
  }
  SUBCASE("inverted range") {
    auto clip = WriteClip(Spec(rec, 5000, 4000, "inv.mp4"));
    REQUIRE_FALSE(clip.ok());
    CHECK(clip.error().code() == StatusCode::kInvalidArgument);
  }
  SUBCASE("a source removed meanwhile") {
    REQUIRE(RemoveFile(rec.sources[1].path).ok());
    ClipSpec spec = Spec(rec, 0, 9000, "gone.mp4");
    auto clip = WriteClip(spec);
    REQUIRE_FALSE(clip.ok());
    CHECK(clip.error().code() == StatusCode::kNotFound);
    CHECK(clip.error().message().find(rec.sources[1].path) != std::string::npos);
    CHECK_FALSE(FileSize(spec.output).ok());
  }
  SUBCASE("an output that exists already") {
    ClipSpec spec = Spec(rec, 0, 1000, "seg0.mp4");
    auto clip = WriteClip(spec);
    REQUIRE_FALSE(clip.ok());
    CHECK(clip.error().message().find("seg0.mp4") != std::string::npos);
    // The recorded segment it would have overwritten is intact.
    CHECK(Sha256File(rec.sources[0].path).value() == rec.sources[0].sha256);
  }
  SUBCASE("cancelled") {
    std::atomic<bool> cancel{true};
    ClipSpec spec = Spec(rec, 0, 9000, "cancel.mp4");
    auto clip = WriteClip(spec, {}, &cancel);
    REQUIRE_FALSE(clip.ok());
    CHECK(clip.error().code() == StatusCode::kUnavailable);
    CHECK_FALSE(FileSize(spec.output).ok());
  }
}

TEST_CASE("a source altered after indexing is reported, not hidden") {
  Recorded rec;
  Record(rec, VideoCodec::kH264);
  {
    // Flip one byte near the end (inside media data, the file still parses).
    int fd = ::open(rec.sources[1].path.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    off_t size = ::lseek(fd, 0, SEEK_END);
    char c = 0;
    REQUIRE(::pread(fd, &c, 1, size - 100) == 1);
    c = static_cast<char>(c ^ 0x55);
    REQUIRE(::pwrite(fd, &c, 1, size - 100) == 1);
    ::close(fd);
  }
  auto clip = WriteClip(Spec(rec, 0, 9000, "tampered.mp4"));
  REQUIRE(clip.ok());
  CHECK(clip->sources[0].matches);
  CHECK_FALSE(clip->sources[1].matches);
  CHECK(clip->sources[1].actual_sha256 != rec.sources[1].sha256);
  CHECK(clip->sources[1].actual_sha256.size() == 64);
}

}  // namespace
}  // namespace vigil::ingest
