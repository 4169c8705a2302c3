#include "ingest/retention.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <vector>

#include "base/fs.h"
#include "base/log.h"

namespace vigil::ingest {
namespace {

constexpr int64_t kBatch = 256;

Status DeleteSegments(index::Store& store, const std::string& data_dir,
                      const std::vector<index::Segment>& segs, RetentionResult& result) {
  if (segs.empty()) return Status::Ok();
  std::vector<int64_t> ids;
  for (const auto& s : segs) ids.push_back(s.id);
  VIGIL_RETURN_IF_ERROR(store.MarkDeleting(ids));
  for (const auto& s : segs) {
    VIGIL_RETURN_IF_ERROR(RemoveFile(JoinPath(data_dir, s.path)));
    result.bytes_deleted += s.bytes;
  }
  VIGIL_RETURN_IF_ERROR(store.DeleteSegments(ids));
  result.segments_deleted += static_cast<int64_t>(segs.size());
  return Status::Ok();
}

bool Deletable(const index::Segment& s) {
  return s.state == index::SegmentState::kClosed || s.state == index::SegmentState::kRecovered;
}

// Oldest deletable segments, of one camera or of all.
Result<std::vector<index::Segment>> Oldest(index::Store& store, const std::string* camera,
                                           int64_t before_ns, int64_t limit) {
  index::SegmentFilter f;
  if (camera) f.camera = *camera;
  f.end_ns = before_ns;
  f.limit = limit;
  VIGIL_ASSIGN_OR_RETURN(auto segs, store.Segments(f));
  std::erase_if(segs, [](const index::Segment& s) { return !Deletable(s); });
  return segs;
}

// Deletes oldest-first until `excess` bytes are gone.
Status TrimBytes(index::Store& store, const std::string& data_dir, const std::string* camera,
                 int64_t excess, RetentionResult& result) {
  while (excess > 0) {
    VIGIL_ASSIGN_OR_RETURN(auto segs, Oldest(store, camera, INT64_MAX, kBatch));
    if (segs.empty()) break;
    std::vector<index::Segment> victims;
    for (const auto& s : segs) {
      if (excess <= 0) break;
      victims.push_back(s);
      excess -= s.bytes;
    }
    VIGIL_RETURN_IF_ERROR(DeleteSegments(store, data_dir, victims, result));
  }
  return Status::Ok();
}

std::string ReservePath(const RetentionPolicy& policy) {
  return JoinPath(policy.data_dir, ".vigil-reserve");
}

// What besides footage the node keeps on its disk: exports, the index and its WAL.
int64_t OtherBytes(const std::string& data_dir) {
  int64_t total = 0;
  std::error_code ec;
  for (const char* name : {"index.db", "index.db-wal", "index.db-shm"}) {
    auto size = std::filesystem::file_size(JoinPath(data_dir, name), ec);
    if (!ec) total += static_cast<int64_t>(size);
  }
  for (auto it = std::filesystem::recursive_directory_iterator(JoinPath(data_dir, "exports"), ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += static_cast<int64_t>(it->file_size(ec));
  }
  return total;
}

}  // namespace

bool ReleaseReserve(const std::string& data_dir) {
  const std::string path = JoinPath(data_dir, ".vigil-reserve");
  if (::unlink(path.c_str()) != 0) return false;
  Logger("ingest")->warn("the disk holding {} is full: its reserve is released, so that what happened "
                         "can be indexed and retention can make room",
                         data_dir);
  return true;
}

bool EnsureReserve(const RetentionPolicy& policy) {
  if (policy.reserve_bytes <= 0) return false;
  const std::string path = ReservePath(policy);
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) >= static_cast<uintmax_t>(policy.reserve_bytes) && !ec) return true;
  auto free_bytes = FreeBytes(policy.data_dir);
  if (!free_bytes.ok() || *free_bytes < policy.min_free_bytes + policy.reserve_bytes) return false;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  int err = ::posix_fallocate(fd, 0, policy.reserve_bytes);
  ::close(fd);
  if (err != 0) {
    (void)RemoveFile(path);
    return false;
  }
  return true;
}

Result<RetentionResult> EnforceRetention(index::Store& store, const RetentionPolicy& policy,
                                         int64_t now_wall_ns) {
  RetentionResult result;
  if (policy.min_free_bytes > 0 && policy.reserve_bytes > 0) {
    // A disk too full to commit the deleting marks would stay full: give up the reserve first.
    auto free_bytes = FreeBytes(policy.data_dir);
    if (free_bytes.ok() && *free_bytes < policy.min_free_bytes) {
      std::error_code ec;
      if (std::filesystem::exists(ReservePath(policy), ec)) {
        Logger("ingest")->warn("retention: {} MB free, under min_free_bytes: the reserve ({} MB) is "
                               "released so that old footage can be deleted",
                               *free_bytes / 1'000'000, policy.reserve_bytes / 1'000'000);
        (void)RemoveFile(ReservePath(policy));
      }
    }
  }
  VIGIL_RETURN_IF_ERROR(store.Flush());  // see every finished segment
  VIGIL_ASSIGN_OR_RETURN(auto usage, store.Usage());
  int64_t total = 0;
  for (const auto& u : usage) {
    auto it = policy.cameras.find(u.camera);
    int64_t used = u.bytes;
    if (it != policy.cameras.end() && it->second.retain_days > 0) {
      int64_t cutoff = now_wall_ns - it->second.retain_days * 86'400 * kNsPerSec;
      for (;;) {
        VIGIL_ASSIGN_OR_RETURN(auto segs, Oldest(store, &u.camera, INT64_MAX, kBatch));
        std::erase_if(segs, [&](const index::Segment& s) { return s.end_ns > cutoff; });
        if (segs.empty()) break;
        RetentionResult before = result;
        VIGIL_RETURN_IF_ERROR(DeleteSegments(store, policy.data_dir, segs, result));
        used -= result.bytes_deleted - before.bytes_deleted;
      }
    }
    if (it != policy.cameras.end() && it->second.retain_bytes > 0 && used > it->second.retain_bytes) {
      RetentionResult before = result;
      VIGIL_RETURN_IF_ERROR(
          TrimBytes(store, policy.data_dir, &u.camera, used - it->second.retain_bytes, result));
      used -= result.bytes_deleted - before.bytes_deleted;
    }
    total += used;
  }
  if (policy.max_bytes > 0 && policy.count_other_bytes) total += OtherBytes(policy.data_dir);
  if (policy.max_bytes > 0 && total > policy.max_bytes) {
    RetentionResult before = result;
    VIGIL_RETURN_IF_ERROR(TrimBytes(store, policy.data_dir, nullptr, total - policy.max_bytes, result));
    total -= result.bytes_deleted - before.bytes_deleted;
  }
  if (policy.min_free_bytes > 0) {
    VIGIL_ASSIGN_OR_RETURN(int64_t free_bytes, FreeBytes(policy.data_dir));
    if (free_bytes < policy.min_free_bytes) {
      VIGIL_RETURN_IF_ERROR(TrimBytes(store, policy.data_dir, nullptr,
                                      policy.min_free_bytes - free_bytes, result));
    }
  }
  (void)EnsureReserve(policy);
  if (result.segments_deleted > 0) {
    Logger("ingest")->info("retention: deleted {} segments, {:.1f} MB", result.segments_deleted,
                           static_cast<double>(result.bytes_deleted) / 1e6);
  }
  return result;
}

Status FinishInterruptedDeletes(index::Store& store, const std::string& data_dir) {
  index::SegmentFilter f;
  f.state = index::SegmentState::kDeleting;
  VIGIL_ASSIGN_OR_RETURN(auto segs, store.Segments(f));
  std::vector<int64_t> ids;
  for (const auto& s : segs) {
    VIGIL_RETURN_IF_ERROR(RemoveFile(JoinPath(data_dir, s.path)));
    ids.push_back(s.id);
  }
  if (!ids.empty()) VIGIL_RETURN_IF_ERROR(store.DeleteSegments(ids));
  return Status::Ok();
}

}  // namespace vigil::ingest
