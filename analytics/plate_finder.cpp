#include "analytics/plate_finder.h"

#include <algorithm>

#include <opencv2/imgproc.hpp>

namespace vigil::analytics {
namespace {

// Corners of a rotated rectangle as top-left, top-right, bottom-right, bottom-left, the long side
// horizontal-ish (plates are wider than tall).
std::array<cv::Point2f, 4> OrderedCorners(const cv::RotatedRect& r) {
  cv::Point2f p[4];
  r.points(p);
  std::array<cv::Point2f, 4> pts{p[0], p[1], p[2], p[3]};
  std::sort(pts.begin(), pts.end(), [](auto a, auto b) { return a.y < b.y; });
  // Two highest are the top edge unless the rectangle is rotated past 45 degrees, which the
  // geometry filter excludes.
  if (pts[0].x > pts[1].x) std::swap(pts[0], pts[1]);
  if (pts[2].x < pts[3].x) std::swap(pts[2], pts[3]);
  return {pts[0], pts[1], pts[2], pts[3]};
}

double Iou(const cv::Rect& a, const cv::Rect& b) {
  double inter = (a & b).area();
  double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

// Regions of `mask` (8-bit) shaped like a plate, scored by how well they fill their rectangle.
void PlateShapedRegions(const cv::Mat& mask, double scale, double bonus,
                        std::vector<PlateCandidate>& out) {
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  for (const auto& c : contours) {
    if (c.size() < 4) continue;
    cv::RotatedRect r = cv::minAreaRect(c);
    float w = std::max(r.size.width, r.size.height), h = std::min(r.size.width, r.size.height);
    if (h < 9 || w < 30 || h > mask.rows * 0.2 || w > mask.cols * 0.5) continue;
    double aspect = w / h;
    if (aspect < 1.8 || aspect > 6.5) continue;
    double fill = cv::contourArea(c) / (static_cast<double>(w) * h);
    if (fill < 0.5) continue;
    // Plates lean at most ~30 degrees in a street camera's view.
    float angle = r.size.width >= r.size.height ? r.angle : r.angle - 90;
    while (angle > 45) angle -= 90;
    while (angle < -45) angle += 90;
    if (std::abs(angle) > 30) continue;
    PlateCandidate cand;
    // Grow a little: blobs stop short of the plate's rim.
    r.size.width *= 1.04f;
    r.size.height *= 1.08f;
    auto corners = OrderedCorners(r);
    for (int i = 0; i < 4; ++i) cand.corners[static_cast<size_t>(i)] = corners[static_cast<size_t>(i)] * static_cast<float>(1 / scale);
    std::vector<cv::Point2f> pts(cand.corners.begin(), cand.corners.end());
    cand.box = cv::boundingRect(pts);
    double aspect_fit = 1 - std::min(1.0, std::abs(aspect - 3.5) / 3.5);
    cand.score = fill + 0.5 * aspect_fit + bonus;
    out.push_back(cand);
  }
}

}  // namespace

std::vector<PlateCandidate> FindPlateCandidates(const cv::Mat& bgr, const PlateFinderOptions& options) {
  std::vector<PlateCandidate> found;
  if (bgr.empty()) return found;
  double scale = std::min(1.0, static_cast<double>(options.work_width) / bgr.cols);
  cv::Mat small;
  if (scale < 1) {
    cv::resize(bgr, small, {}, scale, scale, cv::INTER_AREA);
  } else {
    small = bgr;
  }
  // Plate colours (OpenCV hue 0..180).
  cv::Mat hsv;
  cv::cvtColor(small, hsv, cv::COLOR_BGR2HSV);
  const cv::Mat close = cv::getStructuringElement(cv::MORPH_RECT, {9, 3});
  struct Range {
    cv::Scalar lo, hi;
  };
  const Range ranges[] = {{{100, 90, 50}, {125, 255, 255}},   // blue
                          {{15, 90, 90}, {34, 255, 255}},     // yellow
                          {{35, 50, 70}, {85, 255, 255}}};    // green
  cv::Mat yellow_green;
  for (size_t i = 0; i < std::size(ranges); ++i) {
    cv::Mat m;
    cv::inRange(hsv, ranges[i].lo, ranges[i].hi, m);
    if (i == 1) yellow_green = m.clone();
    if (i == 2) yellow_green |= m;
    cv::morphologyEx(m, m, cv::MORPH_CLOSE, close);
    PlateShapedRegions(m, scale, 0.5, found);
  }
  // Large new-energy plates are yellow under the province and green under the serial: one plate.
  cv::morphologyEx(yellow_green, yellow_green, cv::MORPH_CLOSE, close);
  PlateShapedRegions(yellow_green, scale, 0.45, found);
  // Dense vertical edges: characters on any background.
  cv::Mat grey, gx, edges;
  cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
  cv::Sobel(grey, gx, CV_16S, 1, 0, 3);
  cv::convertScaleAbs(gx, gx);
  cv::threshold(gx, edges, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  int kw = std::max(9, small.cols / 60);
  cv::morphologyEx(edges, edges, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_RECT, {kw, 3}));
  cv::morphologyEx(edges, edges, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_RECT, {kw / 2, 5}));
  PlateShapedRegions(edges, scale, 0.0, found);

  // Best first, overlapping duplicates dropped.
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  std::vector<PlateCandidate> kept;
  for (const auto& c : found) {
    bool dup = std::any_of(kept.begin(), kept.end(), [&](const auto& k) { return Iou(k.box, c.box) > 0.6; });
    if (!dup) kept.push_back(c);
    if (static_cast<int>(kept.size()) >= options.max_candidates) break;
  }
  return kept;
}

cv::Mat RectifyPlate(const cv::Mat& bgr, const std::array<cv::Point2f, 4>& corners) {
  std::vector<cv::Point2f> src(corners.begin(), corners.end());
  std::vector<cv::Point2f> dst = {{0, 0},
                                  {float(kPlateInputWidth), 0},
                                  {float(kPlateInputWidth), float(kPlateInputHeight)},
                                  {0, float(kPlateInputHeight)}};
  cv::Mat out;
  cv::warpPerspective(bgr, out, cv::getPerspectiveTransform(src, dst),
                      {kPlateInputWidth, kPlateInputHeight}, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

namespace {

// The quad grown about its centre by (fx, fy), or with its top (up) or bottom (down) edge moved out
// until it has a plate's proportions: a blob that missed part of the plate (the pale top of a
// new-energy plate, a dirty rim) still gives a whole plate to read.
std::array<cv::Point2f, 4> Grown(const std::array<cv::Point2f, 4>& q, double fx, double fy, int edge = 0) {
  cv::Point2f c = (q[0] + q[1] + q[2] + q[3]) * 0.25f;
  std::array<cv::Point2f, 4> out = q;
  if (edge == 0) {
    for (auto& p : out) {
      cv::Point2f d = p - c;
      cv::Point2f ux = (q[1] - q[0]) * (1.0f / std::max(1e-3f, static_cast<float>(cv::norm(q[1] - q[0]))));
      cv::Point2f uy(-ux.y, ux.x);
      float x = d.dot(ux), y = d.dot(uy);
      p = c + ux * static_cast<float>(x * fx) + uy * static_cast<float>(y * fy);
    }
    return out;
  }
  double w = cv::norm(q[1] - q[0]), h = cv::norm(q[3] - q[0]);
  double want = w / 3.3;
  if (want <= h) return out;
  cv::Point2f up = (q[0] - q[3]) * static_cast<float>((want - h) / std::max(1.0, h));
  if (edge < 0) {
    out[0] += up;
    out[1] += up;
  } else {
    out[2] -= up;
    out[3] -= up;
  }
  return out;
}

// Whether the crop's background looks like the colour read: a blue, yellow or green plate is
// saturated and of its hue (a sign with plate-like letters on a grey wall is not). The median over
// the crop is the background's: characters cover about a third of a plate.
bool ColourPlausible(const cv::Mat& crop, plate::Background color, const std::string& text) {
  cv::Mat hsv;
  cv::cvtColor(crop, hsv, cv::COLOR_BGR2HSV);
  // An embassy plate's 使 is red: a camera's on-screen clock or caption (light digits on a dark
  // band, the commonest plate-like text in a picture, read as 使 + 6 digits) has no red there. Loose
  // thresholds: at dusk and after 4:2:0 chroma the thin red strokes keep little saturation.
  if (text.rfind("使", 0) == 0) {
    const cv::Rect first(0, 0, crop.cols / 7, crop.rows);
    cv::Mat lo, hi;
    cv::inRange(hsv(first), cv::Scalar(0, 50, 30), cv::Scalar(12, 255, 255), lo);
    cv::inRange(hsv(first), cv::Scalar(165, 50, 30), cv::Scalar(180, 255, 255), hi);
    if (cv::countNonZero(lo | hi) < first.area() / 50) return false;
  }
  if (color == plate::Background::kWhite || color == plate::Background::kBlack) return true;
  std::vector<cv::Mat> ch;
  cv::split(hsv, ch);
  auto median = [](const cv::Mat& m) {
    std::vector<uchar> v(m.begin<uchar>(), m.end<uchar>());
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    return static_cast<int>(v[v.size() / 2]);
  };
  int hue = median(ch[0]), sat = median(ch[1]);
  switch (color) {
    case plate::Background::kBlue: return sat >= 50 && hue >= 90 && hue <= 135;
    case plate::Background::kYellow: return sat >= 50 && hue >= 8 && hue <= 40;
    case plate::Background::kGreen: return sat >= 25 && hue >= 12 && hue <= 95;  // incl. the yellow part
    default: return true;
  }
}

}  // namespace

Result<std::vector<FoundPlate>> PlateFinder::Find(const cv::Mat& bgr) {
  std::vector<FoundPlate> out;
  auto candidates = FindPlateCandidates(bgr, options_);
  if (candidates.empty()) return out;
  std::vector<cv::Mat> crops;
  for (const auto& c : candidates) crops.push_back(RectifyPlate(bgr, c.corners));
  auto reads = reader_->Read(crops);
  if (!reads.ok()) return reads.error();
  // Second looks at the doubtful ones: the region a little larger, or completed to a plate's shape.
  std::vector<cv::Mat> again;
  std::vector<std::pair<size_t, std::array<cv::Point2f, 4>>> again_of;
  for (size_t i = 0; i < candidates.size(); ++i) {
    // Certain reads need no second look; nor do regions the reader finds no plate in at all: on a
    // street most candidates are walls, signs and grilles, and three more reads of each tripled the
    // finder's cost (measured on the camsim plate scenes: 7,367 of 7,605 candidates read as
    // nothing, and a second look turned 38 of those into a read).
    if ((*reads)[i].plate.empty() || (*reads)[i].confidence >= 0.9) continue;
    for (const auto& q : {Grown(candidates[i].corners, 1.06, 1.2), Grown(candidates[i].corners, 1, 1, -1),
                          Grown(candidates[i].corners, 1, 1, 1)}) {
      if (q == candidates[i].corners) continue;
      again.push_back(RectifyPlate(bgr, q));
      again_of.push_back({i, q});
    }
  }
  if (!again.empty()) {
    auto more = reader_->Read(again);
    if (!more.ok()) return more.error();
    for (size_t k = 0; k < again.size(); ++k) {
      auto& [i, q] = again_of[k];
      PlateText& best = (*reads)[i];
      PlateText& alt = (*more)[k];
      if (!alt.plate.empty() && (best.plate.empty() || alt.confidence > best.confidence)) {
        best = std::move(alt);
        crops[i] = again[k];
        candidates[i].corners = q;
        std::vector<cv::Point2f> pts(q.begin(), q.end());
        candidates[i].box = cv::boundingRect(pts);
      }
    }
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    PlateText& t = (*reads)[i];
    if (t.plate.empty() || t.confidence < options_.min_confidence) continue;
    if (!ColourPlausible(crops[i], t.color, t.plate)) continue;
    auto same = std::find_if(out.begin(), out.end(), [&](const FoundPlate& f) {
      return f.text.plate == t.plate || Iou(f.where.box, candidates[i].box) > 0.3;
    });
    if (same != out.end()) {
      if (same->text.confidence < t.confidence) *same = {std::move(t), candidates[i]};
      continue;
    }
    out.push_back({std::move(t), candidates[i]});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.text.confidence > b.text.confidence; });
  return out;
}

}  // namespace vigil::analytics
