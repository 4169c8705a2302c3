#pragma once
// What an analytics stage reports: an event starting, ending, or happening at one instant.

#include <cstdint>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

#include "base/event_type.h"

namespace vigil::analytics {

enum class Phase {
  kStart,    // the event began at start_ns and goes on; a kEnd with the same key follows
  kEnd,      // the event with this key ended at end_ns
  kInstant,  // the event is complete (a line crossing): start_ns == end_ns
};

struct Detection {
  Phase phase = Phase::kInstant;
  EventType type = EventType::kMotion;
  std::string zone;        // zone or line name, empty for motion and tamper
  int64_t track = 0;       // 0 when none
  int64_t start_ns = 0;
  int64_t end_ns = 0;      // == start_ns for kStart
  double score = 0;        // 0..1
  cv::Rect box;            // analysed-frame pixels; empty for tamper
  std::string attributes;  // JSON object text, may be empty
  // What the event's object is (its track's class when the event started); kUnknown without one.
  ObjectClass object_class = ObjectClass::kUnknown;
  double class_confidence = 0;  // 0..1
  int64_t key = 0;         // unique per camera; pairs kStart with its kEnd
  // A vehicle pass read by a plate camera (type kVehicle, kInstant over start..end).
  struct Plate {
    std::string text;       // normalised UTF-8
    std::string color;      // blue, yellow, green, white, black
    double confidence = 0;  // 0..1
    int sightings = 0;      // frames it was read in
    int64_t best_ns = 0;    // the frame `picture` is
  };
  std::optional<Plate> plate;
  // The frame the detection was best seen in, when that is not the frame just analysed (plate
  // passes are reported after the vehicle has gone). Empty: the analysed frame.
  cv::Mat picture;
};

}  // namespace vigil::analytics
