#include "ingest/media_probe.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

namespace vigil::ingest {
namespace {

bool DecodeOne(const AVCodecParameters* par, AVPacket* pkt) {
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec) return false;
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  bool ok = false;
  if (avcodec_parameters_to_context(ctx, par) >= 0 && avcodec_open2(ctx, codec, nullptr) >= 0 &&
      avcodec_send_packet(ctx, pkt) >= 0) {
    avcodec_send_packet(ctx, nullptr);  // drain: the frame comes out even with decoder delay
    AVFrame* frame = av_frame_alloc();
    ok = avcodec_receive_frame(ctx, frame) >= 0 && frame->width == par->width &&
         frame->height == par->height;
    av_frame_free(&frame);
  }
  avcodec_free_context(&ctx);
  return ok;
}

// Whether a length-prefixed (avcC/hvcC, 4-byte lengths) access unit holds a random-access picture.
bool HasRandomAccessNal(AVCodecID codec, const uint8_t* data, int size) {
  int pos = 0;
  while (pos + 5 <= size) {
    uint32_t len = (uint32_t{data[pos]} << 24) | (uint32_t{data[pos + 1]} << 16) |
                   (uint32_t{data[pos + 2]} << 8) | data[pos + 3];
    uint8_t header = data[pos + 4];
    if (codec == AV_CODEC_ID_H264 && (header & 0x1f) == 5) return true;
    if (codec == AV_CODEC_ID_HEVC) {
      int type = (header >> 1) & 0x3f;
      if (type >= 16 && type <= 23) return true;
    }
    pos += 4 + static_cast<int>(len);
  }
  return false;
}

}  // namespace

Result<MediaProbe> ProbeMedia(const std::string& path, bool decode_first_frame) {
  AVFormatContext* fmt = nullptr;
  int rc = avformat_open_input(&fmt, path.c_str(), nullptr, nullptr);
  if (rc < 0) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(rc, buf, sizeof(buf));
    return Status::DataLoss(fmt::format("cannot open {}: {}", path, buf));
  }
  MediaProbe probe;
  Status status;
  int video = -1;
  if (avformat_find_stream_info(fmt, nullptr) >= 0) {
    video = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  }
  if (video < 0) {
    status = Status::DataLoss(fmt::format("{}: no video stream", path));
  } else {
    AVStream* st = fmt->streams[video];
    probe.codec = avcodec_get_name(st->codecpar->codec_id);
    probe.width = st->codecpar->width;
    probe.height = st->codecpar->height;
    AVPacket* pkt = av_packet_alloc();
    int64_t end = 0;
    while (av_read_frame(fmt, pkt) >= 0) {
      if (pkt->stream_index == video) {
        int64_t dts = av_rescale_q(pkt->dts, st->time_base, {1, 90000});
        int64_t dur = av_rescale_q(pkt->duration, st->time_base, {1, 90000});
        bool key = pkt->flags & AV_PKT_FLAG_KEY;
        if (probe.frames == 0) {
          probe.first_is_key = key;
          probe.first_is_irap = HasRandomAccessNal(st->codecpar->codec_id, pkt->data, pkt->size);
          probe.first_dts_90k = dts;
          if (decode_first_frame) probe.first_frame_decoded = DecodeOne(st->codecpar, pkt);
        }
        ++probe.frames;
        if (key) ++probe.key_frames;
        end = std::max(end, dts + dur);
      }
      av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    probe.duration_90k = probe.frames ? end - probe.first_dts_90k : 0;
  }
  avformat_close_input(&fmt);
  if (!status.ok()) return status;
  return probe;
}

}  // namespace vigil::ingest
