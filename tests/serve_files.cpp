// vigil-serve-files: gst-rtsp-server serving media files through GStreamer's payloaders, for trying
// vigild against a server it did not write (and for the stream-shape tests' cases by hand).
//   vigil-serve-files /b=b.mp4 [/c=c.mkv ...]   serves rtsp://127.0.0.1:PORT/b ... until SIGINT/SIGTERM
// A FILE ending in .mp4 goes through qtdemux, any other through matroskademux; the video's codec
// (H.264 or H.265) is taken from the file name's "h265"/"hevc", else H.264.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "tests/support/file_rtsp_server.h"

int main(int argc, char** argv) {
  using vigil::testing::FileRtspServer;
  std::vector<FileRtspServer::Mount> mounts;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    if (arg.empty() || arg[0] != '/' || eq == std::string::npos) {
      fmt::print(stderr, "usage: vigil-serve-files /PATH=FILE ...\n");
      return 2;
    }
    std::string file = arg.substr(eq + 1);
    const bool h265 = file.find("h265") != std::string::npos || file.find("hevc") != std::string::npos;
    const bool mp4 = file.size() > 4 && file.substr(file.size() - 4) == ".mp4";
    mounts.push_back({arg.substr(0, eq),
                      fmt::format("( filesrc location=\"{}\" ! {} ! {} ! {} name=pay0 pt=96 )", file,
                                  mp4 ? "qtdemux" : "matroskademux", h265 ? "h265parse" : "h264parse",
                                  h265 ? "rtph265pay" : "rtph264pay")});
  }
  auto server = FileRtspServer::Start(mounts);
  if (!server.ok()) {
    fmt::print(stderr, "vigil-serve-files: {}\n", server.error().ToString());
    return 1;
  }
  for (const auto& m : mounts) fmt::print("{}\n", (*server)->Url(m.path));
  std::fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
