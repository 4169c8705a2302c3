#pragma once
// Measuring the plate reader against ground truth: labelled crops from vigil-plategen data sets,
// from an in-process held-out generator, or from real photographs (../shared/data/plates-real-crops),
// and a report of exact-plate and colour accuracy per plate kind and per difficulty.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "analytics/plate_reader.h"
#include "base/status.h"

namespace vigil::plates {

// ../shared/data beside the source tree ($VIGIL_SHARED_DATA when set): real data the tests may read.
std::string SharedDataDir();

struct LabeledCrop {
  cv::Mat crop;            // BGR
  std::string plate;       // normalised UTF-8
  std::string color;       // "" when the label has none
  std::string kind;        // "blue", ..., "real"
  std::string difficulty;  // "easy", "medium", "hard", "real"
  std::string name;        // file or index, for misread lists
};

// A vigil-plategen directory (images.u8 + labels.tsv). InvalidArgument naming the file and line.
Result<std::vector<LabeledCrop>> LoadDataset(const std::string& dir);
// A folder of plate photographs with labels.csv (file,plate_text,plate_color,...).
Result<std::vector<LabeledCrop>> LoadLabeledPhotos(const std::string& dir);
// `count` crops generated in process from `seed` exactly as vigil-plategen would (same sample i).
Result<std::vector<LabeledCrop>> GenerateCrops(uint64_t seed, int64_t count);

struct Tally {
  int64_t n = 0, exact = 0, color_n = 0, color_ok = 0;
  double exact_rate() const { return n ? static_cast<double>(exact) / static_cast<double>(n) : 0; }
  double color_rate() const { return color_n ? static_cast<double>(color_ok) / static_cast<double>(color_n) : 0; }
};

struct Report {
  Tally all;
  std::map<std::string, Tally> by_kind, by_difficulty;
  std::vector<std::string> misreads;  // "name: truth -> read (confidence)", the first 30
  // Where the misses are: no read at all, a read of another length, and for reads of the right
  // length the wrong characters by position and the most frequent (truth, read) pairs.
  int64_t not_read = 0, wrong_length = 0, province_only = 0;  // province_only: all else right
  std::map<size_t, int64_t> wrong_at;
  std::map<std::pair<std::string, std::string>, int64_t> confusions;
  double ms_per_crop = 0;             // reader wall time, batches of 32
};

Result<Report> Evaluate(analytics::PlateReader& reader, const std::vector<LabeledCrop>& crops);
std::string FormatReport(const std::string& title, const Report& report);

}  // namespace vigil::plates
