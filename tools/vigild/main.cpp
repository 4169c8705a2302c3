// vigild: the server of one recording node.
//
//   vigild --config FILE [--data-dir DIR] [--log-level LEVEL] [--check-config]
//   vigild --config FILE keys add USER ROLE [--out FILE]   a key for USER (operator, investigator,
//                                                          dispatch, admin), written to FILE
//   vigild --config FILE keys revoke USER                  takes effect at once (no restart)
//   vigild --config FILE keys list
//
// Exit codes: 0 clean stop (SIGTERM/SIGINT), 1 runtime failure at start, 2 bad command line or config.

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <opencv2/imgproc.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "analytics/engine.h"
#include "analytics/plate_camera.h"
#include "analytics/snapshot.h"
#include "index/store.h"
#include "ingest/recorder.h"
#include "proto/server.h"
#include "proto/convert.h"
#include "tools/vigild/config.h"
#include "tools/vigild/event_sink.h"
#include "tools/vigild/plate_sink.h"

namespace {

// One vigild per data directory: two would both write the index and the same segment paths.
vigil::Result<int> LockDataDir(const std::string& dir) {
  std::string path = vigil::JoinPath(dir, "vigild.lock");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return vigil::Status::FromErrno(errno, "cannot open lock file", path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = ::pread(fd, pid, sizeof(pid) - 1, 0);
    (void)n;
    ::close(fd);
    return vigil::Status::FailedPrecondition(
        fmt::format("another vigild (pid {}) is using {}", pid[0] ? pid : "?", dir));
  }
  std::string me = std::to_string(::getpid());
  if (::ftruncate(fd, 0) == 0) {
    ssize_t n = ::pwrite(fd, me.data(), me.size(), 0);
    (void)n;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vigil;
  // Keep freed heap instead of trimming it back to the system: the index's page caches and the
  // segment writers free and reallocate constantly, and a trimmed heap faults in zeroed pages again
  // (tools/bench/index: p99 of a time x camera query 11.4 -> 7.6 ms at 100 M events).
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  // Few heaps: a thread heap's top is only given back when it exceeds the trim threshold (never,
  // above), so a request burst that landed in one of many thread heaps under a long-lived block (a
  // growing track, a cache node) stayed resident after malloc_trim (api-e2e: 60-70 MiB kept with the
  // default 8 per core; 20 MiB with 2).
  mallopt(M_ARENA_MAX, 2);
  CLI::App app{"vigild: vigil recording and indexing server"};
  std::string config_path, data_dir, log_level;
  bool check_only = false;
  app.add_option("--config,-c", config_path, "TOML configuration file")->required();
  app.add_option("--data-dir", data_dir, "override data_dir from the config");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  // Keys: who may use the API (proto/keys.h). Run beside a running vigild: it re-reads the list.
  auto* keys = app.add_subcommand("keys", "create, revoke and list the keys allowed to use the API");
  keys->require_subcommand(1);
  std::string key_user, key_role, key_out;
  auto* keys_add = keys->add_subcommand("add", "make a key pair for a user and authorise it");
  keys_add->add_option("user", key_user, "user or system name")->required();
  keys_add->add_option("role", key_role, "operator, investigator, dispatch or admin")->required();
  keys_add->add_option("--out,-o", key_out, "the user's key file to write (default USER.key)");
  auto* keys_revoke = keys->add_subcommand("revoke", "revoke every key of a user");
  keys_revoke->add_option("user", key_user, "user or system name")->required();
  auto* keys_list = keys->add_subcommand("list", "list the keys, revoked ones too");
  CLI11_PARSE(app, argc, argv);

  // Signals are taken synchronously by the main thread; every thread started later inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto cfg = vigild::LoadConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << "vigild: " << cfg.error().message() << "\n";
    return 2;
  }
  if (!data_dir.empty()) cfg->recording.data_dir = data_dir;
  if (!log_level.empty() && !vigild::ValidLogLevel(log_level)) {
    std::cerr << "vigild: --log-level '" << log_level
              << "' is not one of trace, debug, info, warn, error, critical\n";
    return 2;
  }
  SetLogLevel(log_level.empty() ? cfg->log_level : log_level);
  auto log = Logger("vigild");
  // Footage, the index, keys and exports are police data: readable by the service's user and group
  // only (directories 0750, files 0640), whatever the umask vigild was started with.
  ::umask(027);
  if (struct stat st {}; ::stat(config_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    bool passwords = false;
    for (const auto& c : cfg->cameras) {
      for (const std::string* url : {&c.main_url, &c.sub_url}) {
        auto authority = url->substr(0, url->find('/', url->find("//") + 2));
        if (authority.find('@') != std::string::npos) passwords = true;
      }
    }
    if (passwords) {
      log->warn("{} holds camera passwords and is readable by others (mode {:o}): chmod 600 it, "
                "owned by the user vigild runs as",
                config_path, st.st_mode & 0777);
    }
  }
  if (check_only) {
    std::cout << config_path << ": ok, " << cfg->cameras.size() << " camera(s), data in "
              << cfg->recording.data_dir << "\n";
    return 0;
  }
  const std::string keys_dir =
      cfg->api.keys_dir.empty() ? JoinPath(cfg->recording.data_dir, "keys") : cfg->api.keys_dir;
  const std::string authorized = JoinPath(keys_dir, "authorized.toml");
  if (keys->parsed()) {
    auto server_key = api::LoadOrCreateServerKey(JoinPath(keys_dir, "server.key"));
    if (!server_key.ok()) {
      std::cerr << "vigild keys: " << server_key.error().message() << "\n";
      return 1;
    }
    int64_t now = SystemClock().WallNs();
    if (keys_add->parsed()) {
      auto role = api::ParseRole(key_role);
      if (!role) {
        std::cerr << "vigild keys add: unknown role '" << key_role
                  << "' (operator, investigator, dispatch or admin)\n";
        return 2;
      }
      if (key_out.empty()) key_out = key_user + ".key";
      if (::access(key_out.c_str(), F_OK) == 0) {
        std::cerr << "vigild keys add: " << key_out << " exists: not replacing a key file\n";
        return 1;
      }
      auto made = api::Keyring::Add(authorized, key_user, *role, *server_key, now);
      if (!made.ok()) {
        std::cerr << "vigild keys add: " << made.error().message() << "\n";
        return made.error().code() == StatusCode::kInvalidArgument ? 2 : 1;
      }
      if (Status st = api::SaveUserKey(*made, key_out); !st.ok()) {
        (void)api::Keyring::Revoke(authorized, key_user, now);
        std::cerr << "vigild keys add: " << st.message() << " (the new key was revoked again)\n";
        return 1;
      }
      std::cout << "key of " << key_user << " (" << api::RoleName(*role) << ") written to " << key_out
                << "; give it to them (it is their identity) and use it with vigil --key "
                << key_out << "\n";
      return 0;
    }
    if (keys_revoke->parsed()) {
      auto n = api::Keyring::Revoke(authorized, key_user, now);
      if (!n.ok()) {
        std::cerr << "vigild keys revoke: " << n.error().message() << "\n";
        return 1;
      }
      std::cout << "revoked " << *n << " key(s) of " << key_user
                << ": refused from their next request; a running vigild needs no restart\n";
      return 0;
    }
    if (keys_list->parsed()) {
      auto all = api::Keyring::Read(authorized);
      if (!all.ok()) {
        std::cerr << "vigild keys list: " << all.error().message() << "\n";
        return 1;
      }
      std::cout << fmt::format("{:<24} {:<13} {:<12} {:<21} {}\n", "USER", "ROLE", "KEY", "ADDED", "REVOKED");
      for (const auto& k : *all) {
        std::cout << fmt::format("{:<24} {:<13} {:<12} {:<21} {}\n", k.user, api::RoleName(k.role),
                                 k.public_key.substr(0, 8) + "…", FormatUtc(k.added_ns).substr(0, 19),
                                 k.revoked_ns ? FormatUtc(k.revoked_ns).substr(0, 19) : "-");
      }
      return 0;
    }
  }

  RaiseFileLimit();
  const std::string& dir = cfg->recording.data_dir;
  if (Status st = MakeDirs(dir); !st.ok()) {
    log->critical("data directory: {}", st);
    return 1;
  }
  if (struct stat st {}; ::stat(dir.c_str(), &st) == 0 && (st.st_mode & 027) != 0) {
    if (::chmod(dir.c_str(), st.st_mode & 0750) == 0) {
      log->info("data directory {}: mode {:o} -> {:o} (group read, others nothing)", dir,
                st.st_mode & 0777, st.st_mode & 0750);
    } else {
      log->warn("data directory {} is mode {:o} and cannot be made 0750: {}", dir, st.st_mode & 0777,
                std::strerror(errno));
    }
  }
  auto lock = LockDataDir(dir);
  if (!lock.ok()) {
    log->critical("{}", lock.error().message());
    return 1;
  }
  auto store = index::OpenSqliteStore(JoinPath(dir, "index.db"));
  if (!store.ok()) {
    log->critical("index: {}", store.error());
    return 1;
  }
  // Camera state changes go to the API's PUB socket once it is up (the API starts after the
  // recorder: recording first).
  // Each reconnect attempt of a camera that is down (retrying → connecting → retrying ...) is not news
  // to a monitoring room: it hears "retrying" once, then "recording" when it is back.
  std::mutex publish_mu;
  api::Server* publisher = nullptr;                 // guarded by publish_mu
  std::map<std::string, std::string> last_shown;    // guarded by publish_mu
  cfg->recording.on_state = [&publish_mu, &publisher, &last_shown](const ingest::CameraHealth& h) {
    std::lock_guard lock(publish_mu);
    std::string& last = last_shown[h.camera];
    std::string state = ingest::CameraStateName(h.state);
    if (h.state == ingest::CameraState::kConnecting && last == "retrying") state = "retrying";
    if (state == last) return;
    if (!publisher) return;
    last = state;
    api::v1::LiveMessage m;
    auto* c = m.mutable_camera();
    c->set_camera(h.camera);
    c->set_state(state);
    c->set_reason(h.state == ingest::CameraState::kRecording ? "" : h.last_error);
    c->set_time_ns(SystemClock().WallNs());
    publisher->Publish("camera." + h.camera, std::move(m));
  };
  // Analytics: detections become snapshots, index rows and live messages (event.<camera>).
  // Response zones from the file: alerts raised from now on carry them.
  for (auto& z : cfg->zones) {
    z.updated_ns = SystemClock().WallNs();
    if (Status st = (*store)->UpsertZone(z); !st.ok()) {
      log->critical("zone {}: {}", z.id, st);
      return 1;
    }
  }
  if (!cfg->zones.empty()) log->info("{} response zone(s) from {}", cfg->zones.size(), cfg->path);
  vigild::EventSink events(**store, dir, cfg->analytics_node.snapshots,
                           [&publish_mu, &publisher](const index::Event& e, bool ongoing) {
                             std::lock_guard lock(publish_mu);
                             if (!publisher) return;
                             api::v1::LiveMessage m;
                             api::ToPb(e, m.mutable_event());
                             m.mutable_event()->set_ongoing(ongoing);
                             publisher->Publish("event." + e.camera, std::move(m));
                           });
  analytics::Engine engine(static_cast<int>(cfg->analytics_node.workers),
                           [&events](const analytics::Detection& d, const Frame& f) {
                             events.OnDetection(d, f);
                           });
  for (const auto& [camera, rules] : cfg->analytics) {
    if (Status st = engine.AddCamera(camera, rules); !st.ok()) {
      log->critical("analytics: {}", st);
      return 2;
    }
  }
  if (!cfg->analytics.empty()) {
    cfg->recording.on_frame = [&engine](Frame&& f) { return engine.Submit(std::move(f)); };
    log->info("analytics: {} camera(s) on {} worker(s)", cfg->analytics.size(),
              cfg->analytics_node.workers);
  }
  // Plates: vehicle passes become pictures, index rows, live messages and watchlist alerts.
  vigild::PlateSink plate_sink(**store, *cfg,
                               [&publish_mu, &publisher](const std::string& topic, api::v1::LiveMessage m) {
                                 std::lock_guard lock(publish_mu);
                                 if (publisher) publisher->Publish(topic, std::move(m));
                               });
  analytics::Engine plate_engine(static_cast<int>(cfg->plates_node.workers),
                                 [&plate_sink](const analytics::Detection& d, const Frame& f) {
                                   plate_sink.OnPass(d, f);
                                 });
  for (const auto& [camera, pc] : cfg->plates) {
    auto reader = analytics::PlateReader::Load(cfg->plates_node.model);
    if (!reader.ok()) {
      log->critical("plates: camera {}: {}", camera, reader.error());
      return 2;
    }
    if (Status st = (*reader)->SetLocalProvinces(cfg->plates_node.local_provinces,
                                                 cfg->plates_node.local_province_weight);
        !st.ok()) {
      log->critical("plates: {}", st);
      return 2;
    }
    (void)plate_engine.AddProcessor(camera, std::make_unique<analytics::PlateCamera>(pc, std::move(*reader)));
  }
  if (!cfg->plates.empty()) {
    cfg->recording.on_plate_frame = [&plate_engine](Frame&& f) { return plate_engine.Submit(std::move(f)); };
    log->info("plates: {} camera(s) on {} worker(s), model {}", cfg->plates.size(),
              cfg->plates_node.workers, cfg->plates_node.model);
  }
  auto recorder = ingest::Recorder::Start(cfg->cameras, cfg->recording, **store);
  if (!recorder.ok()) {
    log->critical("recording: {}", recorder.error());
    return 1;
  }
  // The API. Recording matters more than queries: when an endpoint cannot be bound (port taken),
  // vigild says so and goes on recording.
  api::ServerOptions api_options;
  if (auto server_key = api::LoadOrCreateServerKey(JoinPath(keys_dir, "server.key")); server_key.ok()) {
    api_options.server_key = *server_key;
  } else {
    log->error("API key: {}", server_key.error());
  }
  api_options.keyring = std::make_shared<api::Keyring>(authorized);
  if (api_options.keyring->All().empty()) {
    log->warn("no key may use the API yet: make one with `vigild --config {} keys add USER ROLE`",
              config_path);
  }
  api_options.requests = cfg->api.requests;
  api_options.events = cfg->api.events;
  api_options.workers = static_cast<int>(cfg->api.workers);
  api_options.exports.data_dir = dir;
  api_options.exports.max_clip_ns = cfg->api.max_clip_ns;
  api_options.exports.concurrent = static_cast<int>(cfg->api.export_concurrency);
  api_options.exports.max_per_user = static_cast<int>(cfg->api.exports_per_user);
  api_options.max_connections_per_peer = static_cast<int>(cfg->api.connections_per_peer);
  api_options.max_connections = static_cast<int>(cfg->api.max_connections);
  api_options.exports.max_area_bytes = cfg->api.export_quota_bytes;
  api_options.exports.max_user_bytes = cfg->api.export_user_quota_bytes;
  api_options.exports.expire_ns = cfg->api.export_days * 86400 * kNsPerSec;
  {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    api_options.exports.server_name = fmt::format("{} vigild {}", host, api::kVigilVersion);
  }
  ingest::Recorder* rec = recorder->get();
  api_options.status = [rec, &engine, &plate_engine, &plate_sink](api::v1::StatusResult* out) {
    for (const auto& h : rec->Health()) {
      auto* c = out->add_cameras();
      c->set_camera(h.camera);
      c->set_state(ingest::CameraStateName(h.state));
      c->set_last_error(h.last_error);
      c->set_last_frame_ns(h.last_frame_wall_ns);
      c->set_frames(h.frames);
      c->set_bytes(h.bytes);
      c->set_fps(h.fps);
      c->set_bitrate_bps(h.bitrate_bps);
      c->set_frames_dropped(h.dropped.Total());
      c->set_frames_received(h.frames_received);
      c->set_lost_packets(h.lost_packets);
      c->set_frames_retimed(h.frames_retimed);
      auto* d = c->mutable_dropped();
      d->set_packet_loss(h.dropped.packet_loss);
      d->set_before_key(h.dropped.before_key);
      d->set_queue_overflow(h.dropped.queue_overflow);
      d->set_disk_error(h.dropped.disk_error);
      d->set_format_change(h.dropped.format_change);
      d->set_untimed(h.dropped.untimed);
      c->set_reconnects(h.reconnects);
      c->set_codec(h.codec);
      c->set_width(h.width);
      c->set_height(h.height);
      c->set_last_gap_reason(h.last_gap_reason);
      c->set_analysis(h.analysis);
      c->set_analysis_error(h.analysis_error);
      c->set_analysis_frames(h.analysis_frames);
      c->set_analysis_dropped(h.analysis_dropped);
      c->set_analysis_ms(engine.Stats(h.camera).last_process_ms);
      c->set_plates(h.plates);
      c->set_plates_error(h.plates_error);
      c->set_plates_frames(h.plates_frames);
      c->set_plates_dropped(h.plates_dropped);
      c->set_plates_ms(plate_engine.Stats(h.camera).last_process_ms);
      c->set_plate_reads(plate_sink.reads());
    }
  };
  // Live pictures for snapshots and patrol tours: the latest frame each analysed camera decoded.
  api_options.snapshot = [&engine, &plate_engine, &cfg, rec](const api::v1::SnapshotRequest& q,
                                             api::v1::SnapshotResult* out) -> Status {
    auto known = std::find_if(cfg->cameras.begin(), cfg->cameras.end(),
                              [&](const ingest::CameraConfig& c) { return c.id == q.camera(); });
    if (known == cfg->cameras.end()) return Status::NotFound(fmt::format("unknown camera '{}'", q.camera()));
    auto frame = engine.LatestFrame(q.camera());
    if (!frame) frame = plate_engine.LatestFrame(q.camera());
    if (!frame) {
      if (!cfg->analytics.count(q.camera()) && !cfg->plates.count(q.camera())) {
        return Status::FailedPrecondition(fmt::format(
            "camera {} is neither analysed nor read for plates ([cameras.analytics], [cameras.plates]): "
            "no live picture is decoded",
            q.camera()));
      }
      std::string state = "connecting";
      for (const auto& h : rec->Health()) {
        if (h.camera == q.camera()) state = h.analysis_error.empty() ? h.analysis : h.analysis + ": " + h.analysis_error;
      }
      return Status::Unavailable(fmt::format("no picture from camera {} yet ({})", q.camera(), state));
    }
    cv::Mat pic = frame->bgr;
    if (q.max_width() > 0 && pic.cols > q.max_width()) {
      cv::Mat small;
      cv::resize(pic, small, {q.max_width(), pic.rows * q.max_width() / pic.cols}, 0, 0, cv::INTER_AREA);
      pic = small;
    }
    VIGIL_ASSIGN_OR_RETURN(auto jpeg, analytics::EncodeSnapshot(pic, {}));
    out->set_camera(q.camera());
    out->set_time_ns(frame->wall_ns);
    out->set_jpeg(std::string(jpeg.begin(), jpeg.end()));
    out->set_width(pic.cols);
    out->set_height(pic.rows);
    return Status::Ok();
  };
  const std::string index_path = JoinPath(dir, "index.db");
  auto server = api::Server::Start(api_options, **store, [index_path]() {
    index::SqliteOptions ro;
    ro.read_only = true;
    return index::OpenSqliteStore(index_path, ro);
  }, SystemClock());
  if (!server.ok()) {
    log->critical("API not available (recording goes on): {}", server.error());
  } else {
    std::lock_guard lock(publish_mu);
    publisher = server->get();
  }
  log->info("vigild running: {} camera(s), data in {}", cfg->cameras.size(), dir);

  // Memory freed after a burst (a flood of requests, a large export) goes back to the system within
  // 20 s: the heap keeps what it uses meanwhile (M_TRIM_THRESHOLD above) and 16 MiB of slack at its
  // top, not what it once used (tests/api_e2e_test.cpp measures it; with 64 MiB of slack a burst that
  // ended at the main heap's top stayed resident, 60-70 MiB, once analytics held more buffers).
  int sig = 0;
  for (;;) {
    timespec every{20, 0};
    sig = sigtimedwait(&stop_signals, nullptr, &every);
    if (sig > 0) break;
    malloc_trim(16 << 20);
  }
  log->info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  {
    std::lock_guard lock(publish_mu);
    publisher = nullptr;
  }
  // Each stage is logged, so a stop that hangs says where.
  if (server.ok()) {
    server->reset();
    log->info("API stopped");
  }
  const bool clean = (*recorder)->Stop();
  if (!clean) {
    // A camera pipeline is stuck inside GStreamer (logged with every thread's stack). Its segment is
    // closed; finish analytics and the index, then leave without unloading what the stuck thread uses.
    engine.Stop();
    plate_engine.Stop();
    store->reset();
    log->error("stopped with a stuck camera pipeline left behind (segments closed, index flushed)");
    spdlog::shutdown();
    std::_Exit(0);
  }
  recorder->reset();
  // After the recorder: no frame comes any more; open events end at their last sighting.
  engine.Stop();
  plate_engine.Stop();
  log->info("analytics stopped ({} events, {} plate reads, {} alerts)", events.events(), plate_sink.reads(),
            plate_sink.alerts());
  store->reset();
  log->info("stopped cleanly");
  return 0;
}
