// vigil-lpr: reads licence plates from pictures, for investigators with a photo and for evaluation.
//
//   vigil-lpr [--model FILE] [--crops] FILE...   one JSON line per plate found
//   vigil-lpr --eval DIR                           accuracy on a vigil-plategen data set
//   vigil-lpr --eval-photos DIR                    accuracy on labelled photographs (labels.csv)
//
// A file that cannot be read gives an error line on stderr naming it, and the rest go on; the exit
// status is 1 when any file failed.

#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "analytics/plate_reader.h"
#include "tools/plates/evaluation.h"

using namespace vigil;

namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil-lpr: read China GA 36 licence plates from pictures"};
  std::vector<std::string> files;
  std::string model = analytics::DefaultPlateModel(), eval_dir, photos_dir;
  bool crops = false;
  app.add_option("files", files, "pictures (JPEG, PNG, ...)");
  app.add_option("--model", model, "plate reader network (ONNX)");
  app.add_flag("--crops", crops, "the pictures are plate crops (a plate filling the picture)");
  app.add_option("--eval", eval_dir, "measure accuracy on a vigil-plategen data set");
  app.add_option("--eval-photos", photos_dir, "measure accuracy on labelled photographs");
  CLI11_PARSE(app, argc, argv);

  auto reader = analytics::PlateReader::Load(model);
  if (!reader.ok()) {
    fmt::print(stderr, "vigil-lpr: {}\n", reader.error().message());
    return 2;
  }
  if (!eval_dir.empty() || !photos_dir.empty()) {
    auto set = !eval_dir.empty() ? plates::LoadDataset(eval_dir) : plates::LoadLabeledPhotos(photos_dir);
    if (!set.ok()) {
      fmt::print(stderr, "vigil-lpr: {}\n", set.error().message());
      return 2;
    }
    auto report = plates::Evaluate(**reader, *set);
    if (!report.ok()) {
      fmt::print(stderr, "vigil-lpr: {}\n", report.error().message());
      return 2;
    }
    fmt::print("{}", plates::FormatReport(!eval_dir.empty() ? eval_dir : photos_dir, *report));
    for (const auto& m : report->misreads) fmt::print("  misread {}\n", m);
    return 0;
  }
  if (files.empty()) {
    fmt::print(stderr, "vigil-lpr: no pictures given (see --help)\n");
    return 2;
  }
  if (!crops) {
    fmt::print(stderr, "vigil-lpr: finding plates in whole pictures is not built yet: pass --crops\n");
    return 2;
  }
  int failed = 0;
  for (const auto& file : files) {
    cv::Mat img = cv::imread(file, cv::IMREAD_COLOR);
    if (img.empty()) {
      fmt::print(stderr, "vigil-lpr: {}: not a picture OpenCV can decode\n", file);
      ++failed;
      continue;
    }
    auto reads = (*reader)->Read({img});
    if (!reads.ok()) {
      fmt::print(stderr, "vigil-lpr: {}: {}\n", file, reads.error().message());
      ++failed;
      continue;
    }
    const auto& t = reads->front();
    if (t.plate.empty()) continue;
    fmt::print("{{\"file\":{},\"plate\":{},\"color\":\"{}\",\"confidence\":{:.3f},\"box\":[0,0,{},{}]}}\n",
               JsonString(file), JsonString(t.plate), plate::BackgroundName(t.color), t.confidence,
               img.cols, img.rows);
    std::fflush(stdout);
  }
  return failed ? 1 : 0;
}
