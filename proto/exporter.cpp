#include "proto/exporter.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/ranges.h>
#include <google/protobuf/util/json_util.h>  // JsonStringToMessage

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "ingest/clip.h"
#include "proto/convert.h"

namespace vigil::api {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kKeepDoneNs = 600 * kNsPerSec;  // a finished export stays in memory this long

const char kTimeline[] =
    "clip time t shows wall time start_ns + t (UTC, server clock); presentation starts at start_ns, "
    "the frames from the key frame at decode_start_ns are pre-roll hidden by the file's edit list; "
    "frames keep the camera's spacing; outages in the footage are kept in the timeline (the last "
    "frame before one is held) and listed in gaps";

std::string SafeName(const std::string& camera) {
  std::string out;
  for (char c : camera) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out[0] == '.') out = "_" + out;
  return out;
}

bool ValidExportId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-';
  });
}

std::string CompactUtc(int64_t ns) {
  std::string s = FormatUtc(ns);  // 2026-11-23T09:30:12.345Z
  std::string out;
  for (char c : s.substr(0, 19)) {
    if (c != '-' && c != ':') out += c;
  }
  return out + "Z";
}

Status WriteFileDurably(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "cannot create", tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Status::FromErrno(errno, "write", tmp);
      ::close(fd);
      return st;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status st = Status::FromErrno(errno, "fsync", tmp);
    ::close(fd);
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename", path);
  return SyncDir(DirName(path));
}

std::string ManifestJson(const v1::ClipManifest& m) { return ToJson(m, /*multiline=*/true); }

struct Parked {
  uint64_t request_id = 0;
  int64_t offset = 0;
  int32_t max_bytes = 0;
  int64_t deadline_ns = 0;
  Exporter::Reply reply;
};

struct Clip {
  v1::ClipManifest manifest;  // guarded by the job's mutex
  ingest::ClipSpec spec;
  int64_t written = 0;
  int64_t covered_ns = 0;
  int64_t total_ns = 0;
  Status error;  // when manifest.state() == "failed"
  std::vector<Parked> parked;
};

// The segments of `camera` overlapping [from, to): closed and recovered ones, and the one being
// recorded (its row ends where it starts until it closes), oldest first, into the clip's spec and
// manifest.
Status PlanSources(const std::string& data_dir, const std::string& camera, int64_t from, int64_t to,
                   index::Store& reader, Clip& clip) {
  std::vector<index::Segment> rows;
  for (auto state : {index::SegmentState::kClosed, index::SegmentState::kRecovered,
                     index::SegmentState::kOpen}) {
    index::SegmentFilter f;
    f.camera = camera;
    f.state = state;
    if (state != index::SegmentState::kOpen) f.start_ns = from;
    f.end_ns = to;
    VIGIL_ASSIGN_OR_RETURN(auto segs, reader.Segments(f));
    rows.insert(rows.end(), segs.begin(), segs.end());
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.start_ns < b.start_ns; });
  clip.spec.sources.clear();
  clip.manifest.clear_sources();
  for (const auto& s : rows) {
    bool open = s.state == index::SegmentState::kOpen;
    clip.spec.sources.push_back({JoinPath(data_dir, s.path), s.start_ns, open ? s.start_ns : s.end_ns,
                                 open ? 0 : s.media_duration_90k, open ? "" : s.sha256});
    auto* src = clip.manifest.add_sources();
    src->set_path(s.path);
    src->set_start_ns(s.start_ns);
    src->set_end_ns(open ? 0 : s.end_ns);
    src->set_sha256(open ? "" : s.sha256);
  }
  return Status::Ok();
}

struct Job {
  std::string id;
  std::string user;
  std::string role;
  // A range ending in the future: the job runs at this monotonic time (0: at once), planning its
  // sources again then.
  int64_t run_at_mono_ns = 0;
  std::mutex mu;
  std::vector<Clip> clips;
  int64_t finished_mono_ns = 0;  // 0 while queued or running
};

}  // namespace

struct Exporter::Impl {
  ExportOptions options;
  index::Store* writer = nullptr;
  Clock* clock = nullptr;
  std::shared_ptr<spdlog::logger> log = Logger("export");

  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::shared_ptr<Job>> jobs;  // guarded by mu
  std::deque<std::shared_ptr<Job>> queue;            // guarded by mu
  std::vector<std::shared_ptr<Job>> waiting;         // for their footage; guarded by mu
  int running = 0;                                    // guarded by mu
  std::atomic<bool> stopping{false};
  std::vector<std::thread> threads;
  std::thread reaper;

  void Run(Job& job);
  void WriteOne(Job& job, size_t index);
  // Answers the parked fetches of `clip` that can be answered (all of them when `force`); job.mu held.
  void AnswerParked(Clip& clip, size_t index, bool force, int64_t now_ns);
  v1::Response Chunk(Clip& clip, size_t index, uint64_t request_id, int64_t offset, int32_t max_bytes);
  void Reap();
  std::shared_ptr<Job> Load(const std::string& id);
  // The export area's size in all and by the user who asked each export (cached a few seconds),
  // and the sweep of expired exports.
  struct AreaUsage {
    int64_t total = 0;
    std::map<std::string, int64_t> by_user;
  };
  AreaUsage Usage();
  // Who asked export `id` ("" if no manifest says); area_mu held.
  std::string OwnerOf(const std::string& id);
  void Expire();
  std::mutex area_mu;
  AreaUsage area;                                             // guarded by area_mu
  std::map<std::string, std::string> owners;                  // export id -> user; guarded by area_mu
  int64_t area_checked_mono = -1, expired_checked_mono = -1;  // guarded by area_mu
};

Exporter::Exporter(ExportOptions options, index::Store& writer, Clock& clock)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->writer = &writer;
  impl_->clock = &clock;
  Impl* im = impl_.get();
  for (int i = 0; i < std::max(1, im->options.concurrent); ++i) {
    im->threads.emplace_back([im] {
      for (;;) {
        std::shared_ptr<Job> job;
        {
          std::unique_lock lock(im->mu);
          im->cv.wait(lock, [im] { return im->stopping.load() || !im->queue.empty(); });
          if (im->stopping.load()) return;
          job = im->queue.front();
          im->queue.pop_front();
          ++im->running;
        }
        im->Run(*job);
        std::lock_guard lock(im->mu);
        --im->running;
      }
    });
  }
  im->reaper = std::thread([im] {
    std::unique_lock lock(im->mu);
    while (!im->stopping.load()) {
      im->cv.wait_for(lock, std::chrono::milliseconds(200));
      // Waiting exports whose footage is recorded by now join the queue.
      const int64_t now = im->clock->MonotonicNs();
      bool due = false;
      for (auto it = im->waiting.begin(); it != im->waiting.end();) {
        if ((*it)->run_at_mono_ns <= now) {
          im->queue.push_back(*it);
          it = im->waiting.erase(it);
          due = true;
        } else {
          ++it;
        }
      }
      if (due) im->cv.notify_all();
      lock.unlock();
      im->Reap();
      lock.lock();
    }
  });
}

Exporter::~Exporter() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->threads) t.join();
  impl_->reaper.join();
  // Queued jobs never ran; running ones failed "server stopping". Nobody waits in vain.
  std::lock_guard lock(impl_->mu);
  for (auto& [id, job] : impl_->jobs) {
    std::lock_guard jl(job->mu);
    for (size_t i = 0; i < job->clips.size(); ++i) {
      Clip& c = job->clips[i];
      for (auto& p : c.parked) {
        v1::Response r;
        r.set_id(p.request_id);
        *r.mutable_error() = ToError(Status::Unavailable("the server is stopping; export " + id +
                                                         " did not finish"));
        p.reply(std::move(r));
      }
      c.parked.clear();
    }
  }
}

int Exporter::active() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<int>(impl_->queue.size()) + impl_->running;
}

Result<v1::ExportResult> Exporter::Start(const v1::ExportRequest& request, const Identity& who,
                                         index::Store& reader) {
  const std::string& user = who.user;
  Impl& im = *impl_;
  const ExportOptions& o = im.options;
  if (o.data_dir.empty()) {
    return Status::FailedPrecondition("clip export is not enabled on this server (no data_dir)");
  }
  const int64_t from = request.range().from_ns();
  const int64_t to = request.range().to_ns();
  if (to <= from) {
    return Status::InvalidArgument(fmt::format("export range is empty or inverted: {} .. {}",
                                               FormatUtc(from), FormatUtc(to)));
  }
  if (to - from > o.max_clip_ns) {
    return Status::ResourceExhausted(fmt::format(
        "a clip of {:.1f} min is longer than this server's maximum of {:.1f} min (max_clip_minutes)",
        static_cast<double>(to - from) / (60.0 * kNsPerSec),
        static_cast<double>(o.max_clip_ns) / (60.0 * kNsPerSec)));
  }
  if (user.empty()) {
    return Status::InvalidArgument("an export needs the user who asks it, for the audit trail");
  }
  {
    // One user cannot fill the writers' queue or the disk: a few exports at a time each.
    std::lock_guard lock(im.mu);
    int mine = 0;
    for (const auto& [id, job] : im.jobs) {
      std::lock_guard jl(job->mu);
      if (job->finished_mono_ns == 0 && !job->clips.empty() && job->clips[0].manifest.requested_by() == user) {
        ++mine;
      }
    }
    if (mine >= o.max_per_user) {
      return Status::ResourceExhausted(fmt::format(
          "{} has {} exports in progress, the most one user may have: wait for one to finish", user, mine));
    }
  }
  const Impl::AreaUsage usage = im.Usage();
  if (usage.total >= o.max_area_bytes) {
    return Status::ResourceExhausted(fmt::format(
        "the export area holds {:.3f} GB, its quota is {:.3f} GB: exports expire after {} days, or an "
        "admin removes old ones from {}/exports",
        static_cast<double>(usage.total) / 1e9, static_cast<double>(o.max_area_bytes) / 1e9,
        o.expire_ns / (86400 * kNsPerSec), o.data_dir));
  }
  if (auto it = usage.by_user.find(user); it != usage.by_user.end() && it->second >= o.max_user_bytes) {
    return Status::ResourceExhausted(fmt::format(
        "{}'s exports hold {:.3f} GB, the most one user may hold is {:.3f} GB (export_user_quota): "
        "exports expire after {} days, or an admin removes old ones",
        user, static_cast<double>(it->second) / 1e9, static_cast<double>(o.max_user_bytes) / 1e9,
        o.expire_ns / (86400 * kNsPerSec)));
  }
  if (request.cameras().empty() && !request.has_area()) {
    return Status::InvalidArgument("an export names cameras or an area");
  }
  VIGIL_ASSIGN_OR_RETURN(auto cameras, reader.Cameras());
  std::map<std::string, index::Camera> by_id;
  for (auto& c : cameras) by_id[c.id] = c;
  std::vector<std::string> wanted;
  for (const auto& id : request.cameras()) {
    if (!by_id.count(id)) return Status::NotFound(fmt::format("unknown camera '{}'", id));
    if (std::find(wanted.begin(), wanted.end(), id) == wanted.end()) wanted.push_back(id);
  }
  const bool from_area = request.has_area();
  if (from_area) {
    auto area = FromPb(request.area(), true);
    VIGIL_ASSIGN_OR_RETURN(auto inside, reader.CamerasIn(*area));
    std::sort(inside.begin(), inside.end(),
              [](const auto& a, const auto& b) { return a.distance_m < b.distance_m; });
    for (const auto& cd : inside) {
      if (std::find(wanted.begin(), wanted.end(), cd.camera.id) == wanted.end()) {
        wanted.push_back(cd.camera.id);
      }
    }
  }

  auto job = std::make_shared<Job>();
  job->user = who.user;
  job->role = std::string(RoleName(who.role));
  const int64_t now = im.clock->WallNs();
  // A range that ends in the future (a dispatch system asking for the clip of an alert at once)
  // waits for its footage, within max_wait_ns; it is never cut at the moment of the request.
  const bool waits = to > now;
  if (waits && to - now > o.max_wait_ns) {
    return Status::InvalidArgument(fmt::format(
        "the range ends at {}, {:.0f} s from now: an export may end at most {:.0f} s ahead (it waits "
        "for the footage to be recorded)",
        FormatUtc(to), static_cast<double>(to - now) / kNsPerSec, static_cast<double>(o.max_wait_ns) / kNsPerSec));
  }
  const int64_t wait_until = waits ? to + o.settle_ns : 0;
  if (waits) job->run_at_mono_ns = im.clock->MonotonicNs() + (wait_until - now);
  for (const auto& cam_id : wanted) {
    Clip clip;
    VIGIL_RETURN_IF_ERROR(PlanSources(o.data_dir, cam_id, from, to, reader, clip));
    if (clip.spec.sources.empty() && from_area && !waits &&
        std::find(request.cameras().begin(), request.cameras().end(), cam_id) ==
            request.cameras().end()) {
      continue;  // a camera of the area without footage in the range: not part of the export
    }
    if (static_cast<int>(job->clips.size()) >= o.max_cameras) {
      return Status::ResourceExhausted(fmt::format(
          "the export covers more than {} cameras with footage: narrow the area or the time",
          o.max_cameras));
    }
    const index::Camera& cam = by_id[cam_id];
    auto& m = clip.manifest;
    m.set_camera(cam_id);
    m.set_camera_name(cam.name);
    m.set_place(cam.place);
    m.set_lat(cam.lat);
    m.set_lon(cam.lon);
    m.mutable_requested()->set_from_ns(from);
    m.mutable_requested()->set_to_ns(to);
    m.set_requested_by(user);
    m.set_requested_ns(now);
    m.set_case_ref(request.case_ref());
    m.set_server(o.server_name);
    m.set_timeline(kTimeline);
    VIGIL_ASSIGN_OR_RETURN(auto gaps, reader.Gaps(cam_id, from, to));
    for (const auto& g : gaps) ToPb(g, m.add_gaps());
    if (waits) {
      m.set_state("waiting");
      m.set_wait_until_ns(wait_until);
      m.set_note(fmt::format("the range ends in the future: the clip is written at {}, once its footage is "
                             "recorded", FormatUtc(wait_until)));
      clip.total_ns = to - from;
    } else if (clip.spec.sources.empty()) {
      m.set_state("failed");
      m.set_error("no footage recorded in the range");
      clip.error = Status::NotFound(
          fmt::format("camera '{}' has no footage between {} and {}", cam_id, FormatUtc(from),
                      FormatUtc(to)));
    } else {
      m.set_state("queued");
      int64_t first = std::max(from, clip.spec.sources.front().start_ns);
      int64_t last = clip.spec.sources.back().end_ns > clip.spec.sources.back().start_ns
                         ? std::min(to, clip.spec.sources.back().end_ns)
                         : std::min(to, now);
      clip.total_ns = std::max<int64_t>(0, last - first);
    }
    clip.spec.from_ns = from;
    clip.spec.to_ns = to;
    clip.spec.verify_sources = o.verify_sources;
    job->clips.push_back(std::move(clip));
  }
  bool any = std::any_of(job->clips.begin(), job->clips.end(),
                         [](const Clip& c) { return !c.spec.sources.empty(); });
  if (!any && !waits) {
    return Status::NotFound(fmt::format("no footage of {} between {} and {}",
                                        from_area && request.cameras().empty()
                                            ? std::string("any camera in the area")
                                            : fmt::format("{}", fmt::join(wanted, ", ")),
                                        FormatUtc(from), FormatUtc(to)));
  }

  // The export's directory: a fresh name, never an existing one.
  std::string exports = JoinPath(o.data_dir, "exports");
  VIGIL_RETURN_IF_ERROR(MakeDirs(exports));
  for (int attempt = 0;; ++attempt) {
    uint64_t r[2];
    if (::getrandom(r, sizeof(r), 0) != static_cast<ssize_t>(sizeof(r))) {
      return Status::FromErrno(errno, "cannot draw an export id", "getrandom");
    }
    job->id = fmt::format("{}-{:016x}{:016x}", CompactUtc(now), r[0], r[1]);
    std::string dir = JoinPath(exports, job->id);
    if (::mkdir(dir.c_str(), 0755) == 0) break;
    if (errno != EEXIST || attempt > 20) return Status::FromErrno(errno, "cannot create", dir);
  }
  std::map<std::string, int> names;
  v1::ExportResult result;
  result.set_export_id(job->id);
  for (auto& clip : job->clips) {
    clip.manifest.set_clip(result.clips_size());
    std::string base = SafeName(clip.manifest.camera());
    if (int n = names[base]++; n > 0) base += fmt::format("-{}", n);
    std::string rel = fmt::format("exports/{}/{}", job->id, base);
    clip.manifest.set_export_id(job->id);
    clip.manifest.set_path(rel + ".mp4");
    clip.manifest.set_manifest_path(rel + ".json");
    clip.spec.output = JoinPath(o.data_dir, rel + ".mp4");
    *result.add_clips() = clip.manifest;
  }
  index::AuditEntry audit;
  audit.time_ns = now;
  audit.who = who.user;
  audit.role = job->role;
  audit.action = "export";
  audit.detail = fmt::format("export {} requested: cameras {} from {} to {}{}", job->id,
                             fmt::join(wanted, ","), FormatUtc(from), FormatUtc(to),
                             request.case_ref().empty() ? "" : ", case " + request.case_ref());
  VIGIL_RETURN_IF_ERROR(im.writer->AppendAudit(audit).status());
  {
    std::lock_guard lock(im.mu);
    im.jobs[job->id] = job;
    if (job->run_at_mono_ns) {
      im.waiting.push_back(job);
    } else {
      im.queue.push_back(job);
    }
  }
  im.cv.notify_all();
  im.log->info("{}", audit.detail);
  return result;
}

void Exporter::Impl::Run(Job& job) {
  if (job.run_at_mono_ns) {
    // Planned before its footage existed: the sources are what the index holds now.
    for (Clip& clip : job.clips) {
      Status st;
      {
        std::lock_guard lock(job.mu);
        st = PlanSources(options.data_dir, clip.manifest.camera(), clip.spec.from_ns, clip.spec.to_ns, *writer,
                         clip);
        if (st.ok()) clip.manifest.set_state("queued");
        if (st.ok() && clip.spec.sources.empty()) {
          clip.manifest.set_state("failed");
          clip.manifest.set_error("no footage recorded in the range");
          clip.error = Status::NotFound(fmt::format("camera '{}' recorded nothing between {} and {}",
                                                    clip.manifest.camera(), FormatUtc(clip.spec.from_ns),
                                                    FormatUtc(clip.spec.to_ns)));
        }
      }
      if (!st.ok()) log->error("export {}: planning {}: {}", job.id, clip.manifest.camera(), st.message());
    }
  }
  for (size_t i = 0; i < job.clips.size(); ++i) WriteOne(job, i);
  std::lock_guard lock(job.mu);
  job.finished_mono_ns = clock->MonotonicNs();
}

void Exporter::Impl::WriteOne(Job& job, size_t index) {
  Clip& clip = job.clips[index];
  if (clip.spec.sources.empty()) {
    // Nothing to write: its manifest records why (no footage), for the evidence trail.
    std::lock_guard lock(job.mu);
    (void)WriteFileDurably(JoinPath(options.data_dir, clip.manifest.manifest_path()),
                           ManifestJson(clip.manifest));
    AnswerParked(clip, index, true, clock->MonotonicNs());
    return;
  }
  {
    std::lock_guard lock(job.mu);
    clip.manifest.set_state("writing");
  }
  auto result = ingest::WriteClip(
      clip.spec,
      [&](int64_t bytes, int64_t covered) {
        std::lock_guard lock(job.mu);
        clip.written = bytes;
        clip.covered_ns = covered;
        AnswerParked(clip, index, false, clock->MonotonicNs());
      },
      &stopping);
  std::lock_guard lock(job.mu);
  auto& m = clip.manifest;
  m.set_finished_ns(clock->WallNs());
  Status st = result.ok() ? Status::Ok() : result.error();
  if (st.ok()) {
    m.set_sha256(result->sha256);
    m.set_bytes(result->bytes);
    m.set_start_ns(result->start_ns);
    m.set_decode_start_ns(result->decode_start_ns);
    m.set_end_ns(result->end_ns);
    m.set_frames(result->frames);
    m.set_codec(result->codec);
    m.set_width(result->width);
    m.set_height(result->height);
    m.set_note(result->truncated_reason);
    // Sources that gave no frame (before the key frame, after the end) leave the manifest.
    google::protobuf::RepeatedPtrField<v1::SourceSegment> used;
    for (size_t s = 0; s < result->sources.size(); ++s) {
      const auto& check = result->sources[s];
      if (!check.used) continue;
      v1::SourceSegment src = m.sources(static_cast<int>(s));
      src.set_verified_sha256(check.actual_sha256);
      src.set_verified(check.matches);
      if (!check.matches && !src.sha256().empty()) {
        log->error("export {}: source {} no longer matches its indexed SHA-256", job.id, src.path());
      }
      *used.Add() = std::move(src);
    }
    *m.mutable_sources() = std::move(used);
    clip.written = result->bytes;
    clip.covered_ns = result->end_ns - result->start_ns;
    m.set_state("done");
  } else {
    if (stopping.load()) st = Status::Unavailable("the server stopped while writing this clip");
    m.set_state("failed");
    m.set_error(st.message());
    clip.error = st;
  }
  Status wrote = WriteFileDurably(JoinPath(options.data_dir, m.manifest_path()), ManifestJson(m));
  if (!wrote.ok()) {
    log->error("export {}: {}", job.id, wrote.message());
    if (st.ok()) {
      m.set_state("failed");
      m.set_error(wrote.message());
      clip.error = wrote;
    }
  }
  index::AuditEntry audit;
  audit.time_ns = m.finished_ns();
  audit.who = job.user;
  audit.role = job.role;
  audit.action = "export";
  audit.detail = st.ok() ? fmt::format("export {} clip {}: {} bytes covering {} .. {}", job.id,
                                       m.path(), m.bytes(), FormatUtc(m.start_ns()),
                                       FormatUtc(m.end_ns()))
                         : fmt::format("export {} clip {} failed: {}", job.id, m.path(), m.error());
  audit.result_sha256 = m.sha256();
  if (auto a = writer->AppendAudit(audit); !a.ok()) {
    log->error("export {}: audit row not written: {}", job.id, a.error().message());
  }
  log->info("{}", audit.detail);
  AnswerParked(clip, index, true, clock->MonotonicNs());
}

v1::Response Exporter::Impl::Chunk(Clip& clip, size_t index, uint64_t request_id, int64_t offset,
                                   int32_t max_bytes) {
  v1::Response r;
  r.set_id(request_id);
  const std::string& state = clip.manifest.state();
  if (state == "failed") {
    *r.mutable_error() = ToError(clip.error.ok() ? Status::Internal(clip.manifest.error()) : clip.error);
    return r;
  }
  bool done = state == "done";
  auto* c = r.mutable_export_fetch();
  c->set_clip(static_cast<int32_t>(index));
  c->set_offset(offset);
  c->set_written_bytes(clip.written);
  c->set_covered_ns(clip.covered_ns);
  c->set_total_ns(clip.total_ns);
  c->set_done(done);
  if (done) *c->mutable_manifest() = clip.manifest;
  int64_t n = std::min<int64_t>(max_bytes, clip.written - offset);
  if (n > 0) {
    std::string path = JoinPath(options.data_dir, clip.manifest.path());
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      r.clear_export_fetch();
      *r.mutable_error() = ToError(Status::FromErrno(errno, "cannot read clip", path));
      return r;
    }
    std::string* data = c->mutable_data();
    data->resize(static_cast<size_t>(n));
    int64_t got = 0;
    while (got < n) {
      ssize_t k = ::pread(fd, data->data() + got, static_cast<size_t>(n - got), offset + got);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      got += k;
    }
    ::close(fd);
    data->resize(static_cast<size_t>(got));
  }
  return r;
}

void Exporter::Impl::AnswerParked(Clip& clip, size_t index, bool force, int64_t now_ns) {
  if (clip.parked.empty()) return;
  bool final = clip.manifest.state() == "done" || clip.manifest.state() == "failed";
  std::vector<Parked> keep;
  for (auto& p : clip.parked) {
    bool ready = final || force || now_ns >= p.deadline_ns ||
                 (p.max_bytes > 0 ? clip.written >= p.offset + p.max_bytes : clip.written > p.offset);
    if (ready) {
      p.reply(Chunk(clip, index, p.request_id, p.offset, p.max_bytes));
    } else {
      keep.push_back(std::move(p));
    }
  }
  clip.parked = std::move(keep);
}

Exporter::Impl::AreaUsage Exporter::Impl::Usage() {
  std::lock_guard lock(area_mu);
  const int64_t now = clock->MonotonicNs();
  if (area_checked_mono >= 0 && now - area_checked_mono < 2 * kNsPerSec) return area;
  area_checked_mono = now;
  AreaUsage usage;
  std::error_code ec;
  for (auto dir = std::filesystem::directory_iterator(JoinPath(options.data_dir, "exports"), ec);
       !ec && dir != std::filesystem::directory_iterator(); dir.increment(ec)) {
    int64_t bytes = 0;
    std::error_code ec2;
    if (dir->is_directory(ec2)) {
      for (auto it = std::filesystem::recursive_directory_iterator(dir->path(), ec2);
           !ec2 && it != std::filesystem::recursive_directory_iterator(); it.increment(ec2)) {
        if (it->is_regular_file(ec2)) bytes += static_cast<int64_t>(it->file_size(ec2));
      }
      usage.by_user[OwnerOf(dir->path().filename().string())] += bytes;
    } else if (dir->is_regular_file(ec2)) {
      bytes = static_cast<int64_t>(dir->file_size(ec2));
    }
    usage.total += bytes;
  }
  area = std::move(usage);
  return area;
}

std::string Exporter::Impl::OwnerOf(const std::string& id) {
  if (auto it = owners.find(id); it != owners.end()) return it->second;
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mu);
    if (auto j = jobs.find(id); j != jobs.end()) job = j->second;
  }
  std::string owner;
  if (job) {
    std::lock_guard jl(job->mu);
    owner = job->user;
  } else if (auto loaded = Load(id); loaded && !loaded->clips.empty()) {
    owner = loaded->clips[0].manifest.requested_by();
  }
  if (!owner.empty()) owners[id] = owner;  // a manifest not yet written is read again next time
  return owner;
}

void Exporter::Impl::Expire() {
  if (options.expire_ns <= 0) return;
  {
    std::lock_guard lock(area_mu);
    const int64_t now = clock->MonotonicNs();
    if (expired_checked_mono >= 0 && now - expired_checked_mono < 60 * kNsPerSec) return;
    expired_checked_mono = now;
  }
  const auto cutoff = std::filesystem::file_time_type::clock::now() -
                      std::chrono::nanoseconds(options.expire_ns);
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(JoinPath(options.data_dir, "exports"), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    const std::string id = it->path().filename().string();
    {
      std::lock_guard lock(mu);
      if (auto j = jobs.find(id); j != jobs.end()) {
        std::lock_guard jl(j->second->mu);
        if (j->second->finished_mono_ns == 0) continue;  // in progress
      }
    }
    if (it->last_write_time(ec) >= cutoff || ec) continue;
    std::error_code rm;
    auto removed = std::filesystem::remove_all(it->path(), rm);
    if (rm) {
      log->warn("cannot remove expired export {}: {}", id, rm.message());
    } else {
      log->info("export {} expired ({} files removed)", id, removed);
      {
        std::lock_guard lock(area_mu);
        owners.erase(id);
      }
      std::lock_guard lock(mu);
      jobs.erase(id);
    }
  }
}

void Exporter::Impl::Reap() {
  Expire();
  std::vector<std::shared_ptr<Job>> all;
  {
    std::lock_guard lock(mu);
    int64_t now = clock->MonotonicNs();
    for (auto it = jobs.begin(); it != jobs.end();) {
      std::unique_lock jl(it->second->mu);
      bool old = it->second->finished_mono_ns && now - it->second->finished_mono_ns > kKeepDoneNs;
      jl.unlock();
      if (old) {
        it = jobs.erase(it);
      } else {
        all.push_back(it->second);
        ++it;
      }
    }
  }
  int64_t now = clock->MonotonicNs();
  for (auto& job : all) {
    std::lock_guard jl(job->mu);
    for (size_t i = 0; i < job->clips.size(); ++i) AnswerParked(job->clips[i], i, false, now);
  }
}

std::shared_ptr<Job> Exporter::Impl::Load(const std::string& id) {
  std::string dir = JoinPath(JoinPath(options.data_dir, "exports"), id);
  auto job = std::make_shared<Job>();
  job->id = id;
  std::vector<v1::ClipManifest> manifests;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() < 6 || name.substr(name.size() - 5) != ".json") continue;
      std::ifstream in(JoinPath(dir, name));
      std::stringstream text;
      text << in.rdbuf();
      v1::ClipManifest m;
      if (google::protobuf::util::JsonStringToMessage(text.str(), &m).ok()) manifests.push_back(m);
    }
    ::closedir(d);
  }
  if (manifests.empty()) return nullptr;
  std::sort(manifests.begin(), manifests.end(),
            [](const auto& a, const auto& b) { return a.clip() < b.clip(); });
  for (auto& m : manifests) {
    Clip c;
    c.written = m.bytes();
    c.covered_ns = m.end_ns() - m.start_ns();
    c.total_ns = c.covered_ns;
    if (m.state() != "done") {
      m.set_state("failed");
      if (m.error().empty()) m.set_error("the export did not finish (server restarted)");
      c.error = Status::DataLoss(m.error());
    }
    c.manifest = std::move(m);
    job->clips.push_back(std::move(c));
  }
  job->finished_mono_ns = clock->MonotonicNs();
  return job;
}

void Exporter::Fetch(uint64_t request_id, const v1::ExportFetchRequest& q, const std::string& user,
                     bool admin, Reply reply) {
  Impl& im = *impl_;
  auto fail = [&](Status st) {
    v1::Response r;
    r.set_id(request_id);
    *r.mutable_error() = ToError(st);
    reply(std::move(r));
  };
  if (im.options.data_dir.empty()) {
    return fail(Status::FailedPrecondition("clip export is not enabled on this server"));
  }
  if (!ValidExportId(q.export_id())) {
    return fail(Status::InvalidArgument(fmt::format("'{}' is not an export id", q.export_id())));
  }
  if (q.offset() < 0 || q.max_bytes() < 0 || q.max_bytes() > kMaxFetchBytes) {
    return fail(Status::InvalidArgument(fmt::format(
        "fetch needs offset >= 0 and 0 <= max_bytes <= {} (got {} and {})", kMaxFetchBytes,
        q.offset(), q.max_bytes())));
  }
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(im.mu);
    if (auto it = im.jobs.find(q.export_id()); it != im.jobs.end()) job = it->second;
  }
  if (!job) {
    job = im.Load(q.export_id());
    if (!job) return fail(Status::NotFound(fmt::format("no export '{}'", q.export_id())));
    std::lock_guard lock(im.mu);
    job = im.jobs.emplace(q.export_id(), job).first->second;
  }
  std::lock_guard jl(job->mu);
  // Someone else's export does not exist, as far as this user can tell.
  if (!admin && (job->clips.empty() || job->clips[0].manifest.requested_by() != user)) {
    return fail(Status::NotFound(fmt::format("no export '{}'", q.export_id())));
  }
  if (q.clip() < 0 || q.clip() >= static_cast<int>(job->clips.size())) {
    return fail(Status::NotFound(fmt::format("export {} has no clip {} (it has {})", job->id,
                                             q.clip(), job->clips.size())));
  }
  size_t index = static_cast<size_t>(q.clip());
  Clip& clip = job->clips[index];
  const std::string& state = clip.manifest.state();
  bool final = state == "done" || state == "failed";
  bool ready = final || (q.max_bytes() > 0 ? clip.written >= q.offset() + q.max_bytes()
                                           : clip.written > q.offset());
  if (ready) {
    reply(im.Chunk(clip, index, request_id, q.offset(), q.max_bytes()));
    return;
  }
  clip.parked.push_back(
      {request_id, q.offset(), q.max_bytes(), im.clock->MonotonicNs() + im.options.park_ns,
       std::move(reply)});
}

}  // namespace vigil::api
