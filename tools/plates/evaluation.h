#pragma once
// Measuring the plate reader against ground truth: labelled crops from vigil-plategen data sets,
// from an in-process held-out generator, or from real photographs (../shared/data/plates-real-crops),
// and a report of exact-plate and colour accuracy per plate kind and per difficulty.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "analytics/plate_finder.h"
#include "analytics/plate_reader.h"
#include "base/status.h"

namespace vigil::plates {

// ../shared/data beside the source tree ($VIGIL_SHARED_DATA when set): real data the tests may read.
std::string SharedDataDir();
// The fixed training / validation split of ../shared/data/plates-real-ccpd, in the source tree.
std::string CcpdSplitFile();

struct LabeledCrop {
  cv::Mat crop;            // BGR
  std::string plate;       // normalised UTF-8
  std::string color;       // "" when the label has none
  std::string kind;        // "blue", ..., "real"
  std::string difficulty;  // "easy", "medium", "hard", "real"
  std::string name;        // file or index, for misread lists
  bool two_rows = false;   // a two-row plate stitched into one row (read as such)
};

// A vigil-plategen directory (images.u8 + labels.tsv). InvalidArgument naming the file and line.
Result<std::vector<LabeledCrop>> LoadDataset(const std::string& dir);
// A folder of plate photographs with labels.csv (file,plate_text,plate_color,...).
Result<std::vector<LabeledCrop>> LoadLabeledPhotos(const std::string& dir);
// `count` crops generated in process from `seed` exactly as vigil-plategen would (same sample i);
// `two_rows`: two-row plates stitched as the finder reads them (MakeTwoRowSample).
Result<std::vector<LabeledCrop>> GenerateCrops(uint64_t seed, int64_t count, bool two_rows = false);

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

// With `find_corners`, each crop is read as analytics::ReadPlateCrops reads it (again from the corner
// network's corners, when it has one).
Result<Report> Evaluate(analytics::PlateReader& reader, const std::vector<LabeledCrop>& crops,
                        bool find_corners = false);
std::string FormatReport(const std::string& title, const Report& report);

// A labelled photograph: a whole picture with one plate in it.
struct LabeledPhoto {
  std::string name;   // the file, relative to the folder
  std::string plate;  // normalised UTF-8
  std::string color;  // background when labelled ("blue", ...; from `plate_color` or `kind`), else ""
  // The plate's corners when labelled (top-left, top-right, bottom-right, bottom-left).
  std::optional<std::array<cv::Point2f, 4>> corners;
  bool is_crop = false;  // the label's `bbox` says "full_image": the picture is the plate
  cv::Mat image;      // BGR
};

// A folder of photographs with labels.csv: a header naming at least `file` and `plate` (or
// `plate_text`), optionally `bbox` ("full_image": the picture is a plate crop) and `corners_rb_lb_lt_rt` ("x,y;x,y;x,y;x,y" in CCPD's order:
// right-bottom, left-bottom, left-top, right-top); fields may be quoted. With `split_file` (a CSV of
// file,plate,split) only the photos whose split is `split` are kept, and a photo whose plate
// differs between the two files is an error.
Result<std::vector<LabeledPhoto>> LoadPhotos(const std::string& dir, const std::string& split_file = "",
                                             const std::string& split = "");
// The reader's input for each labelled photo, rectified from its labelled corners exactly as the
// finder rectifies a candidate (photos without corners are skipped).
std::vector<LabeledCrop> CropsFromCorners(const std::vector<LabeledPhoto>& photos);

// The whole path — finder and reader — on photographs.
struct PhotoReport {
  int64_t photos = 0;
  int64_t exact = 0;          // the plate was reported with its exact text
  int64_t labelled = 0;       // photos with corners
  int64_t found = 0;          // a report's quadrilateral overlaps the labelled one (IoU >= 0.7)
  int64_t candidates = 0;     // a candidate region (before reading) overlaps it with IoU >= 0.7
  int64_t false_reads = 0;    // reports that are not the plate's exact text
  int64_t not_read = 0;       // photos with no report at all
  int64_t chars = 0, chars_right = 0;  // of the labelled texts; right: length - edit distance of the best report
  std::map<std::pair<std::string, std::string>, int64_t> confusions;  // same-length best reports
  std::vector<std::string> misses;  // "name: truth -> reports", the first 40
  double ms_per_photo = 0;
  // Photos and exact reads by province, colour and plate width in the photo ("province 皖",
  // "colour blue", "width 150-300 px").
  std::map<std::string, Tally> by_group;
};
Result<PhotoReport> EvaluatePhotos(analytics::PlateFinder& finder, const std::vector<LabeledPhoto>& photos);
std::string FormatPhotoReport(const std::string& title, const PhotoReport& report);

// The corner network alone on labelled photos: from a loose upright box around each plate (the
// labelled corners' bounding box, 10 % wider and 30 % taller, as a blob detector's box is), how
// often the corners found overlap the labelled quadrilateral with IoU >= 0.7, before and after.
struct CornerReport {
  int64_t plates = 0;
  int64_t box_found = 0, refined_found = 0;
  double box_mean_iou = 0, refined_mean_iou = 0;
  double ms_per_plate = 0;
};
Result<CornerReport> EvaluateCorners(analytics::PlateReader& reader, const std::vector<LabeledPhoto>& photos);
std::string FormatCornerReport(const std::string& title, const CornerReport& report);

using analytics::QuadIou;

}  // namespace vigil::plates
