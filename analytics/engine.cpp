#include "analytics/engine.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <time.h>

#include "analytics/camera_analytics.h"
#include "base/log.h"

namespace vigil::analytics {

namespace {

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct CameraSlot {
  std::string id;
  std::unique_ptr<CameraProcessor> chain;  // used by one worker at a time (busy)
  std::optional<Frame> waiting;
  bool busy = false;
  bool queued = false;
  CameraAnalyticsStats stats;
  Frame latest;  // shares pixels with the analysed frame (cv::Mat is reference-counted)
};

}  // namespace

struct Engine::Impl {
  DetectionSink sink;
  std::shared_ptr<spdlog::logger> log = Logger("analytics");
  mutable std::mutex mu;  // guards everything below
  std::condition_variable cv;
  std::condition_variable idle_cv;
  std::map<std::string, std::unique_ptr<CameraSlot>> cameras;
  std::deque<CameraSlot*> ready;
  bool stopping = false;
  bool stopped = false;
  std::vector<std::thread> workers;

  // Detections that carry their own picture (plate passes) are delivered with it.
  void Deliver(const Detection& d, const Frame& analysed) {
    if (d.picture.empty()) {
      sink(d, analysed);
      return;
    }
    Frame own{analysed.camera, d.plate ? d.plate->best_ns : d.start_ns, analysed.sequence, d.picture};
    sink(d, own);
  }

  void Work() {
    std::vector<Detection> found;
    for (;;) {
      CameraSlot* slot = nullptr;
      Frame frame;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !ready.empty(); });
        if (ready.empty()) return;
        slot = ready.front();
        ready.pop_front();
        slot->queued = false;
        frame = std::move(*slot->waiting);
        slot->waiting.reset();
        slot->busy = true;
      }
      found.clear();
      double cpu0 = ThreadCpuMs();
      slot->chain->Process(frame, found);
      double cpu = ThreadCpuMs() - cpu0;
      Frame analysed{frame.camera, frame.wall_ns, frame.sequence, slot->chain->last_frame()};
      for (const Detection& d : found) Deliver(d, analysed);
      {
        std::lock_guard lock(mu);
        slot->busy = false;
        ++slot->stats.frames_analysed;
        slot->stats.detections += static_cast<int64_t>(found.size());
        slot->stats.last_process_ms = cpu;
        slot->stats.cpu_ms += cpu;
        slot->stats.last_frame_ns = frame.wall_ns;
        slot->latest = analysed;
        if (slot->waiting && !slot->queued && !stopping) {
          slot->queued = true;
          ready.push_back(slot);
          cv.notify_one();
        }
      }
      idle_cv.notify_all();
    }
  }
};

Engine::Engine(int workers, DetectionSink sink) : impl_(std::make_unique<Impl>()) {
  impl_->sink = std::move(sink);
  for (int i = 0; i < std::max(1, workers); ++i) {
    impl_->workers.emplace_back([this] { impl_->Work(); });
  }
}

Engine::~Engine() { Stop(); }

Status Engine::AddCamera(const std::string& camera, const AnalyticsConfig& config) {
  VIGIL_RETURN_IF_ERROR(ValidateRules(config, camera));
  return AddProcessor(camera, std::make_unique<CameraAnalytics>(config));
}

Status Engine::AddProcessor(const std::string& camera, std::unique_ptr<CameraProcessor> processor) {
  std::lock_guard lock(impl_->mu);
  if (impl_->cameras.count(camera)) {
    return Status::AlreadyExists(fmt::format("camera {} is already analysed", camera));
  }
  auto slot = std::make_unique<CameraSlot>();
  slot->id = camera;
  slot->chain = std::move(processor);
  impl_->cameras.emplace(camera, std::move(slot));
  return Status::Ok();
}

bool Engine::Submit(Frame frame) {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopping) return false;
  auto it = impl_->cameras.find(frame.camera);
  if (it == impl_->cameras.end()) return false;
  CameraSlot& slot = *it->second;
  bool replaced = slot.waiting.has_value();
  if (replaced) ++slot.stats.frames_dropped;
  slot.waiting = std::move(frame);
  if (!slot.busy && !slot.queued) {
    slot.queued = true;
    impl_->ready.push_back(&slot);
    impl_->cv.notify_one();
  }
  return !replaced;
}

std::optional<cv::Size> Engine::FrameSize(const std::string& camera) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->cameras.find(camera);
  if (it == impl_->cameras.end()) return std::nullopt;
  return it->second->chain->frame_size();
}

std::optional<double> Engine::Fps(const std::string& camera) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->cameras.find(camera);
  if (it == impl_->cameras.end()) return std::nullopt;
  return it->second->chain->fps();
}

CameraAnalyticsStats Engine::Stats(const std::string& camera) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->cameras.find(camera);
  return it == impl_->cameras.end() ? CameraAnalyticsStats{} : it->second->stats;
}

std::optional<Frame> Engine::LatestFrame(const std::string& camera) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->cameras.find(camera);
  if (it == impl_->cameras.end() || it->second->latest.bgr.empty()) return std::nullopt;
  Frame f = it->second->latest;
  f.bgr = f.bgr.clone();  // the worker may reuse its buffer
  return f;
}

void Engine::Stop() {
  {
    std::unique_lock lock(impl_->mu);
    if (impl_->stopped) return;
    // Frames already handed over are analysed; nothing new is taken.
    impl_->idle_cv.wait(lock, [&] {
      for (auto& [id, slot] : impl_->cameras) {
        if (slot->busy || slot->queued) return false;
      }
      return true;
    });
    impl_->stopping = true;
    impl_->stopped = true;
  }
  impl_->cv.notify_all();
  for (auto& w : impl_->workers) w.join();
  impl_->workers.clear();
  std::vector<Detection> found;
  for (auto& [id, slot] : impl_->cameras) {
    found.clear();
    slot->chain->Flush(found);
    Frame last = slot->latest;
    for (const Detection& d : found) impl_->Deliver(d, last);
  }
}

}  // namespace vigil::analytics
