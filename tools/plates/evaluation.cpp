#include "tools/plates/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "base/plate_text.h"
#include "tools/plates/plate_synth.h"

namespace vigil::plates {
namespace {

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string part;
  while (std::getline(ss, part, sep)) out.push_back(part);
  return out;
}

}  // namespace

std::string SharedDataDir() {
  if (const char* env = std::getenv("VIGIL_SHARED_DATA"); env && *env) return env;
  return std::filesystem::weakly_canonical(std::string(VIGIL_SOURCE_DIR) + "/../shared/data").string();
}

Result<std::vector<LabeledCrop>> LoadDataset(const std::string& dir) {
  std::ifstream tsv(dir + "/labels.tsv");
  if (!tsv) return Status::NotFound(fmt::format("{}/labels.tsv cannot be read", dir));
  int width = 0, height = 0;
  std::vector<std::vector<std::string>> rows;
  std::string line;
  int lineno = 0;
  while (std::getline(tsv, line)) {
    ++lineno;
    if (line.rfind("index", 0) == 0) continue;
    if (line.rfind("# ", 0) == 0) {
      for (const auto& kv : Split(line.substr(2), ' ')) {
        if (kv.rfind("width=", 0) == 0) width = std::stoi(kv.substr(6));
        if (kv.rfind("height=", 0) == 0) height = std::stoi(kv.substr(7));
      }
      continue;
    }
    auto f = Split(line, '\t');
    if (f.size() < 5) {
      return Status::InvalidArgument(fmt::format("{}/labels.tsv:{}: expected 8 columns", dir, lineno));
    }
    rows.push_back(std::move(f));
  }
  if (width <= 0 || height <= 0) {
    return Status::InvalidArgument(fmt::format("{}/labels.tsv: no '# width= height=' line", dir));
  }
  const size_t frame = static_cast<size_t>(width) * static_cast<size_t>(height) * 3;
  std::ifstream images(dir + "/images.u8", std::ios::binary);
  if (!images) return Status::NotFound(fmt::format("{}/images.u8 cannot be read", dir));
  std::vector<LabeledCrop> out;
  for (const auto& f : rows) {
    LabeledCrop c;
    c.crop = cv::Mat(height, width, CV_8UC3);
    if (!images.read(reinterpret_cast<char*>(c.crop.data), static_cast<std::streamsize>(frame))) {
      return Status::DataLoss(fmt::format("{}/images.u8 is shorter than labels.tsv says", dir));
    }
    c.name = f[0];
    c.plate = f[1];
    c.color = f[2];
    c.kind = f[3];
    c.difficulty = f[4];
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<LabeledCrop>> LoadLabeledPhotos(const std::string& dir) {
  std::ifstream csv(dir + "/labels.csv");
  if (!csv) return Status::NotFound(fmt::format("{}/labels.csv cannot be read", dir));
  std::vector<LabeledCrop> out;
  std::string line;
  int lineno = 0;
  while (std::getline(csv, line)) {
    ++lineno;
    if (lineno == 1) continue;  // header
    auto f = Split(line, ',');
    if (f.size() < 2) {
      return Status::InvalidArgument(fmt::format("{}/labels.csv:{}: expected file,plate", dir, lineno));
    }
    LabeledCrop c;
    c.name = f[0];
    c.crop = cv::imread(dir + "/" + f[0], cv::IMREAD_COLOR);
    if (c.crop.empty()) {
      return Status::DataLoss(fmt::format("{}/{} cannot be decoded", dir, f[0]));
    }
    c.plate = plate::Encode(plate::Normalize(f[1]));
    c.color = f.size() > 2 ? f[2] : "";
    c.kind = "real";
    c.difficulty = "real";
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<LabeledCrop>> GenerateCrops(uint64_t seed, int64_t count) {
  auto renderer = PlateRenderer::Create();
  if (!renderer.ok()) return renderer.error();
  std::vector<LabeledCrop> out;
  for (int64_t i = 0; i < count; ++i) {
    VIGIL_ASSIGN_OR_RETURN(Sample sample, MakeSample(**renderer, seed, i,
                                                     {analytics::kPlateInputWidth, analytics::kPlateInputHeight}));
    LabeledCrop c;
    c.crop = sample.crop;
    c.plate = plate::Encode(sample.spec.text);
    c.color = plate::BackgroundName(sample.spec.background);
    c.kind = KindName(sample.spec.kind);
    c.difficulty = DifficultyName(sample.difficulty);
    c.name = std::to_string(i);
    out.push_back(std::move(c));
  }
  return out;
}

Result<Report> Evaluate(analytics::PlateReader& reader, const std::vector<LabeledCrop>& crops) {
  Report r;
  const size_t batch = 32;
  double seconds = 0;
  for (size_t s = 0; s < crops.size(); s += batch) {
    std::vector<cv::Mat> in;
    for (size_t i = s; i < std::min(crops.size(), s + batch); ++i) in.push_back(crops[i].crop);
    auto t0 = std::chrono::steady_clock::now();
    auto reads = reader.Read(in);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!reads.ok()) return reads.error();
    for (size_t k = 0; k < in.size(); ++k) {
      const LabeledCrop& c = crops[s + k];
      const analytics::PlateText& t = (*reads)[k];
      bool exact = t.plate == c.plate;
      for (Tally* tally : {&r.all, &r.by_kind[c.kind], &r.by_difficulty[c.difficulty]}) {
        ++tally->n;
        tally->exact += exact;
        if (!c.color.empty()) {
          ++tally->color_n;
          tally->color_ok += c.color == plate::BackgroundName(t.color);
        }
      }
      if (!exact) {
        const std::u32string want = plate::Decode(c.plate), got = plate::Decode(t.plate);
        if (got.empty()) {
          ++r.not_read;
        } else if (got.size() != want.size()) {
          ++r.wrong_length;
        } else {
          r.province_only += want[0] != got[0] && want.substr(1) == got.substr(1);
          for (size_t p = 0; p < want.size(); ++p) {
            if (want[p] == got[p]) continue;
            ++r.wrong_at[p];
            ++r.confusions[{plate::Encode(want.substr(p, 1)), plate::Encode(got.substr(p, 1))}];
          }
        }
      }
      if (!exact && r.misreads.size() < 30) {
        r.misreads.push_back(fmt::format("{}: {} -> {} ({:.2f})", c.name, c.plate,
                                         t.plate.empty() ? "(none)" : t.plate, t.confidence));
      }
    }
  }
  r.ms_per_crop = crops.empty() ? 0 : seconds * 1000 / static_cast<double>(crops.size());
  return r;
}

std::string FormatReport(const std::string& title, const Report& r) {
  std::string out = fmt::format("{}: {} crops, exact {:.2f} %, colour {}, {:.2f} ms per crop\n",
                                title, r.all.n, 100 * r.all.exact_rate(),
                                r.all.color_n ? fmt::format("{:.2f} %", 100 * r.all.color_rate()) : "n/a",
                                r.ms_per_crop);
  auto table = [&](const char* head, const std::map<std::string, Tally>& m) {
    out += fmt::format("  {:<14} {:>6} {:>8} {:>8}\n", head, "crops", "exact%", "colour%");
    for (const auto& [k, t] : m) {
      out += fmt::format("  {:<14} {:>6} {:>8.2f} {:>8}\n", k, t.n, 100 * t.exact_rate(),
                         t.color_n ? fmt::format("{:.2f}", 100 * t.color_rate()) : "n/a");
    }
  };
  if (r.by_kind.size() > 1) table("kind", r.by_kind);
  if (r.by_difficulty.size() > 1) table("difficulty", r.by_difficulty);
  if (r.all.n > r.all.exact) {
    out += fmt::format("  misses: {} not read, {} of another length, {} wrong only in the province; wrong "
                       "characters by position:", r.not_read, r.wrong_length, r.province_only);
    for (const auto& [p, n] : r.wrong_at) out += fmt::format(" {}:{}", p + 1, n);
    std::vector<std::pair<int64_t, std::string>> pairs;
    for (const auto& [k, n] : r.confusions) pairs.push_back({n, k.first + "→" + k.second});
    std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    out += "\n  most confused:";
    for (size_t i = 0; i < std::min<size_t>(12, pairs.size()); ++i) {
      out += fmt::format(" {} ×{}", pairs[i].second, pairs[i].first);
    }
    out += "\n";
  }
  return out;
}

}  // namespace vigil::plates
