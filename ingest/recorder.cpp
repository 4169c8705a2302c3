#include "ingest/recorder.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <condition_variable>
#include <set>
#include <thread>

#include "base/fs.h"
#include "base/gst_ptr.h"
#include "base/log.h"
#include "ingest/internal/camera_recorder.h"
#include "ingest/retention.h"
#include "ingest/rtsp_session.h"
#include "ingest/segment_recovery.h"

namespace vigil::ingest {

const char* CameraStateName(CameraState state) {
  switch (state) {
    case CameraState::kConnecting: return "connecting";
    case CameraState::kRecording: return "recording";
    case CameraState::kRetrying: return "retrying";
    case CameraState::kDiskError: return "disk-error";
    case CameraState::kDisabled: return "disabled";
    case CameraState::kStopped: return "stopped";
  }
  return "?";
}

std::string DescribeDrops(const FrameDrops& d) {
  std::string out = fmt::format("{} dropped", d.Total());
  const std::pair<int64_t, const char*> parts[] = {
      {d.packet_loss, "broken by packet loss"}, {d.before_key, "before a key frame"},
      {d.queue_overflow, "queue overflow"},     {d.disk_error, "disk error"},
      {d.format_change, "format change"},       {d.untimed, "without timestamp"}};
  std::string why;
  for (const auto& [n, what] : parts) {
    if (n > 0) why += fmt::format("{}{} {}", why.empty() ? "" : ", ", n, what);
  }
  if (!why.empty()) out += " (" + why + ")";
  return out;
}

Result<RecoveryReport> RecoverOpenSegments(index::Store& store, const std::string& data_dir,
                                           std::vector<std::string>* cameras_recovered) {
  auto log = Logger("ingest");
  RecoveryReport report;
  index::SegmentFilter open;
  open.state = index::SegmentState::kOpen;
  VIGIL_ASSIGN_OR_RETURN(auto segs, store.Segments(open));
  for (index::Segment seg : segs) {
    std::string abs = JoinPath(data_dir, seg.path);
    auto rec = RecoverSegmentFile(abs);
    if (!rec.ok()) {
      log->warn("recovery: {}: {}; removing it", seg.path, rec.error().message());
      VIGIL_RETURN_IF_ERROR(RemoveFile(abs));
      VIGIL_RETURN_IF_ERROR(store.DeleteSegments({seg.id}));
      ++report.discarded;
      continue;
    }
    MarkRecovered(*rec, seg);
    VIGIL_RETURN_IF_ERROR(store.FinishSegment(seg));
    log->info("recovery: {}: {} frames, {:.1f} s kept, {} bytes of an unfinished fragment cut",
              seg.path, rec->frames, static_cast<double>(rec->media_duration_90k) / 90000,
              rec->truncated_bytes);
    ++report.recovered;
    report.truncated_bytes += rec->truncated_bytes;
    if (cameras_recovered) cameras_recovered->push_back(seg.camera);
  }
  VIGIL_RETURN_IF_ERROR(store.Flush());
  return report;
}

struct Recorder::Impl {
  RecordingOptions options;
  index::Store* store = nullptr;
  Clock* clock = nullptr;
  std::shared_ptr<spdlog::logger> log = Logger("ingest");
  std::unique_ptr<internal::RtspReactor> reactor;  // outlives the recorders (declared before them)
  std::vector<std::unique_ptr<internal::CameraRecorder>> recorders;
  RecoveryReport recovery;
  RetentionPolicy retention;

  std::thread supervisor;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool stopped = false;
  bool clean = true;  // every pipeline stopped (Stop)

  void Supervise() {
    int64_t next_retention = clock->MonotonicNs();
    int64_t next_audit = clock->MonotonicNs() + options.audit_interval_ns;
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      for (auto& r : recorders) r->Tick();
      int64_t now = clock->MonotonicNs();
      if (now >= next_retention) {
        auto res = EnforceRetention(*store, retention, clock->WallNs());
        if (!res.ok()) log->error("retention: {}", res.error());
        next_retention = now + options.retention_interval_ns;
      }
      if (now >= next_audit) {
        Audit();
        next_audit = now + options.audit_interval_ns;
      }
      lock.lock();
      cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping; });
    }
  }

  // Once a minute: say plainly which cameras should be recording and are not (a camera silently not
  // recording for days is what operators of other systems complain about most).
  void Audit() {
    int recording = 0;
    for (auto& r : recorders) {
      if (r->Recording()) {
        ++recording;
        continue;
      }
      CameraHealth h = r->Health();
      log->warn("audit: camera {} is not recording ({}): {}", h.camera, CameraStateName(h.state),
                h.last_error.empty() ? "no frames yet" : h.last_error);
    }
    log->info("audit: {}/{} cameras recording", recording, recorders.size());
  }
};

Result<std::unique_ptr<Recorder>> Recorder::Start(std::vector<CameraConfig> cameras,
                                                  RecordingOptions options, index::Store& store,
                                                  Clock& clock) {
  EnsureGstInit();
  VIGIL_RETURN_IF_ERROR(MakeDirs(JoinPath(options.data_dir, "recordings")));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->store = &store;
  impl->clock = &clock;

  for (const auto& c : cameras) {
    index::Camera row;
    row.id = c.id;
    row.name = c.name;
    row.main_url = RedactUrl(c.main_url);
    row.sub_url = RedactUrl(c.sub_url);
    row.lat = c.lat;
    row.lon = c.lon;
    row.place = c.place;
    row.district = c.district;
    row.tags = c.tags;
    VIGIL_RETURN_IF_ERROR(store.UpsertCamera(row).WithContext("camera " + c.id));
  }
  VIGIL_RETURN_IF_ERROR(FinishInterruptedDeletes(store, options.data_dir));
  std::vector<std::string> crashed_cameras;
  VIGIL_ASSIGN_OR_RETURN(impl->recovery,
                         RecoverOpenSegments(store, options.data_dir, &crashed_cameras));
  std::set<std::string> crashed(crashed_cameras.begin(), crashed_cameras.end());

  impl->retention.data_dir = options.data_dir;
  impl->retention.max_bytes = options.max_bytes;
  impl->retention.min_free_bytes = options.min_free_bytes;
  impl->retention.reserve_bytes = options.reserve_bytes;
  if (options.reserve_bytes > 0 && !EnsureReserve(impl->retention)) {
    impl->log->warn("no room for the {} MB reserve in {} yet: made once retention has freed space",
                    options.reserve_bytes / 1'000'000, options.data_dir);
  }
  uint64_t seed = 1;
  const bool native = options.tcp && !options.gstreamer_rtsp && !std::getenv("VIGIL_GSTREAMER_RTSP");
  if (native) {
    int threads = options.rtsp_threads;
    if (threads <= 0) threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()) / 4, 1, 8);
    impl->reactor = std::make_unique<internal::RtspReactor>(clock, threads, options.read_interval_ns);
  }
  for (const auto& c : cameras) {
    impl->retention.cameras[c.id] = c;
    auto rec = std::make_unique<internal::CameraRecorder>(c, options, store, clock, seed++,
                                                          impl->reactor.get());
    const int64_t delay = options.connect_spread_ns * static_cast<int64_t>(impl->recorders.size());
    VIGIL_RETURN_IF_ERROR(rec->Start(crashed.count(c.id) > 0, delay).WithContext("camera " + c.id));
    impl->recorders.push_back(std::move(rec));
  }
  impl->supervisor = std::thread([p = impl.get()] { p->Supervise(); });
  impl->log->info("recording {} camera(s) into {}", cameras.size(), options.data_dir);
  return std::unique_ptr<Recorder>(new Recorder(std::move(impl)));
}

Recorder::Recorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Recorder::~Recorder() {
  if (!Stop()) {
    // A pipeline's thread is stuck in GStreamer and still refers to its camera: leave it all be.
    (void)impl_.release();
  }
}

bool Recorder::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return impl_->clean;
    impl_->stopping = true;
    impl_->stopped = true;
  }
  impl_->cv.notify_all();
  if (impl_->supervisor.joinable()) impl_->supervisor.join();
  // All cameras at once: a stop stuck in one camera's teardown does not hold up the others.
  std::vector<std::thread> stoppers;
  std::atomic<bool> clean{true};
  for (auto& r : impl_->recorders) {
    stoppers.emplace_back([&clean, rec = r.get()] {
      if (!rec->Shutdown()) clean = false;
    });
  }
  for (auto& t : stoppers) t.join();
  if (!clean) impl_->clean = false;
  Status st = impl_->store->Flush();
  if (!st.ok()) impl_->log->error("final index flush: {}", st);
  impl_->log->info("recording stopped; all segments closed");
  return impl_->clean;
}

std::vector<CameraHealth> Recorder::Health() const {
  std::vector<CameraHealth> out;
  for (auto& r : impl_->recorders) out.push_back(r->Health());
  return out;
}

const RecoveryReport& Recorder::recovery() const { return impl_->recovery; }

}  // namespace vigil::ingest
