#pragma once
// Draws China GA 36-2018 plates as they look straight on: regulation sizes in millimetres, the
// character cells, the separator dot, frame and rivets, and each background's colours. Used by the
// synthetic training data generator (plate_synth.h) and by camsim's vehicles.
//
// Fonts: the regulation plate typeface is not packaged, so glyphs come from Debian fonts close to
// it and are fitted to the regulation cells (45 x 90 mm; 43 x 90 mm on new-energy plates): WenQuanYi
// Zen Hei (fonts-wqy-zenhei, a 黑体 like the regulation Chinese characters) and Liberation Sans Narrow
// Bold (fonts-liberation, a condensed sans like the regulation letters and digits).
//
// Thread-safety: a PlateRenderer is bound to one thread (OpenCV's FreeType object is not shared).

#include <map>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "base/plate_format.h"
#include "base/status.h"

namespace cv::freetype {
class FreeType2;
}

namespace vigil::plates {

inline constexpr const char* kChineseFont = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc";
inline constexpr const char* kLatinFont =
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf";
inline constexpr const char* kLatinFontRegular =
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf";

// Glyph styles: which letter font and how much heavier or lighter the strokes are drawn. Issued
// plates differ (stamping dies, wear, paint), so training data draws a style per plate; camsim uses 0.
struct GlyphStyle {
  bool regular = false;  // Liberation Sans Narrow Regular instead of Bold
  int weight = 0;        // strokes dilated (> 0) or eroded (< 0) by this many mm, -2..2
};

// Plate size in millimetres (width x height): 440 x 140, new-energy 480 x 140; two rows 440 x 220.
cv::Size2d PlateSizeMm(plate::Layout layout, bool two_rows = false);

class PlateRenderer {
 public:
  // Loads the fonts. Unavailable naming the missing font file (install fonts-wqy-zenhei and
  // fonts-liberation: tools/setup does).
  static Result<std::unique_ptr<PlateRenderer>> Create();
  ~PlateRenderer();
  PlateRenderer(const PlateRenderer&) = delete;
  PlateRenderer& operator=(const PlateRenderer&) = delete;

  // The plate `text` (normalised, grammatical) on `background`, `px_per_mm` pixels per millimetre,
  // BGR; `two_rows`: the 440 x 220 mm two-row plate (top row: province and letter in 80 x 60 mm
  // cells; bottom row: the serial in 65 x 110 mm cells). InvalidArgument when the text breaks the
  // grammar or does not go with the background, or two rows are asked of a plate that has none.
  Result<cv::Mat> Render(std::u32string_view text, plate::Background background,
                         double px_per_mm = 1.0, GlyphStyle style = {}, bool two_rows = false);

 private:
  PlateRenderer() = default;
  // A glyph's ink, white on black, cropped to its bounding box (cached).
  const cv::Mat& Glyph(char32_t c, bool regular);

  cv::Ptr<cv::freetype::FreeType2> chinese_;
  cv::Ptr<cv::freetype::FreeType2> latin_;
  cv::Ptr<cv::freetype::FreeType2> latin_regular_;
  std::map<std::pair<char32_t, bool>, cv::Mat> glyphs_;
};

}  // namespace vigil::plates
