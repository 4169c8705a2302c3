#include "analytics/motion.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace vigil::analytics {

namespace {
// Share of the analysed picture that changed beyond which a frame is a global change, not objects.
constexpr double kGlobalShare = 0.35;
}  // namespace

MotionDetector::MotionDetector(const MotionSettings& settings, cv::Size frame_size,
                               const std::vector<Polygon>& masks, double fps)
    : settings_(settings), frame_size_(frame_size) {
  // Half resolution for the usual 640x360 analysis frame: objects of a few percent of the height
  // are still 10+ pixels, and the model costs a quarter.
  int work_w = frame_size.width >= 480 ? frame_size.width / 2 : frame_size.width;
  scale_ = static_cast<double>(frame_size.width) / work_w;
  work_size_ = cv::Size(work_w, static_cast<int>(std::lround(frame_size.height / scale_)));
  warmup_frames_ = std::max(3, static_cast<int>(std::lround(settings.warmup_s * fps)));
  mask_ = cv::Mat(work_size_, CV_8U, cv::Scalar(255));
  for (const Polygon& poly : masks) {
    std::vector<cv::Point> pts;
    for (const auto& p : poly) {
      pts.emplace_back(static_cast<int>(std::lround(p.x * work_size_.width)),
                       static_cast<int>(std::lround(p.y * work_size_.height)));
    }
    cv::fillPoly(mask_, std::vector<std::vector<cv::Point>>{pts}, cv::Scalar(0));
  }
  fps_ = fps;
}

cv::Rect MotionDetector::ToWork(const cv::Rect& box) const {
  cv::Rect r(static_cast<int>(box.x / scale_), static_cast<int>(box.y / scale_),
             static_cast<int>(std::ceil(box.width / scale_)), static_cast<int>(std::ceil(box.height / scale_)));
  return r & cv::Rect(0, 0, work_size_.width, work_size_.height);
}

void MotionDetector::Reset() {
  prev_clean_.release();
  prev_small_.release();
  prev_boxes_.clear();
  frames_ = 0;
  global_frames_ = 0;
}

std::vector<Blob> MotionDetector::Process(const cv::Mat& frame, const std::vector<cv::Rect>& hold) {
  // Colour, not grey: a red coat on a grey road differs by little in brightness.
  if (frame.channels() == 3) {
    cv::resize(frame, small_, work_size_, 0, 0, cv::INTER_AREA);
  } else {
    cv::cvtColor(frame, grey_, cv::COLOR_GRAY2BGR);
    cv::resize(grey_, small_, work_size_, 0, 0, cv::INTER_AREA);
  }
  small_.convertTo(g32_, CV_32FC3);
  cv::GaussianBlur(g32_, g32_, cv::Size(3, 3), 0);

  if (frames_ == 0) {
    g32_.copyTo(bg_);
    g32_.copyTo(prev_small_);
    hold_activity_.assign(hold.size(), 0.0);
    var_ = cv::Mat(work_size_, CV_32F, cv::Scalar(36.0f));
    fg_ = cv::Mat::zeros(work_size_, CV_8U);
    ++frames_;
    global_change_ = false;
    return {};
  }

  // Gain compensation: a light ramp scales the whole picture. The gain is the median of the
  // per-pixel brightness ratios, not the ratio of the means: a white car filling a quarter of an
  // overhead view makes auto exposure darken the road, and would bias a mean towards itself (the
  // road then looks darker than its background everywhere, the car like part of the road).
  {
    const cv::Matx13f sum3(1.0f, 1.0f, 1.0f);
    cv::transform(bg_, bg_sum_, sum3);
    cv::transform(g32_, g_sum_, sum3);
    ratios_.clear();
    for (int y = 1; y < work_size_.height; y += 3) {
      const float* b = bg_sum_.ptr<float>(y);
      const float* g = g_sum_.ptr<float>(y);
      const uchar* m = mask_.ptr<uchar>(y);
      for (int x = 1; x < work_size_.width; x += 3) {
        if (m[x] && g[x] > 9.0f) ratios_.push_back(b[x] / g[x]);
      }
    }
    if (ratios_.size() > 16) {
      auto mid = ratios_.begin() + static_cast<long>(ratios_.size() / 2);
      std::nth_element(ratios_.begin(), mid, ratios_.end());
      g32_ *= std::clamp(static_cast<double>(*mid), 0.2, 5.0);
    }
  }

  cv::Mat diff = g32_ - bg_;
  // Mean squared difference over the three channels, one value per pixel.
  cv::Mat sq = diff.mul(diff);
  cv::Mat d2;
  cv::transform(sq, d2, cv::Matx13f(1.0f / 3, 1.0f / 3, 1.0f / 3));
  // Foreground: beyond k sigma of the pixel's own variation and beyond an absolute floor (noise-free
  // flat areas have a tiny variance).
  const double k = 4.0 - 2.0 * settings_.sensitivity;
  const double floor_diff = 22.0 - 14.0 * settings_.sensitivity;
  cv::Mat over_var = d2 > var_ * (k * k);
  cv::Mat over_floor = d2 > floor_diff * floor_diff;
  cv::bitwise_and(over_var, over_floor, fg_);
  cv::bitwise_and(fg_, mask_, fg_);

  const bool warming = frames_ < warmup_frames_;
  const double analysed = std::max(1.0, static_cast<double>(cv::countNonZero(mask_)));
  global_change_ = !warming && cv::countNonZero(fg_) > kGlobalShare * analysed;

  // Learning rates per frame from time constants, so the model behaves the same at any analysis rate.
  auto rate = [this](double seconds) { return static_cast<float>(1.0 - std::exp(-1.0 / (fps_ * seconds))); };
  float a_bg = warming ? 0.3f : rate(4.0);
  float a_fg = warming ? 0.3f : rate(80.0);
  float b_var = warming ? 0.3f : rate(10.0);
  float b_var_fg = warming ? 0.3f : rate(100.0);
  if (global_change_) {
    // Learn the new picture quickly if it stays (lights on, camera turned): after 2 s start over.
    if (++global_frames_ > static_cast<int>(2 * fps_)) Reset();
  } else {
    global_frames_ = 0;
  }
  cv::Mat alpha(work_size_, CV_32FC3, cv::Scalar::all(a_bg));
  alpha.setTo(cv::Scalar::all(a_fg), fg_);
  const bool holding = !warming && !global_change_ && !hold.empty();
  if (holding) {
    hold_.create(work_size_, CV_8U);
    hold_.setTo(0);
    for (const cv::Rect& h : hold) {
      const cv::Rect r = ToWork(h);
      if (!r.empty()) hold_(r).setTo(255);
    }
    alpha.setTo(cv::Scalar::all(0), hold_);
  }
  hold_activity_.assign(hold.size(), 0.0);
  if (!prev_small_.empty() && !hold.empty()) {
    // Pixels that changed since the frame before, once for the whole picture (boxes overlap).
    cv::absdiff(g32_, prev_small_, step_);
    cv::transform(step_, moved_, cv::Matx13f(1.0f / 3, 1.0f / 3, 1.0f / 3));
    cv::compare(moved_, 12.0, stirred_, cv::CMP_GT);
    for (size_t i = 0; i < hold.size(); ++i) {
      const cv::Rect r = ToWork(hold[i]);
      if (r.empty()) continue;
      hold_activity_[i] = cv::countNonZero(stirred_(r)) / static_cast<double>(r.area());
    }
  }
  g32_.copyTo(prev_small_);
  cv::Mat step = diff.mul(alpha);
  bg_ += step;
  // Variance learns fast where the picture is background and slowly under objects: a person
  // walking slowly towards the camera covers the same pixels for seconds, and a variance inflated
  // by its own body would hide its legs (and move its foot point).
  cv::Mat beta(work_size_, CV_32F, cv::Scalar(b_var));
  beta.setTo(b_var_fg, fg_);
  if (holding) beta.setTo(0, hold_);
  cv::Mat var_step = (d2 - var_).mul(beta);
  var_ += var_step;
  cv::max(var_, 16.0, var_);
  cv::min(var_, 60.0 * 60.0, var_);
  ++frames_;
  if (warming || global_change_ || frames_ == 1) {
    prev_clean_.release();
    prev_boxes_.clear();
    return {};
  }

  // Clean up: open removes speckle and thin streaks, close joins an object's parts.
  static const cv::Mat kOpen = cv::getStructuringElement(cv::MORPH_RECT, {2, 2});
  static const cv::Mat kClose = cv::getStructuringElement(cv::MORPH_ELLIPSE, {7, 7});
  cv::Mat clean;
  cv::morphologyEx(fg_, clean, cv::MORPH_OPEN, kOpen);
  cv::morphologyEx(clean, clean, cv::MORPH_CLOSE, kClose);

  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(clean, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  std::vector<Blob> blobs;
  const double min_h = settings_.min_object * frame_size_.height;
  // Persistence: an object is where something was already moving a frame ago (give or take a
  // step); rain streaks, splashes and flicker are somewhere else every frame. Objects too fast for
  // their own width (a runner, a car) instead find a blob of their size near them a frame ago.
  static const cv::Mat kReach = cv::getStructuringElement(cv::MORPH_ELLIPSE, {7, 7});
  cv::Mat was;
  if (!prev_clean_.empty()) cv::dilate(prev_clean_, was, kReach);
  cv::Mat blob_mask = cv::Mat::zeros(work_size_, CV_8U);
  std::vector<cv::Rect> sized;
  for (const auto& c : contours) {
    cv::Rect r = cv::boundingRect(c);
    cv::Rect box(static_cast<int>(r.x * scale_), static_cast<int>(r.y * scale_),
                 static_cast<int>(std::ceil(r.width * scale_)),
                 static_cast<int>(std::ceil(r.height * scale_)));
    box &= cv::Rect(0, 0, frame_size_.width, frame_size_.height);
    double area = cv::contourArea(c) * scale_ * scale_;
    if (box.height < min_h || area < min_h * min_h / 6) continue;
    sized.push_back(box);
    if (was.empty()) continue;
    blob_mask(r).setTo(0);
    cv::drawContours(blob_mask, std::vector<std::vector<cv::Point>>{c}, 0, cv::Scalar(255), cv::FILLED);
    cv::Mat inter;
    cv::bitwise_and(blob_mask(r), was(r), inter);
    double area_px = std::max(1, cv::countNonZero(blob_mask(r)));
    bool stayed = cv::countNonZero(inter) >= 0.5 * area_px;
    if (!stayed && box.height >= 2 * min_h) {
      const double reach = box.width + box.height;
      for (const cv::Rect& p : prev_boxes_) {
        double hr = static_cast<double>(p.height) / box.height;
        cv::Point2d d = (cv::Point2d(p.x + p.width / 2.0, p.y + p.height / 2.0) -
                         cv::Point2d(box.x + box.width / 2.0, box.y + box.height / 2.0));
        if (hr > 0.6 && hr < 1.6 && std::hypot(d.x, d.y) <= reach) {
          stayed = true;
          break;
        }
      }
    }
    if (stayed) blobs.push_back({box, area});
  }
  prev_boxes_ = std::move(sized);
  prev_clean_ = clean;
  return blobs;
}

}  // namespace vigil::analytics
