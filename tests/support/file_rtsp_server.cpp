#include "tests/support/file_rtsp_server.h"

#include <gst/rtsp-server/rtsp-server.h>

#include <thread>

#include <fmt/format.h>

#include "base/gst_ptr.h"

namespace vigil::testing {

struct FileRtspServer::Impl {
  GstPtr<GMainContext> context;
  GstPtr<GMainLoop> loop;
  GstPtr<GstRTSPServer> server;
  int port = 0;
  std::thread thread;
};

FileRtspServer::FileRtspServer() : impl_(std::make_unique<Impl>()) {}

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
