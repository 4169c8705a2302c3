#include "ingest/audio_depay.h"
#include "ingest/rtp_depay.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace vigil::ingest {
namespace {

constexpr int kAacFrameSamples = 1024;

int ParamInt(const std::map<std::string, std::string>& fmtp, const std::string& key, int fallback) {
  for (const auto& [k, v] : fmtp) {
    std::string lower = k;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == key) return std::atoi(v.c_str());
  }
  return fallback;
}

std::string Param(const std::map<std::string, std::string>& fmtp, const std::string& key) {
  for (const auto& [k, v] : fmtp) {
    std::string lower = k;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == key) return v;
  }
  return "";
}

Result<Bytes> FromHex(const std::string& hex) {
  if (hex.empty() || hex.size() % 2 != 0) return Status::InvalidArgument(fmt::format("config '{}' is not hex", hex));
  Bytes out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = std::isxdigit(static_cast<unsigned char>(hex[i])) ? std::stoi(hex.substr(i, 1), nullptr, 16) : -1;
    int lo = std::isxdigit(static_cast<unsigned char>(hex[i + 1])) ? std::stoi(hex.substr(i + 1, 1), nullptr, 16) : -1;
    if (hi < 0 || lo < 0) return Status::InvalidArgument(fmt::format("config '{}' is not hex", hex));
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

// Reads bits MSB first from a span.
struct Bits {
  const uint8_t* p;
  size_t size_bits;
  size_t pos = 0;
  bool Read(int n, uint32_t& v) {
    if (pos + static_cast<size_t>(n) > size_bits) return false;
    v = 0;
    for (int i = 0; i < n; ++i, ++pos) v = v << 1 | ((p[pos >> 3] >> (7 - (pos & 7))) & 1);
    return true;
  }
};

}  // namespace

Result<AudioFormat> AudioFormatOf(const std::string& encoding, int payload_type, int clock_rate, int channels,
                                  const std::map<std::string, std::string>& fmtp) {
  AudioFormat f;
  f.channels = channels > 0 ? channels : 1;
  // Static payload types (RFC 3551): 0 is PCMU/8000, 8 is PCMA/8000.
  std::string enc = encoding;
  if (enc.empty() && payload_type == 0) enc = "PCMU";
  if (enc.empty() && payload_type == 8) enc = "PCMA";
  if (enc == "PCMA" || enc == "PCMU") {
    f.codec = enc == "PCMA" ? AudioCodec::kPcma : AudioCodec::kPcmu;
    f.sample_rate = clock_rate > 0 ? clock_rate : 8000;
    return f;
  }
  if (enc != "MPEG4-GENERIC") {
    return Status::InvalidArgument(fmt::format("audio {} is not recorded (AAC, G.711 A-law and µ-law are)",
                                               enc.empty() ? fmt::format("payload type {}", payload_type) : enc));
  }
  const std::string given_mode = Param(fmtp, "mode");
  std::string mode = given_mode;
  for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (mode != "aac-hbr" && mode != "aac-lbr") {
    return Status::InvalidArgument(fmt::format("mpeg4-generic mode '{}' is not AAC-hbr or AAC-lbr", given_mode));
  }
  f.codec = AudioCodec::kAac;
  f.sample_rate = clock_rate;
  if (f.sample_rate <= 0) return Status::InvalidArgument("AAC stream without a clock rate");
  VIGIL_ASSIGN_OR_RETURN(f.config, FromHex(Param(fmtp, "config")));
  f.size_bits = ParamInt(fmtp, "sizelength", mode == "aac-hbr" ? 13 : 6);
  f.index_bits = ParamInt(fmtp, "indexlength", mode == "aac-hbr" ? 3 : 2);
  f.index_delta_bits = ParamInt(fmtp, "indexdeltalength", f.index_bits);
  if (f.size_bits <= 0 || f.size_bits > 16 || f.index_bits < 0 || f.index_bits > 8 || f.index_delta_bits < 0 ||
      f.index_delta_bits > 8) {
    return Status::InvalidArgument("AAC AU header field lengths out of range");
  }
  return f;
}

AudioDepacketizer::AudioDepacketizer(AudioFormat format) : format_(std::move(format)) {}

int64_t AudioDepacketizer::Ns(int64_t ticks) const {
  return static_cast<int64_t>(static_cast<__int128>(ticks) * 1'000'000'000 / format_.sample_rate);
}

Status AudioDepacketizer::Push(const uint8_t* pkt, size_t size, std::vector<AudioFrame>& out) {
  VIGIL_ASSIGN_OR_RETURN(RtpHeader h, ParseRtpHeader(pkt, size));
  const bool marker = h.marker;
  const uint16_t seq = h.seq;
  const uint32_t ts = h.ts;
  const size_t head = h.payload_at;
  const size_t end = h.payload_end;
  if (have_seq_ && seq != next_seq_) {
    lost_packets_ += static_cast<uint16_t>(seq - next_seq_);
    if (!fragment_.empty() || fragment_size_) fragment_broken_ = true;
  }
  have_seq_ = true;
  next_seq_ = static_cast<uint16_t>(seq + 1);
  if (have_ts_) ext_ts_ += static_cast<int32_t>(ts - last_ts_);
  if (!have_ts_) first_ts_ = ts;
  have_ts_ = true;
  last_ts_ = ts;
  const uint8_t* p = pkt + head;
  const size_t n = end - head;
  if (format_.codec != AudioCodec::kAac) {
    if (n == 0) return Status::Ok();
    const size_t samples = n / static_cast<size_t>(format_.channels);
    out.push_back({Bytes(p, p + n), Ns(ext_ts_), Ns(static_cast<int64_t>(samples))});
    return Status::Ok();
  }
  return PushAac(p, n, marker, ext_ts_, out);
}

Status AudioDepacketizer::PushAac(const uint8_t* p, size_t n, bool marker, int64_t ts, std::vector<AudioFrame>& out) {
  if (n < 2) return Status::InvalidArgument("AAC RTP payload without AU headers");
  const size_t header_bits = static_cast<size_t>(p[0]) << 8 | p[1];
  const size_t header_bytes = (header_bits + 7) / 8;
  if (2 + header_bytes > n) return Status::InvalidArgument("AAC AU headers beyond the packet");
  Bits bits{p + 2, header_bits};
  std::vector<size_t> sizes;
  for (bool first = true; bits.pos < header_bits; first = false) {
    uint32_t au_size = 0, index = 0;
    if (!bits.Read(format_.size_bits, au_size) ||
        !bits.Read(first ? format_.index_bits : format_.index_delta_bits, index)) {
      return Status::InvalidArgument("AAC AU header cut short");
    }
    sizes.push_back(au_size);
  }
  const uint8_t* data = p + 2 + header_bytes;
  size_t left = n - 2 - header_bytes;
  const int64_t frame_ns = Ns(kAacFrameSamples);
  if (sizes.size() == 1 && (sizes[0] > left || fragment_size_)) {
    // A fragment of one large access unit (RFC 3640 §3.2.3): whole at the marker.
    if (fragment_size_ != sizes[0] || fragment_ts_ != ts) {
      if (fragment_size_) ++broken_frames_;  // the previous one never completed
      fragment_.clear();
      fragment_size_ = sizes[0];
      fragment_ts_ = ts;
      fragment_broken_ = false;
    }
    fragment_.insert(fragment_.end(), data, data + left);
    if (marker || fragment_.size() >= fragment_size_) {
      if (!fragment_broken_ && fragment_.size() == fragment_size_) {
        out.push_back({std::move(fragment_), Ns(ts), frame_ns});
      } else {
        ++broken_frames_;
      }
      fragment_ = Bytes();
      fragment_size_ = 0;
    }
    return Status::Ok();
  }
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] > left) return Status::InvalidArgument("AAC access unit beyond the packet");
    out.push_back({Bytes(data, data + sizes[i]), Ns(ts + static_cast<int64_t>(i) * kAacFrameSamples), frame_ns});
    data += sizes[i];
    left -= sizes[i];
  }
  return Status::Ok();
}

}  // namespace vigil::ingest
