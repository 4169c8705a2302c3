#include "ingest/segment_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "base/fs.h"
#include "base/sha256.h"
#include "ingest/media_probe.h"
#include "ingest/segment_recovery.h"
#include "tests/support/encoded_clip.h"
#include "tests/support/temp_dir.h"
#include "tests/support/video_packets.h"

namespace vigil::ingest {
namespace {

constexpr int64_t kFragmentNs = 500'000'000;

void WriteAll(SegmentWriter& w, const testing::EncodedClip& clip, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const auto& au = clip.units[i];
    REQUIRE(w.Write(au.data.data(), au.data.size(), au.dts_ns, au.pts_ns, au.duration_ns, au.key).ok());
  }
}

TEST_CASE("a closed segment plays back with every frame, starts on a key frame and hashes as stored") {
  for (VideoCodec codec : {VideoCodec::kH264, VideoCodec::kH265}) {
    CAPTURE(VideoCodecName(codec));
    auto clip = testing::EncodeClip(codec, 100, 50);
    REQUIRE(clip.ok());
    testing::TempDir dir;
    std::string path = dir / "seg.mp4";
    auto w = SegmentWriter::Create(path, clip->format, kFragmentNs);
    REQUIRE(w.ok());
    WriteAll(**w, *clip, clip->units.size());
    auto closed = (*w)->Close();
    REQUIRE(closed.ok());
    CHECK(closed->frames == 100);
    CHECK(closed->bytes == FileSize(path).value());
    CHECK(closed->sha256 == Sha256File(path).value());
    CHECK(closed->media_duration_90k == 4 * 90000);

    auto probe = ProbeMedia(path, true);
    REQUIRE(probe.ok());
    CHECK(probe->frames == 100);
    CHECK(probe->key_frames == 2);
    CHECK(probe->first_is_key);
    CHECK(probe->first_is_irap);
    CHECK(probe->first_frame_decoded);
    CHECK(probe->width == 320);
    CHECK(probe->duration_90k == 4 * 90000);
  }
}

TEST_CASE("a segment cut off mid-write keeps every complete fragment after recovery") {
  auto clip = testing::EncodeClip(VideoCodec::kH264, 100, 50);
  REQUIRE(clip.ok());
  testing::TempDir dir;
  std::string path = dir / "crashed.mp4";
  {
    auto w = SegmentWriter::Create(path, clip->format, kFragmentNs);
    REQUIRE(w.ok());
    WriteAll(**w, *clip, 73);  // 2.92 s: fragments through 2.5 s are on disk, the rest in memory
    // Destroyed without Close(): what a kill -9 leaves.
  }
  // Half a fragment more, as if the process died inside a write(2).
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    const char partial[] = "\0\0\x10\0moof-partial";
    REQUIRE(::write(fd, partial, sizeof(partial)) > 0);
    ::close(fd);
  }
  auto rec = RecoverSegmentFile(path);
  REQUIRE(rec.ok());
  CHECK(rec->truncated_bytes > 0);
  CHECK(rec->bytes == FileSize(path).value());
  CHECK(rec->sha256 == Sha256File(path).value());
  // Every frame up to the last complete fragment (≤ 0.5 s + one frame before the end) survives.
  CHECK(rec->frames >= 73 - 13);
  CHECK(rec->frames < 73);
  auto probe = ProbeMedia(path, true);
  REQUIRE(probe.ok());
  CHECK(probe->frames == rec->frames);
  CHECK(probe->first_frame_decoded);
}

TEST_CASE("a file with no complete fragment is reported as data loss") {
  testing::TempDir dir;
  std::string path = dir / "empty.mp4";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(::write(fd, "\0\0\0\x18" "ftypisom", 12) == 12);
  ::close(fd);
  auto rec = RecoverSegmentFile(path);
  REQUIRE_FALSE(rec.ok());
  CHECK(rec.error().code() == StatusCode::kDataLoss);
}

TEST_CASE("creating a segment where a file blocks the directory names the path") {
  auto clip = testing::EncodeClip(VideoCodec::kH264, 2, 50);
  REQUIRE(clip.ok());
  testing::TempDir dir;
  auto w = SegmentWriter::Create(dir / "no-such-dir/seg.mp4", clip->format, kFragmentNs);
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().message().find("no-such-dir/seg.mp4") != std::string::npos);
}

}  // namespace
}  // namespace vigil::ingest

namespace vigil::ingest {
TEST_CASE("G.711 audio beside the video is stored losslessly as FLAC") {
  testing::TempDir dir;
  auto clip = testing::EncodeClip(VideoCodec::kH264, 50, 25);
  REQUIRE(clip.ok());
  StreamFormat f = clip->format;
  AudioFormat a;
  a.codec = AudioCodec::kPcma;
  a.sample_rate = 8000;
  a.channels = 1;
  f.audio = a;
  auto w = SegmentWriter::Create(dir / "g711.mp4", f, 500'000'000);
  REQUIRE_MESSAGE(w.ok(), w.status().ToString());
  std::vector<uint8_t> samples(160);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<uint8_t>(i * 7);
  int64_t audio_ns = 0;
  for (const auto& au : clip->units) {
    REQUIRE((*w)->Write(au.data.data(), au.data.size(), au.dts_ns, au.pts_ns, au.duration_ns, au.key).ok());
    while (audio_ns <= au.dts_ns - clip->units[0].dts_ns) {
      REQUIRE((*w)->WriteAudio(samples.data(), samples.size(), clip->units[0].dts_ns + audio_ns, 20'000'000).ok());
      audio_ns += 20'000'000;
    }
  }
  auto closed = (*w)->Close();
  REQUIRE(closed.ok());
  auto packets = testing::ReadVideoPackets(dir / "g711.mp4");
  REQUIRE(packets.ok());
  CHECK(packets->audio_codec == "flac");
  CHECK(packets->packets.size() == 50);
  // Every sample written is there: 20 ms packets up to the last video frame's time.
  CAPTURE(packets->audio_pts_ns.size());
  CHECK(packets->audio_duration_ns == audio_ns);
  CHECK(testing::DecodeWarnings(dir / "g711.mp4") == "");
}
}  // namespace vigil::ingest
