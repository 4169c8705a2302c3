#include "ingest/g711_flac.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
}

#include <fmt/format.h>

namespace vigil::ingest {
namespace {

// G.711 expansion (ITU-T G.711), exact.
int16_t Alaw(uint8_t a) {
  a ^= 0x55;
  int t = (a & 0x0f) << 4;
  const int seg = (a & 0x70) >> 4;
  if (seg == 0) {
    t += 8;
  } else {
    t += 0x108;
    t <<= seg - 1;
  }
  return static_cast<int16_t>((a & 0x80) ? t : -t);
}

int16_t Ulaw(uint8_t u) {
  u = static_cast<uint8_t>(~u);
  int t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return static_cast<int16_t>((u & 0x80) ? 0x84 - t : t - 0x84);
}

}  // namespace

struct G711ToFlac::Impl {
  AudioCodec codec = AudioCodec::kPcma;
  int channels = 1;
  AVCodecContext* enc = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* pkt = nullptr;
  std::vector<int16_t> held;  // interleaved samples not yet encoded
  int64_t held_pts = 0;       // pts of held[0]
  bool have_pts = false;
  ~Impl() {
    avcodec_free_context(&enc);
    av_frame_free(&frame);
    av_packet_free(&pkt);
  }
};

G711ToFlac::G711ToFlac() : impl_(std::make_unique<Impl>()) {}
G711ToFlac::~G711ToFlac() = default;

Result<std::unique_ptr<G711ToFlac>> G711ToFlac::Create(AudioCodec codec, int sample_rate, int channels) {
  if (codec != AudioCodec::kPcma && codec != AudioCodec::kPcmu) {
    return Status::InvalidArgument(fmt::format("{} is not G.711", AudioCodecName(codec)));
  }
  const AVCodec* flac = avcodec_find_encoder(AV_CODEC_ID_FLAC);
  if (!flac) return Status::FailedPrecondition("libavcodec has no FLAC encoder");
  auto out = std::unique_ptr<G711ToFlac>(new G711ToFlac());
  Impl& im = *out->impl_;
  im.codec = codec;
  im.channels = channels > 0 ? channels : 1;
  im.enc = avcodec_alloc_context3(flac);
  im.enc->sample_fmt = AV_SAMPLE_FMT_S16;
  im.enc->sample_rate = sample_rate;
  av_channel_layout_default(&im.enc->ch_layout, im.channels);
  im.enc->time_base = AVRational{1, sample_rate};
  im.enc->compression_level = 2;  // cheap: 8 kHz mono is a few kB/s either way
  if (int rc = avcodec_open2(im.enc, flac, nullptr); rc < 0) {
    return Status::Internal(fmt::format("FLAC encoder refused {} Hz, {} channel(s)", sample_rate, im.channels));
  }
  out->extradata_.assign(im.enc->extradata, im.enc->extradata + im.enc->extradata_size);
  im.frame = av_frame_alloc();
  im.pkt = av_packet_alloc();
  return out;
}

Status G711ToFlac::EncodeHeld(bool last, std::vector<Packet>& out) {
  Impl& im = *impl_;
  const int block = im.enc->frame_size;
  size_t at = 0;
  const size_t per = static_cast<size_t>(im.channels);
  while (im.held.size() - at >= static_cast<size_t>(block) * per || (last && at < im.held.size())) {
    const int n = static_cast<int>(std::min<size_t>(static_cast<size_t>(block), (im.held.size() - at) / per));
    if (n == 0) break;
    av_frame_unref(im.frame);
    im.frame->format = AV_SAMPLE_FMT_S16;
    im.frame->nb_samples = n;
    im.frame->sample_rate = im.enc->sample_rate;
    av_channel_layout_copy(&im.frame->ch_layout, &im.enc->ch_layout);
    if (av_frame_get_buffer(im.frame, 0) < 0) return Status::ResourceExhausted("FLAC frame buffer");
    std::copy(im.held.begin() + static_cast<ptrdiff_t>(at), im.held.begin() + static_cast<ptrdiff_t>(at + n * per),
              reinterpret_cast<int16_t*>(im.frame->data[0]));
    im.frame->pts = im.held_pts + static_cast<int64_t>(at / per);
    if (avcodec_send_frame(im.enc, im.frame) < 0) return Status::Internal("FLAC encoder refused a frame");
    at += static_cast<size_t>(n) * per;
    while (avcodec_receive_packet(im.enc, im.pkt) == 0) {
      // FLAC has no encoder delay: one block in, one packet out, as long as the block.
      out.push_back({std::vector<uint8_t>(im.pkt->data, im.pkt->data + im.pkt->size), im.pkt->pts,
                     im.pkt->duration > 0 ? im.pkt->duration : n});
      av_packet_unref(im.pkt);
    }
    if (n < block) break;  // a short block is the encoder's last
  }
  im.held.erase(im.held.begin(), im.held.begin() + static_cast<ptrdiff_t>(at));
  im.held_pts += static_cast<int64_t>(at / per);
  return Status::Ok();
}

Status G711ToFlac::Push(const uint8_t* data, size_t size, int64_t pts, std::vector<Packet>& out) {
  Impl& im = *impl_;
  const int64_t expected = im.held_pts + static_cast<int64_t>(im.held.size() / static_cast<size_t>(im.channels));
  if (im.have_pts && pts != expected) {
    // FLAC blocks are contiguous (only the last may be short). Lost audio up to a second is
    // silence, as a decoder would play it (the caller counts the packets that were lost); audio
    // going back, or a longer hole, is refused.
    if (pts < expected || pts - expected > im.enc->sample_rate) {
      return Status::FailedPrecondition(fmt::format("audio jumps from sample {} to {}", expected, pts));
    }
    im.held.resize(im.held.size() + static_cast<size_t>(pts - expected) * static_cast<size_t>(im.channels), 0);
  }
  if (!im.have_pts) im.held_pts = pts;
  im.have_pts = true;
  for (size_t i = 0; i < size; ++i) im.held.push_back(im.codec == AudioCodec::kPcma ? Alaw(data[i]) : Ulaw(data[i]));
  return EncodeHeld(false, out);
}

Status G711ToFlac::Finish(std::vector<Packet>& out) {
  VIGIL_RETURN_IF_ERROR(EncodeHeld(true, out));
  Impl& im = *impl_;
  if (avcodec_send_frame(im.enc, nullptr) < 0) return Status::Ok();
  while (avcodec_receive_packet(im.enc, im.pkt) == 0) {
    out.push_back({std::vector<uint8_t>(im.pkt->data, im.pkt->data + im.pkt->size), im.pkt->pts, im.pkt->duration});
    av_packet_unref(im.pkt);
  }
  return Status::Ok();
}

}  // namespace vigil::ingest
