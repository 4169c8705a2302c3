#pragma once
// Recovery of a segment that was open when vigild died (kill -9, power loss): the file is cut back to
// its last complete fragment (moof + mdat), which leaves a valid fragmented MP4, then probed and hashed.

#include <cstdint>
#include <string>

#include "base/status.h"
#include "index/types.h"

namespace vigil::ingest {

struct RecoveredFile {
  int64_t bytes = 0;
  int64_t truncated_bytes = 0;  // bytes of the incomplete fragment removed
  int64_t frames = 0;
  int64_t media_duration_90k = 0;
  std::string sha256;
};

// Byte offset just past the last complete top-level box that ends a playable prefix of the
// fragmented MP4 `path` (after ftyp+moov and each complete moof+mdat pair); 0 if none.
Result<int64_t> PlayablePrefix(const std::string& path);

// Truncates `path` to its playable prefix, fsyncs it, and probes it. DataLoss when nothing playable
// remains (the caller then deletes the file and its row).
Result<RecoveredFile> RecoverSegmentFile(const std::string& path);

// Completes a segment row from its recovered file: state recovered, size, frames, media duration,
// hash, and an end time of start plus media duration.
void MarkRecovered(const RecoveredFile& file, index::Segment& row);

}  // namespace vigil::ingest
