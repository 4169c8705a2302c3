#include "ingest/internal/camera_writer.h"

#include "base/fs.h"
#include "ingest/segment_recovery.h"

namespace vigil::ingest::internal {
namespace {

// A hole shorter than this between runs is clock noise, not missing footage.
constexpr int64_t kGapThresholdNs = 1 * kNsPerSec;
// After a disk error, how long to drop frames before trying to open a segment again.
constexpr int64_t kDiskRetryNs = 5 * kNsPerSec;

std::string SegmentRelPath(const std::string& camera, int64_t wall_ns) {
  std::string utc = FormatUtc(wall_ns);  // 2026-11-23T09:30:12.345Z
  std::string hms = utc.substr(11, 2) + utc.substr(14, 2) + utc.substr(17, 6);  // 093012.345
  return fmt::format("recordings/{}/{}/{}.mp4", camera, UtcDate(wall_ns), hms);
}

}  // namespace

CameraWriter::CameraWriter(const CameraConfig& camera, const RecordingOptions& options,
                           index::Store& store, Clock& clock, HealthUpdate health)
    : camera_(camera),
      options_(options),
      store_(store),
      clock_(clock),
      health_(std::move(health)),
      log_(Logger("ingest")) {}

Status CameraWriter::Init(bool crashed) {
  index::SegmentFilter last;
  last.camera = camera_.id;
  last.oldest_first = false;
  last.limit = 4;
  VIGIL_ASSIGN_OR_RETURN(auto segs, store_.Segments(last));
  for (const auto& s : segs) {
    if (s.state == index::SegmentState::kClosed || s.state == index::SegmentState::kRecovered) {
      last_end_wall_ = std::max(last_end_wall_.value_or(INT64_MIN), s.end_ns);
    }
  }
  VIGIL_ASSIGN_OR_RETURN(auto gaps, store_.Gaps(camera_.id, INT64_MIN, INT64_MAX));
  for (const auto& g : gaps) {
    if (!g.end_ns) open_gap_id_ = g.id;
  }
  startup_gap_reason_ = crashed ? "vigild stopped unexpectedly (segment recovered at restart)"
                                : "vigild was not running";
  return Status::Ok();
}

void CameraWriter::Handle(WriterItem& item) {
  switch (item.kind) {
    case WriterItem::Kind::kFrame:
      OnFrame(item.frame);
      break;
    case WriterItem::Kind::kDiscontinuity:
      OnDiscontinuity(item.reason, item.wall_ns);
      break;
    case WriterItem::Kind::kStop:
      if (segment_) CloseSegment(*last_end_wall_);
      health_([](CameraHealth& h) { h.state = CameraState::kStopped; });
      break;
  }
}

void CameraWriter::OnFrame(Frame& f) {
  if (!segment_ && disk_retry_mono_ && clock_.MonotonicNs() < disk_retry_mono_) {
    health_([](CameraHealth& h) { ++h.frames_dropped; });
    return;
  }
  bool format_changed = segment_ && f.format != format_ && !(*f.format == *format_);
  if (segment_ && f.key && (format_changed || f.dts_ns - seg_first_dts_ >= options_.segment_ns)) {
    CloseSegment(f.wall_ns);  // the next segment starts exactly where this one ends
  } else if (format_changed) {
    // A new SPS/PPS mid-GOP cannot go into this file; the next key frame starts a new one.
    health_([](CameraHealth& h) { ++h.frames_dropped; });
    return;
  }
  if (!segment_) {
    if (!f.key) return;  // undecodable without its key frame; the segment starts at the next one
    Status st = OpenSegment(f);
    if (!st.ok()) {
      DiskError(st, f.wall_ns);
      return;
    }
  }
  GstMapInfo map;
  if (!gst_buffer_map(f.buffer.get(), &map, GST_MAP_READ)) return;
  Status st = segment_->Write(map.data, map.size, f.dts_ns, f.pts_ns, f.duration_ns, f.key);
  gst_buffer_unmap(f.buffer.get(), &map);
  if (!st.ok()) {
    // The file holds what was written before; close it as far as it goes and report the disk.
    CloseSegment(last_end_wall_.value_or(f.wall_ns));
    DiskError(st, f.wall_ns);
    return;
  }
  last_end_wall_ = f.wall_ns + f.duration_ns;
  health_([&](CameraHealth& h) {
    ++h.frames;
    h.last_frame_wall_ns = f.wall_ns;
    if (h.state == CameraState::kDiskError || h.state == CameraState::kConnecting) {
      h.state = CameraState::kRecording;
    }
  });
}

void CameraWriter::OpenGapIfNone(int64_t start_ns, const std::string& reason) {
  if (open_gap_id_) return;  // one outage, one gap: the first reason is the cause
  index::Gap gap;
  gap.camera = camera_.id;
  gap.start_ns = start_ns;
  gap.reason = reason;
  auto id = store_.OpenGap(gap);
  if (!id.ok()) {
    log_->error("camera {}: cannot record gap ({}): {}", camera_.id, reason, id.error());
    return;
  }
  open_gap_id_ = *id;
  health_([&](CameraHealth& h) {
    h.last_gap_start_ns = start_ns;
    h.last_gap_end_ns = 0;
    h.last_gap_reason = reason;
  });
}

Status CameraWriter::OpenSegment(const Frame& f) {
  // Footage resumes: end the outage, or record the hole since vigild last ran.
  if (open_gap_id_) {
    (void)store_.CloseGap(*open_gap_id_, f.wall_ns);
    open_gap_id_.reset();
    health_([&](CameraHealth& h) { h.last_gap_end_ns = f.wall_ns; });
  } else if (last_end_wall_ && f.wall_ns - *last_end_wall_ > kGapThresholdNs &&
             !startup_gap_reason_.empty()) {
    OpenGapIfNone(*last_end_wall_, startup_gap_reason_);
    if (open_gap_id_) {
      (void)store_.CloseGap(*open_gap_id_, f.wall_ns);
      open_gap_id_.reset();
      health_([&](CameraHealth& h) { h.last_gap_end_ns = f.wall_ns; });
    }
  }
  startup_gap_reason_.clear();

  std::string rel = SegmentRelPath(camera_.id, f.wall_ns);
  std::string abs = JoinPath(options_.data_dir, rel);
  VIGIL_RETURN_IF_ERROR(MakeDirs(DirName(abs)));
  index::Segment row;
  row.camera = camera_.id;
  row.start_ns = f.wall_ns;
  row.path = rel;
  row.codec = VideoCodecName(f.format->codec);
  row.width = f.format->width;
  row.height = f.format->height;
  // Crash order: the row exists (committed) before the file's first byte.
  VIGIL_ASSIGN_OR_RETURN(row.id, store_.BeginSegment(row));
  auto writer = SegmentWriter::Create(abs, *f.format, options_.fragment_ns);
  if (!writer.ok()) {
    (void)RemoveFile(abs);
    (void)store_.DeleteSegments({row.id});
    return writer.error();
  }
  segment_ = std::move(writer).value();
  row_ = row;
  format_ = f.format;
  seg_first_dts_ = f.dts_ns;
  disk_retry_mono_ = 0;
  last_disk_error_.clear();
  health_([&](CameraHealth& h) {
    h.codec = row.codec;
    h.width = row.width;
    h.height = row.height;
  });
  return Status::Ok();
}

void CameraWriter::CloseSegment(int64_t end_wall_ns) {
  std::unique_ptr<SegmentWriter> seg = std::move(segment_);
  index::Segment row = row_;
  std::string abs = JoinPath(options_.data_dir, row.path);
  auto closed = seg->Close();
  seg.reset();
  if (closed.ok()) {
    row.state = index::SegmentState::kClosed;
    row.end_ns = end_wall_ns;
    row.bytes = closed->bytes;
    row.frames = closed->frames;
    row.media_duration_90k = closed->media_duration_90k;
    row.sha256 = closed->sha256;
  } else {
    log_->error("camera {}: closing {}: {}", camera_.id, abs, closed.error());
    auto rec = RecoverSegmentFile(abs);
    if (!rec.ok()) {
      (void)RemoveFile(abs);
      (void)store_.DeleteSegments({row.id});
      return;
    }
    row.state = index::SegmentState::kRecovered;
    row.bytes = rec->bytes;
    row.frames = rec->frames;
    row.media_duration_90k = rec->media_duration_90k;
    row.end_ns = row.start_ns + rec->media_duration_90k * 100'000 / 9;
    row.sha256 = rec->sha256;
  }
  Status st = store_.FinishSegment(row);
  if (!st.ok()) log_->error("camera {}: indexing {}: {}", camera_.id, row.path, st);
  health_([](CameraHealth& h) { ++h.segments; });
}

void CameraWriter::OnDiscontinuity(const std::string& reason, int64_t wall_ns) {
  if (segment_) CloseSegment(*last_end_wall_);
  OpenGapIfNone(last_end_wall_.value_or(wall_ns), reason);
}

void CameraWriter::DiskError(const Status& st, int64_t wall_ns) {
  if (st.message() != last_disk_error_) {
    log_->error("camera {}: cannot record: {}", camera_.id, st);
    last_disk_error_ = st.message();
  }
  disk_retry_mono_ = clock_.MonotonicNs() + kDiskRetryNs;
  OpenGapIfNone(last_end_wall_.value_or(wall_ns), st.message());
  health_([&](CameraHealth& h) {
    h.state = CameraState::kDiskError;
    h.last_error = st.message();
    ++h.frames_dropped;
  });
}

}  // namespace vigil::ingest::internal
