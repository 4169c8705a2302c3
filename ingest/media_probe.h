#pragma once
// Reads a media file back with libavformat (and libavcodec for the first frame): what a player or
// an investigator's ffprobe would see. Used to recover segments after a crash and by tests.

#include <cstdint>
#include <string>

#include "base/status.h"

namespace vigil::ingest {

struct MediaProbe {
  std::string codec;  // "h264", "hevc", ...
  int width = 0;
  int height = 0;
  int64_t frames = 0;
  int64_t key_frames = 0;
  bool first_is_key = false;    // flagged as a sync sample by the container
  bool first_is_irap = false;   // and truly is one: its NAL units include an IDR (H.264) or IRAP (H.265)
  int64_t first_dts_90k = 0;
  int64_t duration_90k = 0;  // from the first frame's dts to the end of the last frame
  bool first_frame_decoded = false;  // only when asked
};

// Reads every packet of the first video stream. NotFound / DataLoss errors name the path.
Result<MediaProbe> ProbeMedia(const std::string& path, bool decode_first_frame = false);

}  // namespace vigil::ingest
