#pragma once
// The kinds of event analytics raises and the index keeps. Shared by both (analytics does not link
// the index): 1..12 are the GA/T 2000.254 codes; vigil's own kinds (no code there) start at 101.

#include <optional>
#include <string_view>
#include <vector>

namespace vigil {

enum class EventType : int {
  kVehicle = 1,         // 过车
  kPerson = 2,          // 过人
  kFight = 3,
  kRunning = 4,
  kTripwire = 5,        // 绊线: directed line crossing
  kIntrusion = 6,       // 入侵: object inside a closed zone
  kWrongWay = 7,        // 逆行
  kLoitering = 8,       // 徘徊
  kDisappearance = 9,
  kViolation = 10,
  kGathering = 11,      // 聚集
  kCongestion = 12,
  kMotion = 101,
  kTamperCovered = 102,
  kTamperDefocused = 103,
  kTamperMoved = 104,
};

// "vehicle", "intrusion", "tamper_covered", ...; ParseEventType also accepts the numeric code.
std::string_view EventTypeName(EventType type);
std::optional<EventType> ParseEventType(std::string_view name);
// Every known type, in code order.
const std::vector<EventType>& AllEventTypes();

// What an event's object is, as analytics classifies a track (the four classes). Stored
// with the event; kUnknown for events without an object (tamper) and rows written before classes.
enum class ObjectClass : int {
  kUnknown = 0,
  kPerson = 1,
  kVehicle = 2,     // car, van, lorry, bus
  kTwoWheeler = 3,  // bicycle, e-bike, motorcycle
  kOther = 4,
};

// "person", "vehicle", "two_wheeler", "other"; "" for kUnknown.
std::string_view ObjectClassName(ObjectClass cls);
// The four names above (not ""); nullopt for anything else.
std::optional<ObjectClass> ParseObjectClass(std::string_view name);

}  // namespace vigil
