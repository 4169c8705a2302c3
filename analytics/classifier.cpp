#include "analytics/classifier.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "base/clock.h"

namespace vigil::analytics {

namespace {

// Where Debian's opencv-data puts the shipped cascades.
constexpr const char* kCascadeDir = "/usr/share/opencv4/haarcascades/";

// An edge within 2 pixels of the frame's is the frame's.
bool Cut(const cv::Rect& b, cv::Size frame) {
  return b.x <= 2 || b.y <= 2 || b.x + b.width >= frame.width - 2 || b.y + b.height >= frame.height - 2;
}

// `r` of `img`, the part outside the picture filled by repeating its edge.
cv::Mat CropPadded(const cv::Mat& img, const cv::Rect& r) {
  cv::Rect in = r & cv::Rect(0, 0, img.cols, img.rows);
  if (in.empty()) return {};
  cv::Mat out;
  cv::copyMakeBorder(img(in), out, in.y - r.y, r.y + r.height - (in.y + in.height), in.x - r.x,
                     r.x + r.width - (in.x + in.width), cv::BORDER_REPLICATE);
  return out;
}

}  // namespace

cv::Mat ClassCrop(const cv::Mat& frame, const cv::Rect& box, int side) {
  const int s = std::max(1, static_cast<int>(std::max(box.width, box.height) * 1.1));
  const cv::Point c(box.x + box.width / 2, box.y + box.height / 2);
  cv::Mat crop = CropPadded(frame, {c.x - s / 2, c.y - s / 2, s, s});
  if (crop.empty()) return crop;
  cv::Mat out;
  cv::resize(crop, out, {side, side}, 0, 0, crop.cols > side ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

double TrackAspect(const Track& track, cv::Size frame_size) {
  std::vector<double> a;
  for (const TrackPoint& p : track.path) {
    if (p.observed && !Cut(p.box, frame_size) && p.box.width > 0) {
      a.push_back(static_cast<double>(p.box.height) / p.box.width);
    }
  }
  if (a.empty()) return static_cast<double>(track.box.height) / std::max(1, track.box.width);
  std::nth_element(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(a.size() / 2), a.end());
  return a[a.size() / 2];
}

double TrackSpeed(const Track& track, cv::Size frame_size) {
  // The observed positions of the last second (at least the last two).
  std::vector<const TrackPoint*> pts;
  for (auto it = track.path.rbegin(); it != track.path.rend(); ++it) {
    if (!it->observed) continue;
    if (pts.size() >= 2 && pts.front()->t_ns - it->t_ns > kNsPerSec) break;
    pts.push_back(&*it);
  }
  if (pts.size() < 2 || track.max_height <= 0) return 0;
  const TrackPoint& last = *pts.front();
  const TrackPoint& first = *pts.back();
  const double dt = static_cast<double>(last.t_ns - first.t_ns) / kNsPerSec;
  if (dt <= 0) return 0;
  // The foot point; the head point while the frame cuts the bottom; the box's centre when it cuts
  // both (an object taller than the view: a close car in an overhead camera).
  const auto bottom_cut = [&](const cv::Rect& b) { return b.y + b.height >= frame_size.height - 2; };
  const auto top_cut = [](const cv::Rect& b) { return b.y <= 2; };
  cv::Point2d a, b;
  if (!bottom_cut(first.box) && !bottom_cut(last.box)) {
    a = FootOf(first.box);
    b = FootOf(last.box);
  } else if (!top_cut(first.box) && !top_cut(last.box)) {
    a = {first.box.x + first.box.width / 2.0, static_cast<double>(first.box.y)};
    b = {last.box.x + last.box.width / 2.0, static_cast<double>(last.box.y)};
  } else {
    a = (first.box.tl() + first.box.br()) * 0.5;
    b = (last.box.tl() + last.box.br()) * 0.5;
  }
  return cv::norm(b - a) / dt / track.max_height;
}

ObjectClassifier::ObjectClassifier(ClassifierSettings settings, cv::Size analysis_size)
    : settings_(settings), size_(analysis_size) {
  svm_ = cv::HOGDescriptor::getDefaultPeopleDetector();
  hog_.setSVMDetector(svm_);
  // Missing cascades (opencv-data not installed) leave the face cue out; cascades() says so.
  face_.load(std::string(kCascadeDir) + "haarcascade_frontalface_default.xml");
  upper_.load(std::string(kCascadeDir) + "haarcascade_upperbody.xml");
}

double ObjectClassifier::PeopleSvm(const cv::Mat& frame, const cv::Rect& box) {
  // The detector's window is 64×128 with the person about 96 pixels tall in it; smaller than 32
  // pixels, there is nothing to see.
  if (box.height < 32) return -10;
  const double win_h = box.height * 128.0 / 96.0;
  const double win_w = win_h / 2;
  // A window and a quarter each way: the detector tries 3×5 shifts of 8 pixels (the blob's box is
  // not where the detector would put a person).
  const double reg_w = win_w * 80 / 64, reg_h = win_h * 160 / 128;
  const cv::Point2d c(box.x + box.width / 2.0, box.y + box.height / 2.0);
  cv::Rect region(static_cast<int>(c.x - reg_w / 2), static_cast<int>(c.y - reg_h / 2),
                  static_cast<int>(reg_w), static_cast<int>(reg_h));
  cv::Mat crop = CropPadded(frame, region);
  if (crop.empty()) return -10;
  cv::Mat patch;
  if (crop.channels() == 3) cv::cvtColor(crop, crop, cv::COLOR_BGR2GRAY);
  cv::resize(crop, patch, cv::Size(80, 160), 0, 0, crop.rows > 160 ? cv::INTER_AREA : cv::INTER_LINEAR);
  std::vector<cv::Point> found;
  std::vector<double> weights;
  hog_.detect(patch, found, weights, -100.0, cv::Size(8, 8), cv::Size(0, 0));
  double best = -10;
  for (double w : weights) best = std::max(best, w);
  return best;
}

bool ObjectClassifier::Face(const cv::Mat& frame, const cv::Rect& box) {
  if (!cascades() || box.height < 24) return false;
  cv::Rect upper(box.x, box.y, box.width, std::max(1, box.height / 2));
  upper &= cv::Rect(0, 0, frame.cols, frame.rows);
  if (upper.width < 20 || upper.height < 20) return false;
  // At most 160 pixels wide: a face or shoulders fill a good part of the box's width.
  cv::Mat roi = frame(upper), small;
  if (roi.channels() == 3) cv::cvtColor(roi, roi, cv::COLOR_BGR2GRAY);
  const double f = std::min(1.0, 160.0 / upper.width);
  if (f < 1) {
    cv::resize(roi, small, cv::Size(), f, f, cv::INTER_AREA);
  } else {
    small = roi;
  }
  const int min_face = std::max(16, small.cols / 6);
  std::vector<cv::Rect> hits;
  face_.detectMultiScale(small, hits, 1.15, 4, 0, cv::Size(min_face, min_face));
  if (!hits.empty()) return true;
  upper_.detectMultiScale(small, hits, 1.15, 3, 0, cv::Size(std::max(22, small.cols / 3), std::max(18, small.cols / 4)));
  return !hits.empty();
}

ClassLook ObjectClassifier::Look(const cv::Mat& frame, const cv::Rect& box, double aspect, double speed) {
  ClassLook look;
  look.box = box;
  look.aspect = aspect;
  look.speed = speed;
  look.people_svm = PeopleSvm(frame, box);
  look.face = Face(frame, box);
  // Evidence → class scores (log-odds), then normalised. The weights follow what each cue means
  // (see the header), not a fit to the test clips.
  const bool seen = look.people_svm > -10;
  // A box the frame's edge cuts shows part of the object: the people detector, trained on whole
  // people, counts for a third, and its shape only says "at least this tall".
  const bool cut = Cut(box, frame.size());
  const double svm = seen ? std::clamp(look.people_svm, -2.0, 2.0) * (cut ? 0.3 : 1.0) : 0.0;
  const double face = look.face ? 1.0 : 0.0;
  const double tall = aspect >= 1.6 ? 1.0 : aspect < 1.0 && !cut ? -1.0 : 0.0;
  const double walks = speed < 1.5 ? 1.0 : speed < 2.5 ? 0.0 : -1.0;
  std::array<double, 4> logit{
      1.5 * svm + 2.0 * face + 0.8 * tall + 0.8 * walks,
      -0.8 * svm - 1.5 * face - 0.8 * tall - 0.8 * walks,
      -0.5 * svm - 1.0 * face + (speed >= 2.0 && speed <= 6.0 ? 0.8 : -0.8) +
          (aspect >= 0.6 && aspect <= 2.5 ? 0.2 : -0.5) - 0.6,
      -1.2 + (speed < 0.3 ? 0.5 : 0.0),
  };
  const double top = *std::max_element(logit.begin(), logit.end());
  double sum = 0;
  for (size_t i = 0; i < 4; ++i) sum += look.p[i] = std::exp(logit[i] - top);
  for (double& p : look.p) p /= sum;
  return look;
}

void ObjectClassifier::Update(std::vector<Track>& tracks, const cv::Mat& frame, int64_t t_ns) {
  const double sx = static_cast<double>(frame.cols) / size_.width;
  const double sy = static_cast<double>(frame.rows) / size_.height;
  const auto every = static_cast<int64_t>(settings_.look_every_s * kNsPerSec);
  last_looks_.clear();
  for (Track& tr : tracks) {
    if (!tr.confirmed || tr.coasting || tr.class_looks >= settings_.max_looks) continue;
    if (tr.class_looks > 0 && t_ns - tr.last_look_ns < every) continue;
    const cv::Rect box(static_cast<int>(tr.box.x * sx), static_cast<int>(tr.box.y * sy),
                       static_cast<int>(tr.box.width * sx), static_cast<int>(tr.box.height * sy));
    ClassLook look = Look(frame, box, TrackAspect(tr, size_), TrackSpeed(tr, size_));
    last_looks_.emplace_back(tr.id, look);
    ++tr.class_looks;
    tr.last_look_ns = t_ns;
    for (size_t i = 0; i < 4; ++i) tr.class_sum[i] += look.p[i];
    const size_t best = static_cast<size_t>(
        std::max_element(tr.class_sum.begin(), tr.class_sum.end()) - tr.class_sum.begin());
    tr.object_class = static_cast<ObjectClass>(best + 1);
    tr.class_confidence = tr.class_sum[best] / tr.class_looks;
  }
}

}  // namespace vigil::analytics
