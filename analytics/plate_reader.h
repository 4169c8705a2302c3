#pragma once
// Reads the characters and the colour of one rectified plate crop with vigil's plate network
// (samples/models/plate_reader.onnx, made by tools/plates/train.py from synthetic plates), run on
// the CPU by OpenCV's dnn module.
//
// The network scores each of 32 columns of a 32x128 crop over the plate alphabet plus a blank
// (CTC); the reader decodes the best path, then, when that breaks the GA 36 grammar, searches the
// next-best grammatical paths (a read that is not a plate is never returned as one). Confidence is
// the probability of the least certain character.
//
// Thread-safety: a PlateReader is bound to one thread (cv::dnn::Net is not thread-safe); load one
// per worker.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "base/plate_format.h"
#include "base/status.h"

namespace vigil::analytics {

// The reader's input: BGR, this size (other sizes are resized).
inline constexpr int kPlateInputWidth = 128;
inline constexpr int kPlateInputHeight = 32;

// The corner network's input (BGR, this size): the region around a loose quad, see
// analytics/plate_finder.cpp (RefineCorners).
inline constexpr int kCornerInputWidth = 128;
inline constexpr int kCornerInputHeight = 40;

// The committed model: $VIGIL_PLATE_MODEL when set, else samples/models/plate_reader.onnx in the
// source tree vigil was built from.
std::string DefaultPlateModel();

struct PlateText {
  std::string plate;               // normalised UTF-8, "云A12345"; empty when nothing grammatical
  plate::Layout layout = plate::Layout::kStandard;
  plate::Background color = plate::Background::kBlue;
  double confidence = 0;           // 0..1: least certain character
  double color_confidence = 0;     // 0..1
  std::vector<double> char_confidence;
  bool two_rows = false;           // read as a two-row plate (the finder's stitched rows)
  // Characters in the most probable labelling, grammatical or not: how much text the network saw
  // in a region that reads as no plate (a grille or a wall: 0-2; a plate read badly: 5-8).
  int labelled_chars = 0;
};

class PlateReader {
 public:
  // Loads the network, and the corner network plate_corners.onnx when the reader's directory has
  // one (made by tools/plates/train_corners.py; without it the finder uses its detectors' corners),
  // and the two-row network plate_reader_two_rows.onnx likewise.
  // NotFound naming the file when the reader is missing, InvalidArgument when OpenCV cannot read
  // either network or its outputs are not what they should be.
  static Result<std::unique_ptr<PlateReader>> Load(const std::string& model_path);

  bool has_corner_model() const { return !corner_net_.empty(); }

  // The plate's corners in each crop (kCornerInputWidth x kCornerInputHeight, BGR 8-bit; other
  // sizes are resized) as fractions of the crop's width and height, top-left, top-right,
  // bottom-right, bottom-left. FailedPrecondition without the corner network, InvalidArgument for an
  // empty or non-BGR crop.
  Result<std::vector<std::array<cv::Point2f, 4>>> Corners(const std::vector<cv::Mat>& crops);

  // Reads crops (BGR, 8-bit). One PlateText per crop, in order; an empty plate where no
  // grammatical plate could be read. InvalidArgument for an empty or non-BGR crop. `two_rows`: the
  // crops are two-row plates stitched into one row (StitchTwoRows), read by the two-row network
  // when there is one, else by the reader.
  Result<std::vector<PlateText>> Read(const std::vector<cv::Mat>& crops, bool two_rows = false);

  // The deployment's local provinces (what most plates it sees start with, e.g. "云"), as the
  // "default province" of checkpoint systems: their scores are multiplied by `weight` before
  // decoding, so an uncertain first character goes to a local province while a visitor's plate
  // read clearly is unaffected (its confidence then includes the prior). "" removes the prior.
  // InvalidArgument naming a character that is not a province, or a weight outside [1, 100].
  Status SetLocalProvinces(std::string_view provinces, double weight = 4);

 private:
  explicit PlateReader(cv::dnn::Net net) : net_(std::move(net)) {}
  cv::dnn::Net net_;
  cv::dnn::Net corner_net_;  // empty when no corner network was found
  cv::dnn::Net two_row_net_;  // empty when no two-row network was found
  std::vector<int> local_classes_;  // class ids of the local provinces
  double local_weight_ = 1;
};

// Decodes one crop's column scores (classes x columns, softmax probabilities, class 0 the blank)
// into the most probable grammatical plate: the best path when it is grammatical, else the best of
// a beam over paths. Exposed for tests.
PlateText DecodeColumns(const cv::Mat& probs);

}  // namespace vigil::analytics
