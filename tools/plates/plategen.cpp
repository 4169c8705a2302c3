// vigil-plategen: writes a synthetic plate data set for training and evaluating the plate reader.
//
//   vigil-plategen --count 200000 --seed 1 --out DIR [--width 128 --height 32] [--png 50]
//
// DIR/images.u8: count x height x width x 3 bytes (BGR, row-major), DIR/labels.tsv: one line per
// image: index, plate text, background, kind, difficulty, plate width in camera pixels, night,
// occluded. Sample i depends only on (seed, i), so any thread count gives the same file.
//
//   vigil-plategen --real DIR --split FILE --subset train --variants 60 --seed 1 --out DIR
//
// Crops from real labelled photographs instead (tools/plates/real_crops.h): `variants` per photo
// (0: one plain rectification from the labelled corners), kind "real", difficulty "real".

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "analytics/plate_reader.h"
#include "base/plate_text.h"
#include "tools/plates/plate_synth.h"
#include "tools/plates/real_crops.h"

using namespace vigil;

int main(int argc, char** argv) {
  CLI::App app{"vigil-plategen: synthetic GA 36 plate crops for the plate reader"};
  int64_t count = 1000;
  uint64_t seed = 1;
  std::string out;
  int width = 128, height = 32, png = 0;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  bool mix = false;
  app.add_option("--count", count, "samples")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "data set seed (training and held-out sets use different ones)");
  app.add_option("--out", out, "output directory")->required();
  app.add_option("--width", width, "crop width")->check(CLI::Range(16, 1024));
  app.add_option("--height", height, "crop height")->check(CLI::Range(8, 512));
  app.add_option("--png", png, "also write the first N crops as PNG files, for looking at");
  app.add_option("--threads", threads, "worker threads")->check(CLI::Range(1, 64));
  app.add_flag("--mix", mix, "also glyph styles and upright-box crops (towards real photographs)");
  bool two_rows = false;
  app.add_flag("--two-rows", two_rows, "two-row plates, stitched into the reader's 128x32 input as the finder reads them");
  std::string real_dir, split_file, subset = "train";
  int variants = 0;
  app.add_option("--real", real_dir, "crops from the labelled photographs of this folder (labels.csv with corners)");
  app.add_option("--split", split_file, "with --real: only the photos of this split file (file,plate,split)");
  app.add_option("--subset", subset, "with --split: which split (default train)");
  app.add_option("--variants", variants, "with --real: augmented crops per photo (0: the plain crop)")
      ->check(CLI::Range(0, 10000));
  CLI11_PARSE(app, argc, argv);
  if (two_rows && (width != analytics::kPlateInputWidth || height != analytics::kPlateInputHeight)) {
    fmt::print(stderr, "vigil-plategen: --two-rows makes the reader's {}x{} input; --width/--height cannot change it\n",
               analytics::kPlateInputWidth, analytics::kPlateInputHeight);
    return 2;
  }
  std::vector<plates::LabeledPhoto> photos;
  if (!real_dir.empty()) {
    auto loaded = plates::LoadPhotos(real_dir, split_file, subset);
    if (!loaded.ok()) {
      fmt::print(stderr, "vigil-plategen: {}\n", loaded.error().message());
      return 2;
    }
    for (auto& p : *loaded) {
      if (p.corners) photos.push_back(std::move(p));
    }
    if (photos.empty()) {
      fmt::print(stderr, "vigil-plategen: {}: no photo has labelled corners\n", real_dir);
      return 2;
    }
    count = static_cast<int64_t>(photos.size()) * std::max(1, variants);
  }

  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) {
    fmt::print(stderr, "vigil-plategen: cannot create {}: {}\n", out, ec.message());
    return 1;
  }
  const size_t frame = static_cast<size_t>(width) * static_cast<size_t>(height) * 3;
  std::vector<std::string> labels(static_cast<size_t>(count));
  std::FILE* images = std::fopen((out + "/images.u8").c_str(), "wb");
  if (!images) {
    fmt::print(stderr, "vigil-plategen: cannot write {}/images.u8\n", out);
    return 1;
  }
  // Workers fill fixed blocks; the main thread writes them in order.
  const int64_t block = 2048;
  std::atomic<bool> failed{false};
  for (int64_t start = 0; start < count; start += block) {
    int64_t n = std::min(block, count - start);
    std::vector<uchar> pixels(static_cast<size_t>(n) * frame);
    std::atomic<int64_t> next{0};
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        auto renderer = plates::PlateRenderer::Create();
        if (!renderer.ok()) {
          fmt::print(stderr, "vigil-plategen: {}\n", renderer.error().message());
          failed = true;
          return;
        }
        for (int64_t j; (j = next++) < n;) {
          int64_t i = start + j;
          if (!photos.empty()) {
            const int64_t per = std::max(1, variants);
            const auto& photo = photos[static_cast<size_t>(i / per)];
            cv::Mat crop = plates::RealVariant(photo, seed, i / per, i % per, variants > 0, {width, height});
            std::memcpy(pixels.data() + static_cast<size_t>(j) * frame, crop.data, frame);
            labels[static_cast<size_t>(i)] = fmt::format("{}\t{}\t{}\treal\treal\t0\t0\t0", i, photo.plate,
                                                         photo.color.empty() ? "blue" : photo.color);
            if (i < png) cv::imwrite(fmt::format("{}/{:06}_{}.png", out, i, photo.plate), crop);
            continue;
          }
          auto sample = two_rows ? plates::MakeTwoRowSample(**renderer, seed, i, mix)
                                 : plates::MakeSample(**renderer, seed, i, {width, height}, mix);
          if (!sample.ok()) {
            fmt::print(stderr, "vigil-plategen: {}\n", sample.error().message());
            failed = true;
            return;
          }
          const auto& spec = sample->spec;
          const auto& what = sample->what;
          const auto difficulty = sample->difficulty;
          const cv::Mat& crop = sample->crop;
          std::memcpy(pixels.data() + static_cast<size_t>(j) * frame, crop.data, frame);
          labels[static_cast<size_t>(i)] = fmt::format(
              "{}\t{}\t{}\t{}\t{}\t{:.0f}\t{}\t{}", i, plate::Encode(spec.text),
              plate::BackgroundName(spec.background), plates::KindName(spec.kind),
              plates::DifficultyName(difficulty), what.plate_px, what.night ? 1 : 0,
              what.occluded ? 1 : 0);
          if (i < png) {
            cv::imwrite(fmt::format("{}/{:06}_{}.png", out, i, plate::Encode(spec.text)), crop);
          }
        }
      });
    }
    for (auto& t : pool) t.join();
    if (failed) return 1;
    if (std::fwrite(pixels.data(), 1, pixels.size(), images) != pixels.size()) {
      fmt::print(stderr, "vigil-plategen: writing {}/images.u8 failed (disk full?)\n", out);
      return 1;
    }
  }
  if (std::fclose(images) != 0) {
    fmt::print(stderr, "vigil-plategen: closing {}/images.u8 failed\n", out);
    return 1;
  }
  std::ofstream tsv(out + "/labels.tsv");
  tsv << "index\tplate\tcolor\tkind\tdifficulty\tplate_px\tnight\toccluded\n";
  for (const auto& l : labels) tsv << l << '\n';
  tsv << "# width=" << width << " height=" << height << " seed=" << seed << '\n';
  if (!tsv) {
    fmt::print(stderr, "vigil-plategen: writing {}/labels.tsv failed\n", out);
    return 1;
  }
  fmt::print("{} crops {}x{} in {}\n", count, width, height, out);
  return 0;
}
