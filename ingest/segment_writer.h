#pragma once
// Writes one recording segment: a fragmented MP4 (ISO BMFF: ftyp, empty moov, then moof+mdat
// fragments) of encoded access units, as they arrive, without decoding. Each fragment is at most
// `fragment_ns` long and reaches the file as soon as it is complete, so a crash loses at most the
// fragment being built. The file is written strictly sequentially and hashed as it is written.
//
// Not thread-safe: one writer thread per segment.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace vigil::ingest {

enum class VideoCodec { kH264, kH265 };
const char* VideoCodecName(VideoCodec codec);

// kFlac: how G.711 is stored (losslessly); a clip copies it as it is.
enum class AudioCodec { kAac, kPcma, kPcmu, kFlac };
const char* AudioCodecName(AudioCodec codec);

struct AudioFormat {
  AudioCodec codec = AudioCodec::kAac;
  int sample_rate = 8000;
  int channels = 1;
  std::vector<uint8_t> config;  // AAC: the AudioSpecificConfig (the SDP's fmtp "config", hex)
  // AAC: bits of each AU header's size and index fields (fmtp sizelength, indexlength,
  // indexdeltalength).
  int size_bits = 13, index_bits = 3, index_delta_bits = 3;
  bool operator==(const AudioFormat&) const = default;
};

struct StreamFormat {
  VideoCodec codec = VideoCodec::kH264;
  int width = 0;
  int height = 0;
  // avcC / hvcC decoder configuration record (GStreamer's codec_data for stream-format avc/hvc1).
  std::vector<uint8_t> codec_data;
  // From the SPS (see SpsInfo::reorder_depth): how far presentation order may run behind decode
  // order, which decode times are derived from.
  int reorder_depth = 0;
  // The camera's audio, recorded beside the video when set: AAC as sent, G.711 as FLAC.
  std::optional<AudioFormat> audio;

  bool operator==(const StreamFormat&) const = default;
};

struct ClosedFile {
  int64_t bytes = 0;
  int64_t frames = 0;
  int64_t media_duration_90k = 0;
  std::string sha256;
};

class SegmentWriter {
 public:
  // Creates `path` (which must not exist) and writes the MP4 header. Errors name the path.
  //
  // `presentation_origin`: when set, times are written as given (not from the first frame's decode
  // time), and the file's edit list starts presentation at time 0: frames before it (a clip's
  // pre-roll from the key frame before the requested start) are decoded but not shown. The header
  // then goes out with the first fragment (libavformat's delay_moov), still strictly sequentially.
  static Result<std::unique_ptr<SegmentWriter>> Create(const std::string& path,
                                                       const StreamFormat& format,
                                                       int64_t fragment_ns,
                                                       bool presentation_origin = false);
  ~SegmentWriter();  // closes without trailer or fsync if Close() was not called
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Appends one access unit (length-prefixed NAL units, as in avcC/hvcC). Times are nanoseconds on
  // any monotonic media clock; the first frame written must be a key frame. `duration_ns` is the
  // frame's display duration (used for the last frame of a fragment).
  // With a presentation origin, times before 0 are the pre-roll.
  Status Write(const uint8_t* data, size_t size, int64_t dts_ns, int64_t pts_ns,
               int64_t duration_ns, bool key);

  // Appends one audio frame (the format's audio; an AAC access unit) at `media_ns` on the same clock
  // as the video's times. Frames before the file's first video frame, or not after the previous
  // audio frame, are refused with InvalidArgument (the caller counts them); the file is unharmed.
  Status WriteAudio(const uint8_t* data, size_t size, int64_t media_ns, int64_t duration_ns);

  // Writes the last fragment and trailer, fsyncs the file and its directory, and returns its size,
  // frame count, media duration and SHA-256.
  Result<ClosedFile> Close();

  const std::string& path() const { return path_; }
  int64_t bytes() const;
  // Whether at least one fragment of media (not just the header) has been written to the file.
  bool has_fragment() const;
  int64_t frames() const { return frames_; }
  int64_t audio_frames() const { return audio_frames_; }

 private:
  struct Impl;
  explicit SegmentWriter(std::string path);
  Status WriteAudioPackets();  // the FLAC packets a G.711 frame completed
  std::string path_;
  std::unique_ptr<Impl> impl_;
  int64_t frames_ = 0;
  int64_t audio_frames_ = 0;
};

}  // namespace vigil::ingest
