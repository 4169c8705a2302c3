#include "tools/plates/plate_render.h"

#include <array>
#include <filesystem>

#include <fmt/format.h>
#include <opencv2/freetype.hpp>
#include <opencv2/imgproc.hpp>

#include "base/plate_text.h"

namespace vigil::plates {
namespace {

using plate::Background;
using plate::Layout;

constexpr double kPlateHeightMm = 140;
constexpr double kCharHeightMm = 90;

// Two-row plates (GA 36-2018, 440 x 220 mm): the top row's two characters in 80 x 60 mm cells either
// side of the separator dot, the serial's five in 65 x 110 mm cells 15 mm apart below.
constexpr double kTwoRowHeightMm = 220;
constexpr double kTopRowY = 15, kTopRowH = 60, kTopCellW = 80;
constexpr double kTopCellX[2] = {110, 250};
constexpr double kBottomRowY = 92, kBottomRowH = 110, kBottomCellW = 65, kBottomGapMm = 15;

// BGR colours of backgrounds and characters, from photographs of issued plates.
const cv::Scalar kBlue(165, 72, 12), kYellow(22, 185, 245), kGreen(80, 200, 95),
    kGreenLight(232, 248, 236), kWhite(240, 242, 242), kBlack(28, 26, 26), kRed(40, 30, 205),
    kInkDark(30, 28, 28), kInkLight(245, 246, 246);

struct Cells {
  double char_w;
  std::vector<double> x;  // left edge of each character cell, mm
  double dot_x;           // centre of the separator dot, mm
};

Cells Layout7(double plate_w, int dot_after) {
  // GA 36: 45 mm cells, 12 mm apart, 34 mm around the separator dot.
  Cells c{45, {}, 0};
  double total = 7 * 45 + 5 * 12 + 34;
  double x = (plate_w - total) / 2;
  for (int i = 0; i < 7; ++i) {
    c.x.push_back(x);
    x += 45;
    if (i == dot_after) {
      c.dot_x = x + 17;
      x += 34;
    } else {
      x += 12;
    }
  }
  return c;
}

Cells Layout8(double plate_w) {
  // New-energy: 43 mm cells, 9 mm apart, 49 mm after the issuing letter (dot and margin).
  Cells c{43, {}, 0};
  double total = 8 * 43 + 6 * 9 + 49;
  double x = (plate_w - total) / 2;
  for (int i = 0; i < 8; ++i) {
    c.x.push_back(x);
    x += 43;
    if (i == 1) {
      c.dot_x = x + 24.5;
      x += 49;
    } else {
      x += 9;
    }
  }
  return c;
}

bool IsHan(char32_t c) { return c >= 0x2E80; }

// Blends `color` into `dst` through the 8-bit mask (255 = full ink).
void Ink(cv::Mat& dst, const cv::Mat& mask, cv::Point at, const cv::Scalar& color) {
  cv::Rect r = cv::Rect(at, mask.size()) & cv::Rect(0, 0, dst.cols, dst.rows);
  if (r.empty()) return;
  cv::Mat roi = dst(r);
  cv::Mat m = mask(cv::Rect(r.x - at.x, r.y - at.y, r.width, r.height));
  for (int y = 0; y < r.height; ++y) {
    auto* p = roi.ptr<cv::Vec3b>(y);
    const auto* a = m.ptr<uchar>(y);
    for (int x = 0; x < r.width; ++x) {
      float k = a[x] / 255.f;
      for (int ch = 0; ch < 3; ++ch) {
        p[x][ch] = cv::saturate_cast<uchar>(p[x][ch] * (1 - k) + color[ch] * k);
      }
    }
  }
}

}  // namespace

cv::Size2d PlateSizeMm(Layout layout, bool two_rows) {
  if (two_rows) return {440.0, kTwoRowHeightMm};
  bool ne = layout == Layout::kNewEnergySmall || layout == Layout::kNewEnergyLarge;
  return {ne ? 480.0 : 440.0, kPlateHeightMm};
}

Result<std::unique_ptr<PlateRenderer>> PlateRenderer::Create() {
  for (const char* font : {kChineseFont, kLatinFont, kLatinFontRegular}) {
    if (!std::filesystem::exists(font)) {
      return Status::Unavailable(fmt::format(
          "plate font {} is missing (install fonts-wqy-zenhei and fonts-liberation: tools/setup)",
          font));
    }
  }
  std::unique_ptr<PlateRenderer> r(new PlateRenderer());
  try {
    r->chinese_ = cv::freetype::createFreeType2();
    r->chinese_->loadFontData(kChineseFont, 0);
    r->latin_ = cv::freetype::createFreeType2();
    r->latin_->loadFontData(kLatinFont, 0);
    r->latin_regular_ = cv::freetype::createFreeType2();
    r->latin_regular_->loadFontData(kLatinFontRegular, 0);
  } catch (const cv::Exception& e) {
    return Status::Unavailable(fmt::format("loading plate fonts: {}", e.what()));
  }
  return r;
}

PlateRenderer::~PlateRenderer() = default;

const cv::Mat& PlateRenderer::Glyph(char32_t c, bool regular) {
  regular = regular && !IsHan(c);
  auto it = glyphs_.find({c, regular});
  if (it != glyphs_.end()) return it->second;
  cv::Mat canvas(320, 320, CV_8UC3, cv::Scalar::all(0));
  auto& font = IsHan(c) ? chinese_ : regular ? latin_regular_ : latin_;
  font->putText(canvas, plate::Encode(std::u32string(1, c)), {20, 250}, 240,
                cv::Scalar::all(255), -1, cv::LINE_AA, true);
  cv::Mat grey;
  cv::cvtColor(canvas, grey, cv::COLOR_BGR2GRAY);
  cv::Rect box = cv::boundingRect(grey > 40);
  cv::Mat glyph = box.empty() ? cv::Mat(10, 10, CV_8U, cv::Scalar(0)) : grey(box).clone();
  return glyphs_.emplace(std::make_pair(c, regular), std::move(glyph)).first->second;
}

Result<cv::Mat> PlateRenderer::Render(std::u32string_view text, Background background,
                                      double px_per_mm, GlyphStyle style, bool two_rows) {
  auto layout = plate::CheckGrammar(text);
  if (!layout.ok()) return layout.error();
  if (!plate::BackgroundAllowed(text, *layout, background)) {
    return Status::InvalidArgument(fmt::format("plate '{}' cannot be {}", plate::Encode(text),
                                               plate::BackgroundName(background)));
  }
  if (two_rows && !plate::TwoRowsAllowed(text, background)) {
    return Status::InvalidArgument(fmt::format(
        "plate '{}' ({}) has no two-row form (yellow large-vehicle and 挂 trailer plates have)",
        plate::Encode(text), plate::BackgroundName(background)));
  }
  const double k = px_per_mm;
  cv::Size2d mm = PlateSizeMm(*layout, two_rows);
  cv::Size size(cvRound(mm.width * k), cvRound(mm.height * k));
  cv::Mat plate(size, CV_8UC3);

  Cells cells = text.size() == 8 ? Layout8(mm.width)
                : *layout == Layout::kEmbassy ? Layout7(mm.width, 3)
                                              : Layout7(mm.width, 1);
  cv::Scalar ink = kInkDark;
  switch (background) {
    case Background::kBlue: plate.setTo(kBlue); ink = kInkLight; break;
    case Background::kYellow: plate.setTo(kYellow); break;
    case Background::kWhite: plate.setTo(kWhite); break;
    case Background::kBlack: plate.setTo(kBlack); ink = kInkLight; break;
    case Background::kGreen:
      if (*layout == Layout::kNewEnergyLarge) {
        // Yellow under the province and letter, green under the serial.
        plate.setTo(kGreen);
        int split = cvRound((cells.x[1] + cells.char_w + 12) * k);
        plate(cv::Rect(0, 0, split, size.height)).setTo(kYellow);
      } else {
        for (int y = 0; y < size.height; ++y) {  // light at the top, green at the bottom
          double t = std::pow(static_cast<double>(y) / (size.height - 1), 0.8);
          plate.row(y).setTo(kGreenLight * (1 - t) + kGreen * t);
        }
      }
      break;
  }

  // Frame line, inset 3 mm, 1.5 mm wide; none on new-energy plates.
  if (background != Background::kGreen) {
    int inset = cvRound(3 * k), thick = std::max(1, cvRound(1.5 * k));
    cv::rectangle(plate, cv::Rect(inset, inset, size.width - 2 * inset, size.height - 2 * inset),
                  ink, thick, cv::LINE_AA);
  }
  // Rivets above the characters (two rows: beside the top row).
  const std::array<double, 2> rivets_x =
      two_rows ? std::array<double, 2>{55, 385} : std::array<double, 2>{mm.width * 0.22, mm.width * 0.78};
  for (double rx : rivets_x) {
    cv::Point c(cvRound(rx * k), cvRound((two_rows ? kTopRowY + kTopRowH / 2 : 12.5) * k));
    cv::circle(plate, c, std::max(1, cvRound(4.5 * k)), cv::Scalar(150, 150, 150), -1, cv::LINE_AA);
    cv::circle(plate, c + cv::Point(-cvRound(k), -cvRound(k)), std::max(1, cvRound(1.5 * k)),
               cv::Scalar(225, 225, 225), -1, cv::LINE_AA);
  }
  // Where each character goes (mm): its cell, and whether it is stretched to the cell's width.
  struct Place {
    cv::Rect2d cell;
    bool stretch;
  };
  std::vector<Place> places;
  cv::Point2d dot;
  if (two_rows) {
    for (double x : kTopCellX) places.push_back({{x, kTopRowY, kTopCellW, kTopRowH}, true});
    dot = {(kTopCellX[0] + kTopCellW + kTopCellX[1]) / 2, kTopRowY + kTopRowH / 2};
    const double serial_w = 5 * kBottomCellW + 4 * kBottomGapMm;
    for (int i = 0; i < 5; ++i) {
      places.push_back({{(mm.width - serial_w) / 2 + i * (kBottomCellW + kBottomGapMm), kBottomRowY, kBottomCellW,
                         kBottomRowH},
                        false});
    }
  } else {
    const double top_mm = (mm.height - kCharHeightMm) / 2;
    for (double x : cells.x) places.push_back({{x, top_mm, cells.char_w, kCharHeightMm}, false});
    dot = {cells.dot_x, mm.height / 2};
  }
  // Separator dot.
  cv::circle(plate, {cvRound(dot.x * k), cvRound(dot.y * k)}, std::max(1, cvRound(5 * k)), ink, -1, cv::LINE_AA);

  for (size_t i = 0; i < text.size(); ++i) {
    char32_t c = text[i];
    const Place& place = places[i];
    const cv::Mat& glyph = Glyph(c, style.regular);
    cv::Mat fitted;
    const int cell_h = cvRound(place.cell.height * k), cell_w = cvRound(place.cell.width * k);
    int w = cell_w;
    if (!IsHan(c) && !place.stretch) {  // keep the letter's proportions, at most the cell's width
      w = std::min(cell_w, std::max(1, cvRound(glyph.cols * static_cast<double>(cell_h) / glyph.rows)));
    }
    cv::resize(glyph, fitted, {w, cell_h}, 0, 0, cv::INTER_AREA);
    if (style.weight != 0) {
      int r = std::max(1, cvRound(std::abs(style.weight) * k));
      cv::Mat disk = cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * r + 1, 2 * r + 1});
      if (style.weight > 0) {
        cv::dilate(fitted, fitted, disk);
      } else {
        cv::erode(fitted, fitted, disk);
      }
    }
    int x = cvRound(place.cell.x * k) + (cell_w - w) / 2;
    cv::Scalar color = (c == U'警' || c == U'使') ? kRed : ink;
    Ink(plate, fitted, {x, cvRound(place.cell.y * k)}, color);
  }
  return plate;
}

}  // namespace vigil::plates
