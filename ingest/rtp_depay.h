#pragma once
// RTP → access units for H.264 (RFC 6184: single NAL unit, STAP-A, FU-A) and H.265 (RFC 7798:
// single NAL unit, aggregation packets, fragmentation units), without decoding: what the recorder
// writes into segments. An access unit ends at the RTP marker bit or when the timestamp changes.
//
// Parameter sets (from the SDP's sprop-* attributes and in-band) are kept out of the access units and
// in the stream format (avcC/hvcC); a changed parameter set gives a new format, which the writer
// starts a new segment for. Nothing is emitted before the first key frame with known parameter sets.
//
// Over TCP, packets arrive in order; a missing sequence number (a server that dropped packets) drops
// the access unit in progress and is counted. B-frames (decode order ≠ presentation order) are not
// supported: access units are stamped with their RTP time as both decode and presentation time.
//
// Not thread-safe: one per stream.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "ingest/h26x.h"

namespace vigil::ingest {

// What a depacketizer has not passed on, since it was made.
struct DepayCounts {
  int64_t lost_packets = 0;  // RTP sequence numbers never seen
  int64_t broken_units = 0;  // access units dropped because a packet of theirs was lost
  int64_t before_key = 0;    // access units before parameter sets and a key frame were known
  int64_t audio_before_video = 0;  // audio frames before the first video packet: on no timeline
  int64_t audio_broken = 0;        // audio packets lost in transit or unparseable, AAC frames they broke
  bool operator==(const DepayCounts&) const = default;
};

struct AccessUnit {
  Bytes data;               // NAL units, each with a 4-byte big-endian length (as in avcC/hvcC)
  int64_t media_ns = 0;     // RTP time unwrapped to 64 bits, from 0 at the stream's first packet
  bool key = false;
  // An audio frame (an AAC access unit) on the video's clock, with its duration.
  bool audio = false;
  int64_t duration_ns = 0;
  std::shared_ptr<const StreamFormat> format;
};

// The fixed header fields of one RTP packet (RFC 3550) and where its payload lies, CSRCs, header
// extension and padding accounted for. Errors: not version 2, a header or padding beyond the packet.
struct RtpHeader {
  bool marker = false;
  uint16_t seq = 0;
  uint32_t ts = 0;
  size_t payload_at = 0;
  size_t payload_end = 0;
};
Result<RtpHeader> ParseRtpHeader(const uint8_t* packet, size_t size);

class RtpDepacketizer {
 public:
  // `initial`: parameter sets from the SDP (may be empty: they then come in-band).
  RtpDepacketizer(VideoCodec codec, int clock_rate, const ParameterSets& initial);

  // One RTP packet, header included. Completed access units are appended to `out`. Errors: a packet
  // too short or not RTP version 2, a payload type of another packetization (e.g. interleaved
  // mode), parameter sets that cannot be parsed.
  Status Push(const uint8_t* packet, size_t size, std::vector<AccessUnit>& out);

  // The camera's audio, recorded beside: part of every stream format from now on.
  void SetAudio(const AudioFormat& audio) {
    audio_ = audio;
    sets_changed_ = true;
  }
  // The RTP timestamp of the first packet (media time 0), once one came.
  std::optional<uint32_t> first_rtp_ts() const { return first_ts_; }

  int64_t lost_packets() const { return counts_.lost_packets; }
  int64_t dropped_units() const { return counts_.broken_units + counts_.before_key; }
  const DepayCounts& counts() const { return counts_; }

 private:
  Status AddNal(const uint8_t* nal, size_t size);
  enum class NalKind { kParameterSet, kDelimiter, kData };
  // What a NAL unit of this type is; for data, notes a slice / key picture in the unit in progress.
  NalKind Classify(int type, const uint8_t* nal, size_t size);
  Status CloseFragment();
  void DropOpenFragment();
  Status Finish(std::vector<AccessUnit>& out);
  Status SetParameter(int type, const uint8_t* nal, size_t size);

  const VideoCodec codec_;
  const int clock_rate_;
  std::map<int, Bytes> vps_, sps_, pps_;  // by id
  bool sets_changed_ = true;
  std::shared_ptr<const StreamFormat> format_;
  bool seen_key_ = false;

  // Timestamps.
  bool have_seq_ = false;
  uint16_t next_seq_ = 0;
  bool have_ts_ = false;
  uint32_t last_ts_ = 0;
  int64_t ext_ts_ = 0;  // unwrapped, relative to the first packet

  // The access unit in progress.
  bool in_unit_ = false;
  uint32_t unit_ts_ = 0;
  int64_t unit_ext_ = 0;
  bool unit_broken_ = false;
  bool unit_key_ = false;
  bool unit_has_slice_ = false;
  bool unit_recovery_point_ = false;  // H.264: an SEI recovery point in the unit
  bool unit_intra_ = false;           // H.264: its first slice is an I slice
  bool unit_slice_seen_ = false;
  Bytes unit_;
  // A fragmented NAL unit in progress: its offset in unit_ (the length prefix), or -1.
  int64_t frag_at_ = -1;

  DepayCounts counts_;
  std::optional<AudioFormat> audio_;
  std::optional<uint32_t> first_ts_;
};

// The parameter sets of an SDP fmtp line's sprop-parameter-sets (H.264) or sprop-vps/-sps/-pps
// (H.265), base64; `fmtp` maps the parameter names to their values.
Result<ParameterSets> SpropParameterSets(VideoCodec codec, const std::map<std::string, std::string>& fmtp);

}  // namespace vigil::ingest
