#include "tools/plates/real_crops.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "analytics/plate_finder.h"

namespace vigil::plates {
namespace {

double Uniform(std::mt19937_64& rng, double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); }
bool Chance(std::mt19937_64& rng, double p) { return Uniform(rng, 0, 1) < p; }

}  // namespace

cv::Mat RealVariant(const LabeledPhoto& photo, uint64_t seed, int64_t photo_index, int64_t variant,
                    bool augment, cv::Size out) {
  std::array<cv::Point2f, 4> q = *photo.corners;  // tl, tr, br, bl
  if (!augment) return analytics::RectifyPlate(photo.image, q);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(photo_index) << 20) ^
                      static_cast<uint64_t>(variant));
  // The region around the plate, so that scaling and filtering touch only what is needed.
  cv::Rect box = cv::boundingRect(std::vector<cv::Point2f>(q.begin(), q.end()));
  const double plate_w = std::max(cv::norm(q[1] - q[0]), cv::norm(q[2] - q[3]));
  const double plate_h = std::max(cv::norm(q[3] - q[0]), cv::norm(q[2] - q[1]));
  cv::Rect roi(box.x - box.width / 2, box.y - box.height, box.width * 2, box.height * 3);
  roi &= cv::Rect(0, 0, photo.image.cols, photo.image.rows);
  cv::Mat img = photo.image(roi).clone();
  for (auto& p : q) p -= cv::Point2f(static_cast<float>(roi.x), static_cast<float>(roi.y));
  // A street camera's plate width (log-uniform 64-260 px); close-ups are scaled down to it.
  const double target_w = std::exp(Uniform(rng, std::log(64.0), std::log(260.0)));
  const double scale = std::min(1.0, target_w / std::max(1.0, plate_w));
  if (scale < 1.0) {
    cv::resize(img, img, cv::Size(), scale, scale, Chance(rng, 0.5) ? cv::INTER_AREA : cv::INTER_LINEAR);
    for (auto& p : q) p *= static_cast<float>(scale);
  }
  const double w = plate_w * scale, h = plate_h * scale;
  // Image quality: light, colour balance, blur, noise, compression.
  cv::Mat f;
  img.convertTo(f, CV_32FC3);
  const double contrast = Uniform(rng, 0.55, 1.35), bright = Uniform(rng, -45, 40);
  std::vector<cv::Mat> ch;
  cv::split(f, ch);
  for (auto& c : ch) c = c * (contrast * Uniform(rng, 0.9, 1.1)) + bright;
  cv::merge(ch, f);
  if (Chance(rng, 0.3)) {  // gamma: dusk or overexposure
    const double g = Uniform(rng, 0.6, 1.6);
    cv::max(f, 0, f);
    cv::pow(f / 255.0, g, f);
    f *= 255.0;
  }
  if (Chance(rng, 0.45)) {
    const double sigma = Uniform(rng, 0.3, 1.3);
    cv::GaussianBlur(f, f, cv::Size(), sigma);
  }
  if (Chance(rng, 0.15)) {  // horizontal motion blur
    const int k = 2 + static_cast<int>(Uniform(rng, 0, std::max(2.0, w / 25)));
    cv::Mat kernel = cv::Mat::zeros(1, k, CV_32F) + 1.0f / static_cast<float>(k);
    cv::filter2D(f, f, -1, kernel);
  }
  if (Chance(rng, 0.6)) {
    cv::Mat noise(f.size(), f.type());
    cv::randn(noise, 0, Uniform(rng, 1, 9));
    f += noise;
  }
  f.convertTo(img, CV_8UC3);  // saturates
  if (Chance(rng, 0.5)) {
    std::vector<uchar> jpeg;
    cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, static_cast<int>(Uniform(rng, 25, 92))});
    img = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  }
  // The detector's view of the corners.
  const double mode = Uniform(rng, 0, 1);
  if (mode < 0.2) {
    // An upright box around the plate (as box detectors and CCPD's crops give), a little loose.
    cv::Rect2f b = cv::boundingRect(std::vector<cv::Point2f>(q.begin(), q.end()));
    const float mx = static_cast<float>(Uniform(rng, -0.02, 0.06) * b.width);
    const float my = static_cast<float>(Uniform(rng, -0.04, 0.12) * b.height);
    q = {cv::Point2f{b.x - mx, b.y - my}, {b.x + b.width + mx, b.y - my}, {b.x + b.width + mx, b.y + b.height + my},
         {b.x - mx, b.y + b.height + my}};
  } else {
    // Corners off by up to a few per cent of the plate, sometimes all outward (a loose quad).
    const cv::Point2f c = (q[0] + q[1] + q[2] + q[3]) * 0.25f;
    const double grow = mode < 0.35 ? Uniform(rng, 0.02, 0.10) : 0.0;
    for (auto& p : q) {
      p = c + (p - c) * static_cast<float>(1.0 + grow);
      p += cv::Point2f(static_cast<float>(std::normal_distribution<double>(0, 0.02 * w)(rng)),
                       static_cast<float>(std::normal_distribution<double>(0, 0.05 * h)(rng)));
    }
  }
  cv::Mat crop = analytics::RectifyPlate(img, q);
  if (crop.size() != out) cv::resize(crop, crop, out, 0, 0, cv::INTER_AREA);
  return crop;
}

}  // namespace vigil::plates
