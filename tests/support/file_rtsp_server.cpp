#include "tests/support/file_rtsp_server.h"

#include <gst/rtsp-server/rtsp-server.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "base/gst_ptr.h"

namespace vigil::testing {

struct FileRtspServer::Impl {
  struct MountState {
    Impl* impl = nullptr;
    std::string path;
  };
  mutable std::mutex mu;
  std::map<std::string, std::vector<int64_t>> play_starts;
  std::vector<std::unique_ptr<MountState>> mounts;
  GstPtr<GMainContext> context;
  GstPtr<GMainLoop> loop;
  GstPtr<GstRTSPServer> server;
  int port = 0;
  std::thread thread;
};

FileRtspServer::FileRtspServer() : impl_(std::make_unique<Impl>()) {}

namespace {

void OnNewState(GstRTSPMedia*, gint state, gpointer data) {
  if (state != GST_STATE_PLAYING) return;
  auto* m = static_cast<FileRtspServer::Impl::MountState*>(data);
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::lock_guard lock(m->impl->mu);
  m->impl->play_starts[m->path].push_back(now);
}

void OnMediaConfigure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer data) {
  g_signal_connect(media, "new-state", G_CALLBACK(OnNewState), data);
}

}  // namespace

Result<std::unique_ptr<FileRtspServer>> FileRtspServer::Start(const std::vector<Mount>& mounts) {
  gst_init(nullptr, nullptr);
  auto s = std::unique_ptr<FileRtspServer>(new FileRtspServer());
  Impl& im = *s->impl_;
  im.context.reset(g_main_context_new());
  im.loop.reset(g_main_loop_new(im.context.get(), FALSE));
  im.server.reset(gst_rtsp_server_new());
  gst_rtsp_server_set_address(im.server.get(), "127.0.0.1");
  gst_rtsp_server_set_service(im.server.get(), "0");
  GstPtr<GstRTSPMountPoints> points(gst_rtsp_server_get_mount_points(im.server.get()));
  for (const Mount& m : mounts) {
    GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(factory, m.launch.c_str());
    gst_rtsp_media_factory_set_shared(factory, FALSE);
    im.mounts.push_back(std::make_unique<Impl::MountState>(Impl::MountState{&im, m.path}));
    g_signal_connect(factory, "media-configure", G_CALLBACK(OnMediaConfigure), im.mounts.back().get());
    gst_rtsp_mount_points_add_factory(points.get(), m.path.c_str(), factory);  // takes ownership
  }
  if (gst_rtsp_server_attach(im.server.get(), im.context.get()) == 0) {
    return Status::Unavailable("gst-rtsp-server cannot listen on 127.0.0.1");
  }
  im.port = gst_rtsp_server_get_bound_port(im.server.get());
  im.thread = std::thread([&im] {
    g_main_context_push_thread_default(im.context.get());
    g_main_loop_run(im.loop.get());
    g_main_context_pop_thread_default(im.context.get());
  });
  return s;
}

FileRtspServer::~FileRtspServer() {
  if (impl_->thread.joinable()) {
    g_main_loop_quit(impl_->loop.get());
    impl_->thread.join();
  }
}

int FileRtspServer::port() const { return impl_->port; }

std::string FileRtspServer::Url(const std::string& path) const {
  return fmt::format("rtsp://127.0.0.1:{}{}", impl_->port, path);
}

}  // namespace vigil::testing

namespace vigil::testing {

std::vector<int64_t> FileRtspServer::PlayStarts(const std::string& path) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->play_starts.find(path);
  return it == impl_->play_starts.end() ? std::vector<int64_t>{} : it->second;
}

}  // namespace vigil::testing
