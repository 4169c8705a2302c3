#pragma once
// vigil-camsim's engine: an RTSP server (gst-rtsp-server) of N simulated cameras, each with a main and
// a sub stream at rtsp://127.0.0.1:PORT/camK/main and /camK/sub (K from 1).
//
// Live mode renders every camera's scene with OpenCV and encodes it once per stream, however many
// clients watch. Replay mode encodes one loop per stream kind once at start and serves it to every
// camera with continuing timestamps: hundreds of streams for little CPU. A scripted scene in replay mode
// is encoded once, whole, before serving starts and played from its time 0 (looping at its end): the
// scene's pictures, bit for bit the same each run, for the CPU of sending them.
//
// Faults (per camera, on command): stop (close its sessions, refuse new ones: a powered-off camera),
// start, freeze (sessions stay open, no frames flow: a hung encoder), thaw, refuse (new sessions get
// 503, existing ones go on), accept.
//
// Thread-safety: all public methods may be called from any thread.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "base/status.h"
#include "tools/camsim/script.h"

namespace vigil::camsim {

enum class Codec { kH264, kH265, kMjpeg };
Result<Codec> ParseCodec(const std::string& name);
const char* CodecName(Codec codec);

struct SimOptions {
  int cameras = 1;
  int port = 8554;  // 0: any free port, read back with port()
  uint64_t seed = 1;
  Codec codec = Codec::kH264;
  std::map<int, Codec> codec_of;  // per-camera overrides, by camera number K
  bool replay = false;
  double replay_seconds = 10;  // loop length, rounded up to whole GOPs
  cv::Size main_size{1920, 1080};
  cv::Size sub_size{640, 360};
  int fps = 25;
  int gop_seconds = 2;
  int main_kbps = 4000;
  int bframes = 0;  // replay only: B-frames per GOP run (with a pyramid when > 1), as many cameras send
  int sub_kbps = 512;
  // Scripted scenes (tools/camsim/script.h) by camera number K, live or pre-encoded (replay); scene
  // time 0 is scene_start_wall_ns(). Other cameras show the default street.
  std::map<int, std::shared_ptr<const Script>> scenes;
  // With a user: every request needs that user and password, by Digest (as cameras do by default)
  // or, with basic_auth, also Basic.
  std::string user, password;
  bool basic_auth = false;
  bool basic_only = false;  // Basic and nothing else (old or misconfigured cameras)
};

struct StreamStats {
  int64_t frames_published = 0;  // access units handed to at least one client
  int clients = 0;
};

class Simulator {
 public:
  // Encodes replay loops (if asked), binds the RTSP port and starts serving. Errors name the cause
  // (port in use, missing encoder plugin, bad options).
  static Result<std::unique_ptr<Simulator>> Start(const SimOptions& options);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  int port() const;
  std::string Url(int camera, bool main) const;

  // Applies "ACTION camK" (stop, start, freeze, thaw, refuse, accept). InvalidArgument on a bad
  // action, NotFound on an unknown camera.
  Status Apply(const std::string& command);

  StreamStats Stats(int camera, bool main) const;

  // Wall time (UTC ns) of media time 0 of every camera: scripted scenes' time 0.
  int64_t scene_start_wall_ns() const;

  struct Impl;

 private:
  explicit Simulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::camsim
