#include "ingest/retention.h"

#include <algorithm>
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

}  // namespace

Result<RetentionResult> EnforceRetention(index::Store& store, const RetentionPolicy& policy,
                                         int64_t now_wall_ns) {
  RetentionResult result;
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
