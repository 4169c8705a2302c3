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
#include <opencv2/imgproc.hpp>

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

// One CSV record's fields ("..." quoting with "" for a quote, as RFC 4180).
std::vector<std::string> CsvFields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

// Levenshtein distance over characters.
size_t EditDistance(const std::u32string& a, const std::u32string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

Result<std::vector<LabeledPhoto>> LoadPhotos(const std::string& dir, const std::string& split_file,
                                             const std::string& split) {
  std::map<std::string, std::string> wanted;  // file -> plate, when a split is given
  if (!split_file.empty()) {
    std::ifstream in(split_file);
    if (!in) return Status::NotFound(fmt::format("{} cannot be read", split_file));
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      if (++lineno == 1) continue;
      auto f = CsvFields(line);
      if (f.size() < 3) {
        return Status::InvalidArgument(fmt::format("{}:{}: expected file,plate,split", split_file, lineno));
      }
      if (f[2] == split) wanted[f[0]] = f[1];
    }
    if (wanted.empty()) {
      return Status::InvalidArgument(fmt::format("{}: no photo is in split '{}'", split_file, split));
    }
  }
  std::ifstream csv(dir + "/labels.csv");
  if (!csv) return Status::NotFound(fmt::format("{}/labels.csv cannot be read", dir));
  std::string line;
  std::getline(csv, line);
  const auto header = CsvFields(line);
  auto column = [&](std::initializer_list<const char*> names) -> int {
    for (size_t i = 0; i < header.size(); ++i) {
      for (const char* n : names) {
        if (header[i] == n) return static_cast<int>(i);
      }
    }
    return -1;
  };
  const int file_col = column({"file"}), plate_col = column({"plate", "plate_text"});
  const int corners_col = column({"corners_rb_lb_lt_rt"}), bbox_col = column({"bbox"});
  const int color_col = column({"plate_color", "kind"});
  if (file_col < 0 || plate_col < 0) {
    return Status::InvalidArgument(fmt::format("{}/labels.csv: the header names no 'file' and 'plate' columns", dir));
  }
  std::vector<LabeledPhoto> out;
  int lineno = 1;
  while (std::getline(csv, line)) {
    ++lineno;
    if (line.empty()) continue;
    auto f = CsvFields(line);
    if (static_cast<int>(f.size()) <= std::max({file_col, plate_col, corners_col, bbox_col, color_col})) {
      return Status::InvalidArgument(fmt::format("{}/labels.csv:{}: too few fields", dir, lineno));
    }
    LabeledPhoto p;
    p.name = f[file_col];
    p.plate = plate::Encode(plate::Normalize(f[plate_col]));
    if (!wanted.empty()) {
      auto it = wanted.find(p.name);
      if (it == wanted.end()) continue;
      if (plate::Encode(plate::Normalize(it->second)) != p.plate) {
        return Status::InvalidArgument(fmt::format("{}: {} is {} there but {} in {}/labels.csv", split_file,
                                                   p.name, it->second, p.plate, dir));
      }
    }
    if (corners_col >= 0 && !f[corners_col].empty()) {
      std::array<cv::Point2f, 4> ccpd;  // rb, lb, lt, rt
      auto pts = Split(f[corners_col], ';');
      if (pts.size() != 4) {
        return Status::InvalidArgument(fmt::format("{}/labels.csv:{}: corners need 4 points", dir, lineno));
      }
      for (size_t k = 0; k < 4; ++k) {
        auto xy = Split(pts[k], ',');
        if (xy.size() != 2) {
          return Status::InvalidArgument(fmt::format("{}/labels.csv:{}: corner '{}' is not x,y", dir, lineno, pts[k]));
        }
        ccpd[k] = {std::strtof(xy[0].c_str(), nullptr), std::strtof(xy[1].c_str(), nullptr)};
      }
      p.corners = std::array<cv::Point2f, 4>{ccpd[2], ccpd[3], ccpd[0], ccpd[1]};
    }
    p.is_crop = bbox_col >= 0 && f[bbox_col] == "full_image";
    if (color_col >= 0) p.color = f[color_col].substr(0, f[color_col].find('('));  // "blue(7-char)"
    p.image = cv::imread(dir + "/" + p.name, cv::IMREAD_COLOR);
    if (p.image.empty()) return Status::DataLoss(fmt::format("{}/{} cannot be decoded", dir, p.name));
    out.push_back(std::move(p));
  }
  if (!wanted.empty() && out.size() != wanted.size()) {
    return Status::InvalidArgument(fmt::format("{} names {} photos of split '{}', {}/labels.csv has {} of them",
                                               split_file, wanted.size(), split, dir, out.size()));
  }
  return out;
}

std::vector<LabeledCrop> CropsFromCorners(const std::vector<LabeledPhoto>& photos) {
  std::vector<LabeledCrop> out;
  for (const auto& p : photos) {
    if (!p.corners) continue;
    LabeledCrop c;
    c.crop = analytics::RectifyPlate(p.image, *p.corners);
    c.plate = p.plate;
    c.color = p.color;
    c.kind = "province " + plate::Encode(plate::Decode(p.plate).substr(0, 1));
    c.difficulty = "real";
    c.name = p.name;
    out.push_back(std::move(c));
  }
  return out;
}

Result<PhotoReport> EvaluatePhotos(analytics::PlateFinder& finder, const std::vector<LabeledPhoto>& photos) {
  PhotoReport r;
  double seconds = 0;
  for (const auto& p : photos) {
    ++r.photos;
    auto t0 = std::chrono::steady_clock::now();
    VIGIL_ASSIGN_OR_RETURN(auto found, finder.Find(p.image));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::u32string want = plate::Decode(p.plate);
    r.chars += static_cast<int64_t>(want.size());
    bool exact = false;
    size_t best_distance = want.size();
    std::u32string best;
    std::string reads;
    for (const auto& f : found) {
      if (f.text.plate == p.plate) {
        exact = true;
      } else {
        ++r.false_reads;
      }
      const std::u32string got = plate::Decode(f.text.plate);
      const size_t d = EditDistance(want, got);
      if (d < best_distance || best.empty()) {
        best_distance = std::min(d, want.size());
        best = got;
      }
      reads += (reads.empty() ? "" : " ") + f.text.plate;
    }
    r.exact += exact;
    r.not_read += found.empty();
    std::vector<std::string> groups = {"province " + plate::Encode(want.substr(0, 1))};
    if (!p.color.empty()) groups.push_back("colour " + p.color);
    if (p.corners) {
      const auto& q = *p.corners;
      const double w = std::max(cv::norm(q[1] - q[0]), cv::norm(q[2] - q[3]));
      groups.push_back(w < 150 ? "width <150 px" : w < 300 ? "width 150-300 px" : "width >=300 px");
    }
    for (const auto& g : groups) {
      ++r.by_group[g].n;
      r.by_group[g].exact += exact;
    }
    r.chars_right += static_cast<int64_t>(want.size() - best_distance);
    if (!exact && best.size() == want.size()) {
      for (size_t k = 0; k < want.size(); ++k) {
        if (want[k] != best[k]) ++r.confusions[{plate::Encode(want.substr(k, 1)), plate::Encode(best.substr(k, 1))}];
      }
    }
    bool found_here = true;
    double best_iou = 0;
    if (p.corners) {
      ++r.labelled;
      for (const auto& f : found) best_iou = std::max(best_iou, QuadIou(f.where.corners, *p.corners));
      found_here = best_iou >= 0.7;
      r.found += found_here;
      bool candidate = false;
      for (const auto& c : analytics::FindPlateCandidates(p.image, {})) {
        candidate = candidate || QuadIou(c.corners, *p.corners) >= 0.7;
      }
      r.candidates += candidate;
    }
    if (const char* debug = std::getenv("VIGIL_PLATE_DEBUG"); debug && (!exact || !found_here)) {
      // The photo with its candidate regions (red), reports (blue) and label (green), and each
      // candidate as the reader saw it.
      cv::Mat shown = p.image.clone();
      const std::string base = std::filesystem::path(p.name).stem().string();
      int n = 0;
      for (const auto& c : analytics::FindPlateCandidates(p.image, {})) {
        std::vector<cv::Point> poly;
        for (const auto& q : c.corners) poly.emplace_back(q);
        cv::polylines(shown, poly, true, {0, 0, 255}, 2);
        cv::imwrite(fmt::format("{}/{}-cand{}.png", debug, base, n++), analytics::RectifyPlate(p.image, c.corners));
      }
      for (const auto& f : found) cv::rectangle(shown, f.where.box, {255, 0, 0}, 2);
      if (p.corners) {
        std::vector<cv::Point> poly;
        for (const auto& q : *p.corners) poly.emplace_back(q);
        cv::polylines(shown, poly, true, {0, 255, 0}, 1);
      }
      cv::imwrite(fmt::format("{}/{}.jpg", debug, base), shown);
    }
    if ((!exact || !found_here || found.size() > 1) && r.misses.size() < 40) {
      r.misses.push_back(fmt::format("{}: {} -> {}{}", p.name, p.plate, reads.empty() ? "(nothing)" : reads,
                                     found_here || found.empty() ? "" : fmt::format(" (at IoU {:.2f})", best_iou)));
    }
  }
  r.ms_per_photo = photos.empty() ? 0 : seconds * 1000 / static_cast<double>(photos.size());
  return r;
}

Result<CornerReport> EvaluateCorners(analytics::PlateReader& reader, const std::vector<LabeledPhoto>& photos) {
  CornerReport r;
  double seconds = 0;
  for (const auto& p : photos) {
    if (!p.corners) continue;
    std::vector<cv::Point2f> pts(p.corners->begin(), p.corners->end());
    float x0 = pts[0].x, x1 = x0, y0 = pts[0].y, y1 = y0;
    for (const auto& q : pts) {
      x0 = std::min(x0, q.x), x1 = std::max(x1, q.x), y0 = std::min(y0, q.y), y1 = std::max(y1, q.y);
    }
    const cv::Rect2f b(x0, y0, x1 - x0, y1 - y0);
    const float cx = b.x + b.width / 2, cy = b.y + b.height / 2, hw = b.width * 0.55f, hh = b.height * 0.65f;
    const std::array<cv::Point2f, 4> box = {cv::Point2f(cx - hw, cy - hh), cv::Point2f(cx + hw, cy - hh),
                                            cv::Point2f(cx + hw, cy + hh), cv::Point2f(cx - hw, cy + hh)};
    const auto t0 = std::chrono::steady_clock::now();
    VIGIL_ASSIGN_OR_RETURN(auto refined, analytics::RefineCorners(reader, p.image, {box}));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double before = QuadIou(box, *p.corners), after = QuadIou(refined[0], *p.corners);
    ++r.plates;
    r.box_found += before >= 0.7;
    r.refined_found += after >= 0.7;
    r.box_mean_iou += before;
    r.refined_mean_iou += after;
  }
  if (r.plates) {
    r.box_mean_iou /= static_cast<double>(r.plates);
    r.refined_mean_iou /= static_cast<double>(r.plates);
    r.ms_per_plate = seconds * 1000 / static_cast<double>(r.plates);
  }
  return r;
}

std::string FormatCornerReport(const std::string& title, const CornerReport& r) {
  auto pct = [](int64_t a, int64_t b) { return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  return fmt::format("{}: {} plates from loose upright boxes, at IoU >= 0.7 {:.2f} % -> {:.2f} %, mean IoU {:.3f} -> "
                     "{:.3f}, {:.2f} ms per plate\n",
                     title, r.plates, pct(r.box_found, r.plates), pct(r.refined_found, r.plates), r.box_mean_iou,
                     r.refined_mean_iou, r.ms_per_plate);
}

std::string FormatPhotoReport(const std::string& title, const PhotoReport& r) {
  auto pct = [](int64_t a, int64_t b) { return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  std::string out = fmt::format(
      "{}: {} photos, exact {:.2f} % ({}), characters {:.2f} %, false reads {} ({:.2f} per 100 photos), "
      "nothing read {}, {:.1f} ms per photo\n",
      title, r.photos, pct(r.exact, r.photos), r.exact, pct(r.chars_right, r.chars), r.false_reads,
      pct(r.false_reads, r.photos), r.not_read, r.ms_per_photo);
  if (r.labelled) {
    out += fmt::format("  plates found at their labelled corners (IoU >= 0.7): {:.2f} % ({} of {}); a candidate "
                       "region there before reading: {:.2f} %\n",
                       pct(r.found, r.labelled), r.found, r.labelled, pct(r.candidates, r.labelled));
  }
  if (r.by_group.size() > 1) {
    out += "  by";
    for (const auto& [g, t] : r.by_group) out += fmt::format(" | {}: {:.1f} % of {}", g, 100 * t.exact_rate(), t.n);
    out += "\n";
  }
  if (!r.confusions.empty()) {
    std::vector<std::pair<int64_t, std::string>> pairs;
    for (const auto& [k, n] : r.confusions) pairs.push_back({n, k.first + "→" + k.second});
    std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    out += "  most confused:";
    for (size_t i = 0; i < std::min<size_t>(16, pairs.size()); ++i) {
      out += fmt::format(" {} ×{}", pairs[i].second, pairs[i].first);
    }
    out += "\n";
  }
  return out;
}

std::string SharedDataDir() {
  if (const char* env = std::getenv("VIGIL_SHARED_DATA"); env && *env) return env;
  return std::filesystem::weakly_canonical(std::string(VIGIL_SOURCE_DIR) + "/../shared/data").string();
}

std::string CcpdSplitFile() { return std::string(VIGIL_SOURCE_DIR) + "/tools/plates/real/ccpd-split.csv"; }

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
    c.two_rows = c.kind == KindName(Kind::kTwoRow);
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
    c.kind = "province " + plate::Encode(plate::Decode(c.plate).substr(0, 1));  // real crops: by province
    c.difficulty = "real";
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<LabeledCrop>> GenerateCrops(uint64_t seed, int64_t count, bool two_rows) {
  auto renderer = PlateRenderer::Create();
  if (!renderer.ok()) return renderer.error();
  std::vector<LabeledCrop> out;
  for (int64_t i = 0; i < count; ++i) {
    VIGIL_ASSIGN_OR_RETURN(Sample sample, two_rows ? MakeTwoRowSample(**renderer, seed, i)
                                                   : MakeSample(**renderer, seed, i,
                                                                {analytics::kPlateInputWidth, analytics::kPlateInputHeight}));
    LabeledCrop c;
    c.crop = sample.crop;
    c.plate = plate::Encode(sample.spec.text);
    c.color = plate::BackgroundName(sample.spec.background);
    c.kind = KindName(sample.spec.kind);
    c.two_rows = sample.spec.two_rows;
    c.difficulty = DifficultyName(sample.difficulty);
    c.name = std::to_string(i);
    out.push_back(std::move(c));
  }
  return out;
}

Result<Report> Evaluate(analytics::PlateReader& reader, const std::vector<LabeledCrop>& crops, bool find_corners) {
  Report r;
  const size_t batch = 32;
  double seconds = 0;
  for (size_t s = 0; s < crops.size();) {
    // A batch of crops of one kind of input: one-row crops, or two-row plates stitched into one row.
    std::vector<cv::Mat> in;
    const bool two_rows = crops[s].two_rows;
    for (size_t i = s; i < std::min(crops.size(), s + batch) && crops[i].two_rows == two_rows; ++i) {
      in.push_back(crops[i].crop);
    }
    auto t0 = std::chrono::steady_clock::now();
    auto reads = find_corners && !two_rows ? analytics::ReadPlateCrops(reader, in) : reader.Read(in, two_rows);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!reads.ok()) return reads.error();
    const size_t first = s;
    s += in.size();
    for (size_t k = 0; k < in.size(); ++k) {
      const LabeledCrop& c = crops[first + k];
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
