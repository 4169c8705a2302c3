#pragma once
// Matching indexed events against expected ones (the scene suite's computed ground truth, the
// real-footage suite's hand labels): same type and zone, same direction for line crossings, start
// within ±1 s, one to one (each expected event takes the nearest unused event), tallied per type.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "index/types.h"

namespace vigil::testing {

struct ExpectedEvent {
  index::EventType type = index::EventType::kMotion;
  std::string zone;
  std::string direction;  // "a_to_b" / "b_to_a" for line crossings, else empty
  double start_s = 0;     // seconds from the clip's or scene's time zero
  std::string what;       // for the report: which object, why
  // What the event's object is; kUnknown: not scored (the scene suite's truth has no class).
  index::ObjectClass object_class = index::ObjectClass::kUnknown;
};

struct TypeTally {
  int truth = 0;
  int detected = 0;
  int matched = 0;
  std::vector<double> offsets;  // detected start − expected start, matched pairs
  int classed = 0;              // matched pairs whose expected event names a class
  int class_right = 0;          // ... and the event's class is that one
  double class_accuracy() const { return classed ? static_cast<double>(class_right) / classed : 1.0; }
  double precision() const { return detected ? static_cast<double>(matched) / detected : 1.0; }
  double recall() const { return truth ? static_cast<double>(matched) / truth : 1.0; }
};

// "a_to_b", "b_to_a" or "" from an event's attributes.
std::string DirectionOf(const std::string& attributes);

// Matches `found` (times relative to `t0_ns`) to `expected`, adding to `by_type`; each miss (and,
// with `report_extras`, each unmatched event) becomes a line in `problems`, prefixed by `source`,
// as does each matched event of the wrong class. The class does not gate the match: a car called a
// person is found and misclassified, not missed.
// Returns, per found event, whether it was matched.
std::vector<bool> MatchEvents(const std::string& source, const std::vector<ExpectedEvent>& expected,
                              const std::vector<index::Event>& found, int64_t t0_ns, bool report_extras,
                              std::map<std::string, TypeTally>& by_type, std::vector<std::string>& problems);

// The per-type table: truth, detected, precision, recall, start error mean and worst, and class
// accuracy (right / classed) where the expected events name classes.
std::string TallyTable(const std::map<std::string, TypeTally>& by_type);

}  // namespace vigil::testing
