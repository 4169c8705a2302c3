#include "ingest/segment_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
}

#include "base/fs.h"
#include "base/sha256.h"
#include "ingest/g711_flac.h"

namespace vigil::ingest {

const char* AudioCodecName(AudioCodec codec) {
  switch (codec) {
    case AudioCodec::kAac: return "aac";
    case AudioCodec::kPcma: return "pcm_alaw";
    case AudioCodec::kPcmu: return "pcm_mulaw";
    case AudioCodec::kFlac: return "flac";
  }
  return "?";
}

const char* VideoCodecName(VideoCodec codec) {
  return codec == VideoCodec::kH264 ? "h264" : "h265";
}

namespace {

constexpr AVRational kTimeBase90k{1, 90000};
constexpr int kAvioBufferSize = 64 * 1024;

int64_t NsTo90k(int64_t ns) { return av_rescale(ns, 90000, 1'000'000'000); }

std::string AvError(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

}  // namespace

struct SegmentWriter::Impl {
  int fd = -1;
  int write_errno = 0;  // first failed write(2), reported with the path
  int64_t bytes = 0;
  int64_t header_bytes = 0;
  Sha256 hash;
  AVFormatContext* fmt = nullptr;
  AVPacket* pkt = av_packet_alloc();  // reused for every frame
  AVIOContext* avio = nullptr;
  int audio_rate = 0;             // the audio stream's (index 1) sample rate; 0: no audio
  std::unique_ptr<G711ToFlac> flac;  // G.711 in, FLAC out
  std::vector<G711ToFlac::Packet> flac_out;
  int64_t last_audio_ts = INT64_MIN;  // in 1/audio_rate
  bool absolute_times = false;  // times as given (presentation origin), not from the first frame
  int64_t first_dts_ns = 0;
  int64_t last_dts_ns = 0;
  int64_t last_duration_ns = 0;

  // AVIO write callback: plain sequential write(2) plus hashing. The muxer never seeks (non-seekable
  // output), so the hash is of the file exactly as it lies on disk.
  static int WritePacket(void* opaque, uint8_t* buf, int size) {
    auto* self = static_cast<Impl*>(opaque);
    if (self->write_errno) return AVERROR(self->write_errno);
    size_t done = 0;
    while (done < static_cast<size_t>(size)) {
      ssize_t n = ::write(self->fd, buf + done, static_cast<size_t>(size) - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        self->write_errno = errno;
        return AVERROR(errno);
      }
      done += static_cast<size_t>(n);
    }
    self->hash.Update(buf, static_cast<size_t>(size));
    self->bytes += size;
    return size;
  }

  ~Impl() { av_packet_free(&pkt); }

  void Release() {
    if (fmt) {
      avformat_free_context(fmt);
      fmt = nullptr;
    }
    if (avio) {
      av_freep(&avio->buffer);
      avio_context_free(&avio);
    }
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
};

SegmentWriter::SegmentWriter(std::string path) : path_(std::move(path)), impl_(std::make_unique<Impl>()) {}

SegmentWriter::~SegmentWriter() { impl_->Release(); }

int64_t SegmentWriter::bytes() const { return impl_->bytes; }

bool SegmentWriter::has_fragment() const { return impl_->bytes > impl_->header_bytes; }

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::Create(const std::string& path,
                                                             const StreamFormat& format,
                                                             int64_t fragment_ns,
                                                             bool presentation_origin) {
  if (format.codec_data.empty()) {
    return Status::InvalidArgument(fmt::format("{}: stream has no codec configuration", path));
  }
  auto w = std::unique_ptr<SegmentWriter>(new SegmentWriter(path));
  Impl& im = *w->impl_;
  im.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (im.fd < 0) return Status::FromErrno(errno, "cannot create segment", path);

  const AVOutputFormat* mp4 = av_guess_format("mp4", nullptr, nullptr);
  if (avformat_alloc_output_context2(&im.fmt, mp4, nullptr, nullptr) < 0 || !im.fmt) {
    return Status::Internal("libavformat has no mp4 muxer");
  }
  auto* buffer = static_cast<uint8_t*>(av_malloc(kAvioBufferSize));
  im.avio = avio_alloc_context(buffer, kAvioBufferSize, 1, &im, nullptr, &Impl::WritePacket, nullptr);
  im.avio->seekable = 0;
  im.fmt->pb = im.avio;
  im.fmt->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;

  AVStream* st = avformat_new_stream(im.fmt, nullptr);
  st->time_base = kTimeBase90k;
  AVCodecParameters* par = st->codecpar;
  par->codec_type = AVMEDIA_TYPE_VIDEO;
  par->codec_id = format.codec == VideoCodec::kH264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC;
  par->width = format.width;
  par->height = format.height;
  par->extradata = static_cast<uint8_t*>(
      av_mallocz(format.codec_data.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  std::memcpy(par->extradata, format.codec_data.data(), format.codec_data.size());
  par->extradata_size = static_cast<int>(format.codec_data.size());
  if (format.audio) {
    const AudioFormat& af = *format.audio;
    std::vector<uint8_t> cfg = af.config;
    AVCodecID id = AV_CODEC_ID_AAC;
    if (af.codec == AudioCodec::kPcma || af.codec == AudioCodec::kPcmu) {
      // G.711: stored losslessly as FLAC (ingest/g711_flac.h).
      VIGIL_ASSIGN_OR_RETURN(im.flac, G711ToFlac::Create(af.codec, af.sample_rate, af.channels));
      cfg = im.flac->extradata();
      id = AV_CODEC_ID_FLAC;
    } else if (af.codec == AudioCodec::kFlac) {
      id = AV_CODEC_ID_FLAC;  // copied from a segment into a clip
    }
    // FLAC in MP4 (the "fLaC" sample entry of the FLAC-in-ISO-BMFF specification) is marked
    // experimental in libavformat 5.1; the files it writes are the specification's, which later
    // FFmpeg releases write by default and browsers play.
    if (id == AV_CODEC_ID_FLAC) im.fmt->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL;
    AVStream* as = avformat_new_stream(im.fmt, nullptr);
    as->time_base = AVRational{1, af.sample_rate};
    AVCodecParameters* ap = as->codecpar;
    ap->codec_type = AVMEDIA_TYPE_AUDIO;
    ap->codec_id = id;
    ap->sample_rate = af.sample_rate;
    av_channel_layout_default(&ap->ch_layout, af.channels);
    if (id == AV_CODEC_ID_AAC) ap->frame_size = 1024;
    ap->extradata = static_cast<uint8_t*>(av_mallocz(cfg.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    std::memcpy(ap->extradata, cfg.data(), cfg.size());
    ap->extradata_size = static_cast<int>(cfg.size());
    im.audio_rate = format.audio->sample_rate;
  }

  AVDictionary* opts = nullptr;
  // empty_moov + frag_keyframe/frag_duration: a crash-safe, append-only file; default_base_moof for
  // players that expect it (and for ISO BMFF conformance of fragments).
  // delay_moov (the header goes out with the first fragment) when a track may not start at 0: a
  // clip's pre-roll, or audio beside the video, whose start the edit lists must keep.
  av_dict_set(&opts, "movflags",
              presentation_origin || format.audio ? "+empty_moov+delay_moov+frag_keyframe+default_base_moof"
                                                  : "+empty_moov+frag_keyframe+default_base_moof",
              0);
  av_dict_set_int(&opts, "frag_duration", fragment_ns / 1000, 0);
  int rc = avformat_write_header(im.fmt, &opts);
  av_dict_free(&opts);
  if (rc < 0) {
    Status st_err = im.write_errno ? Status::FromErrno(im.write_errno, "write", path)
                                   : Status::Internal(fmt::format("{}: mp4 header: {}", path, AvError(rc)));
    return st_err;
  }
  avio_flush(im.avio);
  if (im.write_errno) return Status::FromErrno(im.write_errno, "write", path);
  im.header_bytes = im.bytes;
  im.absolute_times = presentation_origin;
  return w;
}

Status SegmentWriter::Write(const uint8_t* data, size_t size, int64_t dts_ns, int64_t pts_ns,
                            int64_t duration_ns, bool key) {
  Impl& im = *impl_;
  if (frames_ == 0) {
    if (!key) return Status::InvalidArgument(fmt::format("{}: first frame is not a key frame", path_));
    im.first_dts_ns = dts_ns;
  }
  const int64_t origin = im.absolute_times ? 0 : im.first_dts_ns;
  AVPacket* pkt = im.pkt;
  av_packet_unref(pkt);
  pkt->data = const_cast<uint8_t*>(data);
  pkt->size = static_cast<int>(size);
  pkt->stream_index = 0;
  pkt->dts = NsTo90k(dts_ns - origin);
  pkt->pts = NsTo90k(pts_ns - origin);
  pkt->duration = NsTo90k(duration_ns);
  pkt->time_base = kTimeBase90k;
  if (key) pkt->flags |= AV_PKT_FLAG_KEY;
  int rc = av_write_frame(im.fmt, pkt);
  if (rc < 0) {
    if (im.write_errno) return Status::FromErrno(im.write_errno, "write", path_);
    return Status::DataLoss(fmt::format("{}: muxer refused frame {}: {}", path_, frames_, AvError(rc)));
  }
  im.last_dts_ns = dts_ns;
  im.last_duration_ns = duration_ns;
  ++frames_;
  return Status::Ok();
}

Status SegmentWriter::WriteAudio(const uint8_t* data, size_t size, int64_t media_ns, int64_t duration_ns) {
  Impl& im = *impl_;
  if (!im.audio_rate) return Status::FailedPrecondition(fmt::format("{}: no audio stream", path_));
  if (frames_ == 0 && !im.absolute_times) {
    return Status::InvalidArgument(fmt::format("{}: audio before the first video frame", path_));
  }
  const int64_t origin = im.absolute_times ? 0 : im.first_dts_ns;
  const int64_t ts = av_rescale(media_ns - origin, im.audio_rate, 1'000'000'000);
  if ((!im.absolute_times && ts < 0) || ts <= im.last_audio_ts) {
    return Status::InvalidArgument(fmt::format("{}: audio frame at {} is not after the last one", path_, ts));
  }
  if (im.flac) {
    im.flac_out.clear();
    Status st = im.flac->Push(data, size, ts, im.flac_out);
    if (!st.ok()) return Status::InvalidArgument(fmt::format("{}: {}", path_, st.message()));
    im.last_audio_ts = ts;
    return WriteAudioPackets();
  }
  AVPacket* pkt = im.pkt;
  av_packet_unref(pkt);
  pkt->data = const_cast<uint8_t*>(data);
  pkt->size = static_cast<int>(size);
  pkt->stream_index = 1;
  pkt->dts = pkt->pts = ts;
  pkt->duration = av_rescale(duration_ns, im.audio_rate, 1'000'000'000);
  pkt->time_base = AVRational{1, im.audio_rate};
  pkt->flags |= AV_PKT_FLAG_KEY;
  int rc = av_write_frame(im.fmt, pkt);
  if (rc < 0) {
    if (im.write_errno) return Status::FromErrno(im.write_errno, "write", path_);
    return Status::DataLoss(fmt::format("{}: muxer refused audio frame: {}", path_, AvError(rc)));
  }
  im.last_audio_ts = ts;
  ++audio_frames_;
  return Status::Ok();
}

Status SegmentWriter::WriteAudioPackets() {
  Impl& im = *impl_;
  for (const auto& p : im.flac_out) {
    AVPacket* pkt = im.pkt;
    av_packet_unref(pkt);
    pkt->data = const_cast<uint8_t*>(p.data.data());
    pkt->size = static_cast<int>(p.data.size());
    pkt->stream_index = 1;
    pkt->dts = pkt->pts = p.pts;
    pkt->duration = p.duration;
    pkt->time_base = AVRational{1, im.audio_rate};
    pkt->flags |= AV_PKT_FLAG_KEY;
    if (int rc = av_write_frame(im.fmt, pkt); rc < 0) {
      if (im.write_errno) return Status::FromErrno(im.write_errno, "write", path_);
      return Status::DataLoss(fmt::format("{}: muxer refused audio: {}", path_, AvError(rc)));
    }
    ++audio_frames_;
  }
  im.flac_out.clear();
  return Status::Ok();
}

Result<ClosedFile> SegmentWriter::Close() {
  Impl& im = *impl_;
  if (im.fd < 0) return Status::FailedPrecondition(fmt::format("{}: already closed", path_));
  if (im.flac) {
    // The last, shorter FLAC block.
    im.flac_out.clear();
    if (im.flac->Finish(im.flac_out).ok()) (void)WriteAudioPackets();
  }
  int rc = av_write_trailer(im.fmt);
  avio_flush(im.avio);
  if (im.write_errno) {
    Status st = Status::FromErrno(im.write_errno, "write", path_);
    im.Release();
    return st;
  }
  if (rc < 0) {
    im.Release();
    return Status::DataLoss(fmt::format("{}: mp4 trailer: {}", path_, AvError(rc)));
  }
  // Crash order: the file's bytes are durable before the index says the segment is complete.
  if (::fsync(im.fd) != 0) {
    Status st = Status::FromErrno(errno, "fsync", path_);
    im.Release();
    return st;
  }
  im.Release();
  VIGIL_RETURN_IF_ERROR(SyncDir(DirName(path_)));
  ClosedFile out;
  out.bytes = im.bytes;
  out.frames = frames_;
  out.media_duration_90k = NsTo90k(im.last_dts_ns + im.last_duration_ns - im.first_dts_ns);
  out.sha256 = im.hash.FinishHex();
  return out;
}

}  // namespace vigil::ingest
