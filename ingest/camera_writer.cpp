#include "ingest/internal/camera_writer.h"

#include <cstdlib>
#include <utility>

#include "base/fs.h"
#include "ingest/retention.h"
#include "ingest/segment_recovery.h"

namespace vigil::ingest::internal {
namespace {

// A hole shorter than this between runs is clock noise, not missing footage.
constexpr int64_t kGapThresholdNs = 1 * kNsPerSec;
// After a disk error, how long to drop frames before trying to open a segment again.
constexpr int64_t kDiskRetryNs = 5 * kNsPerSec;
// Media time going backwards, or jumping forward by more than this between two frames, is a camera
// clock step: the segment ends there.
constexpr int64_t kMaxFrameStepNs = 5 * kNsPerSec;

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
  started_wall_ = clock_.WallNs();
  wall_.NewRun();
  return Status::Ok();
}

void CameraWriter::Handle(WriterItem& item) {
  switch (item.kind) {
    case WriterItem::Kind::kFrame:
      OnFrame(item.frame);
      break;
    case WriterItem::Kind::kDiscontinuity:
      EndRun(item.reason, item.wall_ns);
      break;
    case WriterItem::Kind::kLoss:
      // Inside a segment: counted on it. Between runs the loss is inside a gap (health counts it).
      if (segment_) seg_lost_ += item.lost;
      break;
    case WriterItem::Kind::kStop:
      if (segment_) CloseSegment(prev_end_media_);
      health_([](CameraHealth& h) { h.state = CameraState::kStopped; });
      break;
  }
}

void CameraWriter::OnAudio(Frame& f) {
  if (!segment_) {
    // Audio runs a little ahead of the video of a new run (whose first frames wait for their decode
    // times): kept until the segment opens, a few seconds at most.
    pending_audio_.push_back(std::move(f));
    if (pending_audio_.size() > 256) {
      pending_audio_.pop_front();
      health_([](CameraHealth& h) { ++h.audio_dropped; });
    }
    return;
  }
  WriteAudio(f);
}

void CameraWriter::WriteAudio(const Frame& f) {
  if (!format_ || !format_->audio) {
    // The segment was opened before the camera's audio was known: counted, never silent.
    health_([](CameraHealth& h) { ++h.audio_dropped; });
    return;
  }
  Status st = segment_->WriteAudio(f.data.data(), f.data.size(), f.pts_ns, f.duration_ns);
  // Audio from before the segment's first video frame, or overlapping the last frame written.
  health_([&](CameraHealth& h) { ++(st.ok() ? h.audio_frames : h.audio_dropped); });
}

void CameraWriter::OnFrame(Frame& f) {
  if (f.audio) {
    OnAudio(f);
    return;
  }
  if (!segment_ && disk_retry_mono_ && clock_.MonotonicNs() < disk_retry_mono_) {
    health_([](CameraHealth& h) { ++h.dropped.disk_error; });
    return;
  }
  if (segment_ && prev_dts_ && (f.dts_ns <= *prev_dts_ || f.dts_ns - *prev_dts_ > kMaxFrameStepNs)) {
    EndRun(fmt::format("camera timestamps jumped by {:+.3f} s",
                       static_cast<double>(f.dts_ns - *prev_dts_) / kNsPerSec),
           f.arrival_wall_ns);
  }
  bool format_changed = segment_ && f.format != format_ && !(*f.format == *format_);
  if (segment_ && f.key && (format_changed || f.dts_ns - seg_first_dts_ >= options_.segment_ns)) {
    CloseSegment(f.dts_ns);  // the next segment starts exactly where this one ends
  } else if (format_changed) {
    // A new SPS/PPS mid-GOP cannot go into this file; the next key frame starts a new one.
    ++seg_lost_;
    health_([](CameraHealth& h) { ++h.dropped.format_change; });
    return;
  }
  if (!segment_) {
    if (!f.key) {
      // Undecodable without its key frame; the segment starts at the next one (the run's start,
      // or after a timestamp jump, a disk error or an overflow: each leaves a gap).
      health_([](CameraHealth& h) { ++h.dropped.before_key; });
      return;
    }
    Status st = OpenSegment(f);
    if (!st.ok()) {
      DiskError(st, f.arrival_wall_ns);
      return;
    }
  }
  Status st = segment_->Write(f.data.data(), f.data.size(), f.dts_ns, f.pts_ns, f.duration_ns, f.key);
  if (st.ok() && pending_open_audio_) {
    pending_open_audio_ = false;
    for (const Frame& a : pending_audio_) WriteAudio(a);
    pending_audio_.clear();
  }
  if (!st.ok()) {
    // The file holds what was written before; close it as far as it goes and report the disk.
    CloseSegment(prev_end_media_);
    DiskError(st, f.arrival_wall_ns);
    return;
  }
  wall_.Observe(f.dts_ns, f.arrival_wall_ns);
  if (resume_at_ && segment_->has_fragment()) FootageResumed(*std::exchange(resume_at_, std::nullopt));
  prev_dts_ = f.dts_ns;
  prev_end_media_ = f.dts_ns + f.duration_ns;
  health_([&](CameraHealth& h) {
    ++h.frames;
    h.last_frame_wall_ns = f.arrival_wall_ns;
    if (h.state == CameraState::kDiskError || h.state == CameraState::kConnecting) {
      h.state = CameraState::kRecording;
    }
  });
}

void CameraWriter::FootageResumed(int64_t start) {
  // End the outage, or record the hole since vigild last ran. Only now, with a fragment on disk: a
  // retry that fails again must not split one outage into many gaps.
  if (!open_gap_id_ && last_end_wall_ && start - *last_end_wall_ > kGapThresholdNs &&
      !startup_gap_reason_.empty()) {
    OpenGapIfNone(*last_end_wall_, startup_gap_reason_);
  }
  if (open_gap_id_) {
    (void)store_.CloseGap(*open_gap_id_, start);
    gap_to_refine_ = open_gap_id_;
    open_gap_id_.reset();
    health_([&](CameraHealth& h) { h.last_gap_end_ns = start; });
  }
  startup_gap_reason_.clear();
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
  const bool first_of_run = !wall_.anchored();
  wall_.BeginSegment(f.dts_ns);
  wall_.Observe(f.dts_ns, f.arrival_wall_ns);
  // Exact for a continuing run; a first estimate (refined at close) for a new one.
  const int64_t start = first_of_run ? wall_.Provisional(f.dts_ns) : *last_end_wall_;
  std::string rel = SegmentRelPath(camera_.id, start);
  std::string abs = JoinPath(options_.data_dir, rel);
  VIGIL_RETURN_IF_ERROR(MakeDirs(DirName(abs)));
  index::Segment row;
  row.camera = camera_.id;
  row.start_ns = start;
  row.end_ns = start;
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
  resume_at_ = first_of_run ? std::optional<int64_t>(start) : std::nullopt;
  row_ = row;
  format_ = f.format;
  seg_first_dts_ = f.dts_ns;
  seg_lost_ = 0;
  // The segment's first video frame is written by the caller first; audio waiting for the segment
  // follows it (what is older than the segment is refused and counted).
  pending_open_audio_ = true;
  disk_retry_mono_ = 0;
  last_disk_error_.clear();
  health_([&](CameraHealth& h) {
    h.codec = row.codec;
    h.width = row.width;
    h.height = row.height;
  });
  return Status::Ok();
}

void CameraWriter::CloseSegment(int64_t media_end_ns) {
  std::unique_ptr<SegmentWriter> seg = std::move(segment_);
  index::Segment row = row_;
  std::string abs = JoinPath(options_.data_dir, row.path);
  auto closed = seg->Close();
  seg.reset();
  WallSpan span = wall_.EndSegment(media_end_ns);
  row.start_ns = span.start_ns;
  row.end_ns = span.end_ns;
  row.frames_lost = seg_lost_;
  if (closed.ok()) {
    row.state = index::SegmentState::kClosed;
    row.bytes = closed->bytes;
    row.frames = closed->frames;
    row.media_duration_90k = closed->media_duration_90k;
    row.sha256 = closed->sha256;
  } else {
    log_->error("camera {}: closing {}: {}", camera_.id, abs, closed.error());
    if (closed.error().code() == StatusCode::kResourceExhausted) (void)ReleaseReserve(options_.data_dir);
    auto rec = RecoverSegmentFile(abs);
    if (!rec.ok()) {
      (void)RemoveFile(abs);
      (void)store_.DeleteSegments({row.id});
      resume_at_.reset();  // nothing playable came of it: the outage goes on
      return;
    }
    MarkRecovered(*rec, row);
  }
  if (resume_at_) {  // closed before its first fragment flushed, but it holds footage
    resume_at_.reset();
    FootageResumed(row.start_ns);
  }
  if (gap_to_refine_) {
    (void)store_.CloseGap(*gap_to_refine_, row.start_ns);
    gap_to_refine_.reset();
  }
  last_end_wall_ = row.end_ns;
  Status st = store_.FinishSegment(row);
  if (!st.ok()) log_->error("camera {}: indexing {}: {}", camera_.id, row.path, st);
  health_([](CameraHealth& h) { ++h.segments; });
}

void CameraWriter::EndRun(const std::string& reason, int64_t wall_ns) {
  if (segment_) CloseSegment(prev_end_media_);
  if (!pending_audio_.empty()) {
    const int64_t n = static_cast<int64_t>(pending_audio_.size());
    pending_audio_.clear();
    health_([n](CameraHealth& h) { h.audio_dropped += n; });
  }
  OpenOutage(reason, wall_ns);
  wall_.NewRun();
  prev_dts_.reset();
}

void CameraWriter::OpenOutage(const std::string& reason, int64_t wall_ns) {
  if (!open_gap_id_ && !startup_gap_reason_.empty() && last_end_wall_ &&
      started_wall_ - *last_end_wall_ > kGapThresholdNs) {
    // The camera failed before any footage since vigild started: two causes, two gaps. Until the
    // start it was vigild; from the start on it is the camera's.
    OpenGapIfNone(*last_end_wall_, startup_gap_reason_);
    if (open_gap_id_) {
      (void)store_.CloseGap(*std::exchange(open_gap_id_, std::nullopt), started_wall_);
    }
    OpenGapIfNone(started_wall_, reason);
    startup_gap_reason_.clear();
  }
  OpenGapIfNone(last_end_wall_.value_or(wall_ns), reason);
}

void CameraWriter::DiskError(const Status& st, int64_t wall_ns) {
  if (st.code() == StatusCode::kResourceExhausted) (void)ReleaseReserve(options_.data_dir);
  if (st.message() != last_disk_error_) {
    log_->error("camera {}: cannot record: {}", camera_.id, st);
    last_disk_error_ = st.message();
  }
  disk_retry_mono_ = clock_.MonotonicNs() + kDiskRetryNs;
  OpenOutage(st.message(), wall_ns);
  // Footage after the error is placed afresh from its arrival times.
  wall_.NewRun();
  prev_dts_.reset();
  health_([&](CameraHealth& h) {
    h.state = CameraState::kDiskError;
    h.last_error = st.message();
    ++h.dropped.disk_error;
  });
}

}  // namespace vigil::ingest::internal
