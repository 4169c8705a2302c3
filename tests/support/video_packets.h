#pragma once
// The video packets of a media file as libavformat reads them, for comparing what vigil recorded
// with what a camera served: times, key flags, and a digest of each frame's slice data (VCL NAL
// units only: parameter sets, SEI and delimiters may travel out of band or be dropped).

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace vigil::testing {

struct VideoPacket {
  int64_t pts_ns = 0;
  int64_t dts_ns = 0;
  bool key = false;
  std::string slices;  // SHA-256 of the VCL NAL units' bytes, in order
};

struct VideoPackets {
  std::string codec;  // "h264", "hevc"
  int width = 0;
  int height = 0;
  std::vector<VideoPacket> packets;  // decode order
  int audio_streams = 0;
  std::vector<int64_t> audio_pts_ns;  // of the first audio stream's packets
  int64_t audio_duration_ns = 0;      // their durations added up
  std::string audio_codec;
};

// Reads a file's first video stream (and counts its audio). Errors name the path.
Result<VideoPackets> ReadVideoPackets(const std::string& path);

// The first audio stream decoded to 16-bit samples (first channel), by libavcodec. Errors name the path.
Result<std::vector<int16_t>> DecodeAudio(const std::string& path);

// What `ffmpeg -v warning -i PATH -f null -` prints: "" for a file that decodes cleanly.
std::string DecodeWarnings(const std::string& path);

}  // namespace vigil::testing
