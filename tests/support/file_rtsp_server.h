#pragma once
// An RTSP server vigil did not write, for conformance tests: gst-rtsp-server serving media files
// (made by ffmpeg/libx264/libx265 or GStreamer's encoders) through GStreamer's own payloaders, each
// mount a gst-launch description, e.g. "( filesrc location=F ! qtdemux ! h264parse ! rtph264pay
// name=pay0 pt=96 )". Each client gets the file from its start (media not shared), paced in real
// time; at the file's end the media sends EOS and the stream stops.
//
// Thread-safe: the server runs on its own thread and main context.

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace vigil::testing {

class FileRtspServer {
 public:
  struct Mount {
    std::string path;    // "/shape"
    std::string launch;  // a gst-launch bin description with payloaders pay0, pay1, ...
  };
  // Listens on 127.0.0.1, a free port. Errors: the port could not be had.
  static Result<std::unique_ptr<FileRtspServer>> Start(const std::vector<Mount>& mounts);
  ~FileRtspServer();
  FileRtspServer(const FileRtspServer&) = delete;
  FileRtspServer& operator=(const FileRtspServer&) = delete;

  int port() const;
  std::string Url(const std::string& path) const;
  // Wall-clock times (ns since the epoch) at which the mount's media started playing, one per client
  // session, in order: the file's frame at media time τ is sent at about start + τ, which is how a
  // test maps a clip's own times onto the wall times vigild stamps events with.
  std::vector<int64_t> PlayStarts(const std::string& path) const;

  struct Impl;  // public for the GStreamer callbacks in the .cpp

 private:
  FileRtspServer();
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::testing
