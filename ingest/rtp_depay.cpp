#include "ingest/rtp_depay.h"

#include <glib.h>

#include <fmt/format.h>

namespace vigil::ingest {
namespace {

constexpr size_t kMaxUnitBytes = 32 << 20;  // an access unit larger than this is dropped

uint16_t U16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void PutU32(uint8_t* p, size_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// The id a parameter set is known by (first syntax element of H.264 PPS, of H.265 VPS/PPS; after
// the profile bytes of an H.264 SPS); -1 when it cannot be read.
int ParameterSetId(VideoCodec codec, int type, const uint8_t* nal, size_t size) {
  const size_t header = codec == VideoCodec::kH264 ? 1 : 2;
  if (codec == VideoCodec::kH265 && type == h265::kVps) return size > 2 ? nal[2] >> 4 : -1;
  if (codec == VideoCodec::kH265 && type == h265::kSps) {
    // The id follows a variable-length profile_tier_level.
    auto info = ParseH265Sps(nal, size);
    return info.ok() ? info.value().id : -1;
  }
  size_t skip = header + (codec == VideoCodec::kH264 && type == h264::kSps ? 3 : 0);
  if (size <= skip) return -1;
  Bytes rbsp = Unescape(nal + skip, std::min<size_t>(size - skip, 8));
  // ue(v) from the first bits.
  int zeros = 0;
  size_t bit = 0;
  auto next = [&]() -> int {
    if (bit >= rbsp.size() * 8) return -1;
    int b = (rbsp[bit >> 3] >> (7 - (bit & 7))) & 1;
    ++bit;
    return b;
  };
  int b;
  while ((b = next()) == 0) ++zeros;
  if (b < 0 || zeros > 16) return -1;
  int v = 0;
  for (int i = 0; i < zeros; ++i) {
    int x = next();
    if (x < 0) return -1;
    v = v << 1 | x;
  }
  return (1 << zeros) - 1 + v;
}

}  // namespace

RtpDepacketizer::RtpDepacketizer(VideoCodec codec, int clock_rate, const ParameterSets& initial)
    : codec_(codec), clock_rate_(clock_rate > 0 ? clock_rate : 90000) {
  const int vps = h265::kVps;
  const int sps = codec == VideoCodec::kH264 ? h264::kSps : h265::kSps;
  const int pps = codec == VideoCodec::kH264 ? h264::kPps : h265::kPps;
  for (const Bytes& b : initial.vps) (void)SetParameter(vps, b.data(), b.size());
  for (const Bytes& b : initial.sps) (void)SetParameter(sps, b.data(), b.size());
  for (const Bytes& b : initial.pps) (void)SetParameter(pps, b.data(), b.size());
}

Status RtpDepacketizer::SetParameter(int type, const uint8_t* nal, size_t size) {
  const bool h264 = codec_ == VideoCodec::kH264;
  std::map<int, Bytes>* slot = nullptr;
  if (!h264 && type == h265::kVps) slot = &vps_;
  if (type == (h264 ? h264::kSps : h265::kSps)) slot = &sps_;
  if (type == (h264 ? h264::kPps : h265::kPps)) slot = &pps_;
  if (!slot) return Status::Ok();
  int id = ParameterSetId(codec_, type, nal, size);
  if (id < 0) return Status::InvalidArgument(fmt::format("unreadable parameter set (NAL type {})", type));
  Bytes& have = (*slot)[id];
  if (have.size() != size || !std::equal(have.begin(), have.end(), nal)) {
    have.assign(nal, nal + size);
    sets_changed_ = true;
  }
  return Status::Ok();
}

Status RtpDepacketizer::AddNal(const uint8_t* nal, size_t size) {
  if (size == 0) return Status::Ok();
  const int type = codec_ == VideoCodec::kH264 ? H264NalType(nal) : H265NalType(nal);
  switch (Classify(type, nal, size)) {
    case NalKind::kParameterSet:
      return SetParameter(type, nal, size);
    case NalKind::kDelimiter:
      return Status::Ok();
    case NalKind::kData:
      break;
  }
  size_t at = unit_.size();
  unit_.resize(at + 4 + size);
  PutU32(unit_.data() + at, size);
  std::copy(nal, nal + size, unit_.begin() + static_cast<ptrdiff_t>(at + 4));
  return Status::Ok();
}

RtpDepacketizer::NalKind RtpDepacketizer::Classify(int type, const uint8_t* nal, size_t size) {
  const bool h264 = codec_ == VideoCodec::kH264;
  if (h264 ? (type == h264::kSps || type == h264::kPps)
           : (type == h265::kVps || type == h265::kSps || type == h265::kPps)) {
    return NalKind::kParameterSet;
  }
  if (type == (h264 ? h264::kAud : h265::kAud)) return NalKind::kDelimiter;
  if (h264 ? (type >= 1 && type <= 5) : (type < 32)) unit_has_slice_ = true;
  if (h264 ? type == h264::kIdr : (type >= h265::kIrapFirst && type <= h265::kIrapLast)) unit_key_ = true;
  if (h264 && type == h264::kSei && H264SeiHasRecoveryPoint(nal, size)) unit_recovery_point_ = true;
  if (h264 && type == 1 && !unit_slice_seen_) unit_intra_ = H264SliceType(nal, size) == 2;
  if (h264 && type >= 1 && type <= 5) unit_slice_seen_ = true;
  return NalKind::kData;
}

void RtpDepacketizer::DropOpenFragment() {
  if (frag_at_ < 0) return;
  // A fragmented NAL unit whose end never came: the access unit cannot be whole.
  unit_.resize(static_cast<size_t>(frag_at_));
  frag_at_ = -1;
  unit_broken_ = true;
}

Status RtpDepacketizer::CloseFragment() {
  // The fragmented NAL unit is whole, in place after its length prefix.
  const size_t at = static_cast<size_t>(frag_at_);
  frag_at_ = -1;
  const uint8_t* nal = unit_.data() + at + 4;
  const size_t size = unit_.size() - at - 4;
  const int type = codec_ == VideoCodec::kH264 ? H264NalType(nal) : H265NalType(nal);
  const NalKind kind = Classify(type, nal, size);
  if (kind != NalKind::kData) {
    Bytes copy(nal, nal + size);
    unit_.resize(at);
    return kind == NalKind::kParameterSet ? SetParameter(type, copy.data(), copy.size()) : Status::Ok();
  }
  PutU32(unit_.data() + at, size);
  return Status::Ok();
}

Status RtpDepacketizer::Finish(std::vector<AccessUnit>& out) {
  if (!in_unit_) return Status::Ok();
  in_unit_ = false;
  const bool complete = !unit_broken_ && frag_at_ < 0;
  frag_at_ = -1;
  if (!complete) {
    ++counts_.broken_units;
    unit_.clear();
    return Status::Ok();
  }
  if (!unit_has_slice_) {
    unit_.clear();
    return Status::Ok();
  }
  if (sets_changed_) {
    auto list = [](const std::map<int, Bytes>& m) {
      std::vector<Bytes> v;
      for (const auto& [id, b] : m) v.push_back(b);
      return v;
    };
    ParameterSets sets{list(vps_), list(sps_), list(pps_)};
    const bool complete_sets = !sets.sps.empty() && !sets.pps.empty() &&
                               (codec_ == VideoCodec::kH264 || !sets.vps.empty());
    if (complete_sets) {
      auto fmt = MakeStreamFormat(codec_, sets);
      if (!fmt.ok()) {
        unit_.clear();
        return fmt.error().WithContext("the camera's parameter sets");
      }
      fmt->audio = audio_;
      if (!format_ || !(*format_ == fmt.value())) {
        format_ = std::make_shared<const StreamFormat>(std::move(fmt).value());
      }
      sets_changed_ = false;
    }
  }
  if (!format_ || (!seen_key_ && !unit_key_ && !(unit_recovery_point_ && unit_intra_))) {
    ++counts_.before_key;  // waiting for parameter sets or the first key frame
    unit_.clear();
    return Status::Ok();
  }
  seen_key_ = true;
  AccessUnit au;
  const size_t size = unit_.size();
  au.data = std::move(unit_);
  unit_ = Bytes();
  unit_.reserve(size + size / 2);  // the next one is likely as large: one allocation
  au.media_ns = static_cast<int64_t>(static_cast<__int128>(unit_ext_) * 1'000'000'000 / clock_rate_);
  // An open-GOP random access point (recovery point SEI on an I picture) starts a segment as an
  // IDR does; its leading B-frames refer to the GOP before, which decoders skip at a segment start.
  au.key = unit_key_ || (unit_recovery_point_ && unit_intra_);
  au.format = format_;
  out.push_back(std::move(au));
  return Status::Ok();
}

Result<RtpHeader> ParseRtpHeader(const uint8_t* pkt, size_t size) {
  if (size < 12 || (pkt[0] >> 6) != 2) return Status::InvalidArgument("not an RTP version 2 packet");
  size_t head = 12 + 4 * static_cast<size_t>(pkt[0] & 0x0f);
  if ((pkt[0] & 0x10) != 0) {  // header extension
    if (size < head + 4) return Status::InvalidArgument("RTP header extension beyond the packet");
    head += 4 + 4 * static_cast<size_t>(U16(pkt + head + 2));
  }
  if (head > size) return Status::InvalidArgument("RTP header beyond the packet");
  size_t end = size;
  if ((pkt[0] & 0x20) != 0) {  // padding
    size_t pad = pkt[size - 1];
    if (pad == 0 || pad > size - head) return Status::InvalidArgument("RTP padding beyond the packet");
    end -= pad;
  }
  if (head > end) return Status::InvalidArgument("RTP header beyond the packet");
  RtpHeader h;
  h.marker = (pkt[1] & 0x80) != 0;
  h.seq = U16(pkt + 2);
  h.ts = static_cast<uint32_t>(pkt[4]) << 24 | static_cast<uint32_t>(pkt[5]) << 16 |
         static_cast<uint32_t>(pkt[6]) << 8 | pkt[7];
  h.payload_at = head;
  h.payload_end = end;
  return h;
}

Status RtpDepacketizer::Push(const uint8_t* pkt, size_t size, std::vector<AccessUnit>& out) {
  VIGIL_ASSIGN_OR_RETURN(RtpHeader h, ParseRtpHeader(pkt, size));
  const bool marker = h.marker;
  const uint16_t seq = h.seq;
  const uint32_t ts = h.ts;
  const size_t head = h.payload_at;
  const size_t end = h.payload_end;
  bool loss = false;
  if (have_seq_ && seq != next_seq_) {
    counts_.lost_packets += static_cast<uint16_t>(seq - next_seq_);
    loss = true;
    if (in_unit_) unit_broken_ = true;
  }
  have_seq_ = true;
  next_seq_ = static_cast<uint16_t>(seq + 1);
  if (have_ts_) {
    ext_ts_ += static_cast<int32_t>(ts - last_ts_);
  }
  if (!have_ts_) first_ts_ = ts;
  have_ts_ = true;
  last_ts_ = ts;
  if (in_unit_ && ts != unit_ts_) VIGIL_RETURN_IF_ERROR(Finish(out));
  if (!in_unit_) {
    in_unit_ = true;
    unit_ts_ = ts;
    unit_ext_ = ext_ts_;
    // Packets lost between two access units may have been this one's first (its parameter sets or
    // first slice): it is dropped too.
    unit_broken_ = loss;
    unit_key_ = false;
    unit_has_slice_ = false;
    unit_recovery_point_ = false;
    unit_intra_ = false;
    unit_slice_seen_ = false;
    unit_.clear();
    frag_at_ = -1;
  }
  const uint8_t* p = pkt + head;
  const size_t n = end - head;
  Status st = Status::Ok();
  if (n == 0) {
    // An empty payload carries nothing (keep-alive packets of some servers).
  } else if (codec_ == VideoCodec::kH264) {
    const int type = H264NalType(p);
    if (type >= 1 && type <= 23) {
      DropOpenFragment();
      st = AddNal(p, n);
    } else if (type == 24) {  // STAP-A
      DropOpenFragment();
      for (size_t i = 1; i + 2 <= n && st.ok();) {
        size_t len = U16(p + i);
        i += 2;
        if (len == 0 || i + len > n) {
          unit_broken_ = true;
          break;
        }
        st = AddNal(p + i, len);
        i += len;
      }
    } else if (type == 28) {  // FU-A
      if (n < 3) {
        unit_broken_ = true;
      } else {
        const uint8_t fu = p[1];
        if (fu & 0x80) {
          DropOpenFragment();
          const uint8_t header = static_cast<uint8_t>((p[0] & 0xe0) | (fu & 0x1f));
          frag_at_ = static_cast<int64_t>(unit_.size());
          unit_.resize(unit_.size() + 4);
          unit_.push_back(header);
          unit_.insert(unit_.end(), p + 2, p + n);
        } else if (frag_at_ >= 0) {
          unit_.insert(unit_.end(), p + 2, p + n);
        } else {
          unit_broken_ = true;  // a fragment whose start was lost
        }
        if ((fu & 0x40) && frag_at_ >= 0) st = CloseFragment();
      }
    } else {
      st = Status::InvalidArgument(fmt::format(
          "unsupported H.264 RTP packetization (NAL unit type {}; only single NAL unit, STAP-A and "
          "FU-A are)", type));
    }
  } else {
    if (n < 2) {
      unit_broken_ = true;
    } else {
      const int type = H265NalType(p);
      if (type < 48) {
        DropOpenFragment();
        st = AddNal(p, n);
      } else if (type == 48) {  // aggregation packet
        DropOpenFragment();
        for (size_t i = 2; i + 2 <= n && st.ok();) {
          size_t len = U16(p + i);
          i += 2;
          if (len < 2 || i + len > n) {
            unit_broken_ = true;
            break;
          }
          st = AddNal(p + i, len);
          i += len;
        }
      } else if (type == 49) {  // fragmentation unit
        if (n < 4) {
          unit_broken_ = true;
        } else {
          const uint8_t fu = p[2];
          if (fu & 0x80) {
            DropOpenFragment();
            frag_at_ = static_cast<int64_t>(unit_.size());
            unit_.resize(unit_.size() + 4);
            unit_.push_back(static_cast<uint8_t>((p[0] & 0x81) | ((fu & 0x3f) << 1)));
            unit_.push_back(p[1]);
            unit_.insert(unit_.end(), p + 3, p + n);
          } else if (frag_at_ >= 0) {
            unit_.insert(unit_.end(), p + 3, p + n);
          } else {
            unit_broken_ = true;
          }
          if ((fu & 0x40) && frag_at_ >= 0) st = CloseFragment();
        }
      } else if (type == 50) {
        // PACI: payload content information; not produced by cameras in practice. Skipped.
      } else {
        st = Status::InvalidArgument(fmt::format("unsupported H.265 RTP payload (NAL unit type {})", type));
      }
    }
  }
  VIGIL_RETURN_IF_ERROR(st);
  if (unit_.size() > kMaxUnitBytes) {
    // Not a picture any camera sends: a stream that never sets the marker nor changes timestamps.
    unit_broken_ = true;
    unit_.clear();
    frag_at_ = -1;
  }
  if (marker) VIGIL_RETURN_IF_ERROR(Finish(out));
  return Status::Ok();
}

Result<ParameterSets> SpropParameterSets(VideoCodec codec, const std::map<std::string, std::string>& fmtp) {
  ParameterSets sets;
  auto decode_list = [](const std::string& value, std::vector<Bytes>& all) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) {
        gsize len = 0;
        guchar* raw = g_base64_decode(item.c_str(), &len);
        if (raw && len > 0) all.emplace_back(raw, raw + len);
        g_free(raw);
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  };
  std::vector<Bytes> all;
  auto get = [&](const char* key) {
    auto it = fmtp.find(key);
    if (it != fmtp.end()) decode_list(it->second, all);
  };
  if (codec == VideoCodec::kH264) {
    get("sprop-parameter-sets");
  } else {
    if (auto it = fmtp.find("sprop-max-don-diff"); it != fmtp.end() && it->second != "0") {
      return Status::FailedPrecondition("H.265 stream with decoding order numbers (sprop-max-don-diff) "
                                        "is not supported");
    }
    get("sprop-vps");
    get("sprop-sps");
    get("sprop-pps");
  }
  for (Bytes& b : all) {
    if (b.empty()) continue;
    if (codec == VideoCodec::kH264) {
      int t = H264NalType(b.data());
      if (t == h264::kSps) sets.sps.push_back(std::move(b));
      else if (t == h264::kPps) sets.pps.push_back(std::move(b));
    } else if (b.size() >= 2) {
      int t = H265NalType(b.data());
      if (t == h265::kVps) sets.vps.push_back(std::move(b));
      else if (t == h265::kSps) sets.sps.push_back(std::move(b));
      else if (t == h265::kPps) sets.pps.push_back(std::move(b));
    }
  }
  return sets;
}

}  // namespace vigil::ingest
