#include "base/plate_format.h"

#include <doctest/doctest.h>

#include "base/plate_text.h"

namespace vigil::plate {
namespace {

Layout LayoutOf(std::string_view text) {
  auto layout = CheckGrammar(Normalize(text));
  REQUIRE_MESSAGE(layout.ok(), layout.error().message());
  return *layout;
}

std::string Refusal(std::string_view text) {
  auto layout = CheckGrammar(Normalize(text));
  REQUIRE_FALSE(layout.ok());
  CHECK(layout.error().code() == StatusCode::kInvalidArgument);
  return layout.error().message();
}

TEST_CASE("every GA 36 layout is recognised") {
  CHECK(LayoutOf("云A·12345") == Layout::kStandard);
  CHECK(LayoutOf("京N·9P3K7") == Layout::kStandard);
  CHECK(LayoutOf("粤B·D12345") == Layout::kNewEnergySmall);
  CHECK(LayoutOf("粤B·FA1234") == Layout::kNewEnergySmall);
  CHECK(LayoutOf("沪A·12345D") == Layout::kNewEnergyLarge);
  CHECK(LayoutOf("云A·1234警") == Layout::kSuffixed);
  CHECK(LayoutOf("鲁B·1234挂") == Layout::kSuffixed);
  CHECK(LayoutOf("粤Z·1A23港") == Layout::kSuffixed);
  CHECK(LayoutOf("使014578") == Layout::kEmbassy);
}

TEST_CASE("plates that break the grammar are refused with the position and what was expected") {
  CHECK(Refusal("A云12345").find("character 1") != std::string::npos);
  CHECK(Refusal("云I12345").find("issuing-authority letter") != std::string::npos);
  CHECK(Refusal("云A1O345").find("character 4 is 'O'") != std::string::npos);
  CHECK(Refusal("云A12I45").find("no I or O") != std::string::npos);
  CHECK(Refusal("云A1234").find("has 6 characters") != std::string::npos);
  CHECK(Refusal("粤BA12345").find("D/F") != std::string::npos);
  CHECK(Refusal("粤BDA1B34").find("digit") != std::string::npos);
  CHECK(Refusal("沪A12345X").find("D or F") != std::string::npos);
  CHECK(Refusal("云A1234使").find("character 7") != std::string::npos);
  CHECK(Refusal("使01457A").find("a digit") != std::string::npos);
  CHECK(Refusal("云A12警45").find("character 5") != std::string::npos);
}

TEST_CASE("the background must agree with the plate's text") {
  auto allowed = [](std::string_view text, Background bg) {
    auto p = Normalize(text);
    auto layout = CheckGrammar(p);
    REQUIRE(layout.ok());
    return BackgroundAllowed(p, *layout, bg);
  };
  CHECK(allowed("云A12345", Background::kBlue));
  CHECK(allowed("云A12345", Background::kYellow));
  CHECK_FALSE(allowed("云A12345", Background::kGreen));
  CHECK(allowed("云A1234警", Background::kWhite));
  CHECK_FALSE(allowed("云A1234警", Background::kBlue));
  CHECK(allowed("粤BD12345", Background::kGreen));
  CHECK_FALSE(allowed("粤BD12345", Background::kBlue));
  CHECK(allowed("粤Z1234港", Background::kBlack));
  CHECK(allowed("鲁B1234挂", Background::kYellow));
}

TEST_CASE("the alphabet holds every plate character once, without I and O") {
  std::u32string_view a = PlateAlphabet();
  CHECK(a.size() == 31 + 24 + 10 + 7);
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(IsPlateChar(a[i]));
    CHECK(a.find(a[i], i + 1) == std::u32string_view::npos);
  }
  CHECK(a.find(U'I') == std::u32string_view::npos);
  CHECK(a.find(U'O') == std::u32string_view::npos);
}

}  // namespace
}  // namespace vigil::plate
