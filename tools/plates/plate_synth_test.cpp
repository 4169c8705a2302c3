#include "tools/plates/plate_synth.h"

#include <doctest/doctest.h>
#include <opencv2/imgproc.hpp>

#include "base/plate_text.h"

namespace vigil::plates {
namespace {

std::unique_ptr<PlateRenderer> Renderer() {
  auto r = PlateRenderer::Create();
  REQUIRE_MESSAGE(r.ok(), r.error().message());
  return std::move(*r);
}

TEST_CASE("random plates of every kind follow the GA 36 grammar and their background") {
  std::mt19937_64 rng(7);
  for (int k = 0; k < kKindCount; ++k) {
    for (int i = 0; i < 200; ++i) {
      PlateSpec s = RandomPlate(rng, static_cast<Kind>(k));
      CAPTURE(plate::Encode(s.text));
      auto layout = plate::CheckGrammar(s.text);
      REQUIRE_MESSAGE(layout.ok(), layout.error().message());
      CHECK(plate::BackgroundAllowed(s.text, *layout, s.background));
      for (char32_t c : s.text) CHECK(plate::PlateAlphabet().find(c) != std::u32string_view::npos);
    }
  }
}

TEST_CASE("rendered plates have the regulation size and the background colour around the characters") {
  auto r = Renderer();
  struct Case {
    std::u32string text;
    plate::Background bg;
    cv::Vec3b colour;  // BGR, roughly
  };
  const std::vector<Case> cases = {{U"云A12345", plate::Background::kBlue, {165, 72, 12}},
                                   {U"鲁B1234挂", plate::Background::kYellow, {22, 185, 245}},
                                   {U"云A1234警", plate::Background::kWhite, {240, 242, 242}},
                                   {U"粤Z1234港", plate::Background::kBlack, {28, 26, 26}}};
  for (const auto& c : cases) {
    auto img = r->Render(c.text, c.bg, 1.0);
    REQUIRE(img.ok());
    CHECK(img->cols == 440);
    CHECK(img->rows == 140);
    // Between the rivets and the characters (y = 20 mm) the plate shows its background.
    cv::Vec3b px = img->at<cv::Vec3b>(20, 60);
    for (int ch = 0; ch < 3; ++ch) CHECK(std::abs(px[ch] - c.colour[ch]) < 12);
    // The characters are there: a good share of the character band is ink.
    cv::Mat band = (*img)(cv::Rect(15, 25, 410, 90)), grey, diff;
    cv::absdiff(band, cv::Scalar(c.colour[0], c.colour[1], c.colour[2]), diff);
    cv::cvtColor(diff, grey, cv::COLOR_BGR2GRAY);
    double ink = cv::countNonZero(grey > 60) / double(band.total());
    CHECK(ink > 0.15);
    CHECK(ink < 0.6);
  }
  auto ne = r->Render(U"粤BD12345", plate::Background::kGreen, 2.0);
  REQUIRE(ne.ok());
  CHECK(ne->cols == 960);
  auto bad = r->Render(U"云A12345", plate::Background::kGreen);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message().find("cannot be green") != std::string::npos);
  CHECK_FALSE(r->Render(U"云A1O345", plate::Background::kBlue).ok());
}

TEST_CASE("two-row plates: 440 x 220 mm, province and letter above the serial; only yellow large-vehicle and 挂 plates") {
  auto r = Renderer();
  for (std::u32string text : {std::u32string(U"云A12345"), std::u32string(U"鲁B1234挂")}) {
    CAPTURE(plate::Encode(text));
    auto img = r->Render(text, plate::Background::kYellow, 1.0, {}, true);
    REQUIRE_MESSAGE(img.ok(), img.error().message());
    CHECK(img->cols == 440);
    CHECK(img->rows == 220);
    auto ink = [&](cv::Rect band) {
      cv::Mat diff, grey;
      cv::absdiff((*img)(band), cv::Scalar(22, 185, 245), diff);
      cv::cvtColor(diff, grey, cv::COLOR_BGR2GRAY);
      return cv::countNonZero(grey > 60) / double(band.area());
    };
    // Top row: the province (x 110-190) and the letter (250-330), nothing in the middle but the dot;
    // bottom row: five characters across the plate.
    CHECK(ink({110, 15, 80, 60}) > 0.15);
    CHECK(ink({250, 15, 80, 60}) > 0.1);
    CHECK(ink({20, 20, 80, 50}) < 0.08);  // left of the province: background (a rivet at most)
    CHECK(ink({28, 92, 385, 110}) > 0.15);
  }
  // A blue plate, a police plate and a new-energy plate have no two-row form.
  for (auto [text, bg] : {std::pair{U"云A12345", plate::Background::kBlue}, std::pair{U"云A1234警", plate::Background::kWhite},
                          std::pair{U"粤B12345D", plate::Background::kGreen}}) {
    auto bad = r->Render(text, bg, 1.0, {}, true);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message().find("no two-row form") != std::string::npos);
  }
  // Random two-row plates are grammatical and allowed in two rows.
  std::mt19937_64 rng(3);
  int trailers = 0;
  for (int i = 0; i < 200; ++i) {
    PlateSpec s = RandomPlate(rng, Kind::kTwoRow);
    CHECK(s.two_rows);
    CHECK(plate::TwoRowsAllowed(s.text, s.background));
    trailers += s.text.back() == U'挂';
  }
  CHECK(trailers > 30);
  CHECK(trailers < 100);
}

TEST_CASE("degraded crops are deterministic for a seed and differ between seeds") {
  auto r = Renderer();
  auto flat = r->Render(U"皖A9K123", plate::Background::kBlue);
  REQUIRE(flat.ok());
  for (int d = 0; d < kDifficultyCount; ++d) {
    std::mt19937_64 a(11), b(11), c(12);
    cv::Mat x = Degrade(*flat, a, static_cast<Difficulty>(d), {128, 32});
    cv::Mat y = Degrade(*flat, b, static_cast<Difficulty>(d), {128, 32});
    cv::Mat z = Degrade(*flat, c, static_cast<Difficulty>(d), {128, 32});
    CHECK(x.size() == cv::Size(128, 32));
    CHECK(x.type() == CV_8UC3);
    CHECK(cv::norm(x, y, cv::NORM_INF) == 0);
    CHECK(cv::norm(x, z, cv::NORM_L1) > 0);
  }
}

}  // namespace
}  // namespace vigil::plates
