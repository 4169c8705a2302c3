#include "base/event_type.h"

#include <charconv>

namespace vigil {
namespace {

struct TypeName {
  EventType type;
  std::string_view name;
};

constexpr TypeName kTypeNames[] = {
    {EventType::kVehicle, "vehicle"},
    {EventType::kPerson, "person"},
    {EventType::kFight, "fight"},
    {EventType::kRunning, "running"},
    {EventType::kTripwire, "tripwire"},
    {EventType::kIntrusion, "intrusion"},
    {EventType::kWrongWay, "wrong_way"},
    {EventType::kLoitering, "loitering"},
    {EventType::kDisappearance, "disappearance"},
    {EventType::kViolation, "violation"},
    {EventType::kGathering, "gathering"},
    {EventType::kCongestion, "congestion"},
    {EventType::kMotion, "motion"},
    {EventType::kTamperCovered, "tamper_covered"},
    {EventType::kTamperDefocused, "tamper_defocused"},
    {EventType::kTamperMoved, "tamper_moved"},
};

}  // namespace

std::string_view EventTypeName(EventType type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (const auto& t : kTypeNames) {
    if (t.name == name) return t.type;
  }
  int code = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), code);
  if (ec == std::errc() && end == name.data() + name.size()) {
    for (const auto& t : kTypeNames) {
      if (static_cast<int>(t.type) == code) return t.type;
    }
  }
  return std::nullopt;
}

const std::vector<EventType>& AllEventTypes() {
  static const std::vector<EventType> all = [] {
    std::vector<EventType> v;
    for (const auto& t : kTypeNames) v.push_back(t.type);
    return v;
  }();
  return all;
}

std::string_view ObjectClassName(ObjectClass cls) {
  switch (cls) {
    case ObjectClass::kPerson: return "person";
    case ObjectClass::kVehicle: return "vehicle";
    case ObjectClass::kTwoWheeler: return "two_wheeler";
    case ObjectClass::kOther: return "other";
    case ObjectClass::kUnknown: break;
  }
  return "";
}

std::optional<ObjectClass> ParseObjectClass(std::string_view name) {
  for (ObjectClass c : {ObjectClass::kPerson, ObjectClass::kVehicle, ObjectClass::kTwoWheeler,
                        ObjectClass::kOther}) {
    if (ObjectClassName(c) == name) return c;
  }
  return std::nullopt;
}

}  // namespace vigil
