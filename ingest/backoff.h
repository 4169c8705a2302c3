#pragma once
// Capped exponential backoff for reconnecting to cameras, with deterministic jitter so that hundreds
// of cameras dropped by one switch reboot do not all retry in the same instant.

#include <algorithm>
#include <cstdint>

namespace vigil::ingest {

class Backoff {
 public:
  Backoff(int64_t initial_ns, int64_t max_ns, uint64_t jitter_seed = 0)
      : initial_(initial_ns), max_(max_ns), next_(initial_ns), seed_(jitter_seed) {}

  // The delay before the next attempt; each call doubles the following one, up to the cap.
  // Jitter: up to +10 % of the delay, from the seed (deterministic for tests).
  int64_t Next() {
    int64_t d = next_;
    next_ = std::min(max_, next_ * 2);
    seed_ = seed_ * 6364136223846793005ULL + 1442695040888963407ULL;
    int64_t jitter = static_cast<int64_t>((seed_ >> 33) % 1000) * d / 10000;
    return std::min(max_, d) + jitter;
  }
  // A connection worked: start again from the initial delay.
  void Reset() { next_ = initial_; }

 private:
  int64_t initial_;
  int64_t max_;
  int64_t next_;
  uint64_t seed_;
};

}  // namespace vigil::ingest
