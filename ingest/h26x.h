#pragma once
// H.264 / H.265 parameter sets: the little of the bitstream a recorder must understand without
// decoding — the picture size from the sequence parameter set, and the MP4 decoder configuration
// record (avcC, ISO/IEC 14496-15 §5.3.3; hvcC, §8.3.3) built from the parameter sets.
//
// Pure functions on byte strings; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "ingest/segment_writer.h"

namespace vigil::ingest {

using Bytes = std::vector<uint8_t>;

// NAL unit type of a NAL unit (its header byte(s)).
inline int H264NalType(const uint8_t* nal) { return nal[0] & 0x1f; }
inline int H265NalType(const uint8_t* nal) { return (nal[0] >> 1) & 0x3f; }

namespace h264 {
constexpr int kIdr = 5, kSei = 6, kSps = 7, kPps = 8, kAud = 9;
}
namespace h265 {
// IRAP pictures (BLA, IDR, CRA) are 16..21; 22, 23 are reserved IRAP types.
constexpr int kIrapFirst = 16, kIrapLast = 23, kVps = 32, kSps = 33, kPps = 34, kAud = 35;
}

// H.264 random access without an IDR (open GOP, as x264 --open-gop and some cameras send): an I
// picture announced by a recovery point SEI. The slice type (0..4: P, B, I, SP, SI) of a slice NAL
// unit (types 1 and 5), or -1 when unreadable; whether an SEI NAL unit carries a recovery point.
int H264SliceType(const uint8_t* nal, size_t size);
bool H264SeiHasRecoveryPoint(const uint8_t* nal, size_t size);

// The removal of emulation-prevention bytes (00 00 03 → 00 00) from a NAL unit's payload.
Bytes Unescape(const uint8_t* data, size_t size);

struct SpsInfo {
  int id = 0;      // seq_parameter_set_id
  int width = 0;   // after the conformance/cropping window
  int height = 0;
  // Frames that may precede a frame in decode order and follow it in presentation order (H.264
  // max_num_reorder_frames, or what the profile and level imply when the VUI does not say; H.265
  // sps_max_num_reorder_pics of the highest sub-layer): 0 for streams without B-frames.
  int reorder_depth = 0;
  // H.265 only: the fields hvcC repeats.
  int chroma_format_idc = 1;
  int bit_depth_luma = 8;
  int bit_depth_chroma = 8;
  int max_sub_layers = 1;
  bool temporal_id_nesting = false;
  uint8_t general_profile[12] = {};  // profile_space..level_idc: the 12 bytes of general PTL
};

// Parses a whole SPS NAL unit (header included). Errors say which field could not be read.
Result<SpsInfo> ParseH264Sps(const uint8_t* nal, size_t size);
Result<SpsInfo> ParseH265Sps(const uint8_t* nal, size_t size);

// The stream format of a parameter-set collection: codec, size, and the configuration record
// (4-byte NAL lengths). H.264 needs sps and pps; H.265 vps, sps and pps.
struct ParameterSets {
  std::vector<Bytes> vps, sps, pps;
  bool operator==(const ParameterSets&) const = default;
};
Result<StreamFormat> MakeStreamFormat(VideoCodec codec, const ParameterSets& sets);

// The reorder depth of the first SPS in an avcC/hvcC record (what GStreamer's parsers give as
// codec_data); errors name what could not be read.
Result<int> ReorderDepthOfRecord(VideoCodec codec, const Bytes& codec_data);

}  // namespace vigil::ingest
