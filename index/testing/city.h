#pragma once
// A synthetic city for index tests and benchmarks, reproducible from a seed: cameras scattered
// around a centre (denser downtown), events with a diurnal load (quiet at 04:00, busiest at 18:00),
// skewed per camera, and plate reads at checkpoint cameras of a vehicle population whose plates
// follow the GA 36 layout (mostly the local province and city letter) with a Zipf-like frequency
// (commuters pass daily, most vehicles rarely), plus OCR misreads (confusable substitutions).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "index/types.h"

namespace vigil::index::testing {

struct CityOptions {
  uint64_t seed = 1;
  int cameras = 2000;
  LatLon center{25.0389, 102.7183};  // Kunming: local plates are 云A
  double radius_m = 12'000;
  int64_t start_ns = 1'779'580'800'000'000'000;  // 2026-05-24T00:00:00Z
  int days = 90;
  int64_t events = 100'000'000;
  int64_t plate_reads = 10'000'000;
  int64_t vehicles = 0;            // 0: plate_reads / 6
  double checkpoint_share = 0.1;   // cameras that read plates
  double misread_share = 0.02;     // reads with one confusable substitution
  int utc_offset_hours = 8;        // for the diurnal curve
};

class City {
 public:
  explicit City(CityOptions options);

  const CityOptions& options() const { return options_; }
  const std::vector<Camera>& cameras() const { return cameras_; }
  const std::vector<std::string>& plates() const { return plates_; }  // vehicle population
  int64_t end_ns() const;

  // Streams rows in time order (ids left 0). Deterministic: the same options give the same rows.
  void Events(const std::function<void(const Event&)>& sink) const;
  void PlateReads(const std::function<void(const PlateRead&)>& sink) const;

  // Load factor of a local hour of day, 0..1 (peak 1 at 18:00).
  static double Diurnal(double local_hour);

 private:
  CityOptions options_;
  std::vector<Camera> cameras_;
  std::vector<double> camera_weight_;
  std::vector<int> checkpoints_;
  std::vector<std::string> plates_;
};

// A random plate in the GA 36 layout (province, issuing letter, serial without I or O).
std::string RandomPlate(uint64_t& state, double local_share);

}  // namespace vigil::index::testing
