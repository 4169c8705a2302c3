// Conformance of recording with real-world stream shapes: files made by third-party encoders
// (ffmpeg's libx264/libx265, GStreamer's x264enc/x265enc) served by gst-rtsp-server through
// GStreamer's own payloaders, recorded by vigild (a real process) through each RTSP client. For
// each shape and client: every frame served is recorded (frames, order and slice bytes), each
// segment starts on a key frame and decodes without a warning, every frame's presentation time
// matches the source's within 1 ms, and vigild counts nothing dropped.

#include <algorithm>
#include <chrono>
#include <set>
#include <cstdio>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/clock.h"
#include "base/fs.h"
#include "ingest/clip.h"
#include "tests/support/file_rtsp_server.h"
#include "tests/support/process.h"
#include "tests/support/recording_fixture.h"
#include "tests/support/video_packets.h"

namespace vigil::testing {
namespace {

struct Shape {
  std::string name;
  std::string make;    // a shell command writing {out}
  std::string ext;     // the file's extension
  std::string launch;  // the server's bin, reading {file}
  std::set<int> widths = {};  // when set: the picture widths the segments must have (a size change)
  // The camera's audio is recorded (by vigil's client): "aac" (as sent: checked frame by frame) or
  // "flac" (G.711, stored losslessly: checked by duration).
  std::string audio = {};
};

const char* kH264Mp4 = "( filesrc location={file} ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 )";
const char* kH265Mp4 = "( filesrc location={file} ! qtdemux ! h265parse ! rtph265pay name=pay0 pt=96 )";

std::string Ffmpeg(const std::string& input, const std::string& video_args, double seconds = 8) {
  return fmt::format("ffmpeg -nostdin -hide_banner -loglevel error -y {} -t {} {} -pix_fmt yuv420p {{out}}",
                     input, seconds, video_args);
}

std::string TestSrc(int fps = 25, const std::string& size = "1280x720") {
  return fmt::format("-f lavfi -i testsrc2=size={}:rate={}", size, fps);
}

std::string Replace(std::string s, const std::string& key, const std::string& value) {
  for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  return s;
}

void Sleep(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

std::string Run(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen((cmd + " 2>&1").c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    int rc = ::pclose(p);
    if (rc != 0) out += fmt::format("\n(exit status {})", rc);
  }
  return out;
}

// frames_received of the camera, from `vigil status --json` (-1 when vigild does not answer).
int64_t FramesReceived(const std::string& endpoint, const std::string& key) {
  std::string out = Run(fmt::format("'{}' --server {} --key '{}' status --json", BinaryFromEnv("VIGIL"),
                                    endpoint, key));
  auto at = out.find("\"frames_received\":");
  if (at == std::string::npos) return -1;
  return std::atoll(out.c_str() + at + 18);
}

struct Recording {
  std::string source;  // the file the server serves
  std::string client;
  std::string data;
  std::string log;
  std::string endpoint;
  std::string key;  // an operator's, made with `vigild keys add`
  std::unique_ptr<Process> process;
};

// What vigild recorded of camera "cam" as one packet sequence, segment by segment.
struct Recorded {
  std::set<int> widths;
  int64_t audio_frames = 0;
  int64_t audio_duration_ns = 0;
  std::set<std::string> audio_codecs;
  // Per segment: its first audio frame's time minus its first (key) frame's presentation time.
  std::vector<int64_t> audio_sync_ns;
  std::vector<VideoPacket> packets;
  std::vector<size_t> segment_starts;  // index of each segment's first packet
  std::vector<std::string> files;
};

// The first run only: at the file's end the server ends the stream, and vigild records the file
// again from its start after reconnecting (a new run, after a gap).
Recorded ReadRecording(const std::string& data) {
  Recorded r;
  const auto segs = IndexSegments(data, "cam");
  int64_t run_end = INT64_MAX;
  for (const auto& gap : IndexGaps(data, "cam")) {
    if (!segs.empty() && gap.start_ns >= segs.front().start_ns) run_end = std::min(run_end, gap.start_ns);
  }
  for (const auto& seg : segs) {
    if (seg.start_ns >= run_end) break;
    std::string path = JoinPath(data, seg.path);
    auto p = ReadVideoPackets(path);
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    CHECK_MESSAGE(static_cast<int64_t>(p->packets.size()) == seg.frames, path);
    r.widths.insert(p->width);
    r.audio_frames += static_cast<int64_t>(p->audio_pts_ns.size());
    r.audio_duration_ns += p->audio_duration_ns;
    if (!p->audio_codec.empty()) r.audio_codecs.insert(p->audio_codec);
    if (!p->audio_pts_ns.empty() && !p->packets.empty()) {
      r.audio_sync_ns.push_back(p->audio_pts_ns.front() - p->packets.front().pts_ns);
    }
    r.segment_starts.push_back(r.packets.size());
    r.files.push_back(path);
    r.packets.insert(r.packets.end(), p->packets.begin(), p->packets.end());
  }
  return r;
}

// An evidence clip across the recording's segment boundary carries the audio, in sync.
void CheckClipAudio(const Recording& rec, const VideoPackets& source) {
  const auto segs = IndexSegments(rec.data, "cam");
  REQUIRE(segs.size() >= 2);
  ingest::ClipSpec spec;
  for (const auto& s : segs) {
    spec.sources.push_back({JoinPath(rec.data, s.path), s.start_ns, s.end_ns, s.media_duration_90k, s.sha256});
  }
  spec.from_ns = segs[0].start_ns + 1500 * kNsPerMs;
  spec.to_ns = segs[1].start_ns + 2000 * kNsPerMs;
  spec.output = JoinPath(rec.data, "clip.mp4");
  auto clip = ingest::WriteClip(spec);
  REQUIRE_MESSAGE(clip.ok(), clip.status().ToString());
  CHECK(DecodeWarnings(spec.output) == "");
  auto got = ReadVideoPackets(spec.output);
  REQUIRE(got.ok());
  REQUIRE(!got->packets.empty());
  // 1.5 s of the first segment (from its key frame) and 2 s of the second: 16 AAC frames a second.
  CHECK(got->audio_pts_ns.size() >= 50);
  size_t j = 0;
  while (j < source.packets.size() && source.packets[j].slices != got->packets.front().slices) ++j;
  REQUIRE(j < source.packets.size());
  int64_t worst = 0;
  for (int64_t a : got->audio_pts_ns) {
    const int64_t want = source.packets[j].pts_ns + (a - got->packets.front().pts_ns);
    int64_t nearest = INT64_MAX;
    for (int64_t s : source.audio_pts_ns) nearest = std::min<int64_t>(nearest, std::llabs(s - want));
    worst = std::max(worst, nearest);
  }
  MESSAGE(fmt::format("{}: clip with {} audio frames, worst {:.3f} ms off the source", rec.client,
                      got->audio_pts_ns.size(), static_cast<double>(worst) / kNsPerMs));
  CHECK(worst <= kNsPerMs);
}

void CheckRecording(const Recording& rec, const VideoPackets& source, const Shape& shape) {
  const std::set<int>& widths = shape.widths;
  CAPTURE(rec.client);
  Recorded got = ReadRecording(rec.data);
  const size_t n = source.packets.size();
  CHECK_MESSAGE(got.packets.size() == n, fmt::format("{} of {} frames recorded in {} segments", got.packets.size(),
                                                      n, got.files.size()));
  MESSAGE(fmt::format("{}: {} of {} frames in {} segments", rec.client, got.packets.size(), n, got.files.size()));
  // Every file is longer than a segment and a GOP: segments were cut (on key frames).
  CHECK(got.files.size() >= 2);
  if (!widths.empty()) CHECK(got.widths == widths);
  if (shape.audio == "flac") {
    // G.711 kept losslessly as FLAC: all of it (the file's length, within the first packets that
    // precede the first video frame), in every segment.
    const std::string vlog = ReadFile(rec.log);
    const auto at = vlog.find("; audio: ");
    MESSAGE(fmt::format("{}: {:.3f} s of {} audio recorded, {:.3f} s served (vigild{})", rec.client,
                        static_cast<double>(got.audio_duration_ns) / 1e9, fmt::join(got.audio_codecs, ","),
                        static_cast<double>(source.audio_duration_ns) / 1e9,
                        at == std::string::npos ? std::string(": no audio") : vlog.substr(at, vlog.find('\n', at) - at)));
    CHECK(got.audio_codecs == std::set<std::string>{"flac"});
    // Lossless: each segment's samples, decoded, are the camera's G.711 samples expanded, exactly.
    auto served = DecodeAudio(rec.source);
    REQUIRE_MESSAGE(served.ok(), served.status().ToString());
    for (const std::string& file : got.files) {
      auto kept = DecodeAudio(file);
      REQUIRE_MESSAGE(kept.ok(), kept.status().ToString());
      REQUIRE(kept->size() > 64);
      const auto at = std::search(served->begin(), served->end(), kept->begin(), kept->begin() + 64);
      REQUIRE_MESSAGE(at != served->end(), file);
      const size_t from = static_cast<size_t>(at - served->begin());
      const size_t n = std::min(kept->size(), served->size() - from);
      CHECK_MESSAGE(std::equal(kept->begin(), kept->begin() + static_cast<ptrdiff_t>(n), at), file);
      CHECK(n + 1024 >= kept->size());  // all of it (the tail after the file's end is silence at most)
    }
    CHECK(std::llabs(got.audio_duration_ns - source.audio_duration_ns) <= 200 * kNsPerMs);
    CHECK(got.audio_sync_ns.size() == got.segment_starts.size());
    for (int64_t s : got.audio_sync_ns) CHECK(std::llabs(s) <= 200 * kNsPerMs);
  }
  if (shape.audio == "aac") {
    // Every audio frame of the file, in the segments beside the video, in sync: each segment's first
    // audio frame lies where the source's audio at that time lies, within one AAC frame (64 ms).
    const std::string vlog = ReadFile(rec.log);
    const auto at = vlog.find("; audio: ");
    MESSAGE(fmt::format("{}: {} of {} audio frames in the first run (vigild{})", rec.client, got.audio_frames,
                        source.audio_pts_ns.size(),
                        at == std::string::npos ? std::string(": no audio") : vlog.substr(at, vlog.find('\n', at) - at)));
    // Audio that comes before the run's first video frame has no segment (a frame or two at the
    // start of a connection; counted as audio_dropped).
    CHECK(got.audio_frames >= static_cast<int64_t>(source.audio_pts_ns.size()) - 3);
    CHECK(got.audio_frames <= static_cast<int64_t>(source.audio_pts_ns.size()));
    REQUIRE(got.audio_sync_ns.size() == got.segment_starts.size());
    for (size_t s = 0; s < got.segment_starts.size(); ++s) {
      // Where the segment's first audio frame lies against its key frame must be where one of the
      // source's audio frames lies against the same key frame: to the millisecond.
      const int64_t want = source.packets[got.segment_starts[s]].pts_ns + got.audio_sync_ns[s];
      int64_t nearest = INT64_MAX;
      for (int64_t a : source.audio_pts_ns) nearest = std::min<int64_t>(nearest, std::llabs(a - want));
      CAPTURE(s);
      CAPTURE(got.audio_sync_ns[s]);
      CHECK(nearest <= kNsPerMs);
      CHECK(std::llabs(got.audio_sync_ns[s]) <= 200 * kNsPerMs);  // within the reorder delay
    }
    CheckClipAudio(rec, source);
  }
  const std::string log = ReadFile(rec.log);
  CHECK_MESSAGE(log.find(", 0 dropped,") != std::string::npos, log);
  // Frame by frame: the same slices in the same (decode) order.
  size_t mismatched = 0, first_mismatch = n;
  for (size_t i = 0; i < std::min(n, got.packets.size()); ++i) {
    if (got.packets[i].slices != source.packets[i].slices) {
      ++mismatched;
      first_mismatch = std::min(first_mismatch, i);
    }
  }
  CHECK_MESSAGE(mismatched == 0, fmt::format("{} frames differ from the source's, the first at {}", mismatched,
                                             first_mismatch));
  for (size_t s = 0; s < got.segment_starts.size(); ++s) {
    CAPTURE(got.files[s]);
    const size_t begin = got.segment_starts[s];
    const size_t end = s + 1 < got.segment_starts.size() ? got.segment_starts[s + 1] : got.packets.size();
    if (begin == end) continue;
    CHECK(got.packets[begin].key);
    CHECK(DecodeWarnings(got.files[s]) == "");
    // Presentation times relative to the segment's first frame, against the source's same frames;
    // decode times strictly increasing and never after the presentation time.
    int64_t worst = 0;
    size_t worst_at = begin;
    for (size_t i = begin; i < end && i < n; ++i) {
      const int64_t want = source.packets[i].pts_ns - source.packets[begin].pts_ns;
      const int64_t have = got.packets[i].pts_ns - got.packets[begin].pts_ns;
      if (std::llabs(have - want) > worst) {
        worst = std::llabs(have - want);
        worst_at = i;
      }
      CHECK(got.packets[i].dts_ns <= got.packets[i].pts_ns);
      if (i > begin) CHECK(got.packets[i].dts_ns > got.packets[i - 1].dts_ns);
    }
    CHECK_MESSAGE(worst <= kNsPerMs, fmt::format("frame {} is {:.3f} ms off the source's time", worst_at,
                                                 static_cast<double>(worst) / kNsPerMs));
  }
}

// Makes the shape's file, serves it, records it with each client at once, and checks both.
void RecordShape(const Shape& shape, std::vector<std::string> clients = {"vigil", "gstreamer"}) {
  TempDir dir;
  const std::string file = dir / ("source." + shape.ext);
  const std::string made = Run(Replace(shape.make, "{out}", file));
  const std::string why = shape.make + "\n" + made;
  REQUIRE_MESSAGE(FileSize(file).ok(), why);
  auto source = ReadVideoPackets(file);
  REQUIRE_MESSAGE(source.ok(), source.status().ToString());
  REQUIRE(source->packets.size() > 10);
  MESSAGE(fmt::format("{}: {} frames of {} {}x{}", shape.name, source->packets.size(), source->codec,
                      source->width, source->height));
  auto server = FileRtspServer::Start({{"/shape", Replace(shape.launch, "{file}", file)}});
  REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  std::vector<Recording> recs;
  for (const std::string& client : clients) {
    Recording r;
    r.source = file;
    r.client = client;
    r.data = dir / ("data-" + client);
    r.log = dir / ("vigild-" + client + ".log");
    r.endpoint = fmt::format("tcp://127.0.0.1:{}", FreePort());
    std::string config = VigildConfig(r.data, fmt::format("rtsp_client = \"{}\"\nsegment_seconds = 3", client),
                                      {{"cam", (*server)->Url("/shape")}});
    config += fmt::format("\n[api]\nrequests = \"{}\"\nevents = \"tcp://127.0.0.1:{}\"\n", r.endpoint, FreePort());
    const std::string config_path = dir / ("vigild-" + client + ".toml");
    WriteFile(config_path, config);
    r.key = MakeKey(config_path, "op." + client, "operator", dir.path());
    r.process = std::make_unique<Process>(
        std::vector<std::string>{BinaryFromEnv("VIGILD"), "--config", config_path}, r.log);
    REQUIRE(r.process->started());
    recs.push_back(std::move(r));
  }
  // Until every frame has arrived (the file plays in real time), or well past the file's length.
  const double seconds = static_cast<double>(source->packets.back().pts_ns - source->packets.front().pts_ns) / 1e9;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds + 30);
  for (Recording& r : recs) {
    while (std::chrono::steady_clock::now() < deadline &&
           FramesReceived(r.endpoint, r.key) < static_cast<int64_t>(source->packets.size())) {
      Sleep(0.2);
    }
  }
  for (Recording& r : recs) MESSAGE(fmt::format("{}: {} frames received", r.client, FramesReceived(r.endpoint, r.key)));
  Sleep(1);
  for (Recording& r : recs) REQUIRE(StopCleanly(*r.process, 30, r.log) == 0);
  for (const Recording& r : recs) CheckRecording(r, *source, shape);
}

}  // namespace

// H.264 profiles and B-frame structures.
TEST_CASE("shape h264-baseline") {
  RecordShape({"h264-baseline", Ffmpeg(TestSrc(), "-c:v libx264 -preset veryfast -profile:v baseline -g 50"),
               "mp4", kH264Mp4});
}
TEST_CASE("shape h264-main-b2") {
  RecordShape({"h264-main-b2",
               Ffmpeg(TestSrc(), "-c:v libx264 -preset veryfast -profile:v main -bf 2 -x264-params b-pyramid=none -g 50"),
               "mp4", kH264Mp4});
}
TEST_CASE("shape h264-high-b3-pyramid") {
  RecordShape({"h264-high-b3-pyramid",
               Ffmpeg(TestSrc(), "-c:v libx264 -preset veryfast -profile:v high -bf 3 -g 50"), "mp4", kH264Mp4});
}
TEST_CASE("shape h264-high-b3-flat") {
  RecordShape({"h264-high-b3-flat",
               Ffmpeg(TestSrc(), "-c:v libx264 -preset veryfast -profile:v high -bf 3 -x264-params b-pyramid=none -g 50"),
               "mp4", kH264Mp4});
}
TEST_CASE("shape h264-open-gop") {
  RecordShape({"h264-open-gop",
               Ffmpeg(TestSrc(), "-c:v libx264 -preset veryfast -bf 3 -g 50 -x264-params open-gop=1"), "mp4",
               kH264Mp4});
}
TEST_CASE("shape h264-slices") {
  RecordShape({"h264-slices", Ffmpeg(TestSrc(), "-c:v libx264 -preset veryfast -bf 2 -g 50 -x264-params slices=4"),
               "mp4", kH264Mp4});
}
TEST_CASE("shape h264-sei-hrd") {
  // Buffering-period and picture-timing SEI in every access unit.
  RecordShape({"h264-sei-hrd",
               Ffmpeg(TestSrc(), "-c:v libx264 -preset veryfast -bf 2 -g 50 -b:v 2M -maxrate 2M -bufsize 2M "
                                 "-x264-params nal-hrd=vbr"),
               "mp4", kH264Mp4});
}
TEST_CASE("shape h264-in-band") {
  // Parameter sets in the stream before every key frame (byte-stream, as many cameras send).
  RecordShape({"h264-in-band", Ffmpeg(TestSrc(), "-c:v libx264 -preset veryfast -bf 2 -g 50"), "mp4",
               "( filesrc location={file} ! qtdemux ! h264parse config-interval=-1 ! "
               "video/x-h264,stream-format=byte-stream,alignment=au ! rtph264pay name=pay0 pt=96 )"});
}
TEST_CASE("shape h264-gop-10s") {
  RecordShape({"h264-gop-10s", Ffmpeg(TestSrc(), "-c:v libx264 -preset veryfast -bf 2 -g 250 -keyint_min 250", 12),
               "mp4", kH264Mp4});
}
TEST_CASE("shape h264-15fps") {
  RecordShape({"h264-15fps", Ffmpeg(TestSrc(15), "-c:v libx264 -preset veryfast -bf 2 -g 30"), "mp4", kH264Mp4});
}
TEST_CASE("shape h264-30fps") {
  RecordShape({"h264-30fps", Ffmpeg(TestSrc(30), "-c:v libx264 -preset veryfast -bf 3 -g 60"), "mp4", kH264Mp4});
}
TEST_CASE("shape h264-vfr") {
  // Variable frame rate: two frames of every seven dropped, intervals of 40 and 80 ms.
  RecordShape({"h264-vfr",
               Ffmpeg(TestSrc(), "-vf select='lt(mod(n\\,7)\\,5)' -fps_mode vfr -c:v libx264 -preset veryfast -bf 2 -g 50"),
               "mp4", kH264Mp4});
}
TEST_CASE("shape h264-gstreamer-x264enc") {
  RecordShape({"h264-gstreamer-x264enc",
               "gst-launch-1.0 -q videotestsrc num-buffers=200 ! video/x-raw,width=1280,height=720,framerate=25/1 ! "
               "x264enc speed-preset=veryfast bframes=3 b-pyramid=true key-int-max=50 ! h264parse ! mp4mux ! "
               "filesink location={out}",
               "mp4", kH264Mp4});
}
TEST_CASE("shape h264-aac-audio") {
  // Without B-frames: qtdemux (the server) ignores the video's edit list where libavformat (the
  // reference) applies it, which would shift the two readings of the file against each other.
  RecordShape({"h264-aac-audio",
               Ffmpeg(TestSrc() + " -f lavfi -i sine=frequency=440:sample_rate=16000",
                      "-c:v libx264 -preset veryfast -bf 0 -g 50 -c:a aac -b:a 32k"),
               "mp4",
               "( filesrc location={file} ! qtdemux name=d d.video_0 ! queue ! h264parse ! rtph264pay name=pay0 pt=96 "
               "d.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 )",
               {}, /*audio=*/"aac"});
}
TEST_CASE("shape h264-alaw-audio") {
  RecordShape({"h264-alaw-audio",
               Ffmpeg(TestSrc() + " -f lavfi -i sine=frequency=440:sample_rate=8000",
                      "-c:v libx264 -preset veryfast -bf 0 -g 50 -c:a pcm_alaw -ar 8000 -ac 1"),
               "mkv",
               "( filesrc location={file} ! matroskademux name=d d.video_0 ! queue ! h264parse ! "
               "rtph264pay name=pay0 pt=96 d.audio_0 ! queue ! rtppcmapay name=pay1 pt=8 )",
               {}, /*audio=*/"flac"});
}

TEST_CASE("shape h264-size-change") {
  // 1280x720 for 4 s, then 640x360 (new parameter sets in band at a key frame): a new segment.
  constexpr const char* kPart = "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size={}:rate=25 -t 4 "
                           "-c:v libx264 -preset veryfast -bf 0 -g 50 -pix_fmt yuv420p -f h264 {{out}}.{}";
  RecordShape({"h264-size-change",
               fmt::format(fmt::runtime(kPart), "1280x720", "a") + " && " + fmt::format(fmt::runtime(kPart), "640x360", "b") +
                   " && cat {out}.a {out}.b > {out}.h264 && ffmpeg -nostdin -loglevel error -y -r 25 -f h264 "
                   "-i {out}.h264 -c copy {out}",
               "mkv",
               "( filesrc location={file} ! matroskademux ! h264parse ! rtph264pay config-interval=-1 name=pay0 "
               "pt=96 )",
               {1280, 640}});
}

TEST_CASE("shape h264-ulaw-audio") {
  RecordShape({"h264-ulaw-audio",
               Ffmpeg(TestSrc() + " -f lavfi -i sine=frequency=300:sample_rate=8000",
                      "-c:v libx264 -preset veryfast -bf 0 -g 50 -c:a pcm_mulaw -ar 8000 -ac 1"),
               "mkv",
               "( filesrc location={file} ! matroskademux name=d d.video_0 ! queue ! h264parse ! "
               "rtph264pay name=pay0 pt=96 d.audio_0 ! queue ! rtppcmupay name=pay1 pt=0 )",
               {}, /*audio=*/"flac"});
}

// H.265.
TEST_CASE("shape h265-main-b") {
  // libx265's defaults: B-frames with a pyramid, open GOP (CRA key frames with leading pictures).
  RecordShape({"h265-main-b", Ffmpeg(TestSrc(), "-c:v libx265 -preset veryfast -g 50 -x265-params log-level=error"),
               "mp4", kH265Mp4});
}
TEST_CASE("shape h265-closed-gop") {
  RecordShape({"h265-closed-gop",
               Ffmpeg(TestSrc(), "-c:v libx265 -preset veryfast -g 50 -x265-params log-level=error:open-gop=0:bframes=3"),
               "mp4", kH265Mp4});
}
TEST_CASE("shape h265-1440p") {
  RecordShape({"h265-1440p",
               Ffmpeg(TestSrc(25, "2560x1440"), "-c:v libx265 -preset ultrafast -g 50 -x265-params log-level=error", 5),
               "mp4", kH265Mp4});
}
TEST_CASE("shape h265-gstreamer-x265enc") {
  RecordShape({"h265-gstreamer-x265enc",
               "gst-launch-1.0 -q videotestsrc num-buffers=200 ! video/x-raw,width=1280,height=720,framerate=25/1 ! "
               "x265enc speed-preset=veryfast key-int-max=50 option-string=bframes=3 ! h265parse ! mp4mux ! "
               "filesink location={out}",
               "mp4", kH265Mp4});
}

}  // namespace vigil::testing
