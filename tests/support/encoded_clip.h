#pragma once
// Real encoded video for unit tests: videotestsrc → x264enc/x265enc → parse (avcC/hvcC, au) →
// access units in memory, as the recorder's appsink would receive them.

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "ingest/segment_writer.h"

namespace vigil::testing {

struct AccessUnit {
  std::vector<uint8_t> data;
  int64_t dts_ns = 0;
  int64_t pts_ns = 0;
  int64_t duration_ns = 0;
  bool key = false;
};

struct EncodedClip {
  ingest::StreamFormat format;
  std::vector<AccessUnit> units;
};

// `frames` frames at 25 fps, a key frame every `gop` frames, of videotestsrc's `pattern` ("snow" is
// noise: with `kbps` it makes camera-sized files); kbps 0 keeps the encoder's default rate.
Result<EncodedClip> EncodeClip(ingest::VideoCodec codec, int frames, int gop = 50, int width = 320,
                               int height = 240, const std::string& pattern = "ball", int kbps = 0);

}  // namespace vigil::testing
