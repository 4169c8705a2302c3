// The plate reader measured against ground truth: a synthetic held-out set (seed 3; training used
// seeds 1 and 2), real photographs when ../shared/data has them, and whole frames with plates on
// cars found and read by the plate finder.

#include <cstdlib>
#include <filesystem>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "analytics/plate_camera.h"
#include "analytics/plate_finder.h"
#include "base/plate_text.h"
#include "tools/plates/evaluation.h"
#include "tools/plates/plate_synth.h"
#include "base/fs.h"
#include "tests/support/temp_dir.h"

namespace vigil::plates {
namespace {

std::unique_ptr<analytics::PlateReader> Reader() {
  auto r = analytics::PlateReader::Load(analytics::DefaultPlateModel());
  REQUIRE_MESSAGE(r.ok(), r.error().message());
  return std::move(*r);
}

TEST_CASE("held-out synthetic plates: exact reads >= 97 %, colour >= 99 %") {
  auto crops = GenerateCrops(3, 3000);
  REQUIRE_MESSAGE(crops.ok(), crops.error().message());
  auto reader = Reader();
  auto report = Evaluate(*reader, *crops);
  REQUIRE(report.ok());
  MESSAGE(FormatReport("held-out synthetic (seed 3)", *report));
  for (const auto& m : report->misreads) MESSAGE("misread " << m);
  CHECK(report->all.exact_rate() >= 0.97);
  CHECK(report->all.color_rate() >= 0.99);
}

// Real plates (docs/plates.md has the figures these floors sit under, so that a worse model or
// finder fails). The CCPD validation split (tools/plates/real/ccpd-split.csv, by plate text) is never
// trained on; ../shared/data/plates-real-crops (LPRNet's test crops) not even its photos.
constexpr double kRealCropsFloor = 0.85;          // the reader alone on the crop as it is
constexpr double kRealCropsCornersFloor = 0.95;   // read again at the corner network's corners
constexpr double kRealPhotosFloor = 0.97;
constexpr double kRealFoundFloor = 0.97;
constexpr double kRealCornerCropsFloor = 0.95;
constexpr double kRealCornerNetFloor = 0.95;

std::string RealData(const std::string& name) {
  std::string dir = SharedDataDir() + "/" + name;
  if (!std::filesystem::exists(dir + "/labels.csv")) {
    MESSAGE("SKIPPED: " << dir << " is absent (real data: ../shared/data beside the source tree, or "
                        "$VIGIL_SHARED_DATA)");
    return "";
  }
  return dir;
}

TEST_CASE("real plate crops (LPRNet's test set) are read") {
  const std::string dir = RealData("plates-real-crops");
  if (dir.empty()) return;
  auto photos = LoadLabeledPhotos(dir);
  REQUIRE_MESSAGE(photos.ok(), photos.error().message());
  auto reader = Reader();
  auto report = Evaluate(*reader, *photos);
  REQUIRE(report.ok());
  MESSAGE(FormatReport("real crops (" + dir + ")", *report));
  CHECK(report->all.n == 500);
  CHECK(report->all.exact_rate() >= kRealCropsFloor);
  // As vigil-lpr --crops reads them: again at the corners the corner network finds in each crop.
  REQUIRE(reader->has_corner_model());
  auto refined = Evaluate(*reader, *photos, true);
  REQUIRE(refined.ok());
  MESSAGE(FormatReport("real crops read at the corner network's corners", *refined));
  CHECK(refined->all.exact_rate() >= kRealCropsCornersFloor);
  CHECK(refined->all.exact_rate() > report->all.exact_rate());
}

TEST_CASE("real photographs (CCPD validation split): the finder finds the plates and the reader reads them") {
  const std::string dir = RealData("plates-real-ccpd");
  if (dir.empty()) return;
  auto photos = LoadPhotos(dir, CcpdSplitFile(), "val");
  REQUIRE_MESSAGE(photos.ok(), photos.error().message());
  CHECK(photos->size() == 146);
  analytics::PlateFinder finder(Reader());
  auto report = EvaluatePhotos(finder, *photos);
  REQUIRE(report.ok());
  MESSAGE(FormatPhotoReport("CCPD validation photos", *report));
  for (const auto& m : report->misses) MESSAGE("miss " << m);
  const double exact = static_cast<double>(report->exact) / static_cast<double>(report->photos);
  const double found = static_cast<double>(report->found) / static_cast<double>(report->labelled);
  CHECK(exact >= kRealPhotosFloor);
  CHECK(found >= kRealFoundFloor);
  CHECK(report->false_reads <= report->photos / 100);  // goal: <= 1 per 100 photos
  auto crops = CropsFromCorners(*photos);
  auto alone = Evaluate(finder.reader(), crops);
  REQUIRE(alone.ok());
  MESSAGE(FormatReport("CCPD validation crops from the labelled corners", *alone));
  CHECK(alone->all.exact_rate() >= kRealCornerCropsFloor);
  CHECK(alone->all.color_rate() >= 0.99);
  // The corner network alone: from a loose upright box around each plate to its corners.
  REQUIRE(finder.reader().has_corner_model());
  auto corners = EvaluateCorners(finder.reader(), *photos);
  REQUIRE(corners.ok());
  MESSAGE(FormatCornerReport("CCPD validation photos, corner network alone", *corners));
  CHECK(corners->plates == 146);
  CHECK(static_cast<double>(corners->refined_found) / static_cast<double>(corners->plates) >= kRealCornerNetFloor);
  CHECK(corners->refined_mean_iou > corners->box_mean_iou + 0.15);
}

void WriteText(const std::string& path, const std::string& text) {
  REQUIRE(WriteFile(path, text.data(), text.size()).ok());
}

TEST_CASE("quadrilateral overlap and labelled photographs with quoted CCPD corners") {
  std::array<cv::Point2f, 4> a{cv::Point2f{0, 0}, {100, 0}, {100, 30}, {0, 30}};
  CHECK(QuadIou(a, a) == doctest::Approx(1.0));
  std::array<cv::Point2f, 4> half{cv::Point2f{50, 0}, {150, 0}, {150, 30}, {50, 30}};
  CHECK(QuadIou(a, half) == doctest::Approx(1.0 / 3.0).epsilon(0.01));
  std::array<cv::Point2f, 4> reversed{a[3], a[2], a[1], a[0]};  // orientation does not matter
  CHECK(QuadIou(a, reversed) == doctest::Approx(1.0));
  vigil::testing::TempDir dir;
  cv::imwrite(dir / "p.jpg", cv::Mat(60, 200, CV_8UC3, cv::Scalar(120, 60, 20)));
  WriteText(dir / "labels.csv",
            "file,plate,kind,corners_rb_lb_lt_rt\n"
            "p.jpg,皖A12345,blue,\"150,40;20,42;22,10;148,8\"\n");
  WriteText(dir / "split.csv", "file,plate,split\np.jpg,皖A12345,val\n");
  auto photos = LoadPhotos(dir.path(), dir / "split.csv", "val");
  REQUIRE_MESSAGE(photos.ok(), photos.error().message());
  REQUIRE(photos->size() == 1);
  const auto& p = photos->front();
  CHECK(p.plate == "皖A12345");
  REQUIRE(p.corners.has_value());
  CHECK((*p.corners)[0] == cv::Point2f(22, 10));   // left-top first
  CHECK((*p.corners)[2] == cv::Point2f(150, 40));  // right-bottom third
  CHECK(CropsFromCorners(*photos).front().crop.size() == cv::Size(analytics::kPlateInputWidth,
                                                                  analytics::kPlateInputHeight));
  auto none = LoadPhotos(dir.path(), dir / "split.csv", "train");
  CHECK(none.error().message().find("no photo is in split 'train'") != std::string::npos);
  WriteText(dir / "split.csv", "file,plate,split\np.jpg,皖A99999,val\n");
  auto differ = LoadPhotos(dir.path(), dir / "split.csv", "val");
  REQUIRE_FALSE(differ.ok());
  CHECK(differ.error().message().find("p.jpg is 皖A99999 there") != std::string::npos);
}

TEST_CASE("local provinces must be provinces, with a sane weight") {
  auto reader = Reader();
  CHECK(reader->SetLocalProvinces("云贵").ok());
  CHECK(reader->SetLocalProvinces("").ok());
  auto bad = reader->SetLocalProvinces("云A");
  CHECK(bad.code() == StatusCode::kInvalidArgument);
  CHECK(bad.message().find("'A' is not a province") != std::string::npos);
  CHECK(reader->SetLocalProvinces("云", 0.5).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("plates on cars in whole frames are found and read; a sign and an on-screen clock are none") {
  auto renderer = PlateRenderer::Create();
  REQUIRE(renderer.ok());
  analytics::PlateFinder finder(Reader());
  std::mt19937_64 rng(5);
  int frames = 60, read = 0, wrong = 0;
  for (int i = 0; i < frames; ++i) {
    std::vector<PlateSpec> specs;
    std::vector<cv::Rect> boxes;
    cv::Mat frame = StreetFrame(**renderer, rng, {1920, 1080}, 1, specs, boxes);
    REQUIRE(specs.size() == 1);
    const PlateSpec& spec = specs[0];
    const cv::Rect& truth = boxes[0];
    auto found = finder.Find(frame);
    REQUIRE(found.ok());
    bool ok = false;
    for (const auto& f : *found) {
      if (f.text.plate == plate::Encode(spec.text) && (f.where.box & truth).area() > 0) {
        ok = true;
      } else {
        ++wrong;
        MESSAGE("frame " << i << ": read " << f.text.plate << " for " << plate::Encode(spec.text));
      }
    }
    if (!ok) {
      MESSAGE("frame " << i << ": missed " << plate::Encode(spec.text));
      if (const char* debug = std::getenv("VIGIL_PLATE_DEBUG")) {  // the frame, candidates drawn
        cv::Mat shown = frame.clone();
        int n = 0;
        for (const auto& c : analytics::FindPlateCandidates(frame, {})) {
          cv::rectangle(shown, c.box, {0, 0, 255}, 2);
          cv::imwrite(fmt::format("{}/miss-{}-crop{}.png", debug, i, n++), analytics::RectifyPlate(frame, c.corners));
        }
        cv::rectangle(shown, truth, {0, 255, 0}, 1);
        cv::imwrite(fmt::format("{}/miss-{}.jpg", debug, i), shown);
      }
    }
    read += ok;
  }
  MESSAGE(fmt::format("whole frames: {} of {} plates read, {} wrong reads", read, frames, wrong));
  // Measured on the committed model: 56 of 60 read, 4 wrong (province characters). Floors:
  CHECK(read >= frames * 0.9);
  CHECK(wrong <= frames / 10);
  cv::Mat empty(1080, 1920, CV_8UC3, cv::Scalar(90, 95, 100));
  cv::putText(empty, "NO PARKING 8-18", {400, 500}, cv::FONT_HERSHEY_SIMPLEX, 3, cv::Scalar(250, 250, 250), 8);
  // A camera's on-screen clock, white on black: digits on a dark band look like an embassy plate.
  cv::rectangle(empty, cv::Rect(20, 20, 820, 80), cv::Scalar(20, 20, 20), -1);
  cv::putText(empty, "2026-11-29 19:05:58", {40, 80}, cv::FONT_HERSHEY_SIMPLEX, 1.8, cv::Scalar(240, 240, 240), 4);
  auto none = finder.Find(empty);
  REQUIRE(none.ok());
  for (const auto& f : *none) MESSAGE("sign read as " << f.text.plate << " " << f.text.confidence);
  CHECK(none->empty());
}

// Two-row plates (yellow rear plates of lorries and buses, 挂 trailers): never in the real photographs
// here (CCPD is of cars), so measured on synthetic held-out crops (seed 3) and whole frames.
constexpr double kTwoRowCropsFloor = 0.96;

TEST_CASE("two-row plates: held-out crops stitched into one row are read; lorries in whole frames are found") {
  auto crops = GenerateCrops(3, 1000, true);
  REQUIRE_MESSAGE(crops.ok(), crops.error().message());
  auto reader = Reader();
  auto report = Evaluate(*reader, *crops);
  REQUIRE(report.ok());
  MESSAGE(FormatReport("held-out synthetic two-row plates (seed 3)", *report));
  for (const auto& m : report->misreads) MESSAGE("misread " << m);
  CHECK(report->all.exact_rate() >= kTwoRowCropsFloor);
  CHECK(report->all.color_rate() >= 0.99);

  auto renderer = PlateRenderer::Create();
  REQUIRE(renderer.ok());
  analytics::PlateFinder finder(std::move(reader));
  std::mt19937_64 rng(8);
  int frames = 30, read = 0, wrong = 0, two_row_reads = 0;
  for (int i = 0; i < frames; ++i) {
    std::vector<PlateSpec> specs;
    std::vector<cv::Rect> boxes;
    cv::Mat frame = StreetFrame(**renderer, rng, {1920, 1080}, 1, specs, boxes, 1.0);
    REQUIRE(specs.size() == 1);
    REQUIRE(specs[0].two_rows);
    auto found = finder.Find(frame);
    REQUIRE(found.ok());
    bool ok = false;
    for (const auto& f : *found) {
      if (f.text.plate == plate::Encode(specs[0].text) && (f.where.box & boxes[0]).area() > 0) {
        ok = true;
        two_row_reads += f.text.two_rows;
      } else {
        ++wrong;
        MESSAGE("frame " << i << ": read " << f.text.plate << " for " << plate::Encode(specs[0].text));
      }
    }
    if (!ok) MESSAGE("frame " << i << ": missed " << plate::Encode(specs[0].text));
    read += ok;
  }
  MESSAGE(fmt::format("whole frames with two-row plates: {} of {} read, {} wrong reads", read, frames, wrong));
  CHECK(read >= frames * 0.85);
  CHECK(two_row_reads == read);  // each read as what it is
  CHECK(wrong <= frames / 10);
  // A picture of a two-row plate alone, as vigil-lpr --crops reads it.
  auto flat = (*renderer)->Render(U"鲁B1234挂", plate::Background::kYellow, 0.4, {}, true);
  REQUIRE(flat.ok());
  auto crop_reads = analytics::ReadPlateCrops(finder.reader(), {*flat});
  REQUIRE(crop_reads.ok());
  CHECK((*crop_reads)[0].plate == "鲁B1234挂");
  CHECK((*crop_reads)[0].two_rows);
  // Off, the finder reads none of them (the one-row reader alone cannot).
  analytics::PlateFinderOptions off;
  off.two_rows = false;
  analytics::PlateFinder one_row(Reader(), off);
  std::mt19937_64 again(8);
  int read_off = 0;
  for (int i = 0; i < 10; ++i) {
    std::vector<PlateSpec> specs;
    std::vector<cv::Rect> boxes;
    cv::Mat frame = StreetFrame(**renderer, again, {1920, 1080}, 1, specs, boxes, 1.0);
    auto found = one_row.Find(frame);
    REQUIRE(found.ok());
    for (const auto& f : *found) read_off += f.text.plate == plate::Encode(specs[0].text);
  }
  CHECK(read_off == 0);
}

// A 1080p street frame with one plate on it (seeded): the frame, the plate's text and its box.
struct OnePlateStreet {
  cv::Mat frame;
  std::string plate;
  cv::Rect box;
};
OnePlateStreet MakeOnePlateStreet(uint64_t seed) {
  auto renderer = PlateRenderer::Create();
  REQUIRE(renderer.ok());
  std::mt19937_64 rng(seed);
  std::vector<PlateSpec> specs;
  std::vector<cv::Rect> boxes;
  cv::Mat frame = StreetFrame(**renderer, rng, {1920, 1080}, 1, specs, boxes);
  REQUIRE(specs.size() == 1);
  return {frame, plate::Encode(specs[0].text), boxes[0]};
}

TEST_CASE("a camera's next frame: still regions keep their outcome, a moved plate is read afresh") {
  const OnePlateStreet street = MakeOnePlateStreet(12);
  const cv::Mat& still = street.frame;
  const std::string& plate = street.plate;
  analytics::PlateFinder finder(Reader());
  auto first = finder.FindNext(still);
  REQUIRE(first.ok());
  const int64_t regions = finder.regions_read();
  REQUIRE(regions > 1);
  REQUIRE(finder.regions_reused() == 0);
  REQUIRE(first->size() == 1);
  CHECK(first->front().text.plate == plate);

  // The same picture with a camera's sensor noise: nothing read again, the same plate where it was.
  cv::Mat noisy = still.clone();
  cv::Mat noise(still.size(), CV_16SC3);
  cv::randn(noise, 0, 3);
  still.convertTo(noisy, CV_16SC3);
  noisy += noise;
  noisy.convertTo(noisy, CV_8UC3);
  auto second = finder.FindNext(noisy);
  REQUIRE(second.ok());
  MESSAGE("regions: " << regions << " read in the first frame; in the second, " << finder.regions_reused()
                      << " kept and " << finder.regions_read() - regions << " read");
  CHECK(finder.regions_reused() >= regions - 1);  // a region at the edge of the detector's threshold may come and go
  REQUIRE(second->size() == 1);
  CHECK(second->front().text.plate == plate);
  CHECK(second->front().where.box == first->front().where.box);

  // The plate moved 30 px to the right (the car drove on): read afresh where it is now; the rest kept.
  const cv::Rect was = street.box;
  const cv::Rect now = was + cv::Point(30, 0);
  REQUIRE((now & cv::Rect(0, 0, 1920, 1080)) == now);
  cv::Mat moved = still.clone();
  still(was).copyTo(moved(now));
  const int64_t read_before = finder.regions_read(), reused_before = finder.regions_reused();
  auto third = finder.FindNext(moved);
  REQUIRE(third.ok());
  CHECK(finder.regions_read() > read_before);
  CHECK(finder.regions_read() - read_before < regions);
  CHECK(finder.regions_reused() > reused_before);
  REQUIRE(third->size() == 1);
  CHECK(third->front().text.plate == plate);
  CHECK((third->front().where.box & now).area() > 0.8 * now.area());

  // Still regions are kept at most still_reuse_frames times, then read afresh all the same.
  const int64_t read_at = finder.regions_read();
  for (int i = 0; i <= analytics::PlateFinderOptions{}.still_reuse_frames; ++i) REQUIRE(finder.FindNext(moved).ok());
  CHECK(finder.regions_read() - read_at >=
        static_cast<int64_t>(analytics::FindPlateCandidates(moved, analytics::PlateFinderOptions{}).size()));
  // Find (single pictures) keeps nothing from one call to the next.
  const int64_t reused_at = finder.regions_reused();
  REQUIRE(finder.Find(moved).ok());
  REQUIRE(finder.Find(moved).ok());
  CHECK(finder.regions_reused() == reused_at);
}

TEST_CASE("a camera's next frame: a plate read as in the frame before, near there, skips the corner network") {
  const OnePlateStreet street = MakeOnePlateStreet(12);
  const cv::Mat& still = street.frame;
  const std::string& plate = street.plate;
  analytics::PlateFinder finder(Reader());
  REQUIRE(finder.reader().has_corner_model());
  // The camera pans 12 px a frame: the plate moves, and every region with an edge in it.
  std::vector<int64_t> refined;
  for (int i = 0; i < 4; ++i) {
    cv::Mat frame;
    const cv::Matx23d shift(1, 0, 12.0 * i, 0, 1, 0);
    cv::warpAffine(still, frame, shift, still.size(), cv::INTER_NEAREST, cv::BORDER_REPLICATE);
    auto found = finder.FindNext(frame);
    REQUIRE(found.ok());
    REQUIRE(found->size() == 1);
    CHECK(found->front().text.plate == plate);
    CHECK((found->front().where.box & (street.box + cv::Point(12 * i, 0))).area() > 0);
    refined.push_back(finder.regions_refined());
  }
  MESSAGE("regions given to the corner network, frame by frame (summed): " << refined[0] << " " << refined[1] << " "
          << refined[2] << " " << refined[3]);
  CHECK(refined[0] >= 1);           // the plate, at least
  CHECK(refined[1] == refined[0]);  // the plate known; unread regions refined in frame 1 wait a frame
  CHECK(refined[3] - refined[1] < 2 * refined[0]);
  // Find (single pictures) refines every read plate every time.
  const int64_t before = finder.regions_refined();
  REQUIRE(finder.Find(still).ok());
  REQUIRE(finder.Find(still).ok());
  CHECK(finder.regions_refined() - before >= 2);
}

TEST_CASE("a camera's next frame: only where it changed is searched, and a plate arriving there is read at once") {
  const OnePlateStreet street = MakeOnePlateStreet(21);
  const cv::Mat& with_plate = street.frame;
  const std::string& plate = street.plate;
  // The street before the car came: the plate and a margin around it painted over with the road's
  // grey beside it.
  const cv::Rect around(street.box.x - 40, street.box.y - 30, street.box.width + 80, street.box.height + 60);
  REQUIRE((around & cv::Rect(0, 0, 1920, 1080)) == around);
  cv::Mat empty = with_plate.clone();
  empty(around).setTo(cv::mean(with_plate(cv::Rect(around.x, around.y - 10, around.width, 10))));
  analytics::PlateFinder finder(Reader());  // whole_search_frames: 8
  for (int i = 0; i < 3; ++i) {
    auto none = finder.FindNext(empty);
    REQUIRE(none.ok());
    CHECK(none->empty());
  }
  CHECK(finder.whole_searches() == 1);
  CHECK(finder.part_searches() == 2);
  // The car arrives: found and read in that very frame, searched only where the frame changed.
  auto found = finder.FindNext(with_plate);
  REQUIRE(found.ok());
  CHECK(finder.whole_searches() == 1);
  CHECK(finder.part_searches() == 3);
  REQUIRE(found->size() == 1);
  CHECK(found->front().text.plate == plate);
  CHECK(found->front().text.labelled_chars >= 7);
  CHECK((found->front().where.box & street.box).area() > 0.7 * street.box.area());
  // The ninth frame, eight after the first, is searched whole.
  for (int i = 0; i < 4; ++i) REQUIRE(finder.FindNext(with_plate).ok());
  CHECK(finder.whole_searches() == 1);
  REQUIRE(finder.FindNext(with_plate).ok());
  CHECK(finder.whole_searches() == 2);
  // With every frame searched whole, the same plate.
  analytics::PlateFinderOptions whole;
  whole.whole_search_frames = 1;
  analytics::PlateFinder every(Reader(), whole);
  REQUIRE(every.FindNext(empty).ok());
  auto again = every.FindNext(with_plate);
  REQUIRE(again.ok());
  CHECK(every.part_searches() == 0);
  REQUIRE(again->size() == 1);
  CHECK(again->front().text.plate == plate);
}

TEST_CASE("a plate camera reads a pass once, and not where the picture is masked") {
  const OnePlateStreet street = MakeOnePlateStreet(9);
  const cv::Mat& still = street.frame;
  const cv::Rect box = street.box;
  // A mask around the plate, in fractions of the frame, and one elsewhere.
  const double x0 = (box.x - 20.0) / 1920, x1 = (box.br().x + 20.0) / 1920;
  const double y0 = (box.y - 20.0) / 1080, y1 = (box.br().y + 20.0) / 1080;
  auto passes = [&](std::vector<analytics::Polygon> masks) {
    analytics::PlatesConfig config;
    config.enabled = true;
    config.masks = std::move(masks);
    analytics::PlateCamera camera(config, Reader());
    std::vector<analytics::Detection> out;
    for (int i = 0; i < 4; ++i) {  // the car stands in view for half a second at 8 fps
      Frame f;
      f.camera = "gate";
      f.wall_ns = 1'000'000'000LL + i * 125'000'000LL;
      f.sequence = i + 1;
      f.bgr = still.clone();
      camera.Process(f, out);
    }
    camera.Flush(out);
    std::vector<std::string> whole;
    for (const auto& d : out) {
      if (d.phase == analytics::Phase::kInstant && d.plate) whole.push_back(d.plate->text);
    }
    return whole;
  };
  const std::string& plate = street.plate;
  auto unmasked = passes({{{0.0, 0.0}, {0.1, 0.0}, {0.1, 0.1}}});
  REQUIRE(unmasked.size() == 1);
  CHECK(unmasked[0] == plate);
  CHECK(passes({{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}}).empty());
}

}  // namespace
}  // namespace vigil::plates
