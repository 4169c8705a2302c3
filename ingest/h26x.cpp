#include "ingest/h26x.h"

#include <algorithm>

#include <fmt/format.h>

namespace vigil::ingest {
namespace {

// Reads bits MSB first; reading past the end sets `overrun` and yields zeros.
class BitReader {
 public:
  explicit BitReader(const Bytes& b) : b_(b) {}
  uint32_t Bits(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      size_t byte = pos_ >> 3;
      uint32_t bit = 0;
      if (byte < b_.size()) {
        bit = (b_[byte] >> (7 - (pos_ & 7))) & 1;
      } else {
        overrun = true;
      }
      ++pos_;
      v = (v << 1) | bit;
    }
    return v;
  }
  bool Flag() { return Bits(1) != 0; }
  void Skip(size_t n) { pos_ += n; if (pos_ > b_.size() * 8) overrun = true; }
  // Exp-Golomb ue(v); values beyond 32 bits are an error (overrun).
  uint32_t Ue() {
    int zeros = 0;
    while (!Bits(1)) {
      if (++zeros > 31 || overrun) {
        overrun = true;
        return 0;
      }
    }
    if (zeros == 0) return 0;
    return ((1u << zeros) - 1) + Bits(zeros);
  }
  int32_t Se() {
    uint32_t k = Ue();
    return (k & 1) ? static_cast<int32_t>((k + 1) / 2) : -static_cast<int32_t>(k / 2);
  }
  size_t pos() const { return pos_; }
  bool overrun = false;

 private:
  const Bytes& b_;
  size_t pos_ = 0;
};

void SkipScalingList(BitReader& br, int size) {
  int last = 8, next = 8;
  for (int j = 0; j < size; ++j) {
    if (next != 0) {
      next = (last + br.Se() + 256) % 256;
    }
    last = next == 0 ? last : next;
  }
}

void SkipHrd(BitReader& br) {
  const uint32_t count = br.Ue() + 1;  // cpb_cnt_minus1
  br.Skip(8);                          // bit_rate_scale, cpb_size_scale
  for (uint32_t i = 0; i < count && i < 32 && !br.overrun; ++i) {
    br.Ue();  // bit_rate_value_minus1
    br.Ue();  // cpb_size_value_minus1
    br.Skip(1);
  }
  br.Skip(20);  // four 5-bit lengths and delays
}

// The DPB size in frames a level allows for a picture size (H.264 Table A-1, MaxDpbMbs).
int H264MaxDpbFrames(uint32_t level, uint32_t constraints, uint32_t pic_mbs) {
  int64_t max_dpb_mbs = 0;
  switch (level) {
    case 9: max_dpb_mbs = 396; break;
    case 10: max_dpb_mbs = 396; break;
    case 11: max_dpb_mbs = (constraints & 0x10) ? 396 : 900; break;  // 1b with constraint_set3
    case 12: case 13: case 20: max_dpb_mbs = 2376; break;
    case 21: max_dpb_mbs = 4752; break;
    case 22: case 30: max_dpb_mbs = 8100; break;
    case 31: max_dpb_mbs = 18000; break;
    case 32: max_dpb_mbs = 20480; break;
    case 40: case 41: max_dpb_mbs = 32768; break;
    case 42: max_dpb_mbs = 34816; break;
    case 50: max_dpb_mbs = 110400; break;
    case 51: case 52: max_dpb_mbs = 184320; break;
    default: return 16;  // levels 6.x and unknown ones: the most any level allows
  }
  if (pic_mbs == 0) return 16;
  return static_cast<int>(std::clamp<int64_t>(max_dpb_mbs / pic_mbs, 1, 16));
}

// How many frames may precede a frame in decode order and follow it in presentation order:
// max_num_reorder_frames from the VUI's bitstream restriction when the encoder wrote it; else 0 for
// profiles without B-slices; else the spec's inferred value, the level's whole DPB (safe: decode
// times derived from it are only later than they need be). `br` is just past the frame cropping.
int H264ReorderDepth(BitReader& br, uint32_t profile, uint32_t constraints, uint32_t level,
                     uint32_t width_mbs, uint32_t height_mbs) {
  const bool intra_only = (constraints & 0x10) && (profile == 44 || profile == 86 || profile == 100 ||
                                                   profile == 110 || profile == 122 || profile == 244);
  const int inferred = (profile == 66 || intra_only)
                           ? 0
                           : H264MaxDpbFrames(level, constraints, width_mbs * height_mbs);
  if (!br.Flag()) return inferred;  // vui_parameters_present_flag
  if (br.Flag()) {                  // aspect_ratio_info_present_flag
    if (br.Bits(8) == 255) br.Skip(32);  // Extended_SAR
  }
  if (br.Flag()) br.Skip(1);  // overscan_info_present_flag → overscan_appropriate_flag
  if (br.Flag()) {            // video_signal_type_present_flag
    br.Skip(4);
    if (br.Flag()) br.Skip(24);  // colour description
  }
  if (br.Flag()) {  // chroma_loc_info_present_flag
    br.Ue();
    br.Ue();
  }
  if (br.Flag()) br.Skip(65);  // timing info: two 32-bit fields, fixed_frame_rate_flag
  const bool nal_hrd = br.Flag();
  if (nal_hrd) SkipHrd(br);
  const bool vcl_hrd = br.Flag();
  if (vcl_hrd) SkipHrd(br);
  if (nal_hrd || vcl_hrd) br.Skip(1);  // low_delay_hrd_flag
  br.Skip(1);                          // pic_struct_present_flag
  if (!br.Flag() || br.overrun) return inferred;  // bitstream_restriction_flag
  br.Skip(1);  // motion_vectors_over_pic_boundaries_flag
  for (int i = 0; i < 4; ++i) br.Ue();
  const uint32_t reorder = br.Ue();  // max_num_reorder_frames
  if (br.overrun || reorder > 16) return inferred;
  return static_cast<int>(reorder);
}

void PutU16(Bytes& out, size_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

}  // namespace

Bytes Unescape(const uint8_t* data, size_t size) {
  Bytes out;
  out.reserve(size);
  int zeros = 0;
  for (size_t i = 0; i < size; ++i) {
    if (zeros >= 2 && data[i] == 3) {
      zeros = 0;
      continue;
    }
    zeros = data[i] == 0 ? zeros + 1 : 0;
    out.push_back(data[i]);
  }
  return out;
}

int H264SliceType(const uint8_t* nal, size_t size) {
  if (size < 2) return -1;
  Bytes rbsp = Unescape(nal + 1, std::min<size_t>(size - 1, 16));
  BitReader br(rbsp);
  br.Ue();  // first_mb_in_slice
  const uint32_t type = br.Ue();
  if (br.overrun || type > 9) return -1;
  return static_cast<int>(type % 5);
}

bool H264SeiHasRecoveryPoint(const uint8_t* nal, size_t size) {
  const Bytes rbsp = Unescape(nal + 1, size > 0 ? size - 1 : 0);
  size_t at = 0;
  auto read_value = [&](int64_t& v) {
    v = 0;
    while (at < rbsp.size() && rbsp[at] == 0xff) {
      v += 255;
      ++at;
    }
    if (at >= rbsp.size()) return false;
    v += rbsp[at++];
    return true;
  };
  // sei_message()s until the RBSP trailing bits (0x80).
  while (at < rbsp.size() && rbsp[at] != 0x80) {
    int64_t type = 0, length = 0;
    if (!read_value(type) || !read_value(length)) return false;
    if (type == 6) return true;  // recovery_point
    at += static_cast<size_t>(length);
  }
  return false;
}

Result<SpsInfo> ParseH264Sps(const uint8_t* nal, size_t size) {
  if (size < 4 || H264NalType(nal) != h264::kSps) return Status::InvalidArgument("not an H.264 SPS");
  Bytes rbsp = Unescape(nal + 1, size - 1);
  BitReader br(rbsp);
  SpsInfo info;
  const uint32_t profile = br.Bits(8);
  const uint32_t constraints = br.Bits(8);
  const uint32_t level = br.Bits(8);
  info.id = static_cast<int>(br.Ue());  // seq_parameter_set_id
  int chroma = 1;
  bool separate_planes = false;
  if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 ||
      profile == 83 || profile == 86 || profile == 118 || profile == 128 || profile == 138 ||
      profile == 139 || profile == 134 || profile == 135) {
    chroma = static_cast<int>(br.Ue());
    if (chroma > 3) return Status::InvalidArgument(fmt::format("H.264 SPS: chroma_format_idc {}", chroma));
    if (chroma == 3) separate_planes = br.Flag();
    info.bit_depth_luma = static_cast<int>(br.Ue()) + 8;
    info.bit_depth_chroma = static_cast<int>(br.Ue()) + 8;
    br.Skip(1);  // qpprime_y_zero_transform_bypass_flag
    if (br.Flag()) {  // seq_scaling_matrix_present_flag
      for (int i = 0; i < (chroma != 3 ? 8 : 12); ++i) {
        if (br.Flag()) SkipScalingList(br, i < 6 ? 16 : 64);
      }
    }
  }
  info.chroma_format_idc = chroma;
  br.Ue();  // log2_max_frame_num_minus4
  const uint32_t poc_type = br.Ue();
  if (poc_type == 0) {
    br.Ue();
  } else if (poc_type == 1) {
    br.Skip(1);
    br.Se();
    br.Se();
    uint32_t n = br.Ue();
    if (n > 255) return Status::InvalidArgument("H.264 SPS: num_ref_frames_in_pic_order_cnt_cycle > 255");
    for (uint32_t i = 0; i < n; ++i) br.Se();
  }
  br.Ue();      // max_num_ref_frames
  br.Skip(1);   // gaps_in_frame_num_value_allowed_flag
  const uint32_t width_mbs = br.Ue() + 1;
  const uint32_t height_units = br.Ue() + 1;
  const bool frame_mbs_only = br.Flag();
  if (!frame_mbs_only) br.Skip(1);  // mb_adaptive_frame_field_flag
  br.Skip(1);                       // direct_8x8_inference_flag
  uint32_t crop_l = 0, crop_r = 0, crop_t = 0, crop_b = 0;
  if (br.Flag()) {
    crop_l = br.Ue();
    crop_r = br.Ue();
    crop_t = br.Ue();
    crop_b = br.Ue();
  }
  if (br.overrun) return Status::InvalidArgument("H.264 SPS: truncated");
  info.reorder_depth = H264ReorderDepth(br, profile, constraints, level, width_mbs,
                                        height_units * (frame_mbs_only ? 1 : 2));
  const int sub_w = (chroma == 1 || chroma == 2) ? 2 : 1;
  const int sub_h = chroma == 1 ? 2 : 1;
  const int crop_x = (chroma == 0 || separate_planes) ? 1 : sub_w;
  const int crop_y = ((chroma == 0 || separate_planes) ? 1 : sub_h) * (frame_mbs_only ? 1 : 2);
  const int64_t w = int64_t{width_mbs} * 16 - int64_t{crop_x} * (crop_l + crop_r);
  const int64_t h = int64_t{height_units} * 16 * (frame_mbs_only ? 1 : 2) - int64_t{crop_y} * (crop_t + crop_b);
  if (w <= 0 || h <= 0 || w > 16384 || h > 16384) {
    return Status::InvalidArgument(fmt::format("H.264 SPS: picture size {}x{}", w, h));
  }
  info.width = static_cast<int>(w);
  info.height = static_cast<int>(h);
  return info;
}

Result<SpsInfo> ParseH265Sps(const uint8_t* nal, size_t size) {
  if (size < 15 || H265NalType(nal) != h265::kSps) return Status::InvalidArgument("not an H.265 SPS");
  Bytes rbsp = Unescape(nal + 2, size - 2);
  BitReader br(rbsp);
  SpsInfo info;
  br.Skip(4);  // sps_video_parameter_set_id
  info.max_sub_layers = static_cast<int>(br.Bits(3)) + 1;
  info.temporal_id_nesting = br.Flag();
  // profile_tier_level(1, max_sub_layers_minus1): the general part is 12 whole bytes.
  for (uint8_t& b : info.general_profile) b = static_cast<uint8_t>(br.Bits(8));
  const int subs = info.max_sub_layers - 1;
  bool profile_present[8] = {}, level_present[8] = {};
  for (int i = 0; i < subs; ++i) {
    profile_present[i] = br.Flag();
    level_present[i] = br.Flag();
  }
  if (subs > 0) br.Skip(2 * (8 - subs));
  for (int i = 0; i < subs; ++i) {
    if (profile_present[i]) br.Skip(88);
    if (level_present[i]) br.Skip(8);
  }
  info.id = static_cast<int>(br.Ue());  // sps_seq_parameter_set_id
  const uint32_t chroma = br.Ue();
  if (chroma > 3) return Status::InvalidArgument(fmt::format("H.265 SPS: chroma_format_idc {}", chroma));
  bool separate_planes = false;
  if (chroma == 3) separate_planes = br.Flag();
  const uint32_t w = br.Ue();
  const uint32_t h = br.Ue();
  uint32_t crop_l = 0, crop_r = 0, crop_t = 0, crop_b = 0;
  if (br.Flag()) {  // conformance_window_flag
    crop_l = br.Ue();
    crop_r = br.Ue();
    crop_t = br.Ue();
    crop_b = br.Ue();
  }
  info.bit_depth_luma = static_cast<int>(br.Ue()) + 8;
  info.bit_depth_chroma = static_cast<int>(br.Ue()) + 8;
  br.Ue();  // log2_max_pic_order_cnt_lsb_minus4
  const bool ordering_per_layer = br.Flag();
  for (int i = ordering_per_layer ? 0 : info.max_sub_layers - 1; i < info.max_sub_layers; ++i) {
    br.Ue();  // sps_max_dec_pic_buffering_minus1
    info.reorder_depth = static_cast<int>(std::min<uint32_t>(br.Ue(), 16));  // sps_max_num_reorder_pics
    br.Ue();  // sps_max_latency_increase_plus1
  }
  if (br.overrun) return Status::InvalidArgument("H.265 SPS: truncated");
  info.chroma_format_idc = static_cast<int>(chroma);
  const int eff_chroma = separate_planes ? 0 : static_cast<int>(chroma);
  const int sub_w = (eff_chroma == 1 || eff_chroma == 2) ? 2 : 1;
  const int sub_h = eff_chroma == 1 ? 2 : 1;
  const int64_t width = int64_t{w} - int64_t{sub_w} * (crop_l + crop_r);
  const int64_t height = int64_t{h} - int64_t{sub_h} * (crop_t + crop_b);
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) {
    return Status::InvalidArgument(fmt::format("H.265 SPS: picture size {}x{}", width, height));
  }
  info.width = static_cast<int>(width);
  info.height = static_cast<int>(height);
  return info;
}

Result<StreamFormat> MakeStreamFormat(VideoCodec codec, const ParameterSets& sets) {
  StreamFormat fmt;
  fmt.codec = codec;
  Bytes& out = fmt.codec_data;
  auto too_long = [](const std::vector<Bytes>& v) {
    for (const Bytes& b : v) {
      if (b.size() > 0xffff) return true;
    }
    return v.size() > 31;
  };
  if (too_long(sets.vps) || too_long(sets.sps) || too_long(sets.pps)) {
    return Status::InvalidArgument("parameter sets too large or too many for the configuration record");
  }
  if (codec == VideoCodec::kH264) {
    if (sets.sps.empty() || sets.pps.empty()) return Status::InvalidArgument("H.264 stream without SPS/PPS");
    const Bytes& sps = sets.sps.front();
    VIGIL_ASSIGN_OR_RETURN(SpsInfo info, ParseH264Sps(sps.data(), sps.size()));
    fmt.width = info.width;
    fmt.height = info.height;
    fmt.reorder_depth = info.reorder_depth;
    out = {1, sps[1], sps[2], sps[3], 0xff, static_cast<uint8_t>(0xe0 | sets.sps.size())};
    for (const Bytes& s : sets.sps) {
      PutU16(out, s.size());
      out.insert(out.end(), s.begin(), s.end());
    }
    out.push_back(static_cast<uint8_t>(sets.pps.size()));
    for (const Bytes& p : sets.pps) {
      PutU16(out, p.size());
      out.insert(out.end(), p.begin(), p.end());
    }
    return fmt;
  }
  if (sets.vps.empty() || sets.sps.empty() || sets.pps.empty()) {
    return Status::InvalidArgument("H.265 stream without VPS/SPS/PPS");
  }
  const Bytes& sps = sets.sps.front();
  VIGIL_ASSIGN_OR_RETURN(SpsInfo info, ParseH265Sps(sps.data(), sps.size()));
  fmt.width = info.width;
  fmt.height = info.height;
  fmt.reorder_depth = info.reorder_depth;
  out.push_back(1);  // configurationVersion
  out.insert(out.end(), std::begin(info.general_profile), std::end(info.general_profile));
  out.push_back(0xf0);  // reserved, min_spatial_segmentation_idc = 0
  out.push_back(0x00);
  out.push_back(0xfc);  // reserved, parallelismType = 0 (unknown)
  out.push_back(static_cast<uint8_t>(0xfc | info.chroma_format_idc));
  out.push_back(static_cast<uint8_t>(0xf8 | (info.bit_depth_luma - 8)));
  out.push_back(static_cast<uint8_t>(0xf8 | (info.bit_depth_chroma - 8)));
  PutU16(out, 0);  // avgFrameRate unknown
  // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3.
  out.push_back(static_cast<uint8_t>((info.max_sub_layers & 7) << 3 | (info.temporal_id_nesting ? 4 : 0) | 3));
  out.push_back(3);  // numOfArrays
  const std::pair<int, const std::vector<Bytes>*> arrays[] = {
      {h265::kVps, &sets.vps}, {h265::kSps, &sets.sps}, {h265::kPps, &sets.pps}};
  for (const auto& [type, list] : arrays) {
    out.push_back(static_cast<uint8_t>(0x80 | type));  // array_completeness = 1
    PutU16(out, list->size());
    for (const Bytes& b : *list) {
      PutU16(out, b.size());
      out.insert(out.end(), b.begin(), b.end());
    }
  }
  return fmt;
}

Result<int> ReorderDepthOfRecord(VideoCodec codec, const Bytes& rec) {
  auto first_sps = [&]() -> std::pair<size_t, size_t> {
    if (codec == VideoCodec::kH264) {
      if (rec.size() < 8 || (rec[5] & 0x1f) == 0) return {0, 0};
      const size_t len = size_t{rec[6]} << 8 | rec[7];
      return 8 + len <= rec.size() ? std::pair{size_t{8}, len} : std::pair{size_t{0}, size_t{0}};
    }
    if (rec.size() < 23) return {0, 0};
    size_t at = 23;
    for (int a = 0; a < rec[22]; ++a) {
      if (at + 3 > rec.size()) return {0, 0};
      const int type = rec[at] & 0x3f;
      const size_t count = size_t{rec[at + 1]} << 8 | rec[at + 2];
      at += 3;
      for (size_t i = 0; i < count; ++i) {
        if (at + 2 > rec.size()) return {0, 0};
        const size_t len = size_t{rec[at]} << 8 | rec[at + 1];
        at += 2;
        if (at + len > rec.size()) return {0, 0};
        if (type == h265::kSps) return {at, len};
        at += len;
      }
    }
    return {0, 0};
  };
  auto [at, len] = first_sps();
  if (len == 0) {
    return Status::InvalidArgument(fmt::format("{} configuration record without a readable SPS",
                                               VideoCodecName(codec)));
  }
  auto info = codec == VideoCodec::kH264 ? ParseH264Sps(rec.data() + at, len) : ParseH265Sps(rec.data() + at, len);
  if (!info.ok()) return info.error();
  return info->reorder_depth;
}

}  // namespace vigil::ingest
