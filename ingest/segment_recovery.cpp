#include "ingest/segment_recovery.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "base/sha256.h"
#include "ingest/media_probe.h"

namespace vigil::ingest {
namespace {

uint64_t ReadBe(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Result<int64_t> PlayablePrefix(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open", path);
  off_t size = ::lseek(fd, 0, SEEK_END);
  int64_t pos = 0;
  int64_t playable = 0;
  bool have_moov = false;
  bool pending_moof = false;
  while (pos + 8 <= size) {
    std::array<unsigned char, 16> hdr{};
    ssize_t n = ::pread(fd, hdr.data(), hdr.size(), pos);
    if (n < 8) break;
    uint64_t box = ReadBe(hdr.data(), 4);
    std::string type(reinterpret_cast<const char*>(hdr.data() + 4), 4);
    if (box == 1) {
      if (n < 16) break;
      box = ReadBe(hdr.data() + 8, 8);
    }
    if (box < 8 || pos + static_cast<int64_t>(box) > size) break;  // size 0 (to EOF) or truncated
    pos += static_cast<int64_t>(box);
    if (type == "moov") {
      have_moov = true;
      playable = pos;
    } else if (type == "moof") {
      pending_moof = true;
    } else if (type == "mdat") {
      if (pending_moof && have_moov) playable = pos;
      pending_moof = false;
    } else if (type == "mfra" && have_moov && !pending_moof) {
      playable = pos;
    }
  }
  ::close(fd);
  return have_moov ? playable : 0;
}

Result<RecoveredFile> RecoverSegmentFile(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(int64_t prefix, PlayablePrefix(path));
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open", path);
  off_t size = ::lseek(fd, 0, SEEK_END);
  RecoveredFile out;
  out.truncated_bytes = size - prefix;
  if (prefix < size && ::ftruncate(fd, prefix) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "truncate", path);
  }
  ::fsync(fd);
  ::close(fd);
  if (prefix == 0) return Status::DataLoss(fmt::format("{}: no complete fragment", path));
  VIGIL_ASSIGN_OR_RETURN(MediaProbe probe, ProbeMedia(path));
  if (probe.frames == 0) return Status::DataLoss(fmt::format("{}: no frames", path));
  out.bytes = prefix;
  out.frames = probe.frames;
  out.media_duration_90k = probe.duration_90k;
  VIGIL_ASSIGN_OR_RETURN(out.sha256, Sha256File(path));
  return out;
}

void MarkRecovered(const RecoveredFile& file, index::Segment& row) {
  row.state = index::SegmentState::kRecovered;
  row.bytes = file.bytes;
  row.frames = file.frames;
  row.media_duration_90k = file.media_duration_90k;
  row.end_ns = row.start_ns + file.media_duration_90k * 100'000 / 9;
  row.sha256 = file.sha256;
}

}  // namespace vigil::ingest
