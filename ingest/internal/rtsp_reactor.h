#pragma once
// The socket side of vigil's RTSP client (ingest/rtsp_session.h): a few threads, each an epoll loop
// over many cameras' connections (non-blocking TCP, RTP interleaved).
//
// Reads are batched: after each pass over the ready sockets a thread sleeps out the rest of
// `read_interval_ns` (default 20 ms), so one recv() takes everything a camera sent meanwhile instead
// of waking once per packet, as GStreamer's rtspsrc and ffmpeg do.
// With many cameras one epoll pass finds many sockets ready anyway: at 100 streams the interval
// changed little (0 ms: 0.0015, 20 ms: 0.0014, 50 ms: 0.0013 CPU-s per stream-second); the saving
// is mostly the lean path per packet (parsed in place, no per-packet objects or thread hand-offs).
// It costs at most `read_interval_ns` of latency (within the noise of the plate alerts' latency:
// docs/benchmarks.md).
//
// Threads: Open/Close from any thread; callbacks run on the connection's reactor thread, must not
// block, and never run after Close returns.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "ingest/rtsp_session.h"

namespace vigil::ingest::internal {

class RtspReactor {
 public:
  struct Callbacks {
    // Whole access units, in order; `wall_ns`: when the bytes that completed them were read;
    // `counts`: what the depacketizer dropped so far on this connection (called when units came or
    // the counts changed).
    std::function<void(std::vector<AccessUnit>& units, int64_t wall_ns, const DepayCounts& counts)> units;
    // The camera answered PLAY: video should follow (called once, before any unit).
    std::function<void()> playing;
    // The connection ended (an error, or the camera closed it): called once, last.
    std::function<void(const Status& why)> ended;
  };

  // `threads` ≥ 1 epoll loops.
  RtspReactor(Clock& clock, int threads, int64_t read_interval_ns);
  ~RtspReactor();
  RtspReactor(const RtspReactor&) = delete;
  RtspReactor& operator=(const RtspReactor&) = delete;

  // Resolves the camera's host (a numeric address without a lookup) and starts connecting; the
  // camera has `timeout_ns` to connect and then to answer each request. Errors: the host does not
  // resolve, no socket.
  Result<uint64_t> Open(const RtspUrl& url, Callbacks callbacks, int64_t timeout_ns);
  // Ends a connection (TEARDOWN, best effort). Idempotent; unknown ids are ignored.
  void Close(uint64_t id);

  struct Worker;

 private:
  Clock& clock_;
  const int64_t read_interval_ns_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace vigil::ingest::internal
