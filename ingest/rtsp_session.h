#pragma once
// vigil's RTSP client for recording (RFC 2326), the protocol side only: bytes in, bytes out, access
// units out. DESCRIBE (Basic or Digest authentication when the camera asks), SETUP of the first
// H.264/H.265 video stream with RTP interleaved on the RTSP connection (TCP), PLAY, keep-alives, and
// TEARDOWN. The socket side is ingest/internal/rtsp_reactor.h.
//
// Why not GStreamer's rtspsrc for recording, as the analysis branch uses: recording needs no decoder,
// and rtspsrc's per-RTP-packet path (reads of a few bytes, GstBuffers and pad pushes through rtpbin,
// depayloader and parser: ~360 packets a second per 4 Mb/s camera) cost more CPU than ffmpeg per
// stream (docs/benchmarks.md). Here one read takes whatever the socket holds, and packets are parsed
// in place. Moonfire NVR made the same choice (its retina crate).
//
// Not thread-safe: one per connection, used by one thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ingest/audio_depay.h"
#include "ingest/rtp_depay.h"

namespace vigil::ingest {

struct RtspUrl {
  std::string host;  // without brackets for IPv6
  int port = 554;
  std::string user, password;  // percent-decoded
  std::string url;             // the URL without credentials: the request URI
  // Answer a Basic challenge (the password in clear on the wire: this client speaks plain RTSP).
  // Off unless the camera's config allows it; Digest is always answered.
  bool allow_basic = false;
};
// Errors name what is wrong: scheme, empty host, bad port.
Result<RtspUrl> ParseRtspUrl(std::string_view url);
// The URL with its password replaced by "***" (for logs and the index: API users see cameras'
// addresses, never their credentials). Other text is returned unchanged.
std::string RedactUrl(std::string_view url);

struct SdpMedia {
  std::string media;     // "video", "audio", ...
  int payload_type = -1;
  std::string encoding;  // "H264", "H265", ... (upper case)
  int clock_rate = 0;
  int channels = 0;      // audio: the rtpmap's third field (0: not given, which means 1)
  std::string control;   // a=control, resolved against the base URL
  std::map<std::string, std::string> fmtp;
};
struct Sdp {
  std::string control;  // session-level a=control, resolved (the PLAY URI); the base URL if none
  std::vector<SdpMedia> media;
};
Sdp ParseSdp(std::string_view text, const std::string& base_url);
// An a=control value relative to `base` ("trackID=1", "rtsp://...", "*").
std::string ResolveControl(const std::string& base, const std::string& control);

// Why a camera offering only Basic authentication over plain rtsp:// is not answered; `what` names
// the request ("RTSP DESCRIBE rtsp://...").
std::string BasicAuthRefused(std::string_view what);
// The Authorization header value answering a WWW-Authenticate challenge (Basic or Digest with MD5,
// qop "auth" or none), or an error naming the unsupported scheme.
Result<std::string> Authorization(const std::string& challenge, const std::string& user,
                                  const std::string& password, const std::string& method,
                                  const std::string& uri, const std::string& cnonce, int nonce_count);

// Most bytes of answers a camera may leave unread before it is disconnected (its requests are
// answered; a camera flooding requests without reading would otherwise grow vigild without bound).
inline constexpr size_t kMaxOutboxBytes = 64 * 1024;

class RtspSession {
 public:
  RtspSession(RtspUrl url, std::string user_agent = "vigil");

  // The connection is up: queues DESCRIBE.
  void Start(int64_t now_mono_ns);
  // Bytes received from the camera. Whole access units are appended to `out`. Errors end the
  // connection; FailedPrecondition marks those a reconnect will not fix soon (unsupported codec,
  // refused credentials).
  Status Receive(const uint8_t* data, size_t size, int64_t now_mono_ns, std::vector<AccessUnit>& out);
  // Keep-alives (half the session timeout); errors when the camera has not answered a request
  // within `response_timeout_ns`.
  Status Tick(int64_t now_mono_ns, int64_t response_timeout_ns);
  // Queues TEARDOWN (when playing).
  void Teardown();

  // Bytes to send; the socket side erases what it sent.
  std::string& outbox() { return outbox_; }
  bool playing() const { return state_ == State::kPlaying; }
  const SdpMedia* video() const { return video_ ? &*video_ : nullptr; }
  const SdpMedia* audio() const { return audio_ ? &*audio_ : nullptr; }
  int64_t lost_packets() const { return depay_ ? depay_->lost_packets() : 0; }
  DepayCounts depay_counts() const {
    DepayCounts c = depay_ ? depay_->counts() : DepayCounts{};
    c.audio_before_video = audio_before_video_;
    c.audio_broken =
        audio_unparsed_ + (audio_depay_ ? audio_depay_->broken_frames() + audio_depay_->lost_packets() : 0);
    return c;
  }

 private:
  enum class State { kIdle, kDescribe, kSetup, kSetupAudio, kPlay, kPlaying, kDone };
  struct Response {
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string body;
    const std::string* Header(std::string_view name) const;
  };

  void Send(const std::string& method, const std::string& uri, const std::string& extra);
  Status OnResponse(const Response& r, int64_t now_mono_ns);
  // Parses one RTSP message at buf[at..]; returns bytes consumed, 0 when incomplete.
  Result<size_t> ParseMessage(std::string_view buf, size_t at, Response& r, bool& is_request);
  // Parses whole messages and packets from buf; `pos`: bytes consumed.
  Status Parse(std::string_view buf, int64_t now_mono_ns, std::vector<AccessUnit>& out, size_t& pos);

  const RtspUrl url_;
  const std::string user_agent_;
  State state_ = State::kIdle;
  std::string outbox_;
  std::string inbox_;  // an unfinished message or packet from the last Receive
  int cseq_ = 0;
  std::string pending_method_, pending_uri_, pending_extra_;
  int64_t pending_since_ = 0;
  bool awaiting_ = false;
  std::string challenge_;
  int nonce_count_ = 0;
  bool auth_tried_ = false;

  std::string session_id_;
  int64_t timeout_ns_ = 60'000'000'000;
  int64_t last_keepalive_ = 0;
  std::string base_url_;
  std::string play_uri_;
  std::optional<SdpMedia> video_;
  int rtp_channel_ = 0;
  std::optional<RtpDepacketizer> depay_;
  // The camera's audio (AAC), set up after the video on its own interleaved channel.
  std::optional<SdpMedia> audio_;
  int audio_channel_ = 2;
  std::optional<AudioDepacketizer> audio_depay_;
  std::vector<AudioFrame> audio_frames_;  // scratch
  // RTP-Info of PLAY's answer: each stream's RTP time at the same instant (stream sync).
  std::optional<uint32_t> video_rtptime_, audio_rtptime_;
  int64_t audio_before_video_ = 0;
  int64_t audio_unparsed_ = 0;  // audio packets the depacketizer refused (the video goes on)
  // Converts audio frames to access units on the video's clock.
  void AudioUnits(std::vector<AccessUnit>& out);
  std::vector<std::string> public_methods_;
};

}  // namespace vigil::ingest
