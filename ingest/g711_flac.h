#pragma once
// G.711 (A-law or µ-law) audio stored losslessly: MP4 has no G.711 sample entry that libavformat
// writes, so the samples are expanded to 16-bit PCM (one-to-one: the camera's bytes are recoverable
// exactly) and encoded as FLAC, which MP4 holds and browsers play.
//
// Not thread-safe: one per segment (or clip) being written.

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "ingest/segment_writer.h"

namespace vigil::ingest {

class G711ToFlac {
 public:
  struct Packet {
    std::vector<uint8_t> data;
    int64_t pts = 0;       // in samples, on the caller's clock
    int64_t duration = 0;  // samples
  };

  // `codec`: kPcma or kPcmu. Errors: libavcodec lacks the decoder or FLAC encoder.
  static Result<std::unique_ptr<G711ToFlac>> Create(AudioCodec codec, int sample_rate, int channels);
  ~G711ToFlac();
  G711ToFlac(const G711ToFlac&) = delete;
  G711ToFlac& operator=(const G711ToFlac&) = delete;

  // The FLAC stream header (STREAMINFO) for the container's decoder configuration.
  const std::vector<uint8_t>& extradata() const { return extradata_; }

  // G.711 bytes starting at sample `pts`; FLAC packets that became whole are appended to `out`. A hole
  // of up to a second (lost packets) is filled with silence; audio going back in time or after a
  // longer hole is refused (FailedPrecondition), the stream unharmed.
  Status Push(const uint8_t* data, size_t size, int64_t pts, std::vector<Packet>& out);
  // Encodes what is held (the last, shorter block) and drains the encoder.
  Status Finish(std::vector<Packet>& out);

 private:
  struct Impl;
  G711ToFlac();
  Status EncodeHeld(bool last, std::vector<Packet>& out);
  std::unique_ptr<Impl> impl_;
  std::vector<uint8_t> extradata_;
};

}  // namespace vigil::ingest
