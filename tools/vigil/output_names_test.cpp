#include "tools/vigil/output_names.h"

#include <doctest/doctest.h>

namespace vigil::cli {
namespace {

TEST_CASE("names a hostile server sends never leave the directory the user named") {
  // What a server could put in a manifest's path or a snapshot's camera.
  for (const char* hostile : {"../../../../tmp/PWNED-by-server", "..", ".", "/etc/passwd", "a/../../b",
                              "..\\..\\x", "cam1\n.mp4", "", "....", "./.hidden"}) {
    CAPTURE(hostile);
    std::string name = SafeFileName(hostile, "clip0", ".mp4");
    CHECK(name.find('/') == std::string::npos);
    CHECK(name.find('\\') == std::string::npos);
    CHECK(name.find('\n') == std::string::npos);
    CHECK(name.front() != '.');
    CHECK(name.size() > 4);
    CHECK(name.ends_with(".mp4"));
  }
  CHECK(SafeFileName("cam1", "x", ".mp4") == "cam1.mp4");
  CHECK(SafeFileName("东风广场-北", "x", ".jpg") == "东风广场-北.jpg");  // names in Chinese stay
  CHECK(SafeFileName("..", "clip3", ".mp4") == "clip3.mp4");
  CHECK(SafeFileName("../../etc/cron.d/x", "c", ".mp4") == "_.._etc_cron.d_x.mp4");
  CHECK(SafeFileName(std::string(5000, 'a'), "c", ".mp4").size() == 104);
}

}  // namespace
}  // namespace vigil::cli
