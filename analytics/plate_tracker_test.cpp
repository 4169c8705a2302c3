#include "analytics/plate_tracker.h"

#include <doctest/doctest.h>

#include "base/plate_text.h"

namespace vigil::analytics {
namespace {

constexpr int64_t kMs = 1'000'000;

FoundPlate Find(const std::string& text, cv::Rect box, double conf = 0.9,
                plate::Background color = plate::Background::kBlue) {
  FoundPlate f;
  f.text.plate = text;
  auto layout = plate::CheckGrammar(plate::Decode(text));
  if (layout.ok()) f.text.layout = *layout;
  f.text.color = color;
  f.text.color_confidence = 0.9;
  f.text.confidence = conf;
  f.text.char_confidence.assign(plate::Decode(text).size(), conf);
  f.where.box = box;
  return f;
}

TEST_CASE("a vehicle read in many frames, sometimes wrongly, is one pass with the voted plate") {
  PlateTracker tracker;
  std::vector<PlatePass> done;
  // The car drives up the frame at 8 fps; two frames misread one character each.
  const std::vector<std::string> reads = {"云A12345", "云A12345", "云A1Z345", "云A12345", "云A12845",
                                          "云A12345", "云A12345"};
  for (size_t i = 0; i < reads.size(); ++i) {
    cv::Rect box(800, 900 - static_cast<int>(i) * 40, 150, 48);
    tracker.Update(static_cast<int64_t>(i) * 125 * kMs, {Find(reads[i], box, i == 3 ? 0.97 : 0.8)}, done);
  }
  CHECK(done.empty());
  tracker.Update(3000 * kMs, {}, done);  // unseen for 2.25 s: finished
  REQUIRE(done.size() == 1);
  CHECK(done[0].plate == "云A12345");
  CHECK(done[0].sightings == 7);
  CHECK(done[0].first_ns == 0);
  CHECK(done[0].last_ns == 750 * kMs);
  CHECK(done[0].best_ns == 375 * kMs);  // the 0.97 read
  CHECK(done[0].confidence < 0.8);      // two dissenting frames lower it
  CHECK(done[0].confidence > 0.5);
  CHECK(done[0].color == plate::Background::kBlue);
}

TEST_CASE("a pass is announced once, early, when enough reads agree, and still reported when it ends") {
  PlateTrackerOptions o;
  o.early_sightings = 3;
  o.early_confidence = 0.6;
  PlateTracker tracker(o);
  std::vector<PlatePass> done, early;
  // Frame 1 misreads; frames 2-3 agree: the vote over three reads reaches 0.6 only at frame 4.
  const std::vector<std::string> reads = {"云A1Z345", "云A12345", "云A12345", "云A12345", "云A12345", "云A12345"};
  std::vector<size_t> announced_at;
  for (size_t i = 0; i < reads.size(); ++i) {
    cv::Rect box(800, 900 - static_cast<int>(i) * 40, 150, 48);
    size_t before = early.size();
    tracker.Update(static_cast<int64_t>(i) * 125 * kMs, {Find(reads[i], box, 0.8)}, done, nullptr, &early);
    if (early.size() > before) announced_at.push_back(i);
  }
  REQUIRE(early.size() == 1);  // once, however long the vehicle stays in view
  CHECK(early[0].plate == "云A12345");
  CHECK(early[0].last_ns == static_cast<int64_t>(announced_at[0]) * 125 * kMs);
  CHECK(announced_at[0] == 3);  // 3 reads (1 dissenting) give 2/3 × 0.8 < 0.6; the 4th tips it
  CHECK(done.empty());
  tracker.Update(3000 * kMs, {}, done, nullptr, &early);
  REQUIRE(done.size() == 1);
  CHECK(done[0].plate == "云A12345");
  CHECK(done[0].sightings == 6);
  CHECK(early.size() == 1);

  // A vote that changes its mind is announced again, with the new text.
  PlateTracker fickle(o);
  std::vector<PlatePass> changes;
  // Three reads of Z, then the 2s: the vote turns at the 6th 2 (6 of 9 agree, × 0.9 = 0.6).
  std::vector<std::string> flip(3, "云A1Z345");
  flip.resize(10, "云A12345");
  for (size_t i = 0; i < flip.size(); ++i) {
    fickle.Update(static_cast<int64_t>(i) * 125 * kMs, {Find(flip[i], {800, 900 - static_cast<int>(i) * 40, 150, 48}, 0.9)},
                  done, nullptr, &changes);
  }
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].plate == "云A1Z345");
  CHECK(changes[1].plate == "云A12345");

  // Without early reads configured nothing is announced.
  PlateTracker plain;
  std::vector<PlatePass> none;
  for (int i = 0; i < 6; ++i) {
    plain.Update(i * 125 * kMs, {Find("云A12345", {800, 900 - i * 40, 150, 48})}, done, nullptr, &none);
  }
  CHECK(none.empty());
}

TEST_CASE("two vehicles side by side are two passes; a single stray read is none") {
  PlateTracker tracker;
  std::vector<PlatePass> done;
  for (int i = 0; i < 6; ++i) {
    int64_t t = i * 125 * kMs;
    std::vector<int64_t> ids;
    tracker.Update(t, {Find("粤BD12345", {300, 800 - i * 30, 160, 45}, 0.9, plate::Background::kGreen),
                       Find("京N9P3K7", {1300, 820 - i * 30, 150, 45})},
                   done, &ids);
    REQUIRE(ids.size() == 2);
    CHECK(ids[0] != ids[1]);
  }
  tracker.Update(5000 * kMs, {Find("沪C21F13", {900, 100, 90, 30})}, done);  // a poster, once
  tracker.Flush(done);
  REQUIRE(done.size() == 2);
  std::vector<std::string> plates = {done[0].plate, done[1].plate};
  std::sort(plates.begin(), plates.end());
  CHECK(plates == std::vector<std::string>{"京N9P3K7", "粤BD12345"});
  for (const auto& p : done) {
    if (p.plate == "粤BD12345") CHECK(p.color == plate::Background::kGreen);
  }
}

TEST_CASE("the same plate coming back after the gap is a second pass") {
  PlateTracker tracker;
  std::vector<PlatePass> done;
  for (int i = 0; i < 3; ++i) tracker.Update(i * 125 * kMs, {Find("云A12345", {800, 800, 150, 48})}, done);
  for (int i = 0; i < 3; ++i) tracker.Update(10'000 * kMs + i * 125 * kMs, {Find("云A12345", {800, 800, 150, 48})}, done);
  tracker.Flush(done);
  CHECK(done.size() == 2);
}

TEST_CASE("plate distance counts differing positions and length") {
  CHECK(PlateDistance(U"云A12345", U"云A12345") == 0);
  CHECK(PlateDistance(U"云A12345", U"云A12845") == 1);
  CHECK(PlateDistance(U"云A12345", U"云A123456") == 1);
}

}  // namespace
}  // namespace vigil::analytics
