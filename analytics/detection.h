#pragma once
// What an analytics stage reports: an event starting, ending, or happening at one instant.

#include <cstdint>
#include <string>

#include <opencv2/core.hpp>

#include "index/types.h"

namespace vigil::analytics {

enum class Phase {
  kStart,    // the event began at start_ns and goes on; a kEnd with the same key follows
  kEnd,      // the event with this key ended at end_ns
  kInstant,  // the event is complete (a line crossing): start_ns == end_ns
};

struct Detection {
  Phase phase = Phase::kInstant;
  index::EventType type = index::EventType::kMotion;
  std::string zone;        // zone or line name, empty for motion and tamper
  int64_t track = 0;       // 0 when none
  int64_t start_ns = 0;
  int64_t end_ns = 0;      // == start_ns for kStart
  double score = 0;        // 0..1
  cv::Rect box;            // analysed-frame pixels; empty for tamper
  std::string attributes;  // JSON object text, may be empty
  int64_t key = 0;         // unique per camera; pairs kStart with its kEnd
};

}  // namespace vigil::analytics
