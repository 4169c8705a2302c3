// vigil-lpr as investigators use it: plates read from a photo and from a video file (one line per
// vehicle pass), plate crops, and a corrupt file that gets an error naming it while the rest go on.
//
// Environment: VIGIL_LPR (set by meson).

#include <doctest/doctest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "base/plate_text.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tools/plates/plate_synth.h"

namespace vigil::testing {
namespace {

std::vector<std::string> Lines(const std::string& text, char first) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (end > at && text[at] == first) out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("vigil-lpr reads photos, videos and crops, and names a file it cannot read") {
  TempDir dir;
  auto renderer = plates::PlateRenderer::Create();
  REQUIRE(renderer.ok());
  std::mt19937_64 rng(21);
  // A photo with two cars.
  std::vector<plates::PlateSpec> specs;
  std::vector<cv::Rect> boxes;
  cv::Mat photo = plates::StreetFrame(**renderer, rng, {1920, 1080}, 2, specs, boxes);
  REQUIRE(cv::imwrite(dir / "photo.jpg", photo));
  // A video: one car driving up the picture for 3 s at 25 fps.
  auto flat = (*renderer)->Render(U"云A8B2C6", plate::Background::kBlue);
  REQUIRE(flat.ok());
  cv::VideoWriter video(dir / "pass.avi", cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 25, {1280, 720});
  REQUIRE(video.isOpened());
  for (int i = 0; i < 75; ++i) {
    cv::Mat frame(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
    int y = 600 - i * 5;
    cv::rectangle(frame, cv::Rect(440, y - 250, 400, 300), cv::Scalar(40, 40, 160), -1);
    cv::Mat plate;
    cv::resize(*flat, plate, {150, 48}, 0, 0, cv::INTER_AREA);
    plate.copyTo(frame(cv::Rect(565, y - 24, 150, 48)));
    video.write(frame);
  }
  video.release();
  // A crop, and a file that is no picture.
  cv::Mat crop;
  cv::resize(*flat, crop, {128, 40}, 0, 0, cv::INTER_AREA);
  REQUIRE(cv::imwrite(dir / "crop.png", crop));
  WriteFile(dir / "broken.jpg", "\xff\xd8\xff\xe0 this is not a JPEG");

  Process all({BinaryFromEnv("VIGIL_LPR"), dir / "photo.jpg", dir / "broken.jpg", dir / "pass.avi"},
              dir / "lpr.log");
  REQUIRE(all.started());
  CHECK(all.Wait(120) == 1);  // one file failed
  std::string log = ReadFile(dir / "lpr.log");
  INFO(log);
  auto reads = Lines(log, '{');
  auto errors = Lines(log, 'v');
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("broken.jpg") != std::string::npos);
  int photo_reads = 0, video_reads = 0;
  for (const auto& r : reads) {
    if (r.find("photo.jpg") != std::string::npos) {
      ++photo_reads;
      bool known = false;
      for (const auto& s : specs) known |= r.find("\"plate\":\"" + plate::Encode(s.text) + "\"") != std::string::npos;
      CHECK_MESSAGE(known, r);
      CHECK(r.find("\"box\":[") != std::string::npos);
    }
    if (r.find("pass.avi") != std::string::npos) {
      ++video_reads;
      CHECK(r.find("\"plate\":\"云A8B2C6\"") != std::string::npos);
      CHECK(r.find("\"color\":\"blue\"") != std::string::npos);
      CHECK(r.find("\"time_s\":") != std::string::npos);
    }
  }
  CHECK(photo_reads == 2);
  CHECK(video_reads == 1);  // one vehicle pass, one line

  Process crops({BinaryFromEnv("VIGIL_LPR"), "--crops", dir / "crop.png"}, dir / "crops.log");
  REQUIRE(crops.started());
  CHECK(crops.Wait(60) == 0);
  CHECK(ReadFile(dir / "crops.log").find("\"plate\":\"云A8B2C6\"") != std::string::npos);
}

}  // namespace vigil::testing
