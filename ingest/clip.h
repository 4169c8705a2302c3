#pragma once
// Clip export at the media level: one MP4 remuxed from a camera's recorded segments, never
// re-encoded. The clip starts at the last key frame at or before `from_ns` and covers `to_ns`,
// across segment boundaries; presentation starts at `from_ns` (an edit list hides the pre-roll from
// the key frame), so the presented range is the requested one within a frame. Its timeline is wall
// time (clip time t is start_ns + t): frames keep the segments' exact media times (frame spacing and
// composition offsets), consecutive segments follow on, and a gap in the footage stays a gap in the
// timeline (the last frame before it is held) instead of being spliced away. The output is a fragmented MP4 like the segments (fragments of <= 1 s), written
// strictly sequentially: every byte below `bytes` in a progress report is final, so a client can be
// sent the clip while it is still being written. The output is hashed as written; each source
// segment is re-hashed in a second thread and compared with its indexed SHA-256.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace vigil::ingest {

struct ClipSource {
  std::string path;         // absolute
  int64_t start_ns = 0;     // wall span from the index
  int64_t end_ns = 0;       // == start_ns for a segment still being recorded
  int64_t media_duration_90k = 0;  // 0 when unknown (open segment): wall = start + media time
  std::string sha256;       // indexed hash; empty when the segment is still open
};

struct ClipSpec {
  std::vector<ClipSource> sources;  // one camera's segments, oldest first, not overlapping
  int64_t from_ns = 0;
  int64_t to_ns = 0;
  std::string output;  // created; must not exist
  bool verify_sources = true;
};

struct SourceCheck {
  std::string actual_sha256;  // of the whole file as it is now; empty when not checked
  bool used = false;          // contributed frames to the clip
  // The file hashes to its indexed SHA-256 (false also when unchecked or open).
  bool matches = false;
};

struct ClipResult {
  // Wall time where presentation starts (clip time 0): `from`, or the first frame when the footage
  // begins later.
  int64_t start_ns = 0;
  // Wall time of the clip's first frame, the key frame at or before start_ns: the frames from it to
  // start_ns are the pre-roll, decoded but hidden by the file's edit list.
  int64_t decode_start_ns = 0;
  int64_t end_ns = 0;    // end of the last frame presented
  int64_t bytes = 0;
  int64_t frames = 0;
  std::string sha256;
  std::string codec;
  int width = 0;
  int height = 0;
  std::vector<SourceCheck> sources;  // parallel to ClipSpec::sources
  // Set when the clip ends early because the stream's parameters changed (resolution or codec): the
  // rest must be exported as another clip.
  std::string truncated_reason;
};

// Called after each fragment reaches the file: bytes written so far and the footage time covered.
using ClipProgress = std::function<void(int64_t bytes, int64_t covered_ns)>;

// NotFound when no source has a frame in the range; DataLoss naming the file when a source cannot be
// read (NotFound for a source removed by retention meanwhile); Unavailable when `cancel` becomes
// true.
// The output file is removed on error.
Result<ClipResult> WriteClip(const ClipSpec& spec, const ClipProgress& progress = {},
                             const std::atomic<bool>* cancel = nullptr);

}  // namespace vigil::ingest
