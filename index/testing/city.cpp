#include "index/testing/city.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/plate_text.h"
#include "index/geo.h"

namespace vigil::index::testing {
namespace {

constexpr int64_t kNsPerMinute = 60 * kNsPerSec;

// Serial characters: digits and letters except I and O (GA 36).
constexpr std::string_view kSerialLetters = "ABCDEFGHJKLMNPQRSTUVWXYZ";
constexpr std::string_view kCityLetters = "ABCDEFGHJKLMNPQRS";

struct TypeShare {
  EventType type;
  double share;
};
constexpr TypeShare kTypeShares[] = {
    {EventType::kVehicle, 0.42},   {EventType::kPerson, 0.30},     {EventType::kMotion, 0.15},
    {EventType::kIntrusion, 0.04}, {EventType::kTripwire, 0.03},   {EventType::kLoitering, 0.02},
    {EventType::kWrongWay, 0.01},  {EventType::kGathering, 0.005}, {EventType::kCongestion, 0.01},
    {EventType::kRunning, 0.004},  {EventType::kFight, 0.0005},    {EventType::kTamperCovered, 0.0002},
    {EventType::kTamperMoved, 0.0002}, {EventType::kViolation, 0.0006}};

uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

size_t Below(uint64_t& s, size_t n) { return static_cast<size_t>(SplitMix(s) % n); }
double Unit(uint64_t& s) { return static_cast<double>(SplitMix(s) >> 11) * 0x1.0p-53; }

}  // namespace

std::string RandomPlate(uint64_t& s, double local_share) {
  std::string out;
  double u = Unit(s);
  if (u < local_share) {
    out = "云A";
  } else if (u < local_share + (1 - local_share) * 0.6) {
    out = "云";
    out.push_back(kCityLetters[Below(s, kCityLetters.size())]);
  } else {
    std::u32string prov(1, plate::kProvinces[Below(s, plate::kProvinces.size())]);
    out = plate::Encode(prov);
    out.push_back(kCityLetters[Below(s, kCityLetters.size())]);
  }
  double kind = Unit(s);
  if (kind < 0.15) {  // new energy, small: D or F, then a letter or digit, then four digits
    out.push_back(Unit(s) < 0.7 ? 'D' : 'F');
    out.push_back(Unit(s) < 0.3 ? kSerialLetters[Below(s, kSerialLetters.size())]
                                : static_cast<char>('0' + Below(s, 10)));
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>('0' + Below(s, 10)));
    return out;
  }
  if (kind < 0.155) {  // police
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>('0' + Below(s, 10)));
    return out + "警";
  }
  if (kind < 0.16) {  // trailer
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>('0' + Below(s, 10)));
    return out + "挂";
  }
  // Five serial characters, at most two of them letters.
  int letters = 0;
  for (int i = 0; i < 5; ++i) {
    if (letters < 2 && Unit(s) < 0.2) {
      out.push_back(kSerialLetters[Below(s, kSerialLetters.size())]);
      ++letters;
    } else {
      out.push_back(static_cast<char>('0' + Below(s, 10)));
    }
  }
  return out;
}

double City::Diurnal(double h) {
  // Two humps (morning and evening rush) over a night floor: 04:00 ~0.08, 08:00 ~0.8, 18:00 1.0.
  auto bump = [](double x, double mu, double sigma) {
    double d = std::fmod(x - mu + 36, 24) - 12;
    return std::exp(-d * d / (2 * sigma * sigma));
  };
  return std::min(1.0, 0.08 + 0.7 * bump(h, 8.5, 2.0) + 0.55 * bump(h, 13, 3.5) +
                           0.92 * bump(h, 18, 2.5));
}

City::City(CityOptions o) : options_(o) {
  uint64_t s = o.seed * 0x5851F42D4C957F2Dull + 1;
  for (int i = 0; i < o.cameras; ++i) {
    // Gaussian-ish density: the centre is denser (sum of uniforms for the radius).
    double r = o.radius_m * std::abs(Unit(s) + Unit(s) - 1);
    double a = 2 * std::numbers::pi * Unit(s);
    double dlat = r * std::cos(a) / kEarthRadiusM * 180 / std::numbers::pi;
    double dlon = r * std::sin(a) / (kEarthRadiusM * std::cos(o.center.lat * std::numbers::pi / 180)) *
                  180 / std::numbers::pi;
    Camera c;
    c.id = fmt::format("c{:05}", i + 1);
    c.name = fmt::format("Street camera {}", i + 1);
    c.main_url = fmt::format("rtsp://10.{}.{}.{}/main", 1 + i / 65536, (i / 256) % 256, i % 256);
    c.lat = o.center.lat + dlat;
    c.lon = o.center.lon + dlon;
    c.place = fmt::format("Block {}", i / 20 + 1);
    c.district = fmt::format("District {}", i % 7 + 1);
    cameras_.push_back(std::move(c));
    // Busy junctions see far more than quiet alleys: log-normal weights.
    double g = 0;
    for (int k = 0; k < 6; ++k) g += Unit(s);
    camera_weight_.push_back(std::exp((g - 3) * 1.4));
    if (Unit(s) < o.checkpoint_share) checkpoints_.push_back(i);
  }
  if (checkpoints_.empty() && o.cameras > 0) checkpoints_.push_back(0);
  int64_t vehicles = o.vehicles > 0 ? o.vehicles : std::max<int64_t>(1, o.plate_reads / 6);
  plates_.reserve(static_cast<size_t>(vehicles));
  for (int64_t v = 0; v < vehicles; ++v) plates_.push_back(RandomPlate(s, 0.75));
}

int64_t City::end_ns() const { return options_.start_ns + options_.days * 86400 * kNsPerSec; }

namespace {

// Rows per minute proportional to the diurnal load, summing to `total` over the whole span.
std::vector<int64_t> PerMinute(const CityOptions& o, int64_t total, uint64_t& s) {
  int64_t minutes = static_cast<int64_t>(o.days) * 1440;
  std::vector<double> w(static_cast<size_t>(minutes));
  double sum = 0;
  for (int64_t m = 0; m < minutes; ++m) {
    double local_hour = std::fmod(static_cast<double>(m) / 60.0 + o.utc_offset_hours, 24.0);
    w[static_cast<size_t>(m)] = City::Diurnal(local_hour);
    sum += w[static_cast<size_t>(m)];
  }
  std::vector<int64_t> n(static_cast<size_t>(minutes));
  double carry = 0;
  for (size_t m = 0; m < n.size(); ++m) {
    double want = static_cast<double>(total) * w[m] / sum + carry;
    // Jitter ±10 % around the curve, carrying the remainder so the total is exact.
    double jittered = std::max(0.0, want * (0.9 + 0.2 * Unit(s)));
    n[m] = static_cast<int64_t>(jittered);
    carry = want - static_cast<double>(n[m]);
  }
  int64_t have = 0;
  for (int64_t v : n) have += v;
  n.back() += total - have;
  if (n.back() < 0) n.back() = 0;
  return n;
}

// Cumulative weights for O(log n) weighted choice.
struct Picker {
  explicit Picker(const std::vector<double>& w) {
    double c = 0;
    for (double x : w) cum.push_back(c += x);
  }
  size_t Pick(uint64_t& s) const {
    double u = Unit(s) * cum.back();
    return static_cast<size_t>(std::upper_bound(cum.begin(), cum.end(), u) - cum.begin());
  }
  std::vector<double> cum;
};

}  // namespace

void City::Events(const std::function<void(const Event&)>& sink) const {
  uint64_t s = options_.seed * 0x2545F4914F6CDD1Dull + 7;
  std::vector<int64_t> per_minute = PerMinute(options_, options_.events, s);
  Picker cameras(camera_weight_);
  std::vector<double> tw;
  for (const auto& t : kTypeShares) tw.push_back(t.share);
  Picker types(tw);
  std::vector<Event> minute;
  for (size_t m = 0; m < per_minute.size(); ++m) {
    int64_t t0 = options_.start_ns + static_cast<int64_t>(m) * kNsPerMinute;
    minute.clear();
    for (int64_t i = 0; i < per_minute[m]; ++i) {
      Event e;
      e.camera = cameras_[std::min(cameras.Pick(s), cameras_.size() - 1)].id;
      e.start_ns = t0 + static_cast<int64_t>(Below(s, static_cast<size_t>(kNsPerMinute / 1000))) * 1000;
      e.type = kTypeShares[std::min(types.Pick(s), std::size(kTypeShares) - 1)].type;
      e.end_ns = e.start_ns + static_cast<int64_t>(500 + Below(s, 30'000)) * kNsPerMs;
      if (e.type == EventType::kIntrusion || e.type == EventType::kTripwire ||
          e.type == EventType::kLoitering) {
        e.zone = fmt::format("zone-{}", 1 + Below(s, 3));
      }
      e.track = static_cast<int64_t>(Below(s, 1'000'000));
      e.score = 0.3 + 0.7 * Unit(s);
      e.box = {static_cast<int>(Below(s, 600)), static_cast<int>(Below(s, 300)),
               static_cast<int>(20 + Below(s, 100)), static_cast<int>(20 + Below(s, 100))};
      // The object's class from the track number (no draw from the stream: the rest of the city
      // stays as it was); tamper events have none.
      if (e.type != EventType::kTamperCovered && e.type != EventType::kTamperDefocused &&
          e.type != EventType::kTamperMoved) {
        e.object_class = static_cast<ObjectClass>(1 + e.track % 4);
        e.class_confidence = static_cast<double>(300 + e.track % 700) / 1000;
      }
      minute.push_back(std::move(e));
    }
    std::sort(minute.begin(), minute.end(),
              [](const Event& a, const Event& b) { return a.start_ns < b.start_ns; });
    for (const auto& e : minute) sink(e);
  }
}

void City::PlateReads(const std::function<void(const PlateRead&)>& sink) const {
  uint64_t s = options_.seed * 0x9E3779B97F4A7C15ull + 11;
  std::vector<int64_t> per_minute = PerMinute(options_, options_.plate_reads, s);
  // Zipf-like: vehicle k passes with weight 1 / (k + 10)^0.9.
  std::vector<double> vw(plates_.size());
  for (size_t k = 0; k < vw.size(); ++k) vw[k] = std::pow(static_cast<double>(k) + 10, -0.9);
  Picker vehicles(vw);
  std::vector<double> cw;
  for (int c : checkpoints_) cw.push_back(camera_weight_[static_cast<size_t>(c)]);
  Picker checkpoints(cw);
  std::vector<PlateRead> minute;
  for (size_t m = 0; m < per_minute.size(); ++m) {
    int64_t t0 = options_.start_ns + static_cast<int64_t>(m) * kNsPerMinute;
    minute.clear();
    for (int64_t i = 0; i < per_minute[m]; ++i) {
      PlateRead r;
      size_t cp = std::min(checkpoints.Pick(s), checkpoints_.size() - 1);
      r.camera = cameras_[static_cast<size_t>(checkpoints_[cp])].id;
      r.time_ns = t0 + static_cast<int64_t>(Below(s, static_cast<size_t>(kNsPerMinute / 1000))) * 1000;
      r.plate = plates_[std::min(vehicles.Pick(s), plates_.size() - 1)];
      if (Unit(s) < options_.misread_share) {
        // An OCR misread: one serial character swapped for a confusable one.
        std::u32string p = plate::Decode(r.plate);
        size_t pos = 2 + Below(s, p.size() - 2);
        for (auto group : plate::kConfusableGroups) {
          if (group.find(p[pos]) != std::u32string_view::npos) {
            char32_t other = group[Below(s, group.size())];
            if (other != U'I' && other != U'O') p[pos] = other;
            break;
          }
        }
        r.plate = plate::Encode(p);
      }
      std::u32string p = plate::Decode(r.plate);
      r.color = p.size() == 8                    ? PlateColor::kGreen
                : p.back() == U'警'              ? PlateColor::kWhite
                : Unit(s) < 0.05 || p.back() == U'挂' ? PlateColor::kYellow
                                                 : PlateColor::kBlue;
      r.confidence = 0.6 + 0.4 * Unit(s);
      r.box = {static_cast<int>(Below(s, 1600)), static_cast<int>(Below(s, 900)), 140, 44};
      r.track = static_cast<int64_t>(Below(s, 1'000'000));
      minute.push_back(std::move(r));
    }
    std::sort(minute.begin(), minute.end(),
              [](const PlateRead& a, const PlateRead& b) { return a.time_ns < b.time_ns; });
    for (const auto& r : minute) sink(r);
  }
}

}  // namespace vigil::index::testing
