#include "analytics/plate_reader.h"
#include "analytics/plate_finder.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <opencv2/imgproc.hpp>

#include "base/plate_text.h"

namespace vigil::analytics {
namespace {

int ClassOf(char32_t c) { return static_cast<int>(plate::PlateAlphabet().find(c)) + 1; }

// Column scores spelling `path` (one class per column, 0 = blank), each column `p` sure of its class
// and the rest spread over the others.
cv::Mat Columns(const std::vector<int>& path, float p = 0.9f) {
  const int C = static_cast<int>(plate::PlateAlphabet().size()) + 1;
  cv::Mat probs(C, static_cast<int>(path.size()), CV_32F, cv::Scalar((1 - p) / (C - 1)));
  for (int t = 0; t < static_cast<int>(path.size()); ++t) probs.at<float>(path[static_cast<size_t>(t)], t) = p;
  return probs;
}

std::vector<int> Spell(std::u32string_view text, bool doubled = true) {
  std::vector<int> path{0};
  for (char32_t c : text) {
    path.push_back(ClassOf(c));
    if (doubled) path.push_back(ClassOf(c));
    path.push_back(0);
  }
  while (path.size() < 32) path.push_back(0);
  return path;
}

TEST_CASE("the best grammatical path is read, repeats merged and blanks dropped") {
  PlateText t = DecodeColumns(Columns(Spell(U"云A12245")));
  CHECK(t.plate == "云A12245");  // the doubled 2 survives: a blank separates the two
  CHECK(t.layout == plate::Layout::kStandard);
  REQUIRE(t.char_confidence.size() == 7);
  CHECK(t.confidence == doctest::Approx(0.9).epsilon(0.01));
}

TEST_CASE("a best path that breaks the grammar gives way to the best grammatical one") {
  // The serial's '1' shows in one column only, where the blank is likelier: the most probable
  // prefix is the six-character "云A2345", which is no plate; the best grammatical one has the 1.
  std::vector<int> path = Spell(U"云A");
  path.resize(5);
  path.push_back(ClassOf(U'1'));
  for (char32_t c : std::u32string_view(U"2345")) {
    path.push_back(0);
    path.push_back(ClassOf(c));
    path.push_back(ClassOf(c));
  }
  path.resize(32, 0);
  cv::Mat probs = Columns(path);
  probs.at<float>(ClassOf(U'1'), 5) = 0.35f;
  probs.at<float>(0, 5) = 0.6f;
  PlateText t = DecodeColumns(probs);
  CHECK(t.plate == "云A12345");
  CHECK(t.confidence == doctest::Approx(0.35).epsilon(0.01));  // the doubtful character sets it
}

TEST_CASE("columns that spell no plate read as nothing") {
  PlateText t = DecodeColumns(Columns(Spell(U"AB12")));
  CHECK(t.plate.empty());
  CHECK(t.confidence == 0);
}

TEST_CASE("a missing or unreadable model is refused with the file named") {
  auto missing = PlateReader::Load("/nonexistent/plate.onnx");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == StatusCode::kNotFound);
  CHECK(missing.error().message().find("/nonexistent/plate.onnx") != std::string::npos);
  auto dir = std::filesystem::temp_directory_path() / "vigil_plate_reader_test.onnx";
  std::ofstream(dir) << "not a network";
  auto bad = PlateReader::Load(dir.string());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == StatusCode::kInvalidArgument);
  CHECK(bad.error().message().find(dir.string()) != std::string::npos);
  std::filesystem::remove(dir);
}

TEST_CASE("the committed model loads and refuses bad crops") {
  auto reader = PlateReader::Load(DefaultPlateModel());
  REQUIRE_MESSAGE(reader.ok(), reader.error().message());
  auto empty = (*reader)->Read({cv::Mat()});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code() == StatusCode::kInvalidArgument);
  auto grey = (*reader)->Read({cv::Mat(32, 128, CV_8UC1, cv::Scalar(0))});
  CHECK_FALSE(grey.ok());
  // A blank crop is no plate.
  auto blank = (*reader)->Read({cv::Mat(32, 128, CV_8UC3, cv::Scalar(90, 90, 90))});
  REQUIRE(blank.ok());
  CHECK(blank->front().plate.empty());
  // Crops read again at the corner network's corners refuse and read the same.
  auto empty_again = ReadPlateCrops(**reader, {cv::Mat()});
  REQUIRE_FALSE(empty_again.ok());
  CHECK(empty_again.error().code() == StatusCode::kInvalidArgument);
  auto blank_again = ReadPlateCrops(**reader, {cv::Mat(24, 94, CV_8UC3, cv::Scalar(90, 90, 90))});
  REQUIRE(blank_again.ok());
  CHECK(blank_again->front().plate.empty());
}

TEST_CASE("the corner network beside the reader: loaded when there, refused by name when broken") {
  const auto tmp = std::filesystem::temp_directory_path() / "vigil_plate_corner_test";
  std::filesystem::remove_all(tmp);
  std::filesystem::create_directories(tmp);
  std::filesystem::copy_file(DefaultPlateModel(), tmp / "plate_reader.onnx");
  auto alone = PlateReader::Load((tmp / "plate_reader.onnx").string());
  REQUIRE_MESSAGE(alone.ok(), alone.error().message());
  CHECK_FALSE((*alone)->has_corner_model());
  auto none = (*alone)->Corners({cv::Mat(40, 128, CV_8UC3, cv::Scalar(0))});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code() == StatusCode::kFailedPrecondition);
  std::ofstream(tmp / "plate_corners.onnx") << "not a network";
  auto broken = PlateReader::Load((tmp / "plate_reader.onnx").string());
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code() == StatusCode::kInvalidArgument);
  CHECK(broken.error().message().find("plate_corners.onnx") != std::string::npos);
  std::filesystem::remove_all(tmp);

  auto committed = PlateReader::Load(DefaultPlateModel());
  REQUIRE_MESSAGE(committed.ok(), committed.error().message());
  REQUIRE((*committed)->has_corner_model());
  auto grey = (*committed)->Corners({cv::Mat(40, 128, CV_8UC1, cv::Scalar(0))});
  REQUIRE_FALSE(grey.ok());
  CHECK(grey.error().code() == StatusCode::kInvalidArgument);
  // A plate drawn in the middle of the crop, as a loose box hands it over: corners near its rim.
  cv::Mat crop(40, 128, CV_8UC3, cv::Scalar(60, 70, 60));
  const cv::Rect plate(18, 10, 92, 20);
  crop(plate).setTo(cv::Scalar(160, 60, 20));
  for (int x = plate.x + 6; x < plate.x + plate.width - 6; x += 11) {
    cv::rectangle(crop, cv::Rect(x, plate.y + 4, 6, 12), cv::Scalar(240, 240, 240), cv::FILLED);
  }
  auto found = (*committed)->Corners({crop});
  REQUIRE(found.ok());
  const auto& c = found->front();
  const cv::Point2f expected[4] = {{18.f / 128, 10.f / 40}, {110.f / 128, 10.f / 40}, {110.f / 128, 30.f / 40},
                                   {18.f / 128, 30.f / 40}};
  for (int i = 0; i < 4; ++i) {
    CHECK(std::abs(c[static_cast<size_t>(i)].x - expected[i].x) < 0.06);
    CHECK(std::abs(c[static_cast<size_t>(i)].y - expected[i].y) < 0.12);
  }
}

}  // namespace
}  // namespace vigil::analytics
