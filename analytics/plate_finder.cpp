#include "analytics/plate_finder.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <opencv2/imgproc.hpp>

#include "base/plate_text.h"

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

// The contour's four corners when its convex hull is nearly a quadrilateral — a plate seen in
// perspective is a skewed quad, which its rotated rectangle fits loosely — ordered top-left,
// top-right, bottom-right, bottom-left; nothing when the hull is no such quad.
std::optional<std::array<cv::Point2f, 4>> HullQuad(const std::vector<cv::Point>& contour, double rect_area) {
  std::vector<cv::Point> hull, approx;
  cv::convexHull(contour, hull);
  const double perimeter = cv::arcLength(hull, true);
  for (double eps = 0.015; eps <= 0.08; eps += 0.005) {
    cv::approxPolyDP(hull, approx, eps * perimeter, true);
    if (approx.size() <= 4) break;
  }
  if (approx.size() != 4) return std::nullopt;
  const double area = cv::contourArea(approx), hull_area = cv::contourArea(hull);
  if (area < 0.9 * hull_area || area < 0.75 * rect_area) return std::nullopt;
  std::array<cv::Point2f, 4> p;
  for (size_t i = 0; i < 4; ++i) p[i] = cv::Point2f(approx[i]);
  std::sort(p.begin(), p.end(), [](auto a, auto b) { return a.y < b.y; });
  if (p[0].x > p[1].x) std::swap(p[0], p[1]);
  if (p[2].x < p[3].x) std::swap(p[2], p[3]);
  // Still a plate: the top edge left of right, both sides of similar length.
  const double top = cv::norm(p[1] - p[0]), bottom = cv::norm(p[2] - p[3]);
  const double left = cv::norm(p[3] - p[0]), right = cv::norm(p[2] - p[1]);
  if (std::min(top, bottom) < 0.7 * std::max(top, bottom) || std::min(left, right) < 0.6 * std::max(left, right)) {
    return std::nullopt;
  }
  return p;
}

double Iou(const cv::Rect& a, const cv::Rect& b) {
  double inter = (a & b).area();
  double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

// Regions of `mask` (8-bit) shaped like a plate, scored by how well they fill their rectangle.
// How wide a region may be, as a share of the picture's width: the work size looks for plates as a
// street camera sees them, the coarse look only for close-ups (a plate across much of the picture).
struct WidthBand {
  double min = 0, max = 0.5;
};

// Where a searched picture lies: part of the frame (FindNext searches only where the frame changed)
// or all of it, at the search's scale.
struct Area {
  cv::Point offset;  // the picture's top-left in the whole scaled frame
  cv::Size whole;    // the whole scaled frame: the width band and height limit are shares of it
  // Regions must lie inside this rectangle of the picture: a region touching an edge of the picture
  // that is not the frame's may be cut short there (the whole picture when it is the whole frame).
  cv::Rect inner;
  // The vertical-edge threshold: Otsu's over the picture when negative (the whole frame), else this
  // one (the whole frame's, from the last full search: Otsu's over a part would differ).
  double* edge_threshold = nullptr;
};

Area WholeArea(cv::Size size) { return {{0, 0}, size, cv::Rect({0, 0}, size), nullptr}; }

void PlateShapedRegions(const cv::Mat& mask, double scale, double bonus, WidthBand band, const Area& area,
                        std::vector<PlateCandidate>& out) {
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE, area.offset);
  const cv::Rect inner = area.inner + area.offset;
  for (const auto& c : contours) {
    if (c.size() < 4) continue;
    if ((cv::boundingRect(c) & inner) != cv::boundingRect(c)) continue;
    cv::RotatedRect r = cv::minAreaRect(c);
    float w = std::max(r.size.width, r.size.height), h = std::min(r.size.width, r.size.height);
    if (h < 9 || w < 30 || w < area.whole.width * band.min || w > area.whole.width * band.max) continue;
    if (h > area.whole.height * (band.max > 0.5 ? 0.45 : 0.2)) continue;
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
    std::array<cv::Point2f, 4> corners;
    if (auto quad = HullQuad(c, static_cast<double>(w) * h)) {
      const cv::Point2f centre = ((*quad)[0] + (*quad)[1] + (*quad)[2] + (*quad)[3]) * 0.25f;
      for (size_t k = 0; k < 4; ++k) {
        const cv::Point2f d = (*quad)[k] - centre;
        corners[k] = centre + cv::Point2f(d.x * 1.04f, d.y * 1.08f);
      }
    } else {
      r.size.width *= 1.04f;
      r.size.height *= 1.08f;
      corners = OrderedCorners(r);
    }
    for (int i = 0; i < 4; ++i) cand.corners[static_cast<size_t>(i)] = corners[static_cast<size_t>(i)] * static_cast<float>(1 / scale);
    std::vector<cv::Point2f> pts(cand.corners.begin(), cand.corners.end());
    cand.box = cv::boundingRect(pts);
    double aspect_fit = 1 - std::min(1.0, std::abs(aspect - 3.5) / 3.5);
    cand.score = fill + 0.5 * aspect_fit + bonus;
    out.push_back(cand);
  }
}

}  // namespace

namespace {

// Candidates of the picture `small` (the frame scaled by `scale`).
void FindAtScale(const cv::Mat& small, double scale, WidthBand band, const Area& area,
                 std::vector<PlateCandidate>& found) {
  // Plate colours (OpenCV hue 0..180).
  cv::Mat hsv;
  cv::cvtColor(small, hsv, cv::COLOR_BGR2HSV);
  const cv::Mat close = cv::getStructuringElement(cv::MORPH_RECT, {9, 3});
  struct Range {
    cv::Scalar lo, hi;
  };
  const Range ranges[] = {{{100, 90, 50}, {125, 255, 255}},   // blue
                          {{15, 90, 90}, {34, 255, 255}},     // yellow
                          {{35, 50, 70}, {85, 255, 255}},     // green
                          {{90, 90, 50}, {110, 255, 255}},    // blue towards cyan (real plates in sun)
                          {{100, 120, 100}, {125, 255, 255}}}; // bright blue only (a plate on a dark blue car)
  // One pass of three lookup tables gives every range's membership as a bit (inRange on three
  // channels, five times, cost a quarter of the whole search). The ranges are constant: the tables
  // are made once.
  static const std::array<cv::Mat, 3> lut = [&ranges] {
    std::array<cv::Mat, 3> t;
    for (auto& l : t) l = cv::Mat::zeros(1, 256, CV_8U);
    for (size_t i = 0; i < std::size(ranges); ++i) {
      for (int c = 0; c < 3; ++c) {
        for (int v = static_cast<int>(ranges[i].lo[c]); v <= std::min(255, static_cast<int>(ranges[i].hi[c])); ++v) {
          t[static_cast<size_t>(c)].at<uchar>(v) |= static_cast<uchar>(1u << i);
        }
      }
    }
    return t;
  }();
  cv::Mat bits(hsv.size(), CV_8U);
  {
    const uchar* l0 = lut[0].ptr<uchar>();
    const uchar* l1 = lut[1].ptr<uchar>();
    const uchar* l2 = lut[2].ptr<uchar>();
    for (int y = 0; y < hsv.rows; ++y) {  // one pass: no planes split out, no intermediate masks
      const uchar* p = hsv.ptr<uchar>(y);
      uchar* b = bits.ptr<uchar>(y);
      for (int x = 0; x < hsv.cols; ++x, p += 3) b[x] = static_cast<uchar>(l0[p[0]] & l1[p[1]] & l2[p[2]]);
    }
  }
  cv::Mat yellow_green;
  for (size_t i = 0; i < std::size(ranges); ++i) {
    cv::Mat m;
    cv::bitwise_and(bits, cv::Scalar(1u << i), m);
    cv::compare(m, 0, m, cv::CMP_GT);
    if (i == 1) yellow_green = m.clone();
    if (i == 2) yellow_green |= m;
    cv::morphologyEx(m, m, cv::MORPH_CLOSE, close);
    PlateShapedRegions(m, scale, 0.5, band, area, found);
  }
  // Large new-energy plates are yellow under the province and green under the serial: one plate.
  cv::morphologyEx(yellow_green, yellow_green, cv::MORPH_CLOSE, close);
  PlateShapedRegions(yellow_green, scale, 0.45, band, area, found);
  // Dense vertical edges: characters on any background.
  cv::Mat grey, gx, edges;
  cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
  cv::Sobel(grey, gx, CV_16S, 1, 0, 3);
  cv::convertScaleAbs(gx, gx);
  if (area.edge_threshold && *area.edge_threshold >= 0) {
    cv::threshold(gx, edges, *area.edge_threshold, 255, cv::THRESH_BINARY);
  } else {
    const double t = cv::threshold(gx, edges, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
    if (area.edge_threshold) *area.edge_threshold = t;
  }
  const int kw = std::max(9, area.whole.width / 60);
  cv::morphologyEx(edges, edges, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_RECT, {kw, 3}));
  cv::morphologyEx(edges, edges, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_RECT, {kw / 2, 5}));
  PlateShapedRegions(edges, scale, 0.0, band, area, found);
}

}  // namespace

namespace {

// Candidates in the part `part` of the frame (frame pixels; all of it, or where it changed), at the
// work scale and, for close-ups, a coarser one. `edge_thresholds` (work, coarse): null for Otsu's
// over the picture; otherwise Otsu's is stored there when `part` is the whole frame, and used when
// it is a part.
void SearchPart(const cv::Mat& bgr, cv::Rect part, const PlateFinderOptions& options, double* edge_thresholds,
                std::vector<PlateCandidate>& found) {
  const double scale = std::min(1.0, static_cast<double>(options.work_width) / bgr.cols);
  const bool whole_frame = part == cv::Rect(0, 0, bgr.cols, bgr.rows);
  cv::Mat small;
  Area area;
  if (whole_frame) {
    if (scale < 1) {
      cv::resize(bgr, small, {}, scale, scale, cv::INTER_AREA);
    } else {
      small = bgr;
    }
    area = WholeArea(small.size());
  } else {
    const cv::Size whole(static_cast<int>(std::lround(bgr.cols * scale)), static_cast<int>(std::lround(bgr.rows * scale)));
    const cv::Size size(std::max(1, static_cast<int>(std::lround(part.width * scale))),
                        std::max(1, static_cast<int>(std::lround(part.height * scale))));
    if (scale < 1) {
      cv::resize(bgr(part), small, size, 0, 0, cv::INTER_AREA);
    } else {
      small = bgr(part);
    }
    area.offset = {static_cast<int>(std::lround(part.x * scale)), static_cast<int>(std::lround(part.y * scale))};
    area.whole = whole;
    // One pixel in from every edge that is not the frame's.
    const int l = part.x > 0, t = part.y > 0, r = part.br().x < bgr.cols, b = part.br().y < bgr.rows;
    area.inner = cv::Rect(l, t, small.cols - l - r, small.rows - t - b);
  }
  area.edge_threshold = edge_thresholds;
  FindAtScale(small, scale, {0, 0.5}, area, found);
  // A coarser look for plates too large for the work size's morphology (close-ups): the gaps
  // between their characters are wider than the edge closing bridges. A part narrower than the
  // narrowest such plate holds none.
  if (area.whole.width * 0.4 >= 240 && small.cols >= 0.3 * area.whole.width) {
    cv::Mat coarse;
    // Halved by area averaging (an integer factor: fast), then area-resized by the last 0.8 on a
    // quarter of the pixels: area resizing by 0.4 at once cost as much as the coarse look itself.
    // (Interpolating the last 0.8 saved 0.4 ms and gave a false read on the CCPD validation photos.)
    cv::Mat half;
    cv::resize(small, half, {}, 0.5, 0.5, cv::INTER_AREA);
    cv::resize(half, coarse, {static_cast<int>(std::lround(small.cols * 0.4)), static_cast<int>(std::lround(small.rows * 0.4))},
               0, 0, cv::INTER_AREA);
    Area at = area;
    at.offset = {static_cast<int>(std::lround(area.offset.x * 0.4)), static_cast<int>(std::lround(area.offset.y * 0.4))};
    at.whole = {static_cast<int>(std::lround(area.whole.width * 0.4)), static_cast<int>(std::lround(area.whole.height * 0.4))};
    if (whole_frame) {
      at.inner = cv::Rect({0, 0}, coarse.size());
    } else {
      const int l = area.inner.x, t = area.inner.y;
      const int r = small.cols - area.inner.br().x, b = small.rows - area.inner.br().y;
      at.inner = cv::Rect(l, t, coarse.cols - l - r, coarse.rows - t - b);
    }
    at.edge_threshold = edge_thresholds ? edge_thresholds + 1 : nullptr;
    FindAtScale(coarse, scale * 0.4, {0.3, 1.0}, at, found);
  }
}

// Best first, overlapping duplicates dropped, at most `max` of them.
std::vector<PlateCandidate> BestCandidates(std::vector<PlateCandidate> found, int max) {
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  std::vector<PlateCandidate> kept;
  for (const auto& c : found) {
    bool dup = std::any_of(kept.begin(), kept.end(), [&](const auto& k) { return Iou(k.box, c.box) > 0.6; });
    if (!dup) kept.push_back(c);
    if (static_cast<int>(kept.size()) >= max) break;
  }
  return kept;
}

}  // namespace

std::vector<PlateCandidate> FindPlateCandidates(const cv::Mat& bgr, const PlateFinderOptions& options) {
  std::vector<PlateCandidate> found;
  if (bgr.empty()) return found;
  SearchPart(bgr, cv::Rect(0, 0, bgr.cols, bgr.rows), options, nullptr, found);
  return BestCandidates(std::move(found), options.max_candidates);
}

cv::Mat RectifyQuad(const cv::Mat& bgr, const std::array<cv::Point2f, 4>& corners, cv::Size size,
                    cv::Matx33d* transform) {
  std::vector<cv::Point2f> src(corners.begin(), corners.end());
  cv::Matx33d pre = cv::Matx33d::eye();  // frame -> the picture warped from
  cv::Mat from = bgr;
  // A quad much larger than the output (a close-up, a 4K frame) is first scaled down with area
  // averaging: a perspective warp samples without prefiltering and would alias the strokes.
  const double w = std::max(cv::norm(corners[1] - corners[0]), cv::norm(corners[2] - corners[3]));
  const double h = std::max(cv::norm(corners[3] - corners[0]), cv::norm(corners[2] - corners[1]));
  const double s = std::max(2.0 * size.width / std::max(1.0, w), 2.0 * size.height / std::max(1.0, h));
  if (s < 0.8) {
    cv::Rect roi = cv::boundingRect(src);
    roi = cv::Rect(roi.x - 2, roi.y - 2, roi.width + 4, roi.height + 4) & cv::Rect(0, 0, bgr.cols, bgr.rows);
    if (!roi.empty()) {
      cv::resize(bgr(roi), from, cv::Size(), s, s, cv::INTER_AREA);
      for (auto& p : src) {
        p = (p - cv::Point2f(static_cast<float>(roi.x), static_cast<float>(roi.y))) * static_cast<float>(s);
      }
      pre = cv::Matx33d(s, 0, -roi.x * s, 0, s, -roi.y * s, 0, 0, 1);
    }
  }
  std::vector<cv::Point2f> dst = {{0, 0},
                                  {float(size.width), 0},
                                  {float(size.width), float(size.height)},
                                  {0, float(size.height)}};
  const cv::Mat m = cv::getPerspectiveTransform(src, dst);
  cv::Mat out;
  cv::warpPerspective(from, out, m, size, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  if (transform) *transform = cv::Matx33d(m) * pre;
  return out;
}

cv::Mat RectifyPlate(const cv::Mat& bgr, const std::array<cv::Point2f, 4>& corners) {
  return RectifyQuad(bgr, corners, {kPlateInputWidth, kPlateInputHeight});
}

cv::Mat StitchTwoRows(const cv::Mat& plate) {
  // Millimetres: the two-row plate is 440 x 220 (top row's cells 80 x 60 at y 15, x 110 and 250;
  // the serial's five cells 65 x 110 at y 92, 80 apart from x 27.5); the one-row plate the reader
  // knows is 440 x 140 (cells 45 x 90 at y 25; province at x 15.5, letter at 72.5, dot at 134.5,
  // serial from 151.5, 57 apart). Each piece's cells are mapped onto the one-row cells, margins
  // included: the province into [0, 66.5] of the output, the letter into [66.5, 134.5], the serial
  // into [134.5, 440].
  struct Piece {
    double to_x0, to_x1;      // output span, one-row mm
    double anchor_to, anchor_from;  // a cell's left edge on each
    double sx, sy;            // one-row mm per two-row mm
    double row_y;             // the row's cells' top, two-row mm
  };
  const Piece pieces[3] = {
      {0, 66.5, 15.5, 110, 45.0 / 80, 90.0 / 60, 15},
      {66.5, 134.5, 72.5, 250, 45.0 / 80, 90.0 / 60, 15},
      {134.5, 440, 151.5, 27.5, (424.5 - 151.5) / (412.5 - 27.5), 90.0 / 110, 92},
  };
  // The plate with a replicated border, so that margins past its edge are its own edge's colour.
  const double kx = plate.cols / 440.0, ky = plate.rows / 220.0;
  const int pad_x = cvCeil(120 * kx), pad_y = cvCeil(35 * ky);
  cv::Mat padded;
  cv::copyMakeBorder(plate, padded, pad_y, pad_y, pad_x, pad_x, cv::BORDER_REPLICATE);
  const cv::Rect all(0, 0, padded.cols, padded.rows);
  cv::Mat out(kPlateInputHeight, kPlateInputWidth, CV_8UC3, cv::Scalar::all(0));
  const double ox = kPlateInputWidth / 440.0;
  for (const Piece& p : pieces) {
    const double x0 = p.anchor_from + (p.to_x0 - p.anchor_to) / p.sx;
    const double x1 = p.anchor_from + (p.to_x1 - p.anchor_to) / p.sx;
    const double y0 = p.row_y - 25 / p.sy, y1 = p.row_y + 115 / p.sy;
    cv::Rect from(cvRound(x0 * kx) + pad_x, cvRound(y0 * ky) + pad_y, cvRound((x1 - x0) * kx), cvRound((y1 - y0) * ky));
    from &= all;
    const int to_x0 = cvRound(p.to_x0 * ox), to_x1 = p.to_x1 >= 440 ? kPlateInputWidth : cvRound(p.to_x1 * ox);
    const cv::Rect to(to_x0, 0, to_x1 - to_x0, kPlateInputHeight);
    if (from.empty() || to.empty()) continue;
    cv::Mat dst = out(to);
    const bool shrink = from.width > to.width && from.height > to.height;
    cv::resize(padded(from), dst, to.size(), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  return out;
}

cv::Mat RectifyTwoRowPlate(const cv::Mat& bgr, const std::array<cv::Point2f, 4>& corners) {
  return StitchTwoRows(RectifyQuad(bgr, corners, kTwoRowSize));
}

namespace {

// The corner network's view of a quad: the quad's own frame grown by these fractions of its width on
// each side and of its height above and below (tools/plates/train_corners.py: MARGIN_X, MARGIN_Y).
constexpr double kCornerMarginX = 0.2, kCornerMarginY = 0.5;

std::array<cv::Point2f, 4> MapPoints(const cv::Matx33d& h, const std::array<cv::Point2f, 4>& pts) {
  std::vector<cv::Point2f> in(pts.begin(), pts.end()), out;
  cv::perspectiveTransform(in, out, cv::Mat(h));
  return {out[0], out[1], out[2], out[3]};
}

cv::Matx33d UnitToQuad(const std::array<cv::Point2f, 4>& q) {
  const std::vector<cv::Point2f> unit = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
  return cv::Matx33d(cv::getPerspectiveTransform(unit, std::vector<cv::Point2f>(q.begin(), q.end())));
}

// Corner quads this alike (intersection over union) rectify to nearly the same crop.
constexpr double kSameQuadIou = 0.85;
// A region is the one of the last frame when their boxes overlap this much and their looks (grey,
// 16 x 64) differ by at most this much per pixel on average: sensor noise and an encoder's
// flicker, not a plate that moved by a few pixels.
constexpr double kStillIou = 0.8;
constexpr double kStillMeanDifference = 4.0;
// FindNext: a pixel of the frame at a quarter of the work size has changed since the frame before
// when its grey level moved by more than this.
constexpr double kChangedLevel = 10;

std::array<cv::Point2f, 4> FullQuad(const cv::Mat& m) {
  const auto w = static_cast<float>(m.cols), h = static_cast<float>(m.rows);
  return {cv::Point2f(0, 0), cv::Point2f(w, 0), cv::Point2f(w, h), cv::Point2f(0, h)};
}

// Whether a region's two-row read replaces its one-row read: it is a plate made in two rows and it
// reads more certainly (a one-row plate's stitched halves rarely make a grammatical plate). Marks it.
bool KeepTwoRows(const PlateText& one_row, PlateText& two_rows) {
  if (two_rows.plate.empty() || !plate::TwoRowsAllowed(plate::Decode(two_rows.plate), two_rows.color)) return false;
  if (!one_row.plate.empty() && one_row.confidence >= two_rows.confidence) return false;
  two_rows.two_rows = true;
  return true;
}

// Whether a read at refined corners replaces the read before it: it reads the same plate (tight
// corners say where it is) without falling below the acceptance threshold the old read passed, or a
// more certain one.
bool KeepRefined(const PlateText& was, const PlateText& now, double min_confidence) {
  if (now.plate.empty()) return false;
  const bool same = now.plate == was.plate && now.confidence >= std::min(was.confidence, min_confidence);
  return same || now.confidence > was.confidence;
}

cv::Rect BoundingBox(const std::array<cv::Point2f, 4>& q) {
  return cv::boundingRect(std::vector<cv::Point2f>(q.begin(), q.end()));
}

// A quad that can be a plate: convex, its top edge left of right, not degenerate.
bool PlausibleQuad(const std::array<cv::Point2f, 4>& q, const std::array<cv::Point2f, 4>& was) {
  std::vector<cv::Point2f> v(q.begin(), q.end()), w(was.begin(), was.end());
  if (!cv::isContourConvex(v)) return false;
  const double a = cv::contourArea(v), b = cv::contourArea(w);
  if (!(a > 0.25 * b && a < 4 * b)) return false;
  return q[1].x > q[0].x && q[2].x > q[3].x && q[3].y > q[0].y && q[2].y > q[1].y;
}

}  // namespace

double QuadAspect(const std::array<cv::Point2f, 4>& q) {
  const double w = (cv::norm(q[1] - q[0]) + cv::norm(q[2] - q[3])) / 2;
  const double h = (cv::norm(q[3] - q[0]) + cv::norm(q[2] - q[1])) / 2;
  return w / std::max(h, 1e-6);
}

double QuadIou(const std::array<cv::Point2f, 4>& a, const std::array<cv::Point2f, 4>& b) {
  std::vector<cv::Point2f> pa(a.begin(), a.end()), pb(b.begin(), b.end()), inter;
  const double area_a = std::abs(cv::contourArea(pa)), area_b = std::abs(cv::contourArea(pb));
  // intersectConvexConvex wants both in the same orientation.
  if (cv::contourArea(pa, true) < 0) std::reverse(pa.begin(), pa.end());
  if (cv::contourArea(pb, true) < 0) std::reverse(pb.begin(), pb.end());
  const double i = cv::intersectConvexConvex(pa, pb, inter, true);
  const double u = area_a + area_b - i;
  return u > 0 ? i / u : 0;
}

Result<std::vector<std::array<cv::Point2f, 4>>> RefineCorners(PlateReader& reader, const cv::Mat& bgr,
                                                             std::vector<std::array<cv::Point2f, 4>> quads,
                                                             int iterations) {
  if (!reader.has_corner_model()) return Status::FailedPrecondition("no plate corner model loaded");
  const float mx = static_cast<float>(kCornerMarginX), my = static_cast<float>(kCornerMarginY);
  for (int it = 0; it < iterations && !quads.empty(); ++it) {
    std::vector<cv::Mat> crops;
    std::vector<cv::Matx33d> to_crop;
    for (const auto& q : quads) {
      const auto around = MapPoints(UnitToQuad(q), {cv::Point2f(-mx, -my), cv::Point2f(1 + mx, -my),
                                                    cv::Point2f(1 + mx, 1 + my), cv::Point2f(-mx, 1 + my)});
      cv::Matx33d t;
      crops.push_back(RectifyQuad(bgr, around, {kCornerInputWidth, kCornerInputHeight}, &t));
      to_crop.push_back(t);
    }
    VIGIL_ASSIGN_OR_RETURN(auto found, reader.Corners(crops));
    for (size_t i = 0; i < quads.size(); ++i) {
      auto p = found[i];
      for (auto& c : p) c = {c.x * kCornerInputWidth, c.y * kCornerInputHeight};
      const auto q = MapPoints(to_crop[i].inv(), p);
      if (PlausibleQuad(q, quads[i])) quads[i] = q;
    }
  }
  return quads;
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

// Whether two boxes of consecutive frames may be the same thing moving: centres within one and a
// half widths (a car moves less between two frames of a plate camera), widths within 1.5 times.
bool NearBefore(const cv::Rect& now, const cv::Rect& before) {
  const cv::Point2d d(before.x + before.width / 2.0 - (now.x + now.width / 2.0),
                      before.y + before.height / 2.0 - (now.y + now.height / 2.0));
  const int wide = std::max(now.width, before.width), narrow = std::min(now.width, before.width);
  return std::hypot(d.x, d.y) <= 1.5 * wide && 3 * narrow >= 2 * wide;
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

Result<std::vector<std::optional<FoundPlate>>> PlateFinder::ReadRegions(const cv::Mat& bgr,
                                                                        std::vector<PlateCandidate> candidates,
                                                                        std::vector<cv::Mat> crops, bool stream) {
  std::vector<std::optional<FoundPlate>> out(candidates.size());
  if (candidates.empty()) return out;
  auto reads = reader_->Read(crops);
  if (!reads.ok()) return reads.error();
  // Two-row plates (2:1; one-row plates are 3.1:1): squat regions are read again with their rows set
  // side by side; the two-row read is kept when it is a plate made in two rows and reads better.
  {
    std::vector<size_t> squat;
    std::vector<cv::Mat> stitched;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (!options_.two_rows || QuadAspect(candidates[i].corners) > kTwoRowMaxAspect) continue;
      squat.push_back(i);
      stitched.push_back(RectifyTwoRowPlate(bgr, candidates[i].corners));
    }
    VIGIL_ASSIGN_OR_RETURN(auto two, reader_->Read(stitched, true));
    for (size_t k = 0; k < squat.size(); ++k) {
      if (!KeepTwoRows((*reads)[squat[k]], two[k])) continue;
      (*reads)[squat[k]] = std::move(two[k]);
      crops[squat[k]] = stitched[k];
    }
  }
  // The corner network finds again the corners of every region read as a plate: the detectors'
  // blobs and boxes fit a plate loosely (a tilted plate's upright box, a blob that stops short of the
  // rim), and tight corners both read better and say where the plate is. The new corners are kept
  // when they read the same plate or a more certain one.
  if (options_.refine_corners && reader_->has_corner_model()) {
    std::vector<size_t> which;
    std::vector<std::array<cv::Point2f, 4>> quads;
    std::vector<cv::Rect> loose;
    int unread = 0;
    for (size_t i = 0; i < candidates.size(); ++i) {
      const PlateText& r = (*reads)[i];
      if (r.two_rows) continue;  // the network knows one-row plates
      if (r.plate.empty() && ((stream && r.labelled_chars < options_.stream_refine_unread_min_chars) ||
                              unread++ >= options_.refine_unread)) {
        continue;
      }
      if (stream) {
        // In a camera's stream: a read that agrees with the plate found near there in the frame
        // before (its corners found again then) needs no corner network; a region that read as
        // nothing there even at its refined corners is tried again only every other frame.
        const cv::Rect& box = candidates[i].box;
        if (!r.plate.empty() && std::any_of(last_found_.begin(), last_found_.end(), [&](const FoundPlate& f) {
              return f.text.plate == r.plate && NearBefore(box, f.where.box);
            })) {
          continue;
        }
        if (r.plate.empty() && std::any_of(last_refused_.begin(), last_refused_.end(),
                                           [&](const cv::Rect& b) { return NearBefore(box, b); })) {
          continue;
        }
      }
      which.push_back(i);
      quads.push_back(candidates[i].corners);
      loose.push_back(candidates[i].box);
    }
    if (!which.empty()) {
      regions_refined_ += static_cast<int64_t>(which.size());
      VIGIL_ASSIGN_OR_RETURN(auto refined, RefineCorners(*reader_, bgr, std::move(quads)));
      // A quad the network hardly moved reads as before: only the moved ones are read again.
      std::vector<size_t> moved;
      std::vector<cv::Mat> again;
      for (size_t k = 0; k < refined.size(); ++k) {
        if (QuadIou(refined[k], candidates[which[k]].corners) >= kSameQuadIou) {
          candidates[which[k]].corners = refined[k];
          candidates[which[k]].box = BoundingBox(refined[k]);
          continue;
        }
        moved.push_back(k);
        again.push_back(RectifyPlate(bgr, refined[k]));
      }
      VIGIL_ASSIGN_OR_RETURN(auto more, reader_->Read(again));
      for (size_t m = 0; m < moved.size(); ++m) {
        const size_t k = moved[m];
        PlateText& was = (*reads)[which[k]];
        // Kept by KeepRefined's rule when its crop also has the plate's colour.
        if (!KeepRefined(was, more[m], options_.min_confidence)) continue;
        if (!ColourPlausible(again[m], more[m].color, more[m].plate)) continue;
        was = std::move(more[m]);
        crops[which[k]] = again[m];
        candidates[which[k]].corners = refined[k];
        candidates[which[k]].box = BoundingBox(refined[k]);
      }
      if (stream) {
        for (size_t k = 0; k < which.size(); ++k) {
          if ((*reads)[which[k]].plate.empty()) refused_now_.push_back(loose[k]);
        }
      }
    }
  }
  // Second looks at the doubtful ones: the region a little larger, or completed to a plate's shape.
  std::vector<cv::Mat> again;
  std::vector<std::pair<size_t, std::array<cv::Point2f, 4>>> again_of;
  for (size_t i = 0; i < candidates.size(); ++i) {
    // Certain reads need no second look; nor do regions the reader finds no plate in at all: on a
    // street most candidates are walls, signs and grilles, and three more reads of each tripled the
    // finder's cost (measured on the camsim plate scenes: 7,367 of 7,605 candidates read as
    // nothing, and a second look turned 38 of those into a read).
    if ((*reads)[i].plate.empty() || (*reads)[i].confidence >= 0.9 || (*reads)[i].two_rows) continue;
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
    out[i] = FoundPlate{std::move(t), candidates[i]};
  }
  return out;
}

namespace {

// What a region looks like, for telling whether it changed: its rectified crop in grey at 16 x 64.
cv::Mat StillLook(const cv::Mat& crop) {
  cv::Mat grey, look;
  cv::cvtColor(crop, grey, cv::COLOR_BGR2GRAY);
  cv::resize(grey, look, {64, 16}, 0, 0, cv::INTER_AREA);
  return look;
}

}  // namespace

Result<std::vector<FoundPlate>> PlateFinder::Find(const cv::Mat& bgr) { return Search(bgr, false); }

Result<std::vector<FoundPlate>> PlateFinder::FindNext(const cv::Mat& bgr) { return Search(bgr, true); }

namespace {

// The step of frame pixels on which parts of a frame start and end: 10 work-size pixels (20 of a
// 1080p frame), so that a part resized to the work size, and to the coarse look's 0.4 of it, has the
// very pixels the whole frame resized has there (1 when no such step is below 400 pixels).
int WorkGrid(double scale) {
  for (int k = 1; k < 400; ++k) {
    const double w = k * scale;
    if (std::abs(w - std::round(w)) < 1e-6 && std::lround(w) % 10 == 0) return k;
  }
  return 1;
}

// The parts of a frame (`frame` pixels) to search for candidate regions, from its grey look now and
// in the frame before (both at a quarter of the work size): each changed blob with a margin around
// it, grown by any of the frame before's `regions` it touches (plus the margin: a region is searched
// whole or kept whole), overlapping parts merged, on the WorkGrid. Nothing when more than half the
// frame would be searched: one search of all of it is then cheaper.
std::optional<std::vector<cv::Rect>> ChangedParts(const cv::Mat& grey, const cv::Mat& before,
                                                  const std::vector<PlateCandidate>& regions, cv::Size frame_size,
                                                  double scale) {
  cv::Mat changed;
  cv::absdiff(grey, before, changed);
  cv::threshold(changed, changed, kChangedLevel, 255, cv::THRESH_BINARY);
  if (cv::countNonZero(changed) * 2 > static_cast<int>(changed.total())) return std::nullopt;
  std::vector<std::vector<cv::Point>> blobs;
  cv::findContours(changed, blobs, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  const double up = static_cast<double>(frame_size.width) / grey.cols;
  const cv::Rect frame({0, 0}, frame_size);
  // A changed blob is searched with a margin around it: a plate reaches past the pixels that
  // changed (its middle is one colour), and the detectors' morphology reaches a little further.
  const int mx = std::max(2, grey.cols / 16), my = std::max(2, grey.rows / 16);
  const int margin_x = static_cast<int>(std::ceil(mx * up)), margin_y = static_cast<int>(std::ceil(my * up));
  auto with_margin = [](const cv::Rect& r, int x, int y) { return cv::Rect(r.x - x, r.y - y, r.width + 2 * x, r.height + 2 * y); };
  std::vector<cv::Rect> parts;
  for (const auto& b : blobs) {
    const cv::Rect r = with_margin(cv::boundingRect(b), mx, my);
    parts.push_back(cv::Rect(cv::Point(static_cast<int>(r.x * up), static_cast<int>(r.y * up)),
                             cv::Point(static_cast<int>(std::ceil(r.br().x * up)), static_cast<int>(std::ceil(r.br().y * up)))) &
                    frame);
  }
  for (bool merged = true; merged;) {
    merged = false;
    for (auto& p : parts) {
      for (const auto& c : regions) {
        if ((p & c.box).area() == 0) continue;
        const cv::Rect grown = (p | with_margin(c.box, margin_x, margin_y)) & frame;  // a box may reach past the frame
        merged |= grown != p;
        p = grown;
      }
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      for (size_t j = i + 1; j < parts.size(); ++j) {
        if ((parts[i] & parts[j]).area() == 0) continue;
        parts[i] |= parts[j];
        parts.erase(parts.begin() + static_cast<long>(j--));
        merged = true;
      }
    }
  }
  const int grid = WorkGrid(scale);
  int64_t area = 0;
  for (auto& p : parts) {
    const int x1 = std::min(frame.width, (p.br().x + grid - 1) / grid * grid);
    const int y1 = std::min(frame.height, (p.br().y + grid - 1) / grid * grid);
    p = cv::Rect(cv::Point(p.x / grid * grid, p.y / grid * grid), cv::Point(x1, y1));
    area += p.area();
  }
  if (area * 2 > static_cast<int64_t>(frame.area())) return std::nullopt;
  return parts;
}

}  // namespace

std::vector<PlateCandidate> PlateFinder::ChangedCandidates(const cv::Mat& bgr) {
  if (bgr.empty()) return {};
  const double scale = std::min(1.0, static_cast<double>(options_.work_width) / bgr.cols);
  // The frame in grey at a quarter of the work size (a 1080p frame's 8 x 8 blocks averaged: sensor
  // noise and an encoder's flicker average out; a car moving does not).
  cv::Mat small, grey;
  const cv::Size look(std::max(1, static_cast<int>(std::lround(bgr.cols * scale / 4))),
                      std::max(1, static_cast<int>(std::lround(bgr.rows * scale / 4))));
  cv::resize(bgr, small, look, 0, 0, cv::INTER_AREA);
  cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
  std::optional<std::vector<cv::Rect>> parts;  // frame pixels; nothing: the whole frame
  if (change_grey_.size() == grey.size() && ++since_whole_ < options_.whole_search_frames) {
    parts = ChangedParts(grey, change_grey_, last_candidates_, bgr.size(), scale);
  }
  change_grey_ = grey;
  std::vector<PlateCandidate> found;
  if (!parts) {
    since_whole_ = 0;
    edge_thresholds_[0] = edge_thresholds_[1] = -1;
    SearchPart(bgr, cv::Rect(0, 0, bgr.cols, bgr.rows), options_, edge_thresholds_, found);
    ++whole_searches_;
  } else {
    for (const auto& p : *parts) SearchPart(bgr, p, options_, edge_thresholds_, found);
    // The regions of the frame before where nothing changed are where they were.
    for (const auto& c : last_candidates_) {
      if (std::none_of(parts->begin(), parts->end(), [&](const cv::Rect& p) { return (p & c.box).area() > 0; })) {
        found.push_back(c);
      }
    }
    ++part_searches_;
  }
  last_candidates_ = BestCandidates(std::move(found), options_.max_candidates);
  return last_candidates_;
}

Result<std::vector<FoundPlate>> PlateFinder::Search(const cv::Mat& bgr, bool stream) {
  std::vector<FoundPlate> out;
  const bool changed_only = stream && options_.whole_search_frames > 1;
  if (!changed_only) {
    change_grey_.release();
    last_candidates_.clear();
  }
  auto candidates = changed_only ? ChangedCandidates(bgr) : FindPlateCandidates(bgr, options_);
  std::vector<cv::Mat> crops;
  for (const auto& c : candidates) crops.push_back(RectifyPlate(bgr, c.corners));
  // In a camera's stream most regions are the same from frame to frame (a wall, a sign, the
  // caption, a parked car): a region that looks as it did when it was last read, where it was, keeps
  // that read's outcome, and is read afresh every still_reuse_frames frames all the same.
  const bool reuse = stream && options_.still_reuse_frames > 0;
  if (!reuse || bgr.size() != still_size_) {
    still_.clear();
    last_found_.clear();
    last_refused_.clear();
  }
  refused_now_.clear();
  std::vector<Still> next;
  std::vector<std::optional<FoundPlate>> result(candidates.size());
  std::vector<size_t> fresh;
  std::vector<long> fresh_still;  // fresh region -> its entry in `next`, or -1
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (reuse) {
      cv::Mat look = StillLook(crops[i]);
      auto same = std::find_if(still_.begin(), still_.end(), [&](const Still& s) {
        return s.reuses_left > 0 && Iou(s.box, candidates[i].box) >= kStillIou &&
               cv::norm(look, s.look, cv::NORM_L1) <= kStillMeanDifference * static_cast<double>(look.total());
      });
      if (same != still_.end()) {
        result[i] = same->found;
        // Compared next time with the region as it was when read, so that a slow change (dusk, a car
        // creeping forward) adds up to a new read.
        next.push_back({same->box, same->look, same->reuses_left - 1, same->found});
        ++regions_reused_;
        continue;
      }
      // Staggered, so that the still regions of a scene are not all read afresh in the same frame.
      const int n = options_.still_reuse_frames, from = (n + 1) / 2;
      const int left = from + (candidates[i].box.x / 4 + candidates[i].box.y / 4) % (n - from + 1);
      next.push_back({candidates[i].box, std::move(look), left, std::nullopt});
      fresh_still.push_back(static_cast<long>(next.size()) - 1);
    } else {
      fresh_still.push_back(-1);
    }
    fresh.push_back(i);
  }
  if (!fresh.empty()) {
    std::vector<PlateCandidate> regions;
    std::vector<cv::Mat> region_crops;
    for (size_t i : fresh) {
      regions.push_back(candidates[i]);
      region_crops.push_back(crops[i]);
    }
    VIGIL_ASSIGN_OR_RETURN(auto got, ReadRegions(bgr, std::move(regions), std::move(region_crops), reuse));
    for (size_t k = 0; k < fresh.size(); ++k) {
      if (fresh_still[k] >= 0) next[static_cast<size_t>(fresh_still[k])].found = got[k];
      result[fresh[k]] = std::move(got[k]);
    }
    regions_read_ += static_cast<int64_t>(fresh.size());
  }
  if (reuse) {
    still_ = std::move(next);
    still_size_ = bgr.size();
  }
  // One per plate: overlapping regions, or regions reading the same plate, merged.
  for (auto& r : result) {
    if (!r) continue;
    auto same = std::find_if(out.begin(), out.end(), [&](const FoundPlate& f) {
      return f.text.plate == r->text.plate || Iou(f.where.box, r->where.box) > 0.3;
    });
    if (same != out.end()) {
      if (same->text.confidence < r->text.confidence) *same = std::move(*r);
      continue;
    }
    out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.text.confidence > b.text.confidence; });
  if (reuse) {
    last_found_ = out;
    std::swap(last_refused_, refused_now_);
  }
  return out;
}

Result<std::vector<PlateText>> ReadPlateCrops(PlateReader& reader, const std::vector<cv::Mat>& crops,
                                              double min_confidence) {
  VIGIL_ASSIGN_OR_RETURN(auto reads, reader.Read(crops));
  if (reader.has_corner_model()) {
    std::vector<size_t> which;
    std::vector<cv::Mat> again;
    for (size_t i = 0; i < crops.size(); ++i) {
      if (crops[i].empty() || crops[i].type() != CV_8UC3) continue;  // the reader says what is wrong with it
      VIGIL_ASSIGN_OR_RETURN(auto q, RefineCorners(reader, crops[i], {FullQuad(crops[i])}));
      which.push_back(i);
      again.push_back(RectifyPlate(crops[i], q[0]));
    }
    VIGIL_ASSIGN_OR_RETURN(auto more, reader.Read(again));
    for (size_t k = 0; k < which.size(); ++k) {
      if (KeepRefined(reads[which[k]], more[k], min_confidence)) reads[which[k]] = std::move(more[k]);
    }
  }
  // A squat picture may be a two-row plate: read again with its rows side by side, as the finder does.
  std::vector<size_t> squat;
  std::vector<cv::Mat> stitched;
  for (size_t i = 0; i < crops.size(); ++i) {
    if (crops[i].empty() || crops[i].type() != CV_8UC3) continue;
    if (static_cast<double>(crops[i].cols) > kTwoRowMaxAspect * crops[i].rows) continue;
    squat.push_back(i);
    stitched.push_back(StitchTwoRows(crops[i]));
  }
  VIGIL_ASSIGN_OR_RETURN(auto two, reader.Read(stitched, true));
  for (size_t k = 0; k < squat.size(); ++k) {
    if (KeepTwoRows(reads[squat[k]], two[k])) reads[squat[k]] = std::move(two[k]);
  }
  return reads;
}

}  // namespace vigil::analytics
