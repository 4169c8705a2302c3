#include "tests/support/event_matching.h"

#include <cmath>

#include <fmt/format.h>

#include "base/clock.h"

namespace vigil::testing {

std::string DirectionOf(const std::string& attributes) {
  if (attributes.find("\"a_to_b\"") != std::string::npos) return "a_to_b";
  if (attributes.find("\"b_to_a\"") != std::string::npos) return "b_to_a";
  return "";
}

std::vector<bool> MatchEvents(const std::string& source, const std::vector<ExpectedEvent>& expected,
                              const std::vector<index::Event>& found, int64_t t0_ns, bool report_extras,
                              std::map<std::string, TypeTally>& by_type, std::vector<std::string>& problems) {
  auto at = [&](const index::Event& e) { return static_cast<double>(e.start_ns - t0_ns) / kNsPerSec; };
  std::vector<bool> used(found.size(), false);
  for (const auto& x : expected) {
    TypeTally& t = by_type[std::string(index::EventTypeName(x.type))];
    ++t.truth;
    int best = -1;
    double best_d = 1.0;
    for (size_t i = 0; i < found.size(); ++i) {
      const auto& e = found[i];
      if (used[i] || e.type != x.type || e.zone != x.zone) continue;
      if (!x.direction.empty() && DirectionOf(e.attributes) != x.direction) continue;
      double d = std::abs(at(e) - x.start_s);
      if (d <= best_d) {
        best_d = d;
        best = static_cast<int>(i);
      }
    }
    if (best >= 0) {
      used[static_cast<size_t>(best)] = true;
      ++t.matched;
      const index::Event& e = found[static_cast<size_t>(best)];
      t.offsets.push_back(at(e) - x.start_s);
      if (x.object_class != index::ObjectClass::kUnknown) {
        ++t.classed;
        if (e.object_class == x.object_class) {
          ++t.class_right;
        } else {
          problems.push_back(fmt::format(
              "{}: {} {} at {:.1f} s is a {}, classified as {} ({:.2f}){}", source, index::EventTypeName(x.type),
              x.zone, x.start_s, index::ObjectClassName(x.object_class),
              e.object_class == index::ObjectClass::kUnknown ? "nothing" : index::ObjectClassName(e.object_class),
              e.class_confidence, x.what.empty() ? "" : " (" + x.what + ")"));
        }
      }
    } else {
      problems.push_back(fmt::format("{}: missed {} {} {} at {:.1f} s{}", source, index::EventTypeName(x.type), x.zone,
                                     x.direction, x.start_s, x.what.empty() ? "" : " (" + x.what + ")"));
    }
  }
  for (size_t i = 0; i < found.size(); ++i) {
    ++by_type[std::string(index::EventTypeName(found[i].type))].detected;
    if (!used[i] && report_extras) {
      problems.push_back(fmt::format("{}: extra {} {} {} at {:.2f} s", source, index::EventTypeName(found[i].type),
                                     found[i].zone, DirectionOf(found[i].attributes), at(found[i])));
    }
  }
  return used;
}

std::string TallyTable(const std::map<std::string, TypeTally>& by_type) {
  std::string report = fmt::format("{:<18} {:>6} {:>9} {:>10} {:>7} {:>22} {:>9}\n", "type", "truth", "detected",
                                   "precision", "recall", "start error s (mean, max)", "class");
  for (const auto& [type, t] : by_type) {
    double mean = 0, worst = 0;
    for (double o : t.offsets) {
      mean += o / static_cast<double>(t.offsets.size());
      if (std::abs(o) > std::abs(worst)) worst = o;
    }
    report += fmt::format("{:<18} {:>6} {:>9} {:>10.3f} {:>7.3f} {:>+11.2f} {:>+9.2f} {:>9}\n", type, t.truth,
                          t.detected, t.precision(), t.recall(), mean, worst,
                          t.classed ? fmt::format("{}/{}", t.class_right, t.classed) : "-");
  }
  return report;
}

}  // namespace vigil::testing
