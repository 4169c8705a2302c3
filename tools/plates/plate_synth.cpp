#include "tools/plates/plate_synth.h"

#include <array>
#include <cmath>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "analytics/plate_finder.h"
#include "base/plate_text.h"

namespace vigil::plates {
namespace {

using plate::Background;

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
int Pick(std::mt19937_64& rng, int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
bool Chance(std::mt19937_64& rng, double p) { return Uniform(rng, 0, 1) < p; }

char32_t Province(std::mt19937_64& rng) {
  return plate::kProvinces[static_cast<size_t>(Pick(rng, static_cast<int>(plate::kProvinces.size())))];
}
char32_t Letter(std::mt19937_64& rng) {
  return plate::kSerialLetters[static_cast<size_t>(Pick(rng, 24))];
}
char32_t Digit(std::mt19937_64& rng) { return static_cast<char32_t>(U'0' + Pick(rng, 10)); }
char32_t Serial(std::mt19937_64& rng) { return Chance(rng, 0.75) ? Digit(rng) : Letter(rng); }

struct Conditions {
  double px_lo, px_hi;        // plate width in the camera image
  double blur_hi;             // Gaussian sigma, camera pixels
  double motion_hi;           // motion blur length, camera pixels
  double noise_lo, noise_hi;  // sensor noise sigma, grey levels
  double jitter;              // detector corner error, fraction of the plate width
  int jpeg_lo, jpeg_hi;
  double yaw, pitch, roll;    // degrees
  double p_night, p_dirt, p_occlusion, p_glare;
};

// Plates narrower than 64 px in the camera image are out of scope: a plate camera is installed so
// that plates are at least that wide (GA/T 497-style checkpoint cameras aim for 100+ px). Within
// that, "hard" is night, dirt, glare, motion and heavy compression at the low end of resolution:
// hard for a person too, but legible.
const std::array<Conditions, kDifficultyCount> kConditions = {{
    {110, 190, 0.6, 2, 0, 4, 0.02, 60, 95, 20, 10, 4, 0.0, 0.2, 0.0, 0.05},
    {80, 130, 0.8, 2.5, 1, 6, 0.03, 35, 85, 30, 15, 6, 0.15, 0.4, 0.1, 0.1},
    {64, 100, 0.9, 3.5, 2, 8, 0.035, 30, 65, 38, 20, 8, 0.3, 0.6, 0.2, 0.2},
}};

cv::Mat Backdrop(std::mt19937_64& rng, cv::Size size) {
  // A car body: one paint colour, a gradient, and a bumper edge or grille lines now and then.
  cv::Scalar paint(Uniform(rng, 10, 240), Uniform(rng, 10, 240), Uniform(rng, 10, 240));
  if (Chance(rng, 0.5)) paint = cv::Scalar::all(Uniform(rng, 15, 230));
  cv::Mat m(size, CV_8UC3, paint);
  cv::Mat grad(size, CV_32F);
  double gy = Uniform(rng, -0.3, 0.3);
  for (int y = 0; y < size.height; ++y) grad.row(y).setTo(1 + gy * (y / double(size.height) - 0.5));
  cv::Mat f;
  m.convertTo(f, CV_32FC3);
  cv::Mat g3;
  cv::merge(std::vector<cv::Mat>{grad, grad, grad}, g3);
  f = f.mul(g3);
  f.convertTo(m, CV_8UC3);
  int lines = Pick(rng, 4);
  for (int i = 0; i < lines; ++i) {
    int y = Pick(rng, size.height);
    cv::line(m, {0, y}, {size.width, y + Pick(rng, 9) - 4}, cv::Scalar::all(Uniform(rng, 0, 255)),
             1 + Pick(rng, 3), cv::LINE_AA);
  }
  return m;
}

// Dirt, fading, uneven light and occlusion on the flat plate (in its own millimetre frame).
void Weather(cv::Mat& flat, std::mt19937_64& rng, const Conditions& c, Degradation& what) {
  cv::Mat f;
  flat.convertTo(f, CV_32FC3, 1 / 255.0);
  if (Chance(rng, c.p_dirt)) {
    cv::Mat mask(flat.size(), CV_32F, cv::Scalar(0));
    int blobs = 1 + Pick(rng, 5);
    for (int i = 0; i < blobs; ++i) {
      cv::ellipse(mask, {Pick(rng, flat.cols), Pick(rng, flat.rows)},
                  {5 + Pick(rng, flat.cols / 5), 3 + Pick(rng, flat.rows / 3)}, Uniform(rng, 0, 180),
                  0, 360, Uniform(rng, 0.15, 0.45), -1);
    }
    cv::GaussianBlur(mask, mask, {0, 0}, 6);
    cv::Scalar mud(Uniform(rng, 0.1, 0.3), Uniform(rng, 0.2, 0.35), Uniform(rng, 0.25, 0.45));
    std::vector<cv::Mat> ch;
    cv::split(f, ch);
    for (int i = 0; i < 3; ++i) ch[static_cast<size_t>(i)] = ch[static_cast<size_t>(i)].mul(1 - mask) + mask * mud[i];
    cv::merge(ch, f);
  }
  double fade = Uniform(rng, 0, 0.15);
  f = f * (1 - fade) + cv::Scalar::all(0.6 * fade);
  // Light falling off across the plate.
  double ax = Uniform(rng, -0.35, 0.35), ay = Uniform(rng, -0.35, 0.35);
  cv::Mat light(flat.size(), CV_32F);
  for (int y = 0; y < flat.rows; ++y) {
    auto* p = light.ptr<float>(y);
    for (int x = 0; x < flat.cols; ++x) {
      p[x] = static_cast<float>(1 + ax * (x / double(flat.cols) - 0.5) + ay * (y / double(flat.rows) - 0.5));
    }
  }
  cv::Mat l3;
  cv::merge(std::vector<cv::Mat>{light, light, light}, l3);
  f = f.mul(l3);
  if (Chance(rng, c.p_glare)) {  // a headlight or the sun on the plate
    cv::Mat glare(flat.size(), CV_32F, cv::Scalar(0));
    cv::circle(glare, {Pick(rng, flat.cols), Pick(rng, flat.rows)}, 20 + Pick(rng, 60),
               Uniform(rng, 0.3, 0.7), -1);
    cv::GaussianBlur(glare, glare, {0, 0}, 25);
    cv::Mat g3;
    cv::merge(std::vector<cv::Mat>{glare, glare, glare}, g3);
    f += g3;
  }
  f.convertTo(flat, CV_8UC3, 255);
  if (Chance(rng, c.p_occlusion)) {  // a tow bar, a bracket, a leaf: an edge band of one or two characters
    what.occluded = true;
    int w = cvRound(flat.cols * Uniform(rng, 0.06, 0.16));
    int h = cvRound(flat.rows * Uniform(rng, 0.12, 0.28));
    int x = Pick(rng, flat.cols - w);
    int y = Chance(rng, 0.5) ? 0 : flat.rows - h;
    cv::rectangle(flat, cv::Rect(x, y, w, h), cv::Scalar::all(Uniform(rng, 10, 80)), -1);
  }
}

}  // namespace

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kBlue: return "blue";
    case Kind::kYellow: return "yellow";
    case Kind::kYellowSuffix: return "yellow_suffix";
    case Kind::kGreenSmall: return "green_small";
    case Kind::kGreenLarge: return "green_large";
    case Kind::kPolice: return "police";
    case Kind::kBlack: return "black";
    case Kind::kEmbassy: return "embassy";
    case Kind::kTwoRow: return "two_row";
  }
  return "?";
}

const char* DifficultyName(Difficulty d) {
  switch (d) {
    case Difficulty::kEasy: return "easy";
    case Difficulty::kMedium: return "medium";
    case Difficulty::kHard: return "hard";
  }
  return "?";
}

PlateSpec RandomPlate(std::mt19937_64& rng, Kind kind) {
  PlateSpec s;
  s.kind = kind;
  auto head = [&] {
    s.text.push_back(Province(rng));
    s.text.push_back(Letter(rng));
  };
  switch (kind) {
    case Kind::kBlue:
    case Kind::kYellow:
      head();
      for (int i = 0; i < 5; ++i) s.text.push_back(Serial(rng));
      s.background = kind == Kind::kBlue ? Background::kBlue : Background::kYellow;
      break;
    case Kind::kYellowSuffix:
      head();
      for (int i = 0; i < 4; ++i) s.text.push_back(Serial(rng));
      s.text.push_back(Chance(rng, 0.6) ? U'挂' : U'学');
      s.background = Background::kYellow;
      break;
    case Kind::kGreenSmall:
      head();
      s.text.push_back(Chance(rng, 0.7) ? U'D' : U'F');
      s.text.push_back(Serial(rng));
      for (int i = 0; i < 4; ++i) s.text.push_back(Digit(rng));
      s.background = Background::kGreen;
      break;
    case Kind::kGreenLarge:
      head();
      for (int i = 0; i < 5; ++i) s.text.push_back(Digit(rng));
      s.text.push_back(Chance(rng, 0.7) ? U'D' : U'F');
      s.background = Background::kGreen;
      break;
    case Kind::kPolice:
      head();
      for (int i = 0; i < 4; ++i) s.text.push_back(Serial(rng));
      s.text.push_back(U'警');
      s.background = Background::kWhite;
      break;
    case Kind::kBlack: {
      static constexpr std::u32string_view kBlackSuffix = U"港澳领";
      char32_t suffix = kBlackSuffix[static_cast<size_t>(Pick(rng, 3))];
      if (suffix == U'领') {
        head();
      } else {  // Hong Kong and Macau vehicles are registered in Guangdong, authority Z
        s.text = U"粤Z";
      }
      for (int i = 0; i < 4; ++i) s.text.push_back(Serial(rng));
      s.text.push_back(suffix);
      s.background = Background::kBlack;
      break;
    }
    case Kind::kEmbassy:
      s.text = U"使";
      for (int i = 0; i < 6; ++i) s.text.push_back(Digit(rng));
      s.background = Background::kBlack;
      break;
    case Kind::kTwoRow: {
      head();
      const bool trailer = Chance(rng, 0.3);
      for (int i = 0; i < (trailer ? 4 : 5); ++i) s.text.push_back(Serial(rng));
      if (trailer) s.text.push_back(U'挂');
      s.background = Background::kYellow;
      s.two_rows = true;
      break;
    }
  }
  return s;
}

PlateSpec RandomPlate(std::mt19937_64& rng) {
  // Streets show mostly blue plates; every kind keeps enough samples to be learnt and measured.
  // The one-row kinds (two-row plates are drawn by MakeTwoRowSample).
  static constexpr std::array<double, 8> kWeights = {30, 14, 6, 16, 8, 10, 10, 6};
  std::discrete_distribution<int> pick(kWeights.begin(), kWeights.end());
  return RandomPlate(rng, static_cast<Kind>(pick(rng)));
}

cv::Mat Degrade(const cv::Mat& flat_in, std::mt19937_64& rng, Difficulty difficulty, cv::Size out,
                Degradation* what_out, double box_crop) {
  const Conditions& c = kConditions[static_cast<size_t>(difficulty)];
  Degradation what;
  // A third of detectors (and every bounding-box data set, like CCPD's crops) hand over an upright
  // box: the plate's own roll then stays in the crop as slanted, rotated text.
  what.box_crop = box_crop > 0 && Chance(rng, box_crop);
  cv::Mat flat = flat_in.clone();
  Weather(flat, rng, c, what);

  // Camera view: the plate rotated in 3D and projected, `px` pixels wide.
  double px = Uniform(rng, c.px_lo, c.px_hi);
  what.plate_px = px;
  double w = flat.cols, h = flat.rows;
  double yaw = Uniform(rng, -c.yaw, c.yaw) * CV_PI / 180;
  double pitch = Uniform(rng, -c.pitch, c.pitch) * CV_PI / 180;
  double roll_max = what.box_crop ? 15 : c.roll;
  double roll = Uniform(rng, -roll_max, roll_max) * CV_PI / 180;
  cv::Matx33d ry(std::cos(yaw), 0, std::sin(yaw), 0, 1, 0, -std::sin(yaw), 0, std::cos(yaw));
  cv::Matx33d rx(1, 0, 0, 0, std::cos(pitch), -std::sin(pitch), 0, std::sin(pitch), std::cos(pitch));
  cv::Matx33d rz(std::cos(roll), -std::sin(roll), 0, std::sin(roll), std::cos(roll), 0, 0, 0, 1);
  cv::Matx33d r = rz * rx * ry;
  double dist = w * Uniform(rng, 2.5, 6);
  std::vector<cv::Point2f> src = {{0, 0}, {float(w), 0}, {float(w), float(h)}, {0, float(h)}};
  std::vector<cv::Point2f> proj;
  for (const auto& p : src) {
    cv::Vec3d v = r * cv::Vec3d(p.x - w / 2, p.y - h / 2, 0);
    double z = v[2] + dist;
    proj.emplace_back(static_cast<float>(v[0] * dist / z), static_cast<float>(v[1] * dist / z));
  }
  cv::Rect2f bounds = cv::boundingRect(proj);
  double scale = px / bounds.width;
  double margin = px * 0.25;
  cv::Size view_size(cvCeil(bounds.width * scale + 2 * margin), cvCeil(bounds.height * scale + 2 * margin));
  std::vector<cv::Point2f> corners;
  for (const auto& p : proj) {
    corners.emplace_back(static_cast<float>((p.x - bounds.x) * scale + margin),
                         static_cast<float>((p.y - bounds.y) * scale + margin));
  }
  // Shrink first so the warp does not alias, then warp onto the car.
  double shrink = std::min(1.0, 2 * px / w);
  cv::Mat small;
  cv::resize(flat, small, {}, shrink, shrink, cv::INTER_AREA);
  std::vector<cv::Point2f> small_src = {{0, 0},
                                        {float(small.cols), 0},
                                        {float(small.cols), float(small.rows)},
                                        {0, float(small.rows)}};
  cv::Mat view = Backdrop(rng, view_size);
  cv::Mat hom = cv::getPerspectiveTransform(small_src, corners);
  cv::Mat mask(small.size(), CV_8U, cv::Scalar(255));
  cv::Mat warped, warped_mask;
  cv::warpPerspective(small, warped, hom, view_size, cv::INTER_LINEAR);
  cv::warpPerspective(mask, warped_mask, hom, view_size, cv::INTER_LINEAR);
  cv::Mat m3;
  cv::cvtColor(warped_mask, m3, cv::COLOR_GRAY2BGR);
  cv::Mat vf, wf, mf;
  view.convertTo(vf, CV_32FC3);
  warped.convertTo(wf, CV_32FC3);
  m3.convertTo(mf, CV_32FC3, 1 / 255.0);
  vf = vf.mul(cv::Scalar::all(1) - mf) + wf.mul(mf);

  // Camera: optics, motion, light level, noise, compression.
  double sigma = Uniform(rng, 0, c.blur_hi);
  if (sigma > 0.2) cv::GaussianBlur(vf, vf, {0, 0}, sigma);
  double motion = Uniform(rng, 0, c.motion_hi);
  if (motion >= 1.5) {
    int len = cvRound(motion);
    cv::Mat kernel(len * 2 + 1, len * 2 + 1, CV_32F, cv::Scalar(0));
    double angle = Uniform(rng, 0, CV_PI);
    cv::Point centre(len, len);
    cv::line(kernel, centre - cv::Point(cvRound(len * std::cos(angle) / 2), cvRound(len * std::sin(angle) / 2)),
             centre + cv::Point(cvRound(len * std::cos(angle) / 2), cvRound(len * std::sin(angle) / 2)),
             cv::Scalar(1), 1, cv::LINE_AA);
    kernel /= cv::sum(kernel)[0];
    cv::filter2D(vf, vf, -1, kernel);
  }
  double noise = Uniform(rng, c.noise_lo, c.noise_hi);
  if (Chance(rng, c.p_night)) {
    what.night = true;
    // Street lights or IR: the camera's gain lifts a dim, low-contrast plate and its noise.
    vf = vf * Uniform(rng, 0.35, 0.6) + cv::Scalar::all(Uniform(rng, 5, 25));
    noise += Uniform(rng, 1, 4);
  } else {
    vf *= Uniform(rng, 0.7, 1.2);
  }
  cv::Mat n(vf.size(), CV_32FC3);
  cv::RNG noise_rng(rng());  // not cv::theRNG(): samples must not depend on each other
  noise_rng.fill(n, cv::RNG::NORMAL, 0, noise);
  vf += n;
  cv::Mat camera;
  vf.convertTo(camera, CV_8UC3);
  std::vector<uchar> jpeg;
  int quality = c.jpeg_lo + Pick(rng, c.jpeg_hi - c.jpeg_lo + 1);
  cv::imencode(".jpg", camera, jpeg, {cv::IMWRITE_JPEG_QUALITY, quality});
  camera = cv::imdecode(jpeg, cv::IMREAD_COLOR);

  // Detector: corners a little off, rectified to the reader's input.
  std::vector<cv::Point2f> found;
  if (what.box_crop) {
    cv::Rect2f b = cv::boundingRect(corners);
    float l = static_cast<float>(Uniform(rng, -0.01, 0.05) * px), r = static_cast<float>(Uniform(rng, -0.01, 0.05) * px);
    float t = static_cast<float>(Uniform(rng, -0.02, 0.1) * b.height), d = static_cast<float>(Uniform(rng, -0.02, 0.1) * b.height);
    found = {{b.x - l, b.y - t}, {b.x + b.width + r, b.y - t}, {b.x + b.width + r, b.y + b.height + d},
             {b.x - l, b.y + b.height + d}};
  } else {
    for (const auto& p : corners) {
      found.emplace_back(static_cast<float>(p.x + Uniform(rng, -c.jitter, c.jitter) * px),
                         static_cast<float>(p.y + Uniform(rng, -c.jitter, c.jitter) * px * 0.8));
    }
  }
  std::vector<cv::Point2f> dst = {{0, 0}, {float(out.width), 0}, {float(out.width), float(out.height)},
                                  {0, float(out.height)}};
  cv::Mat rect = cv::getPerspectiveTransform(found, dst);
  cv::Mat result;
  cv::warpPerspective(camera, result, rect, out, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  if (what_out) *what_out = what;
  return result;
}

Result<Sample> MakeSample(PlateRenderer& renderer, uint64_t seed, int64_t index, cv::Size out, bool mix) {
  std::mt19937_64 rng(seed * 1'000'003ULL + static_cast<uint64_t>(index));
  Sample s;
  s.spec = RandomPlate(rng);
  s.difficulty = static_cast<Difficulty>(rng() % kDifficultyCount);
  GlyphStyle style;
  if (mix) {
    style.regular = rng() % 2 == 1;
    style.weight = static_cast<int>(rng() % 4) - 2;  // -2 .. 1 mm
  }
  auto flat = renderer.Render(s.spec.text, s.spec.background, 1.0, style);
  if (!flat.ok()) return flat.error();
  s.crop = Degrade(*flat, rng, s.difficulty, out, &s.what, mix ? 0.3 : 0.0);
  return s;
}

Result<Sample> MakeTwoRowSample(PlateRenderer& renderer, uint64_t seed, int64_t index, bool mix) {
  std::mt19937_64 rng(seed * 1'000'003ULL + static_cast<uint64_t>(index));
  Sample s;
  s.spec = RandomPlate(rng, Kind::kTwoRow);
  s.difficulty = static_cast<Difficulty>(rng() % kDifficultyCount);
  GlyphStyle style;
  if (mix) {
    style.regular = rng() % 2 == 1;
    style.weight = static_cast<int>(rng() % 4) - 2;
  }
  auto flat = renderer.Render(s.spec.text, s.spec.background, 1.0, style, true);
  if (!flat.ok()) return flat.error();
  s.crop = analytics::StitchTwoRows(Degrade(*flat, rng, s.difficulty, analytics::kTwoRowSize, &s.what, mix ? 0.3 : 0.0));
  return s;
}

cv::Mat StreetFrame(PlateRenderer& renderer, std::mt19937_64& rng, cv::Size size, int plates,
                    std::vector<PlateSpec>& specs, std::vector<cv::Rect>& boxes, double two_row_share) {
  const double k = size.height / 1080.0;
  cv::Mat frame(size, CV_8UC3, cv::Scalar::all(Uniform(rng, 70, 120)));
  cv::Mat noise(frame.size(), CV_8UC3);
  cv::RNG(rng()).fill(noise, cv::RNG::NORMAL, 0, 6);
  frame += noise;
  specs.clear();
  boxes.clear();
  for (int p = 0; p < plates; ++p) {
    PlateSpec spec = two_row_share > 0 && Chance(rng, two_row_share) ? RandomPlate(rng, Kind::kTwoRow) : RandomPlate(rng);
    auto flat = renderer.Render(spec.text, spec.background, 1.0, {}, spec.two_rows);
    if (!flat.ok()) continue;
    double width = Uniform(rng, 110, 230) * k;
    double height = width * flat->rows / flat->cols;
    // Cars side by side: each in its own band of the frame.
    double band = static_cast<double>(size.width) / plates;
    cv::Point2f c(static_cast<float>(band * p + band / 2 + Uniform(rng, -band / 6, band / 6)),
                  static_cast<float>(Uniform(rng, 0.35, 0.8) * size.height));
    cv::Scalar paint(Uniform(rng, 0, 255), Uniform(rng, 0, 255), Uniform(rng, 0, 255));
    cv::rectangle(frame, cv::Rect(cvRound(c.x - width * 1.8), cvRound(c.y - height * 4), cvRound(width * 3.6),
                                  cvRound(height * 5.5)),
                  paint, -1);
    double skew = Uniform(rng, -0.12, 0.12) * height, lean = Uniform(rng, -0.08, 0.08) * width;
    std::vector<cv::Point2f> dst = {{float(c.x - width / 2 + lean), float(c.y - height / 2 - skew)},
                                    {float(c.x + width / 2 + lean), float(c.y - height / 2 + skew)},
                                    {float(c.x + width / 2), float(c.y + height / 2 + skew)},
                                    {float(c.x - width / 2), float(c.y + height / 2 - skew)}};
    std::vector<cv::Point2f> src = {{0, 0}, {float(flat->cols), 0}, {float(flat->cols), float(flat->rows)},
                                    {0, float(flat->rows)}};
    cv::Mat h = cv::getPerspectiveTransform(src, dst);
    cv::Mat warped, mask;
    cv::warpPerspective(*flat, warped, h, frame.size(), cv::INTER_AREA);
    cv::warpPerspective(cv::Mat(flat->size(), CV_8U, cv::Scalar(255)), mask, h, frame.size());
    warped.copyTo(frame, mask > 128);
    specs.push_back(spec);
    boxes.push_back(cv::boundingRect(dst));
  }
  cv::GaussianBlur(frame, frame, {0, 0}, Uniform(rng, 0.3, 1.0));
  return frame;
}

}  // namespace vigil::plates
