// vigil-lpr: reads licence plates from pictures, for investigators with a photo and for evaluation.
//
//   vigil-lpr [--model FILE] [--crops] [--province 云] FILE...
//                                                one JSON line per plate found: in a picture, every
//                                                  plate; in a video, one line per vehicle pass
//   vigil-lpr --eval DIR                           accuracy on a vigil-plategen data set
//   vigil-lpr --eval-photos DIR                    accuracy on labelled photographs (labels.csv)
//
// A file that cannot be read gives an error line on stderr naming it, and the rest go on; the exit
// status is 1 when any file failed.

#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "analytics/plate_finder.h"
#include "base/plate_text.h"
#include "analytics/plate_reader.h"
#include "analytics/plate_tracker.h"
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

std::string Line(const std::string& file, const std::string& plate, plate::Background color, double confidence,
                 const cv::Rect& box, const std::string& extra = "") {
  return fmt::format("{{\"file\":{},\"plate\":{},\"color\":\"{}\",\"confidence\":{:.3f},\"box\":[{},{},{},{}]{}}}\n",
                     JsonString(file), JsonString(plate), plate::BackgroundName(color), confidence, box.x, box.y,
                     box.width, box.height, extra);
}

// A video: frames sampled at `fps`, plates tracked, one line per vehicle pass with its time.
bool ReadVideo(const std::string& file, cv::VideoCapture& video, analytics::PlateFinder& finder, double fps) {
  double native = video.get(cv::CAP_PROP_FPS);
  if (!(native > 0)) native = 25;
  const int step = std::max(1, static_cast<int>(std::lround(native / fps)));
  analytics::PlateTracker tracker;
  std::vector<analytics::PlatePass> passes;
  auto print = [&] {
    for (const auto& p : passes) {
      fmt::print("{}", Line(file, p.plate, p.color, p.confidence, p.best_box,
                            fmt::format(",\"time_s\":{:.2f},\"frames\":{}", p.best_ns / 1e9, p.sightings)));
    }
    std::fflush(stdout);
    passes.clear();
  };
  cv::Mat frame;
  int64_t n = 0;
  for (; video.read(frame); ++n) {
    if (n % step != 0) continue;
    auto found = finder.Find(frame);
    if (!found.ok()) {
      fmt::print(stderr, "vigil-lpr: {}: {}\n", file, found.error().message());
      return false;
    }
    const auto ns = static_cast<int64_t>(static_cast<double>(n) / native * 1e9);
    tracker.Update(ns, *found, passes);
    print();
  }
  if (n == 0) {
    fmt::print(stderr, "vigil-lpr: {}: not a picture or video OpenCV can decode\n", file);
    return false;
  }
  tracker.Flush(passes);
  print();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil-lpr: read China GA 36 licence plates from pictures"};
  std::vector<std::string> files;
  std::string model = analytics::DefaultPlateModel(), eval_dir, photos_dir;
  bool crops = false;
  double fps = 8;
  app.add_option("files", files, "pictures (JPEG, PNG, ...)");
  app.add_option("--model", model, "plate reader network (ONNX)");
  app.add_flag("--crops", crops, "the pictures are plate crops (a plate filling the picture)");
  app.add_option("--fps", fps, "video frames searched a second")->check(CLI::Range(0.1, 60.0));
  app.add_option("--eval", eval_dir, "measure accuracy on a vigil-plategen data set");
  app.add_option("--eval-photos", photos_dir,
                 "measure accuracy on labelled photographs (labels.csv: file,plate[,corners_rb_lb_lt_rt]): "
                 "finder and reader, and the reader alone on crops from labelled corners");
  int64_t held_out = 0;
  bool two_rows = false;
  app.add_option("--eval-synthetic", held_out,
                 "measure accuracy on N synthetic held-out crops (seed 3, never trained on), as the plates test does");
  app.add_flag("--two-rows", two_rows, "with --eval-synthetic: two-row plates, stitched as the finder reads them");
  std::string split_file, subset = "val";
  app.add_option("--split", split_file, "with --eval-photos: only the photos of this split file (file,plate,split)");
  app.add_option("--subset", subset, "with --split: which split (default val)");
  std::string provinces;
  double province_weight = 4;
  app.add_option("--province", provinces, "local province(s), e.g. 云: an uncertain first character goes there");
  app.add_option("--province-weight", province_weight, "how much the local provinces are favoured (1-100, default 4)");
  CLI11_PARSE(app, argc, argv);

  auto reader = analytics::PlateReader::Load(model);
  if (!reader.ok()) {
    fmt::print(stderr, "vigil-lpr: {}\n", reader.error().message());
    return 2;
  }
  if (Status st = (*reader)->SetLocalProvinces(provinces, province_weight); !st.ok()) {
    fmt::print(stderr, "vigil-lpr: --province: {}\n", st.message());
    return 2;
  }
  if (!photos_dir.empty()) {
    auto photos = plates::LoadPhotos(photos_dir, split_file, subset);
    if (!photos.ok()) {
      fmt::print(stderr, "vigil-lpr: {}\n", photos.error().message());
      return 2;
    }
    const bool all_crops = std::all_of(photos->begin(), photos->end(), [](const auto& p) { return p.is_crop; });
    std::vector<plates::LabeledCrop> as_crops;
    if (crops || all_crops) {
      for (auto& p : *photos) {
        as_crops.push_back({p.image, p.plate, p.color, "province " + plate::Encode(plate::Decode(p.plate).substr(0, 1)),
                            "real", p.name});
      }
    } else {
      analytics::PlateFinder finder(std::move(*reader));
      auto report = plates::EvaluatePhotos(finder, *photos);
      if (!report.ok()) {
        fmt::print(stderr, "vigil-lpr: {}\n", report.error().message());
        return 2;
      }
      fmt::print("{}", plates::FormatPhotoReport(photos_dir + " (finder and reader)", *report));
      for (const auto& m : report->misses) fmt::print("  miss {}\n", m);
      as_crops = plates::CropsFromCorners(*photos);
      if (as_crops.empty()) return 0;
      auto alone = plates::Evaluate(finder.reader(), as_crops);
      if (!alone.ok()) {
        fmt::print(stderr, "vigil-lpr: {}\n", alone.error().message());
        return 2;
      }
      fmt::print("{}", plates::FormatReport(photos_dir + " (reader alone, crops from the labelled corners)", *alone));
      for (const auto& m : alone->misreads) fmt::print("  misread {}\n", m);
      if (finder.reader().has_corner_model()) {
        auto corners = plates::EvaluateCorners(finder.reader(), *photos);
        if (!corners.ok()) {
          fmt::print(stderr, "vigil-lpr: {}\n", corners.error().message());
          return 2;
        }
        fmt::print("{}", plates::FormatCornerReport(photos_dir + " (corner network alone)", *corners));
      }
      return 0;
    }
    auto report = plates::Evaluate(**reader, as_crops);
    if (!report.ok()) {
      fmt::print(stderr, "vigil-lpr: {}\n", report.error().message());
      return 2;
    }
    fmt::print("{}", plates::FormatReport(photos_dir + " (reader alone)", *report));
    for (const auto& m : report->misreads) fmt::print("  misread {}\n", m);
    if ((*reader)->has_corner_model()) {
      report = plates::Evaluate(**reader, as_crops, true);
      if (!report.ok()) {
        fmt::print(stderr, "vigil-lpr: {}\n", report.error().message());
        return 2;
      }
      fmt::print("{}", plates::FormatReport(photos_dir + " (read again at the corner network's corners)", *report));
      for (const auto& m : report->misreads) fmt::print("  misread {}\n", m);
    }
    return 0;
  }
  if (!eval_dir.empty() || held_out > 0) {
    auto set = held_out > 0 ? plates::GenerateCrops(3, held_out, two_rows) : plates::LoadDataset(eval_dir);
    if (held_out > 0) eval_dir = fmt::format("synthetic held-out, seed 3, {}{}", held_out, two_rows ? " two-row" : "");
    if (!set.ok()) {
      fmt::print(stderr, "vigil-lpr: {}\n", set.error().message());
      return 2;
    }
    auto report = plates::Evaluate(**reader, *set);
    if (!report.ok()) {
      fmt::print(stderr, "vigil-lpr: {}\n", report.error().message());
      return 2;
    }
    fmt::print("{}", plates::FormatReport(eval_dir, *report));
    for (const auto& m : report->misreads) fmt::print("  misread {}\n", m);
    return 0;
  }
  if (files.empty()) {
    fmt::print(stderr, "vigil-lpr: no pictures given (see --help)\n");
    return 2;
  }
  analytics::PlateFinder finder(std::move(*reader));
  int failed = 0;
  for (const auto& file : files) {
    cv::Mat img = cv::imread(file, cv::IMREAD_COLOR);
    if (img.empty()) {
      cv::VideoCapture video;
      if (!crops && video.open(file) && video.isOpened()) {
        if (!ReadVideo(file, video, finder, fps)) ++failed;
        continue;
      }
      fmt::print(stderr, "vigil-lpr: {}: not a picture{} OpenCV can decode\n", file, crops ? "" : " or video");
      ++failed;
      continue;
    }
    if (crops) {
      auto reads = analytics::ReadPlateCrops(finder.reader(), {img});
      if (!reads.ok()) {
        fmt::print(stderr, "vigil-lpr: {}: {}\n", file, reads.error().message());
        ++failed;
        continue;
      }
      const auto& t = reads->front();
      if (!t.plate.empty()) fmt::print("{}", Line(file, t.plate, t.color, t.confidence, {0, 0, img.cols, img.rows}));
    } else {
      auto found = finder.Find(img);
      if (!found.ok()) {
        fmt::print(stderr, "vigil-lpr: {}: {}\n", file, found.error().message());
        ++failed;
        continue;
      }
      for (const auto& f : *found) fmt::print("{}", Line(file, f.text.plate, f.text.color, f.text.confidence, f.where.box));
    }
    std::fflush(stdout);
  }
  return failed ? 1 : 0;
}
