#include "tools/camsim/simulator.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <gst/app/gstappsrc.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <opencv2/imgproc.hpp>

#include "base/clock.h"
#include "base/gst_ptr.h"
#include "base/log.h"
#include "tools/camsim/encoder.h"
#include "tools/camsim/scene.h"

namespace vigil::camsim {

Result<Codec> ParseCodec(const std::string& name) {
  if (name == "h264") return Codec::kH264;
  if (name == "h265" || name == "hevc") return Codec::kH265;
  if (name == "mjpeg" || name == "jpeg") return Codec::kMjpeg;
  return Status::InvalidArgument(fmt::format("unknown codec '{}' (h264, h265, mjpeg)", name));
}

const char* CodecName(Codec codec) {
  switch (codec) {
    case Codec::kH264: return "h264";
    case Codec::kH265: return "h265";
    case Codec::kMjpeg: return "mjpeg";
  }
  return "?";
}

namespace {

// One encoded stream (a camera's main or sub) fanned out to the appsrc of every RTSP media serving it.
// Timestamps are exact multiples of the frame duration from each client's first frame on.
class Hub {
 public:
  explicit Hub(int fps) : frame_ns_(kNsPerSec / fps) {}

  int Attach(GstElement* appsrc) {
    std::lock_guard lock(mu_);
    int id = next_id_++;
    outs_.push_back({id, GstRef(appsrc)});
    return id;
  }

  void Detach(int id) {
    std::lock_guard lock(mu_);
    std::erase_if(outs_, [id](const Out& o) { return o.id == id; });
  }

  // Hands one access unit (borrowed) with its frame number (decode order) to every attached client;
  // `pts_delay` frames: its presentation time after its decode time (B-frames).
  void Publish(GstBuffer* au, bool key, int64_t frame, int pts_delay = 0) {
    std::lock_guard lock(mu_);
    bool any = false;
    for (Out& o : outs_) {
      if (!o.started) {
        if (!key) continue;  // a joining client starts on a key frame, as a real camera's does
        GstPtr<GstClock> clock(gst_element_get_clock(o.appsrc.get()));
        if (!clock) continue;  // media not yet running
        o.rt0 = static_cast<int64_t>(gst_clock_get_time(clock.get()) -
                                     gst_element_get_base_time(o.appsrc.get()));
        o.frame0 = frame;
        o.started = true;
      }
      GstBuffer* copy = gst_buffer_copy(au);  // shares the memory; only metadata is copied
      GST_BUFFER_DTS(copy) = static_cast<GstClockTime>(o.rt0 + (frame - o.frame0) * frame_ns_);
      GST_BUFFER_PTS(copy) = static_cast<GstClockTime>(o.rt0 + (frame - o.frame0 + pts_delay) * frame_ns_);
      GST_BUFFER_DURATION(copy) = static_cast<GstClockTime>(frame_ns_);
      gst_app_src_push_buffer(GST_APP_SRC(o.appsrc.get()), copy);
      any = true;
    }
    if (any) ++published_;
  }

  StreamStats Stats() const {
    std::lock_guard lock(mu_);
    return {published_, static_cast<int>(outs_.size())};
  }

 private:
  struct Out {
    int id;
    GstPtr<GstElement> appsrc;
    bool started = false;
    int64_t rt0 = 0;
    int64_t frame0 = 0;
  };
  const int64_t frame_ns_;
  mutable std::mutex mu_;  // guards the members below
  std::vector<Out> outs_;
  int next_id_ = 1;
  int64_t published_ = 0;
};

// An encoded loop: access units in order, the first one a key frame.
struct Loop {
  std::vector<GstPtr<GstBuffer>> units;
  std::vector<bool> keys;
  std::vector<int> pts_delays;  // frames from each unit's decode time to its presentation time
};

struct CameraState {
  int number = 0;
  Codec codec = Codec::kH264;
  std::atomic<bool> stopped{false};
  std::atomic<bool> frozen{false};
  std::atomic<bool> refusing{false};
  std::unique_ptr<Hub> main;
  std::unique_ptr<Hub> sub;
  // Replay with a scripted scene: the scene encoded once, whole (main, sub), played from scene time 0.
  std::unique_ptr<std::pair<Loop, Loop>> scene_loop;
  // Live mode only.
  std::unique_ptr<Encoder> main_encoder;
  std::unique_ptr<Encoder> sub_encoder;
  std::thread render_thread;

  bool Sending() const { return !stopped && !frozen; }
};

struct MediaBinding {
  Hub* hub;
  int id;
};

}  // namespace

struct Simulator::Impl {
  SimOptions options;
  std::shared_ptr<spdlog::logger> log = Logger("camsim");
  std::vector<std::unique_ptr<CameraState>> cameras;
  std::map<Codec, std::pair<Loop, Loop>> loops;  // replay: (main, sub) per codec

  GstPtr<GMainContext> context;
  GstPtr<GMainLoop> loop;
  GstPtr<GstRTSPServer> server;
  std::thread server_thread;
  int bound_port = 0;

  // Clients seen per camera, so that "stop camK" can close them. Client signals come from the
  // server's thread pool, hence the lock.
  std::mutex clients_mu;
  std::map<GstRTSPClient*, std::set<int>> clients;

  std::atomic<bool> quitting{false};
  std::thread feeder;
  // Frame i of every camera (live) and tick i of the replay feeder is the picture of live_start + i / fps.
  std::chrono::steady_clock::time_point live_start;
  int64_t live_start_wall_ns = 0;

  CameraState* Find(int number) {
    if (number < 1 || number > static_cast<int>(cameras.size())) return nullptr;
    return cameras[static_cast<size_t>(number - 1)].get();
  }

  Status EncodeLoop(Codec codec, int64_t frames, const std::function<void(int64_t, cv::Mat&)>& render,
                    Loop& main_loop, Loop& sub_loop);
  Status EncodeLoops();
  Status StartServer();
  void StartLive(CameraState& cam);
  void ReplayFeeder();
  void CloseClientsOf(int number);
  Status Shutdown();
};

namespace {

// Camera number from a request path such as "/cam3/main" or "/cam3/main/stream=0"; 0 if none.
int CameraFromPath(const char* path) {
  if (!path) return 0;
  int n = 0;
  if (std::sscanf(path, "/cam%d", &n) == 1) return n;
  return 0;
}

GstRTSPStatusCode CheckRequest(GstRTSPClient* client, GstRTSPContext* ctx, gpointer user) {
  auto* impl = static_cast<Simulator::Impl*>(user);
  int number = ctx->uri ? CameraFromPath(ctx->uri->abspath) : 0;
  CameraState* cam = impl->Find(number);
  if (!cam) return GST_RTSP_STS_NOT_FOUND;
  if (cam->stopped || cam->refusing) return GST_RTSP_STS_SERVICE_UNAVAILABLE;
  std::lock_guard lock(impl->clients_mu);
  auto [it, inserted] = impl->clients.try_emplace(client);
  if (inserted) g_object_ref(client);
  it->second.insert(number);
  return GST_RTSP_STS_OK;
}

void OnClientClosed(GstRTSPClient* client, gpointer user) {
  auto* impl = static_cast<Simulator::Impl*>(user);
  std::lock_guard lock(impl->clients_mu);
  auto it = impl->clients.find(client);
  if (it != impl->clients.end()) {
    impl->clients.erase(it);
    g_object_unref(client);
  }
}

void OnClientConnected(GstRTSPServer*, GstRTSPClient* client, gpointer user) {
  // OPTIONS is always answered (as a camera's web server would be); the media requests are refused.
  for (const char* sig : {"pre-describe-request", "pre-setup-request", "pre-play-request"}) {
    g_signal_connect(client, sig, G_CALLBACK(CheckRequest), user);
  }
  g_signal_connect(client, "closed", G_CALLBACK(OnClientClosed), user);
}

void OnMediaUnprepared(GstRTSPMedia*, gpointer user) {
  auto* b = static_cast<MediaBinding*>(user);
  b->hub->Detach(b->id);
}

void OnMediaConfigure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer user) {
  auto* hub = static_cast<Hub*>(user);
  GstPtr<GstElement> element(gst_rtsp_media_get_element(media));
  GstPtr<GstElement> appsrc(gst_bin_get_by_name_recurse_up(GST_BIN(element.get()), "src"));
  if (!appsrc) return;
  auto* binding = new MediaBinding{hub, hub->Attach(appsrc.get())};
  g_signal_connect_data(media, "unprepared", G_CALLBACK(OnMediaUnprepared), binding,
                        [](gpointer data, GClosure*) { delete static_cast<MediaBinding*>(data); },
                        GConnectFlags(0));
}

std::string MediaLaunch(Codec codec) {
  switch (codec) {
    case Codec::kH264:
      return "( appsrc name=src is-live=true format=time "
             "caps=video/x-h264,stream-format=byte-stream,alignment=au ! "
             "h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=-1 )";
    case Codec::kH265:
      return "( appsrc name=src is-live=true format=time "
             "caps=video/x-h265,stream-format=byte-stream,alignment=au ! "
             "h265parse config-interval=-1 ! rtph265pay name=pay0 pt=96 config-interval=-1 )";
    case Codec::kMjpeg:
      return "( appsrc name=src is-live=true format=time caps=image/jpeg ! "
             "jpegparse ! rtpjpegpay name=pay0 pt=26 )";
  }
  return {};
}

cv::Mat ToI420(const cv::Mat& bgr) {
  cv::Mat i420;
  cv::cvtColor(bgr, i420, cv::COLOR_BGR2YUV_I420);
  return i420;
}

}  // namespace

// Encodes `frames` pictures from `render(i, frame)` into a main and a sub loop.
Status Simulator::Impl::EncodeLoop(Codec codec, int64_t frames, const std::function<void(int64_t, cv::Mat&)>& render,
                                   Loop& main_loop, Loop& sub_loop) {
  const int gop = options.fps * options.gop_seconds;
  const int64_t frame_ns = kNsPerSec / options.fps;
  const int bframes = options.bframes;
  auto collect = [frame_ns, bframes](Loop& l) {
    return [&l, frame_ns, bframes](GstBuffer* au, bool key) {
      // Decode index = arrival order; presentation = the frame number the encoder was given.
      const int64_t shown = static_cast<int64_t>(GST_BUFFER_PTS(au)) / frame_ns;
      l.pts_delays.push_back(static_cast<int>(shown - static_cast<int64_t>(l.units.size())) + bframes);
      l.units.emplace_back(gst_buffer_ref(au));
      l.keys.push_back(key);
    };
  };
  VIGIL_ASSIGN_OR_RETURN(auto main_enc, Encoder::Create(codec, options.main_size, options.fps, gop,
                                                        options.main_kbps, collect(main_loop), bframes));
  VIGIL_ASSIGN_OR_RETURN(auto sub_enc, Encoder::Create(codec, options.sub_size, options.fps, gop,
                                                       options.sub_kbps, collect(sub_loop), bframes));
  cv::Mat frame, small;
  for (int64_t i = 0; i < frames; ++i) {
    render(i, frame);
    VIGIL_RETURN_IF_ERROR(main_enc->Push(ToI420(frame), i));
    cv::resize(frame, small, options.sub_size, 0, 0, cv::INTER_AREA);
    VIGIL_RETURN_IF_ERROR(sub_enc->Push(ToI420(small), i));
  }
  VIGIL_RETURN_IF_ERROR(main_enc->Finish());
  VIGIL_RETURN_IF_ERROR(sub_enc->Finish());
  if (main_loop.units.size() != static_cast<size_t>(frames) || main_loop.units.empty() ||
      !main_loop.keys.front()) {
    return Status::Internal(fmt::format("{} replay loop came out with {} of {} frames", CodecName(codec),
                                        main_loop.units.size(), frames));
  }
  auto kb = [](const Loop& l) {
    size_t b = 0;
    for (const auto& u : l.units) b += gst_buffer_get_size(u.get());
    return b / 1024;
  };
  log->info("replay loop {}: {} frames, main {} kB, sub {} kB", CodecName(codec), frames, kb(main_loop), kb(sub_loop));
  return Status::Ok();
}

Status Simulator::Impl::EncodeLoops() {
  const int gop = options.fps * options.gop_seconds;
  auto whole_gops = [&](double seconds) {
    return static_cast<int64_t>(std::ceil(seconds * options.fps / gop)) * gop;
  };
  // Scripted scenes: each encoded once, whole, on its own thread (a 90 s 1080p scene is 2,250 pictures).
  std::vector<std::thread> threads;
  std::vector<Status> results(cameras.size(), Status::Ok());
  bool plain = false;
  for (size_t k = 0; k < cameras.size(); ++k) {
    CameraState& cam = *cameras[k];
    auto it = options.scenes.find(cam.number);
    if (it == options.scenes.end()) {
      plain = true;
      continue;
    }
    cam.scene_loop = std::make_unique<std::pair<Loop, Loop>>();
    threads.emplace_back([this, &cam, &result = results[k], script = it->second, frames = whole_gops(it->second->duration)] {
      ScriptedScene scene(script, options.main_size, fmt::format("cam{}  {}", cam.number, script->name));
      result = EncodeLoop(
          cam.codec, frames,
          [&](int64_t i, cv::Mat& frame) {
            double t = static_cast<double>(i) / options.fps;
            scene.Render(t, fmt::format("scene t={:.2f}s", t), frame);
          },
          cam.scene_loop->first, cam.scene_loop->second);
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& st : results) VIGIL_RETURN_IF_ERROR(st);
  if (!plain) return Status::Ok();
  std::set<Codec> codecs;
  for (auto& cam : cameras) {
    if (!cam->scene_loop) codecs.insert(cam->codec);
  }
  Scene main_scene(options.seed, options.main_size, "vigil-camsim replay");
  for (Codec codec : codecs) {
    Loop main_loop, sub_loop;
    VIGIL_RETURN_IF_ERROR(EncodeLoop(
        codec, whole_gops(options.replay_seconds),
        [&](int64_t i, cv::Mat& frame) {
          double t = static_cast<double>(i) / options.fps;
          main_scene.Render(t, fmt::format("replay loop t={:.2f}s", t), frame);
        },
        main_loop, sub_loop));
    loops[codec] = {std::move(main_loop), std::move(sub_loop)};
  }
  return Status::Ok();
}

void Simulator::Impl::ReplayFeeder() {
  const auto frame = std::chrono::nanoseconds(kNsPerSec / options.fps);
  auto next = live_start;
  for (int64_t tick = 0; !quitting; ++tick) {
    for (auto& cam : cameras) {
      if (!cam->Sending()) continue;
      auto& [main_loop, sub_loop] = cam->scene_loop ? *cam->scene_loop : loops[cam->codec];
      // Cameras start at different points of the loop so that their key frames do not all coincide;
      // a scripted scene starts at its time 0, the moment of scene_start_wall_ns().
      size_t offset = cam->scene_loop ? 0 : static_cast<size_t>(cam->number) * 7;
      size_t i = (static_cast<size_t>(tick) + offset) % main_loop.units.size();
      cam->main->Publish(main_loop.units[i].get(), main_loop.keys[i], tick, main_loop.pts_delays[i]);
      cam->sub->Publish(sub_loop.units[i].get(), sub_loop.keys[i], tick, sub_loop.pts_delays[i]);
    }
    next += frame;
    std::this_thread::sleep_until(next);
  }
}

void Simulator::Impl::StartLive(CameraState& cam) {
  cam.render_thread = std::thread([this, &cam] {
    std::string label = fmt::format("cam{}  vigil-camsim seed {}", cam.number, options.seed);
    Scene scene(options.seed + static_cast<uint64_t>(cam.number) * 7919, options.main_size, label);
    std::unique_ptr<ScriptedScene> scripted;
    if (auto it = options.scenes.find(cam.number); it != options.scenes.end()) {
      scripted = std::make_unique<ScriptedScene>(it->second, options.main_size,
                                                 fmt::format("cam{}  {}", cam.number, it->second->name));
    }
    const auto frame_dur = std::chrono::nanoseconds(kNsPerSec / options.fps);
    const auto start = live_start;
    cv::Mat frame, small;
    int64_t last = -1;
    while (!quitting) {
      // Like a real camera's encoder, one that cannot keep up drops frames: frame i is always the
      // picture of time i / fps, so media time never falls behind the clock.
      int64_t i = (std::chrono::steady_clock::now() - start) / frame_dur;
      if (i <= last) {
        std::this_thread::sleep_until(start + (last + 1) * frame_dur);
        continue;
      }
      last = i;
      double t = static_cast<double>(i) / options.fps;
      if (scripted) {
        scripted->Render(t, FormatLocal(SystemClock().WallNs()), frame);
      } else {
        scene.Render(t, FormatLocal(SystemClock().WallNs()), frame);
      }
      (void)cam.main_encoder->Push(ToI420(frame), i);
      cv::resize(frame, small, options.sub_size, 0, 0, cv::INTER_AREA);
      (void)cam.sub_encoder->Push(ToI420(small), i);
    }
  });
}

Status Simulator::Impl::StartServer() {
  context.reset(g_main_context_new());
  loop.reset(g_main_loop_new(context.get(), FALSE));
  server.reset(gst_rtsp_server_new());
  gst_rtsp_server_set_address(server.get(), "127.0.0.1");
  std::string service = std::to_string(options.port);
  gst_rtsp_server_set_service(server.get(), service.c_str());
  g_signal_connect(server.get(), "client-connected", G_CALLBACK(OnClientConnected), this);
  // Serve clients from a pool of threads: by default every client shares the server's main context,
  // and one media that is slow to prepare (a live source waiting for data) stalls every camera.
  GstPtr<GstRTSPThreadPool> pool(gst_rtsp_server_get_thread_pool(server.get()));
  gst_rtsp_thread_pool_set_max_threads(pool.get(), 16);
  if (!options.user.empty()) {
    GstPtr<GstRTSPAuth> auth(gst_rtsp_auth_new());
    // A mini object (not a GObject): released by hand below.
    GstRTSPToken* token = gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "viewer", nullptr);
    gst_rtsp_auth_add_digest(auth.get(), options.user.c_str(), options.password.c_str(), token);
    int methods = options.basic_only ? 0 : GST_RTSP_AUTH_DIGEST;
    if (options.basic_auth || options.basic_only) {
      GstPtr<gchar> basic(gst_rtsp_auth_make_basic(options.user.c_str(), options.password.c_str()));
      gst_rtsp_auth_add_basic(auth.get(), basic.get(), token);
      methods |= GST_RTSP_AUTH_BASIC;
    }
    gst_rtsp_token_unref(token);
    gst_rtsp_auth_set_supported_methods(auth.get(), static_cast<GstRTSPAuthMethod>(methods));
    gst_rtsp_server_set_auth(server.get(), auth.get());
  }
  GstPtr<GstRTSPMountPoints> mounts(gst_rtsp_server_get_mount_points(server.get()));
  for (auto& cam : cameras) {
    for (bool is_main : {true, false}) {
      GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
      if (!options.user.empty()) {
        gst_rtsp_media_factory_add_role(factory, "viewer", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS, G_TYPE_BOOLEAN,
                                        TRUE, GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, G_TYPE_BOOLEAN, TRUE,
                                        nullptr);
      }
      gst_rtsp_media_factory_set_launch(factory, MediaLaunch(cam->codec).c_str());
      gst_rtsp_media_factory_set_shared(factory, TRUE);
      Hub* hub = is_main ? cam->main.get() : cam->sub.get();
      g_signal_connect(factory, "media-configure", G_CALLBACK(OnMediaConfigure), hub);
      std::string path = fmt::format("/cam{}/{}", cam->number, is_main ? "main" : "sub");
      gst_rtsp_mount_points_add_factory(mounts.get(), path.c_str(), factory);  // takes ownership
    }
  }
  guint source_id = gst_rtsp_server_attach(server.get(), context.get());
  if (source_id == 0) {
    return Status::Unavailable(
        fmt::format("cannot listen on 127.0.0.1:{} (port in use?)", options.port));
  }
  bound_port = gst_rtsp_server_get_bound_port(server.get());
  server_thread = std::thread([this] {
    g_main_context_push_thread_default(context.get());
    g_main_loop_run(loop.get());
    g_main_context_pop_thread_default(context.get());
  });
  return Status::Ok();
}

void Simulator::Impl::CloseClientsOf(int number) {
  // Runs on the server thread: client objects belong to it.
  struct Call {
    Impl* impl;
    int number;
  };
  auto* call = new Call{this, number};
  g_main_context_invoke_full(
      context.get(), G_PRIORITY_DEFAULT,
      [](gpointer data) -> gboolean {
        auto* c = static_cast<Call*>(data);
        // Held across the call: closing emits "closed", whose handler drops the map's reference,
        // and the client must outlive gst_rtsp_client_close itself.
        std::vector<GstPtr<GstRTSPClient>> victims;
        {
          std::lock_guard lock(c->impl->clients_mu);
          for (auto& [client, cams] : c->impl->clients) {
            if (cams.count(c->number) || c->number == 0) victims.push_back(GstRef(client));
          }
        }
        for (auto& client : victims) gst_rtsp_client_close(client.get());
        return G_SOURCE_REMOVE;
      },
      call, [](gpointer data) { delete static_cast<Call*>(data); });
}

Status Simulator::Impl::Shutdown() {
  quitting = true;
  if (feeder.joinable()) feeder.join();
  for (auto& cam : cameras) {
    if (cam->render_thread.joinable()) cam->render_thread.join();
  }
  if (server_thread.joinable()) {
    CloseClientsOf(0);
    // Let the close run, then stop the loop.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    g_main_loop_quit(loop.get());
    server_thread.join();
  }
  {
    std::lock_guard lock(clients_mu);
    for (auto& [client, cams] : clients) g_object_unref(client);
    clients.clear();
  }
  server.reset();
  for (auto& cam : cameras) {
    cam->main_encoder.reset();
    cam->sub_encoder.reset();
  }
  return Status::Ok();
}

Result<std::unique_ptr<Simulator>> Simulator::Start(const SimOptions& options) {
  EnsureGstInit();
  if (options.cameras < 1) return Status::InvalidArgument("--cameras must be at least 1");
  if (options.fps < 1 || options.fps > 60) return Status::InvalidArgument("--fps must be 1..60");
  for (cv::Size s : {options.main_size, options.sub_size}) {
    if (s.width < 64 || s.height < 64 || s.width % 2 || s.height % 2) {
      return Status::InvalidArgument(
          fmt::format("frame size {}x{}: both sides must be even and at least 64", s.width,
                      s.height));
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  for (int k = 1; k <= options.cameras; ++k) {
    auto cam = std::make_unique<CameraState>();
    cam->number = k;
    auto it = options.codec_of.find(k);
    cam->codec = it != options.codec_of.end() ? it->second : options.codec;
    cam->main = std::make_unique<Hub>(options.fps);
    cam->sub = std::make_unique<Hub>(options.fps);
    impl->cameras.push_back(std::move(cam));
  }
  const int gop = options.fps * options.gop_seconds;
  for (const auto& [k, script] : options.scenes) {
    if (k < 1 || k > options.cameras) {
      return Status::InvalidArgument(fmt::format("scene {} is for cam{}, but there are {} camera(s)",
                                                 script->name, k, options.cameras));
    }
  }
  if (options.bframes < 0 || options.bframes > 4 || (options.bframes > 0 && !options.replay)) {
    return Status::InvalidArgument(fmt::format(
        "--bframes {}: 0 to 4, and only with --replay (live scenes are encoded frame by frame)", options.bframes));
  }
  if (options.replay) {
    VIGIL_RETURN_IF_ERROR(impl->EncodeLoops());
  } else {
    for (auto& cam : impl->cameras) {
      CameraState* c = cam.get();
      const GstClockTime frame_ns = GST_SECOND / static_cast<GstClockTime>(options.fps);
      auto to = [c, frame_ns](bool is_main) {
        return [c, is_main, frame_ns](GstBuffer* au, bool key) {
          if (!c->Sending()) return;
          // Live: the encoder's frame number is its PTS in frames.
          int64_t frame = static_cast<int64_t>(GST_BUFFER_PTS(au) / frame_ns);
          (is_main ? c->main : c->sub)->Publish(au, key, frame);
        };
      };
      VIGIL_ASSIGN_OR_RETURN(c->main_encoder, Encoder::Create(c->codec, options.main_size,
                                                              options.fps, gop, options.main_kbps,
                                                              to(true)));
      VIGIL_ASSIGN_OR_RETURN(c->sub_encoder, Encoder::Create(c->codec, options.sub_size, options.fps,
                                                             gop, options.sub_kbps, to(false)));
    }
  }
  VIGIL_RETURN_IF_ERROR(impl->StartServer());
  impl->live_start = std::chrono::steady_clock::now();
  impl->live_start_wall_ns = SystemClock().WallNs();
  if (options.replay) {
    impl->feeder = std::thread([p = impl.get()] { p->ReplayFeeder(); });
  } else {
    for (auto& cam : impl->cameras) impl->StartLive(*cam);
  }
  impl->log->info("serving {} camera(s) ({}) on rtsp://127.0.0.1:{}/camK/{{main,sub}}",
                  options.cameras, options.replay ? "replay" : "live", impl->bound_port);
  return std::unique_ptr<Simulator>(new Simulator(std::move(impl)));
}

Simulator::Simulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Simulator::~Simulator() { (void)impl_->Shutdown(); }

int Simulator::port() const { return impl_->bound_port; }

std::string Simulator::Url(int camera, bool main) const {
  return fmt::format("rtsp://127.0.0.1:{}/cam{}/{}", impl_->bound_port, camera,
                     main ? "main" : "sub");
}

Status Simulator::Apply(const std::string& command) {
  std::istringstream in(command);
  std::string action, target;
  in >> action >> target;
  int number = 0;
  if (std::sscanf(target.c_str(), "cam%d", &number) != 1) {
    return Status::InvalidArgument(fmt::format("'{}': expected ACTION camK", command));
  }
  CameraState* cam = impl_->Find(number);
  if (!cam) return Status::NotFound(fmt::format("no camera {} (1..{})", target, impl_->cameras.size()));
  if (action == "stop") {
    cam->stopped = true;
    impl_->CloseClientsOf(number);
  } else if (action == "start") {
    cam->stopped = false;
    cam->frozen = false;
  } else if (action == "freeze") {
    cam->frozen = true;
  } else if (action == "thaw") {
    cam->frozen = false;
  } else if (action == "refuse") {
    cam->refusing = true;
  } else if (action == "accept") {
    cam->refusing = false;
  } else {
    return Status::InvalidArgument(fmt::format(
        "unknown action '{}' (stop, start, freeze, thaw, refuse, accept)", action));
  }
  impl_->log->info("{} {}", action, target);
  return Status::Ok();
}

int64_t Simulator::scene_start_wall_ns() const { return impl_->live_start_wall_ns; }

StreamStats Simulator::Stats(int camera, bool main) const {
  CameraState* cam = impl_->Find(camera);
  if (!cam) return {};
  return (main ? cam->main : cam->sub)->Stats();
}

}  // namespace vigil::camsim
