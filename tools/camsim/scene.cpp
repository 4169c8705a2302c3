#include "tools/camsim/scene.h"

#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

namespace vigil::camsim {

Scene::Scene(uint64_t seed, cv::Size size, std::string label, bool with_movers)
    : size_(size), label_(std::move(label)) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const int w = size.width, h = size.height;

  // Sky band with building fronts, pavement, road: coarse structure a camera would see.
  background_.create(size, CV_8UC3);
  background_.setTo(cv::Scalar(150, 140, 130));
  int horizon = h * 45 / 100;
  int x = 0;
  while (x < w) {
    int bw = static_cast<int>(w * (0.08 + 0.12 * u(rng)));
    int bh = static_cast<int>(horizon * (0.4 + 0.6 * u(rng)));
    cv::Scalar c(60 + 120 * u(rng), 60 + 120 * u(rng), 60 + 120 * u(rng));
    cv::rectangle(background_, {x, horizon - bh, bw, bh}, c, cv::FILLED);
    // Windows.
    for (int wy = horizon - bh + h / 40; wy < horizon - h / 30; wy += h / 18) {
      for (int wx = x + w / 100; wx < x + bw - w / 60; wx += w / 40) {
        cv::Scalar wc = u(rng) < 0.3 ? cv::Scalar(170, 210, 230) : cv::Scalar(70, 60, 50);
        cv::rectangle(background_, {wx, wy, w / 80, h / 40}, wc, cv::FILLED);
      }
    }
    x += bw;
  }
  cv::rectangle(background_, {0, horizon, w, h / 10}, cv::Scalar(170, 175, 180), cv::FILLED);
  cv::rectangle(background_, {0, horizon + h / 10, w, h - horizon - h / 10}, cv::Scalar(70, 70, 72),
                cv::FILLED);
  for (int lx = 0; lx < w; lx += w / 12) {  // lane markings
    cv::rectangle(background_, {lx, horizon + h * 3 / 10, w / 24, h / 120}, cv::Scalar(220, 220, 220),
                  cv::FILLED);
  }
  // Texture: fixed noise so the encoder sees real detail (as a real scene has).
  cv::Mat noise(size, CV_8UC3);
  cv::RNG cvrng(static_cast<uint64_t>(seed ^ 0x9e3779b97f4a7c15ULL));
  cvrng.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(12));
  cv::Mat noise_s;
  noise.convertTo(noise_s, CV_16SC3);
  cv::Mat bg16;
  background_.convertTo(bg16, CV_16SC3);
  bg16 += noise_s - cv::Scalar::all(0);
  bg16.convertTo(background_, CV_8UC3);

  // People on the pavement, vehicles on the road, each on a looping path.
  int people = 3 + static_cast<int>(u(rng) * 4);
  int vehicles = 2 + static_cast<int>(u(rng) * 3);
  if (!with_movers) people = vehicles = 0;
  for (int i = 0; i < people; ++i) {
    Mover m;
    m.vehicle = false;
    m.colour = cv::Scalar(40 + 200 * u(rng), 40 + 200 * u(rng), 40 + 200 * u(rng));
    m.y_frac = 0.47 + 0.06 * u(rng);
    m.speed = (u(rng) < 0.5 ? -1 : 1) * (0.02 + 0.03 * u(rng));
    m.phase = u(rng);
    m.size_frac = 0.12 + 0.04 * u(rng);
    movers_.push_back(m);
  }
  for (int i = 0; i < vehicles; ++i) {
    Mover m;
    m.vehicle = true;
    m.colour = cv::Scalar(30 + 220 * u(rng), 30 + 220 * u(rng), 30 + 220 * u(rng));
    m.y_frac = 0.62 + 0.25 * u(rng);
    m.speed = (m.y_frac < 0.75 ? -1 : 1) * (0.08 + 0.12 * u(rng));
    m.phase = u(rng);
    m.size_frac = 0.10 + 0.05 * u(rng);
    movers_.push_back(m);
  }
}

void Scene::Render(double t_sec, const std::string& clock_text, cv::Mat& out) const {
  background_.copyTo(out);
  const int w = size_.width, h = size_.height;
  for (const Mover& m : movers_) {
    double span = 1.3;  // paths run a little beyond both edges
    double pos = std::fmod(m.phase + m.speed * t_sec, span);
    if (pos < 0) pos += span;
    int cx = static_cast<int>((pos - 0.15) * w);
    int cy = static_cast<int>(m.y_frac * h);
    int sh = static_cast<int>(m.size_frac * h);
    if (m.vehicle) {
      int sw = sh * 2;
      cv::Rect body(cx - sw / 2, cy - sh / 2, sw, sh);
      cv::rectangle(out, body, m.colour, cv::FILLED);
      cv::rectangle(out, {body.x + sw / 5, body.y + sh / 8, sw * 3 / 5, sh / 3},
                    cv::Scalar(60, 50, 40), cv::FILLED);
      cv::circle(out, {body.x + sw / 5, body.y + sh}, sh / 5, cv::Scalar(20, 20, 20), cv::FILLED);
      cv::circle(out, {body.x + sw * 4 / 5, body.y + sh}, sh / 5, cv::Scalar(20, 20, 20), cv::FILLED);
    } else {
      int sw = sh / 3;
      cv::ellipse(out, {cx, cy - sh / 2 + sh / 10}, {sw / 3, sh / 10}, 0, 0, 360,
                  cv::Scalar(120, 150, 190), cv::FILLED);
      cv::rectangle(out, {cx - sw / 2, cy - sh / 2 + sh / 5, sw, sh / 2}, m.colour, cv::FILLED);
      int stride = static_cast<int>(std::sin(t_sec * 6 + m.phase * 10) * sw / 3);
      cv::line(out, {cx, cy + sh / 5}, {cx - stride, cy + sh / 2}, cv::Scalar(40, 40, 40),
               std::max(1, sw / 5));
      cv::line(out, {cx, cy + sh / 5}, {cx + stride, cy + sh / 2}, cv::Scalar(40, 40, 40),
               std::max(1, sw / 5));
    }
  }
  Overlay(clock_text, out);
}

void Scene::Overlay(const std::string& clock_text, cv::Mat& out) const {
  const int h = size_.height;
  double scale = h / 720.0;
  int thick = std::max(1, static_cast<int>(2 * scale));
  cv::putText(out, clock_text, {static_cast<int>(20 * scale), static_cast<int>(45 * scale)},
              cv::FONT_HERSHEY_SIMPLEX, 1.2 * scale, cv::Scalar(0, 0, 0), thick + 3, cv::LINE_AA);
  cv::putText(out, clock_text, {static_cast<int>(20 * scale), static_cast<int>(45 * scale)},
              cv::FONT_HERSHEY_SIMPLEX, 1.2 * scale, cv::Scalar(255, 255, 255), thick, cv::LINE_AA);
  cv::putText(out, label_, {static_cast<int>(20 * scale), h - static_cast<int>(20 * scale)},
              cv::FONT_HERSHEY_SIMPLEX, 1.0 * scale, cv::Scalar(255, 255, 255), thick, cv::LINE_AA);
}

}  // namespace vigil::camsim
