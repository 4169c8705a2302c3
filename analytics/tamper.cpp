#include "analytics/tamper.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "base/clock.h"

namespace vigil::analytics {

namespace {
const cv::Size kWork(320, 180);
// Phase correlation whitens the spectrum, so pixel noise would weigh as much as the scene's
// structure: it runs on a smaller, smoothed picture.
const cv::Size kShiftWork(128, 72);
// Sharpness is measured per tile of a kTiles × kTiles grid.
constexpr int kTiles = 4;

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}
}  // namespace

namespace {
// Where the picture has structure: its strongest fifth of gradient magnitudes (and at least an
// 8-level step), inside `mask`. A camera turned moves all of it; an object passing covers some.
cv::Mat StrongestEdges(const cv::Mat& picture, const cv::Mat& mask) {
  cv::Mat gx, gy, mag;
  cv::Sobel(picture, gx, CV_32F, 1, 0);
  cv::Sobel(picture, gy, CV_32F, 0, 1);
  cv::magnitude(gx, gy, mag);
  std::vector<float> v;
  for (int y = 0; y < mag.rows; ++y) {
    for (int x = 0; x < mag.cols; ++x) {
      if (mask.at<uchar>(y, x)) v.push_back(mag.at<float>(y, x));
    }
  }
  float cut = 4.0f * 8;  // 3×3 Sobel answers 4 per level of a step: an 8-level step
  if (!v.empty()) {
    auto at = v.begin() + static_cast<long>(v.size() * 4 / 5);
    std::nth_element(v.begin(), at, v.end());
    cut = std::max(cut, *at);
  }
  return (mag >= cut) & mask;
}

cv::Mat MaskAt(const std::vector<Polygon>& masks, cv::Size size) {
  cv::Mat m(size, CV_8U, cv::Scalar(255));
  for (const Polygon& poly : masks) {
    std::vector<cv::Point> pts;
    for (const auto& p : poly) {
      pts.emplace_back(static_cast<int>(std::lround(p.x * size.width)),
                       static_cast<int>(std::lround(p.y * size.height)));
    }
    cv::fillPoly(m, std::vector<std::vector<cv::Point>>{pts}, cv::Scalar(0));
  }
  return m;
}
}  // namespace

TamperDetector::TamperDetector(TamperSettings settings, double fps, const std::vector<Polygon>& masks,
                               int64_t* next_key)
    : settings_(settings), fps_(fps), next_key_(next_key) {
  learn_frames_ = std::max(3, static_cast<int>(std::lround(settings.learn_s * fps)));
  cv::createHanningWindow(window_, kShiftWork, CV_32F);
  mask_ = MaskAt(masks, kWork);
  // The Laplacian of a masked edge's neighbours sees the mask's content: keep away from it.
  cv::erode(mask_, lap_mask_, cv::getStructuringElement(cv::MORPH_RECT, {5, 5}));
  coarse_mask_ = MaskAt(masks, kShiftWork);
}

TamperMeasure TamperDetector::Measure(const cv::Mat& grey) {
  cv::resize(grey, small_, kWork, 0, 0, cv::INTER_AREA);
  small_.convertTo(f32_, CV_32F);
  TamperMeasure m;
  cv::Scalar mean, sd;
  cv::meanStdDev(f32_, mean, sd, mask_);
  m.contrast = sd[0] / std::max(mean[0], 4.0);
  cv::Mat blurred, lap;
  cv::GaussianBlur(f32_, blurred, cv::Size(3, 3), 0);
  cv::Laplacian(blurred, lap, CV_32F);
  tile_sharpness_.assign(kTiles * kTiles, -1.0);
  for (int ty = 0; ty < kTiles; ++ty) {
    for (int tx = 0; tx < kTiles; ++tx) {
      cv::Rect r(tx * kWork.width / kTiles, ty * kWork.height / kTiles, kWork.width / kTiles,
                 kWork.height / kTiles);
      if (cv::countNonZero(lap_mask_(r)) < r.area() / 4) continue;  // mostly masked: no measure
      cv::Scalar lm, lsd, tm, tsd;
      cv::meanStdDev(lap(r), lm, lsd, lap_mask_(r));
      cv::meanStdDev(f32_(r), tm, tsd, lap_mask_(r));
      tile_sharpness_[ty * kTiles + tx] = (lsd[0] * lsd[0]) / std::max(tm[0] * tm[0], 16.0);
    }
  }
  if (!ref_tile_sharpness_.empty()) {
    std::vector<double> ratios;
    for (size_t i = 0; i < tile_sharpness_.size(); ++i) {
      if (tile_sharpness_[i] < 0 || ref_tile_sharpness_[i] <= 0) continue;
      ratios.push_back(tile_sharpness_[i] / ref_tile_sharpness_[i]);
    }
    m.sharpness = ratios.empty() ? 1.0 : Median(ratios);
  } else {
    m.sharpness = 1.0;
  }
  cv::resize(blurred, coarse_, kShiftWork, 0, 0, cv::INTER_AREA);
  cv::GaussianBlur(coarse_, coarse_, cv::Size(3, 3), 0);
  coarse_.setTo(mean[0], ~coarse_mask_);  // masked areas flat: they carry no position
  coarse_.copyTo(plain_);
  if (!ref_plain_.empty()) {
    // Brightness matched, as the motion stage does: auto exposure is not a new view.
    const double m_ref = cv::mean(ref_plain_, coarse_mask_)[0], m_now = cv::mean(plain_, coarse_mask_)[0];
    cv::Mat diff;
    cv::absdiff(plain_ * (m_ref / std::max(m_now, 1.0)), ref_plain_, diff);
    cv::Mat over = (diff > 20.0) & ref_edges_;
    m.changed = cv::countNonZero(over) / std::max(1.0, static_cast<double>(cv::countNonZero(ref_edges_)));
  }
  if (!prev_plain_.empty()) {
    cv::Mat diff;
    cv::absdiff(plain_, prev_plain_, diff);
    cv::Mat over = (diff > 12.0) & coarse_mask_;
    m.unsteady = cv::countNonZero(over) / std::max(1.0, static_cast<double>(cv::countNonZero(coarse_mask_)));
  }
  plain_.copyTo(prev_plain_);
  // Windowed here, not by phaseCorrelate: OpenCV 4.6 multiplies the window into its inputs in
  // place, which would fade the reference a little more at every call.
  cv::multiply(coarse_, window_, coarse_);
  if (!ref_.empty()) {
    double response = 0;
    cv::Point2d shift = cv::phaseCorrelate(ref_, coarse_, cv::noArray(), &response);
    m.shift = shift * (static_cast<double>(kWork.width) / kShiftWork.width);
    m.response = response;
  }
  return m;
}

std::optional<EventType> TamperDetector::Classify(const TamperMeasure& m) const {
  if (m.contrast < ref_contrast_ / 3) return EventType::kTamperCovered;
  if (m.sharpness < 1.0 / 3) return EventType::kTamperDefocused;
  double shift = std::hypot(m.shift.x, m.shift.y);
  // A shift counts where the peak is a peak: with a collapsed one its place is noise.
  const bool peak = m.response >= ref_response_ * 0.3;
  if ((peak && shift > 0.04 * kWork.width) || (!peak && m.changed > 0.25 && m.unsteady < 0.02)) {
    return EventType::kTamperMoved;
  }
  return std::nullopt;
}

void TamperDetector::Process(const cv::Mat& frame, int64_t t_ns, std::vector<Detection>& out) {
  if (frame.channels() == 3) {
    cv::cvtColor(frame, grey_, cv::COLOR_BGR2GRAY);
  } else {
    grey_ = frame;
  }
  last_ns_ = t_ns;
  if (learnt_ < learn_frames_) {
    if (learnt_ == 0) {
      learn_contrast_.clear();
      learn_response_.clear();
      learn_tiles_.assign(kTiles * kTiles, {});
      ref_tile_sharpness_.clear();
      ref_.release();
      ref_plain_.release();
    }
    last_ = Measure(grey_);
    if (ref_.empty()) {
      coarse_.copyTo(ref_);
      plain_.copyTo(ref_plain_);
      ref_edges_ = StrongestEdges(ref_plain_, coarse_mask_);
    } else {
      learn_response_.push_back(last_.response);
    }
    learn_contrast_.push_back(last_.contrast);
    for (size_t i = 0; i < tile_sharpness_.size(); ++i) {
      if (tile_sharpness_[i] >= 0) learn_tiles_[i].push_back(tile_sharpness_[i]);
    }
    if (++learnt_ == learn_frames_) {
      ref_contrast_ = Median(learn_contrast_);
      ref_tile_sharpness_.assign(kTiles * kTiles, 0.0);
      for (size_t i = 0; i < learn_tiles_.size(); ++i) ref_tile_sharpness_[i] = Median(learn_tiles_[i]);
      ref_response_ = Median(learn_response_);
    }
    return;
  }
  last_ = Measure(grey_);
  auto cond = Classify(last_);
  const int64_t confirm = static_cast<int64_t>(settings_.confirm_s * kNsPerSec);
  const int64_t clear = static_cast<int64_t>(settings_.clear_s * kNsPerSec);
  if (active_) {
    if (cond) {
      last_bad_ns_ = t_ns;
      good_since_ = 0;
      return;
    }
    if (good_since_ == 0) good_since_ = t_ns;
    if (t_ns - good_since_ < clear) return;
    Detection d;
    d.phase = Phase::kEnd;
    d.type = *active_;
    d.start_ns = active_since_;
    d.end_ns = last_bad_ns_;
    d.key = active_key_;
    out.push_back(d);
    active_.reset();
    learnt_ = 0;  // the view is back: learn it again (light may have changed meanwhile)
    return;
  }
  if (!cond) {
    pending_.reset();
    return;
  }
  if (pending_ != cond) {
    pending_ = cond;
    pending_since_ = t_ns;
    pending_frames_ = 0;
  }
  ++pending_frames_;
  if (t_ns - pending_since_ < confirm) return;
  active_ = cond;
  active_since_ = pending_since_;
  active_key_ = (*next_key_)++;
  last_bad_ns_ = t_ns;
  good_since_ = 0;
  pending_.reset();
  Detection d;
  d.phase = Phase::kStart;
  d.type = *active_;
  d.start_ns = d.end_ns = active_since_;
  d.score = 1.0;
  d.key = active_key_;
  d.attributes = fmt::format(R"({{"contrast":{:.3f},"sharpness":{:.3f},"shift_px":{:.1f},"response":{:.3f},"changed":{:.3f},"unsteady":{:.3f}}})",
                             last_.contrast, last_.sharpness, std::hypot(last_.shift.x, last_.shift.y),
                             last_.response, last_.changed, last_.unsteady);
  out.push_back(d);
}

void TamperDetector::Flush(std::vector<Detection>& out) {
  if (!active_) return;
  Detection d;
  d.phase = Phase::kEnd;
  d.type = *active_;
  d.start_ns = active_since_;
  d.end_ns = last_bad_ns_;
  d.key = active_key_;
  out.push_back(d);
  active_.reset();
}

}  // namespace vigil::analytics
