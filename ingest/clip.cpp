#include "ingest/clip.h"

#include <cerrno>
#include <deque>
#include <memory>
#include <optional>
#include <thread>

extern "C" {
#include <libavformat/avformat.h>
}

#include "base/clock.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "ingest/segment_writer.h"

namespace vigil::ingest {
namespace {

constexpr int64_t kFragmentNs = 1'000'000'000;
constexpr int64_t kMinStepNs = 11'112;  // just over one 90 kHz tick: strictly increasing dts

struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

struct Input {
  AVFormatContext* fmt = nullptr;
  int stream = -1;
  int audio = -1;  // the AAC track recorded beside the video, if any
  ~Input() {
    if (fmt) avformat_close_input(&fmt);
  }
};

std::string AvError(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

Status Open(const ClipSource& src, Input& in) {
  int rc = avformat_open_input(&in.fmt, src.path.c_str(), nullptr, nullptr);
  if (rc == AVERROR(ENOENT)) {
    return Status::NotFound(fmt::format("source segment {} is gone (removed by retention?)", src.path));
  }
  if (rc < 0) return Status::DataLoss(fmt::format("cannot open {}: {}", src.path, AvError(rc)));
  // No avformat_find_stream_info: the MP4 header names codec, size and the decoder configuration,
  // and probing would read (and decode) frames we may skip.
  for (unsigned i = 0; i < in.fmt->nb_streams; ++i) {
    if (in.fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
      in.stream = static_cast<int>(i);
      break;
    }
  }
  if (in.stream < 0) return Status::DataLoss(fmt::format("{}: no video stream", src.path));
  for (unsigned i = 0; i < in.fmt->nb_streams; ++i) {
    const AVCodecID id = in.fmt->streams[i]->codecpar->codec_id;
    if (id == AV_CODEC_ID_AAC || id == AV_CODEC_ID_FLAC) {
      in.audio = static_cast<int>(i);
      break;
    }
  }
  return Status::Ok();
}

Result<StreamFormat> FormatOf(const ClipSource& src, const AVCodecParameters* par, const AVCodecParameters* audio) {
  StreamFormat f;
  if (par->codec_id == AV_CODEC_ID_H264) {
    f.codec = VideoCodec::kH264;
  } else if (par->codec_id == AV_CODEC_ID_HEVC) {
    f.codec = VideoCodec::kH265;
  } else {
    return Status::DataLoss(fmt::format("{}: codec {} is neither H.264 nor H.265", src.path,
                                        avcodec_get_name(par->codec_id)));
  }
  f.width = par->width;
  f.height = par->height;
  f.codec_data.assign(par->extradata, par->extradata + par->extradata_size);
  if (audio) {
    AudioFormat a;
    a.codec = audio->codec_id == AV_CODEC_ID_FLAC ? AudioCodec::kFlac : AudioCodec::kAac;
    a.sample_rate = audio->sample_rate;
    a.channels = audio->ch_layout.nb_channels > 0 ? audio->ch_layout.nb_channels : 1;
    a.config.assign(audio->extradata, audio->extradata + audio->extradata_size);
    f.audio = a;
  }
  return f;
}

// Hashes whole files on its own thread while the remux runs on the caller's.
class SourceHasher {
 public:
  SourceHasher(const std::vector<ClipSource>& sources, const std::atomic<bool>* cancel)
      : results_(sources.size()) {
    thread_ = std::thread([this, &sources, cancel] {
      for (size_t i = 0; i < sources.size(); ++i) {
        if (cancel && cancel->load()) return;
        if (sources[i].sha256.empty()) continue;  // still being recorded: nothing to compare
        // An unreadable source stays unverified (empty): the manifest says so.
        if (auto h = Sha256File(sources[i].path); h.ok()) results_[i] = std::move(*h);
      }
    });
  }
  ~SourceHasher() { Join(); }
  const std::vector<std::string>& Join() {
    if (thread_.joinable()) thread_.join();
    return results_;
  }

 private:
  std::vector<std::string> results_;
  std::thread thread_;
};

struct Frame {
  PacketPtr pkt;
  int64_t dts_ns = 0;  // wall (what the range and gaps are decided on)
  int64_t pts_ns = 0;
  int64_t dur_ns = 0;
  // Media time as the segment holds it, exact: the clip keeps the camera's frame spacing and
  // composition offsets instead of re-timing frames on wall time (rounding there made equal times).
  int64_t media_dts_ns = 0;  // from the segment's first decode time
  int64_t media_cts_ns = 0;  // presentation - decode
  int64_t media_dur_ns = 0;
  bool key = false;
  size_t source = 0;
};

// An audio frame of a source: its time on the source's media clock (as the video's media_dts_ns)
// and on the wall.
struct AudioPacket {
  PacketPtr pkt;
  int64_t media_ns = 0;
  int64_t wall_ns = 0;
  int64_t duration_ns = 0;
  size_t source = 0;
};

// Frames of a segment that begins within this of where the previous one ended continue its media
// time in the clip; further apart, the clip's timeline keeps the hole (wall time).
constexpr int64_t kContiguousNs = 1'000'000'000;

class ClipBuilder {
 public:
  ClipBuilder(const ClipSpec& spec, const ClipProgress& progress)
      : spec_(spec), progress_(progress), used_(spec.sources.size()) {}

  // Adds one frame in source order.
  Status Add(Frame f, const StreamFormat& format) {
    if (!started_) {
      if (f.key) {
        // The previous GOP's last frame is on screen until this key frame: if `from` falls inside
        // it, the clip starts with that GOP.
        if (!gop_.empty() && f.dts_ns > spec_.from_ns && gop_format_ == format &&
            gop_.back().dts_ns + gop_.back().dur_ns > spec_.from_ns) {
          VIGIL_RETURN_IF_ERROR(Start());
        } else {
          gop_.clear();
          gop_format_ = format;
        }
      }
      if (!started_) {
        if (gop_.empty() && !f.key) return Status::Ok();  // no key frame yet
        bool reached = f.dts_ns >= spec_.from_ns;
        gop_.push_back(std::move(f));
        if (reached) VIGIL_RETURN_IF_ERROR(Start());
        return Status::Ok();
      }
    }
    if (!(format == format_)) {
      truncated_ = fmt::format(
          "the stream changed to {} {}x{} at {}: export the rest as another clip",
          VideoCodecName(format.codec), format.width, format.height, FormatUtc(f.dts_ns));
      return Status::Ok();
    }
    return Write(f);
  }

  // Adds one audio frame of the source being read: written once its source's place in the clip is
  // known (after the video frame that anchors it), inside the range, never overlapping the last.
  Status AddAudio(AudioPacket a) {
    if (a.wall_ns >= spec_.to_ns) return Status::Ok();
    audio_.push_back(std::move(a));
    if (started_) return FlushAudio();
    // Before the start: only what the GOP being held covers is kept.
    while (!audio_.empty() && (gop_.empty() || audio_.front().wall_ns < gop_.front().dts_ns)) audio_.pop_front();
    return Status::Ok();
  }

  bool truncated() const { return !truncated_.empty(); }
  bool started() const { return started_; }
  // Whether the output file was created by this builder (and so is ours to remove on error).
  bool created() const { return out_ != nullptr; }
  const std::vector<bool>& used() const { return used_; }

  Result<ClipResult> Finish() {
    if (!started_) {
      return Status::NotFound(fmt::format("no recorded frames between {} and {}", FormatUtc(spec_.from_ns),
                                          FormatUtc(spec_.to_ns)));
    }
    VIGIL_ASSIGN_OR_RETURN(ClosedFile closed, out_->Close());
    ClipResult r;
    r.start_ns = origin_;
    r.decode_start_ns = first_ns_;
    r.end_ns = end_ns_;
    r.bytes = closed.bytes;
    r.frames = closed.frames;
    r.sha256 = closed.sha256;
    r.codec = VideoCodecName(format_.codec);
    r.width = format_.width;
    r.height = format_.height;
    r.truncated_reason = truncated_;
    return r;
  }

 private:
  Status Start() {
    started_ = true;
    format_ = gop_format_;
    // Presentation starts at `from`, or at the first frame when the footage starts later; the
    // frames before it (from the key frame on) are the pre-roll, hidden by the edit list.
    VIGIL_ASSIGN_OR_RETURN(out_, SegmentWriter::Create(spec_.output, format_, kFragmentNs,
                                                       /*presentation_origin=*/true));
    first_ns_ = gop_.front().dts_ns;
    int64_t first_pts = INT64_MAX;
    for (const Frame& g : gop_) first_pts = std::min(first_pts, g.pts_ns);
    origin_ = std::max(spec_.from_ns, first_pts);
    for (auto& g : gop_) VIGIL_RETURN_IF_ERROR(Write(g));
    gop_.clear();
    return FlushAudio();
  }

  Status FlushAudio() {
    while (!audio_.empty()) {
      AudioPacket& a = audio_.front();
      if (a.source != anchor_source_) {
        if (a.source < anchor_source_ || anchor_source_ == SIZE_MAX) {
          audio_.pop_front();  // a source whose video never made it into the clip
          continue;
        }
        break;  // its source's first video frame is not written yet
      }
      if (format_.audio) {
        const int64_t t = anchor_ + a.media_ns;
        if (t > last_audio_ns_ && t >= first_clip_dts_) {
          Status st = out_->WriteAudio(a.pkt->data, static_cast<size_t>(a.pkt->size), t, a.duration_ns);
          if (st.ok()) last_audio_ns_ = t;
        }
      }
      audio_.pop_front();
    }
    return Status::Ok();
  }

  Status Write(const Frame& f) {
    if (f.source != anchor_source_) {
      // A new segment: it goes on where the last one ended when the index says it follows on,
      // else at its wall time (the hole stays in the timeline, the last frame held).
      const bool follows = wrote_ && std::llabs(f.dts_ns - wall_end_) <= kContiguousNs;
      anchor_ = (follows ? clip_end_ : f.dts_ns - origin_) - f.media_dts_ns;
      anchor_source_ = f.source;
    }
    int64_t dts = anchor_ + f.media_dts_ns;
    if (dts < last_dts_ + kMinStepNs) dts = last_dts_ + kMinStepNs;  // never in a sound segment
    if (!wrote_) first_clip_dts_ = dts;
    const int64_t pts = dts + f.media_cts_ns;
    VIGIL_RETURN_IF_ERROR(out_->Write(f.pkt->data, static_cast<size_t>(f.pkt->size), dts, pts,
                                      f.media_dur_ns, f.key));
    wrote_ = true;
    last_dts_ = dts;
    clip_end_ = dts + f.media_dur_ns;
    wall_end_ = f.dts_ns + f.dur_ns;
    used_[f.source] = true;
    end_ns_ = std::max(end_ns_, f.pts_ns + f.dur_ns);
    if (started_ && !audio_.empty()) VIGIL_RETURN_IF_ERROR(FlushAudio());
    if (progress_ && out_->bytes() != reported_) {
      reported_ = out_->bytes();
      progress_(reported_, std::max<int64_t>(0, end_ns_ - origin_));
    }
    return Status::Ok();
  }

  const ClipSpec& spec_;
  const ClipProgress& progress_;
  bool started_ = false;
  std::deque<Frame> gop_;
  StreamFormat gop_format_, format_;
  std::unique_ptr<SegmentWriter> out_;
  int64_t first_ns_ = 0, end_ns_ = 0, last_dts_ = INT64_MIN / 2, reported_ = 0;
  int64_t origin_ = 0;            // wall time of clip time 0, where presentation starts
  size_t anchor_source_ = SIZE_MAX;
  int64_t anchor_ = 0;            // clip time - media time for the current source
  int64_t clip_end_ = 0;          // clip time where the last written frame ends
  int64_t wall_end_ = 0;          // wall time where it ends
  bool wrote_ = false;
  int64_t first_clip_dts_ = 0;       // clip time of the first video frame (the pre-roll's start)
  int64_t last_audio_ns_ = INT64_MIN;  // clip time of the last audio frame written
  std::deque<AudioPacket> audio_;    // waiting for their source's anchor
  std::vector<bool> used_;
  std::string truncated_;
};

}  // namespace

Result<ClipResult> WriteClip(const ClipSpec& spec, const ClipProgress& progress,
                             const std::atomic<bool>* cancel) {
  if (spec.to_ns <= spec.from_ns) {
    return Status::InvalidArgument(
        fmt::format("clip range is empty or inverted: {} .. {}", spec.from_ns, spec.to_ns));
  }
  std::optional<SourceHasher> hasher;
  if (spec.verify_sources) hasher.emplace(spec.sources, cancel);
  ClipBuilder builder(spec, progress);
  Status failed;
  bool done = false;
  for (size_t i = 0; i < spec.sources.size() && !done && failed.ok(); ++i) {
    const ClipSource& src = spec.sources[i];
    Input in;
    if (Status st = Open(src, in); !st.ok()) {
      // A segment still being recorded may not have its first fragment yet.
      if (src.sha256.empty() && src.end_ns == src.start_ns) continue;
      failed = st;
      break;
    }
    AVStream* st = in.fmt->streams[in.stream];
    auto format = FormatOf(src, st->codecpar, in.audio >= 0 ? in.fmt->streams[in.audio]->codecpar : nullptr);
    if (!format.ok()) {
      failed = format.error();
      break;
    }
    // Media time → wall time, linear over the segment (the index's span already carries the slew).
    double scale = 1.0;
    if (src.media_duration_90k > 0 && src.end_ns > src.start_ns) {
      scale = static_cast<double>(src.end_ns - src.start_ns) /
              (static_cast<double>(src.media_duration_90k) * 1e9 / 90000.0);
    }
    const AVRational ns{1, 1'000'000'000};
    int64_t first_dts = AV_NOPTS_VALUE;
    std::optional<Frame> pending;
    int64_t period = 0;
    std::vector<PacketPtr> early_audio;
    auto add_audio = [&]() -> Status {
      const AVStream* as = in.fmt->streams[in.audio];
      for (PacketPtr& p : early_audio) {
        AudioPacket a;
        a.media_ns = av_rescale_q(p->pts, as->time_base, ns) - av_rescale_q(first_dts, st->time_base, ns);
        a.wall_ns = src.start_ns + static_cast<int64_t>(static_cast<double>(a.media_ns) * scale);
        a.duration_ns = av_rescale_q(p->duration, as->time_base, ns);
        a.source = i;
        a.pkt = std::move(p);
        VIGIL_RETURN_IF_ERROR(builder.AddAudio(std::move(a)));
      }
      early_audio.clear();
      return Status::Ok();
    };
    for (;;) {
      if (cancel && cancel->load()) {
        failed = Status::Unavailable("export cancelled");
        break;
      }
      PacketPtr pkt(av_packet_alloc());
      int rc = av_read_frame(in.fmt, pkt.get());
      if (rc < 0) break;  // end of file, or the unfinished fragment of a segment being recorded
      if (pkt->stream_index == in.audio && pkt->pts != AV_NOPTS_VALUE) {
        // Audio goes on the video's media clock (from the segment's first video frame): what comes
        // before that frame is read waits for it.
        early_audio.push_back(std::move(pkt));
        if (first_dts == AV_NOPTS_VALUE) continue;
        failed = add_audio();
        if (!failed.ok()) break;
        continue;
      }
      if (pkt->stream_index != in.stream || pkt->dts == AV_NOPTS_VALUE) continue;
      if (first_dts == AV_NOPTS_VALUE) first_dts = pkt->dts;
      if (!early_audio.empty() && !(failed = add_audio()).ok()) break;
      Frame f;
      int64_t media = av_rescale_q(pkt->dts - first_dts, st->time_base, ns);
      f.media_dts_ns = media;
      f.dts_ns = src.start_ns + static_cast<int64_t>(static_cast<double>(media) * scale);
      int64_t pts_off = pkt->pts == AV_NOPTS_VALUE ? 0 : av_rescale_q(pkt->pts - pkt->dts, st->time_base, ns);
      f.media_cts_ns = pts_off;
      f.pts_ns = f.dts_ns + static_cast<int64_t>(static_cast<double>(pts_off) * scale);
      f.media_dur_ns = av_rescale_q(pkt->duration, st->time_base, ns);
      f.dur_ns = static_cast<int64_t>(static_cast<double>(f.media_dur_ns) * scale);
      f.key = pkt->flags & AV_PKT_FLAG_KEY;
      if (f.dts_ns >= spec.to_ns && f.pts_ns >= spec.to_ns) {
        done = true;
        break;
      }
      f.pkt = std::move(pkt);
      f.source = i;
      // A frame's duration, when the container has none, is the time to the next frame: frames pass
      // through a one-frame delay.
      if (pending) {
        period = f.dts_ns - pending->dts_ns;
        if (pending->dur_ns <= 0) {
          pending->dur_ns = period;
          pending->media_dur_ns = f.media_dts_ns - pending->media_dts_ns;
        }
        failed = builder.Add(std::move(*pending), *format);
        if (!failed.ok() || builder.truncated()) break;
      }
      pending = std::move(f);
    }
    if (pending && failed.ok() && !builder.truncated()) {
      if (pending->dur_ns <= 0) {
        pending->dur_ns = period;
        pending->media_dur_ns = period;
      }
      failed = builder.Add(std::move(*pending), *format);
    }
    if (builder.truncated()) done = true;
  }
  auto hashes = hasher ? hasher->Join() : std::vector<std::string>(spec.sources.size());
  if (failed.ok()) {
    auto result = builder.Finish();
    if (result.ok()) {
      result->sources.resize(spec.sources.size());
      for (size_t i = 0; i < spec.sources.size(); ++i) {
        auto& c = result->sources[i];
        c.used = builder.used()[i];
        c.actual_sha256 = hashes[i];
        c.matches = !hashes[i].empty() && hashes[i] == spec.sources[i].sha256;
      }
      return result;
    }
    failed = result.error();
  }
  if (builder.created()) (void)RemoveFile(spec.output);
  return failed;
}

}  // namespace vigil::ingest
