#pragma once
// Synthetic plates for training and evaluating the plate reader: random grammatical plates of every
// GA 36 kind, and crops degraded the way a street camera and an imperfect plate detector degrade
// them: perspective, low resolution, blur and motion blur, uneven light, night, glare, dirt,
// sensor noise, JPEG artefacts, partial occlusion, and a rectification from slightly wrong corners.
//
// Deterministic: the same generator state gives the same plate and the same pixels.

#include <random>
#include <string>

#include <opencv2/core.hpp>

#include "base/plate_format.h"
#include "tools/plates/plate_render.h"

namespace vigil::plates {

// The kinds the generator draws and the evaluation reports on.
enum class Kind {
  kBlue,          // 云A12345, blue
  kYellow,        // 云A12345, yellow (large vehicle)
  kYellowSuffix,  // 鲁B1234挂 / 学, yellow
  kGreenSmall,    // 粤BD12345
  kGreenLarge,    // 沪A12345D, yellow-green
  kPolice,        // 云A1234警, white
  kBlack,         // 粤Z1234港 / 澳 / 沪A1234领, black
  kEmbassy,       // 使014578, black
  kTwoRow,        // 云A12345 / 鲁B1234挂 in two rows, yellow (rear of lorries, buses; trailers):
                  // drawn only by MakeTwoRowSample, so that MakeSample's data sets stay as they were
};
inline constexpr int kKindCount = 9;
const char* KindName(Kind kind);

struct PlateSpec {
  std::u32string text;
  plate::Background background = plate::Background::kBlue;
  Kind kind = Kind::kBlue;
  bool two_rows = false;
};

// A random plate of `kind` (province, authority letter and serial drawn uniformly; serial
// positions are digits 3 times in 4).
PlateSpec RandomPlate(std::mt19937_64& rng, Kind kind);
// A random plate, kinds weighted towards what streets show but every kind well represented.
PlateSpec RandomPlate(std::mt19937_64& rng);

enum class Difficulty { kEasy, kMedium, kHard };
inline constexpr int kDifficultyCount = 3;
const char* DifficultyName(Difficulty difficulty);

// What the camera and the detector did to one sample (for reports and debugging).
struct Degradation {
  double plate_px = 0;  // plate width in the camera image, pixels
  bool night = false;
  bool occluded = false;
  bool box_crop = false;  // the detector gave an upright box, not the plate's corners (text slants)
};

// A reader input: `flat` (a rendered plate) seen by a camera with `difficulty`'s conditions, found
// by a detector whose corners are off by a few percent, and rectified to `out` (BGR).
// `box_crop`: the share of samples whose detector hands over an upright box instead of the plate's
// corners (the plate's roll, up to 15 degrees, then stays in the crop as slanted text), as in
// bounding-box data sets like CCPD's.
cv::Mat Degrade(const cv::Mat& flat, std::mt19937_64& rng, Difficulty difficulty, cv::Size out,
                Degradation* what = nullptr, double box_crop = 0);

// Sample `index` of the data set `seed`: a random plate, difficulty and glyph style, rendered and
// degraded to `out`. Depends only on (seed, index): vigil-plategen and in-process evaluation agree.
struct Sample {
  PlateSpec spec;
  Difficulty difficulty = Difficulty::kEasy;
  Degradation what;
  cv::Mat crop;
};
//
// `mix` (off by default, and off for the committed model): also draw glyph styles (font weight and
// stroke width) and 30 % upright-box crops, towards real photographs (see docs/plates.md).
Result<Sample> MakeSample(PlateRenderer& renderer, uint64_t seed, int64_t index, cv::Size out, bool mix = false);

// Sample `index` of the two-row data set `seed`: a two-row plate (Kind::kTwoRow) rendered, degraded
// as MakeSample's, rectified to analytics::kTwoRowSize and stitched (analytics::StitchTwoRows) into
// the reader's 32x128 input, as the finder reads a two-row region.
Result<Sample> MakeTwoRowSample(PlateRenderer& renderer, uint64_t seed, int64_t index, bool mix = false);

// A 1920x1080-style street frame of `size` with `plates` cars seen from behind, each with a random
// plate (110-230 px wide at 1080p, mild perspective, light blur) on its bumper: for finder tests and
// the plate benchmark. `specs` and `boxes` (frame pixels) get the truth, in drawing order.
// `two_row_share`: the share of two-row plates (lorries; 0 draws exactly the frames drawn before).
cv::Mat StreetFrame(PlateRenderer& renderer, std::mt19937_64& rng, cv::Size size, int plates,
                    std::vector<PlateSpec>& specs, std::vector<cv::Rect>& boxes, double two_row_share = 0);

}  // namespace vigil::plates
