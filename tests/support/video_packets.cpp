#include "tests/support/video_packets.h"

#include <cstdio>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <fmt/format.h>

#include "base/sha256.h"

namespace vigil::testing {
namespace {

int64_t ToNs(int64_t t, AVRational tb) {
  if (t == AV_NOPTS_VALUE) return INT64_MIN;
  return av_rescale_q(t, tb, AVRational{1, 1'000'000'000});
}

// Length-prefixed (4-byte) NAL units, as MP4 holds them.
std::string SliceDigest(const uint8_t* p, size_t size, bool h265) {
  Sha256 h;
  size_t at = 0;
  while (at + 4 <= size) {
    const size_t len = size_t{p[at]} << 24 | size_t{p[at + 1]} << 16 | size_t{p[at + 2]} << 8 | p[at + 3];
    at += 4;
    if (len == 0 || at + len > size) break;
    const int type = h265 ? (p[at] >> 1) & 0x3f : p[at] & 0x1f;
    if (h265 ? type < 32 : (type >= 1 && type <= 5)) h.Update(p + at, len);
    at += len;
  }
  return h.FinishHex();
}

}  // namespace

Result<VideoPackets> ReadVideoPackets(const std::string& path) {
  AVFormatContext* raw = nullptr;
  if (avformat_open_input(&raw, path.c_str(), nullptr, nullptr) < 0) {
    return Status::NotFound(fmt::format("{}: cannot open", path));
  }
  std::unique_ptr<AVFormatContext, void (*)(AVFormatContext*)> fmt(raw, [](AVFormatContext* c) {
    avformat_close_input(&c);
  });
  if (avformat_find_stream_info(fmt.get(), nullptr) < 0) {
    return Status::DataLoss(fmt::format("{}: no stream info", path));
  }
  int video = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (video < 0) return Status::NotFound(fmt::format("{}: no video stream", path));
  VideoPackets out;
  const AVStream* vs = fmt->streams[video];
  out.codec = avcodec_get_name(vs->codecpar->codec_id);
  out.width = vs->codecpar->width;
  out.height = vs->codecpar->height;
  int audio = -1;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
      ++out.audio_streams;
      if (audio < 0) {
        audio = static_cast<int>(i);
        out.audio_codec = avcodec_get_name(fmt->streams[i]->codecpar->codec_id);
      }
    }
  }
  const bool h265 = vs->codecpar->codec_id == AV_CODEC_ID_HEVC;
  AVPacket* pkt = av_packet_alloc();
  while (av_read_frame(fmt.get(), pkt) >= 0) {
    const AVStream* st = fmt->streams[pkt->stream_index];
    if (pkt->stream_index == video) {
      VideoPacket v;
      v.pts_ns = ToNs(pkt->pts, st->time_base);
      v.dts_ns = ToNs(pkt->dts, st->time_base);
      v.key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      v.slices = SliceDigest(pkt->data, static_cast<size_t>(pkt->size), h265);
      out.packets.push_back(std::move(v));
    } else if (pkt->stream_index == audio) {
      out.audio_pts_ns.push_back(ToNs(pkt->pts, st->time_base));
      out.audio_duration_ns += ToNs(pkt->duration, st->time_base);
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  if (audio >= 0 && out.audio_duration_ns == 0 && fmt->streams[audio]->duration != AV_NOPTS_VALUE) {
    // Fragmented MP4 gives the track's length, not each packet's.
    out.audio_duration_ns = ToNs(fmt->streams[audio]->duration, fmt->streams[audio]->time_base);
  }
  return out;
}

Result<std::vector<int16_t>> DecodeAudio(const std::string& path) {
  AVFormatContext* raw = nullptr;
  if (avformat_open_input(&raw, path.c_str(), nullptr, nullptr) < 0) {
    return Status::NotFound(fmt::format("{}: cannot open", path));
  }
  std::unique_ptr<AVFormatContext, void (*)(AVFormatContext*)> fmt(raw, [](AVFormatContext* c) {
    avformat_close_input(&c);
  });
  if (avformat_find_stream_info(fmt.get(), nullptr) < 0) return Status::DataLoss(fmt::format("{}: no info", path));
  const int audio = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (audio < 0) return Status::NotFound(fmt::format("{}: no audio", path));
  const AVCodecParameters* par = fmt->streams[audio]->codecpar;
  const AVCodec* dec = avcodec_find_decoder(par->codec_id);
  if (!dec) return Status::NotFound(fmt::format("{}: no decoder for {}", path, avcodec_get_name(par->codec_id)));
  std::unique_ptr<AVCodecContext, void (*)(AVCodecContext*)> ctx(avcodec_alloc_context3(dec), [](AVCodecContext* c) {
    avcodec_free_context(&c);
  });
  avcodec_parameters_to_context(ctx.get(), par);
  if (avcodec_open2(ctx.get(), dec, nullptr) < 0) return Status::Internal(fmt::format("{}: decoder refused", path));
  std::vector<int16_t> out;
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  auto drain = [&] {
    while (avcodec_receive_frame(ctx.get(), frame) == 0) {
      if (frame->format == AV_SAMPLE_FMT_S16) {
        const auto* s = reinterpret_cast<const int16_t*>(frame->data[0]);
        const int ch = frame->ch_layout.nb_channels > 0 ? frame->ch_layout.nb_channels : 1;
        for (int i = 0; i < frame->nb_samples; ++i) out.push_back(s[i * ch]);
      } else if (frame->format == AV_SAMPLE_FMT_S16P) {
        const auto* s = reinterpret_cast<const int16_t*>(frame->data[0]);
        out.insert(out.end(), s, s + frame->nb_samples);
      }
      av_frame_unref(frame);
    }
  };
  while (av_read_frame(fmt.get(), pkt) >= 0) {
    if (pkt->stream_index == audio && avcodec_send_packet(ctx.get(), pkt) == 0) drain();
    av_packet_unref(pkt);
  }
  avcodec_send_packet(ctx.get(), nullptr);
  drain();
  av_packet_free(&pkt);
  av_frame_free(&frame);
  return out;
}

std::string DecodeWarnings(const std::string& path) {
  std::string cmd = fmt::format("ffmpeg -nostdin -hide_banner -v warning -i '{}' -f null - 2>&1", path);
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    ::pclose(p);
  } else {
    out = "cannot run ffmpeg";
  }
  return out;
}

}  // namespace vigil::testing
