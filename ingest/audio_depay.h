#pragma once
// RTP → audio frames for the audio a camera sends beside its video: AAC (RFC 3640 "mpeg4-generic",
// AAC-hbr and AAC-lbr modes) and G.711 (RFC 3551 PCMA / PCMU), without decoding. The first step of
// recording audio (docs/storage.md, "Audio"): the session and the writer do not use it yet.
//
// Not thread-safe: one per stream.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "ingest/h26x.h"

namespace vigil::ingest {

// The format of an SDP audio stream: its encoding name (upper case; empty for a static payload type
// without rtpmap), payload type, clock rate, channels and fmtp parameters. Errors name what is not
// supported (another codec, an AAC mode other than hbr/lbr, a missing config).
Result<AudioFormat> AudioFormatOf(const std::string& encoding, int payload_type, int clock_rate,
                                  int channels, const std::map<std::string, std::string>& fmtp);

struct AudioFrame {
  Bytes data;               // one AAC access unit (raw, no ADTS), or G.711 samples
  int64_t media_ns = 0;     // RTP time unwrapped, from 0 at the stream's first packet
  int64_t duration_ns = 0;
};

class AudioDepacketizer {
 public:
  explicit AudioDepacketizer(AudioFormat format);

  // One RTP packet, header included; whole frames are appended to `out`. Errors: not RTP version 2,
  // AU headers beyond the packet.
  Status Push(const uint8_t* packet, size_t size, std::vector<AudioFrame>& out);

  const AudioFormat& format() const { return format_; }
  std::optional<uint32_t> first_rtp_ts() const { return first_ts_; }
  int64_t lost_packets() const { return lost_packets_; }
  int64_t broken_frames() const { return broken_frames_; }  // AAC frames whose fragments were lost

 private:
  Status PushAac(const uint8_t* p, size_t size, bool marker, int64_t ts, std::vector<AudioFrame>& out);
  int64_t Ns(int64_t ticks) const;

  const AudioFormat format_;
  bool have_seq_ = false;
  uint16_t next_seq_ = 0;
  bool have_ts_ = false;
  uint32_t last_ts_ = 0;
  int64_t ext_ts_ = 0;
  std::optional<uint32_t> first_ts_;
  // An AAC access unit fragmented over packets (RFC 3640 §3.2.3): its bytes so far and its size.
  Bytes fragment_;
  size_t fragment_size_ = 0;
  int64_t fragment_ts_ = 0;
  bool fragment_broken_ = false;
  int64_t lost_packets_ = 0;
  int64_t broken_frames_ = 0;
};

}  // namespace vigil::ingest
