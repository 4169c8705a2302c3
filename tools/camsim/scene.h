#pragma once
// A synthetic street scene, deterministic from a seed: textured background (road, pavement, building
// fronts), people and vehicles moving along paths, and a burned-in wall clock with the camera name.
// Render(t) depends only on the seed, the size and t, so every run shows the same scene.

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace vigil::camsim {

struct Mover {
  bool vehicle = false;
  cv::Scalar colour;
  double y_frac = 0;      // vertical position of the path, fraction of height
  double speed = 0;       // fraction of width per second; sign gives direction
  double phase = 0;       // start offset, fraction of width
  double size_frac = 0;   // height as a fraction of frame height
};

class Scene {
 public:
  // Not thread-safe; one Scene per render thread.
  // `movers`: people and vehicles walking the default loops (off for scripted scenes).
  Scene(uint64_t seed, cv::Size size, std::string label, bool movers = true);

  // Draws the scene at media time t_sec into `out` (BGR, resized if needed). The overlay shows
  // `clock_text` (e.g. the wall time) and the label.
  void Render(double t_sec, const std::string& clock_text, cv::Mat& out) const;

  // The parts of Render, for scripted scenes: the empty street, and the clock and label overlay.
  void Background(cv::Mat& out) const { background_.copyTo(out); }
  void Overlay(const std::string& clock_text, cv::Mat& out) const;

  cv::Size size() const { return size_; }

 private:
  cv::Size size_;
  std::string label_;
  cv::Mat background_;
  std::vector<Mover> movers_;
};

}  // namespace vigil::camsim
