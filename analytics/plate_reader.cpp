#include "analytics/plate_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <array>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "base/plate_text.h"

namespace vigil::analytics {
namespace {

constexpr int kBeam = 16;
constexpr double kPrune = 1e-4;  // classes less likely than this in a column are not extended
constexpr plate::Background kColors[] = {plate::Background::kBlue, plate::Background::kYellow,
                                         plate::Background::kGreen, plate::Background::kWhite,
                                         plate::Background::kBlack};

// Best alignment of `labels` (class ids, no blanks) to the columns; per label, the highest
// probability among the columns aligned to it.
std::vector<double> AlignedConfidence(const cv::Mat& probs, const std::vector<int>& labels) {
  const int T = probs.cols;
  const int S = static_cast<int>(labels.size()) * 2 + 1;  // blank, l1, blank, l2, ..., blank
  auto label = [&](int s) { return s % 2 == 0 ? 0 : labels[static_cast<size_t>(s / 2)]; };
  const double kNone = -1e300;
  std::vector<std::vector<double>> score(static_cast<size_t>(T), std::vector<double>(static_cast<size_t>(S), kNone));
  std::vector<std::vector<int>> from(static_cast<size_t>(T), std::vector<int>(static_cast<size_t>(S), -1));
  auto lp = [&](int c, int t) { return std::log(std::max(1e-30, static_cast<double>(probs.at<float>(c, t)))); };
  score[0][0] = lp(0, 0);
  if (S > 1) score[0][1] = lp(label(1), 0);
  for (int t = 1; t < T; ++t) {
    for (int s = 0; s < S; ++s) {
      double best = score[static_cast<size_t>(t - 1)][static_cast<size_t>(s)];
      int arg = s;
      if (s >= 1 && score[static_cast<size_t>(t - 1)][static_cast<size_t>(s - 1)] > best) {
        best = score[static_cast<size_t>(t - 1)][static_cast<size_t>(s - 1)];
        arg = s - 1;
      }
      if (s >= 2 && label(s) != 0 && label(s) != label(s - 2) &&
          score[static_cast<size_t>(t - 1)][static_cast<size_t>(s - 2)] > best) {
        best = score[static_cast<size_t>(t - 1)][static_cast<size_t>(s - 2)];
        arg = s - 2;
      }
      if (best <= kNone) continue;
      score[static_cast<size_t>(t)][static_cast<size_t>(s)] = best + lp(label(s), t);
      from[static_cast<size_t>(t)][static_cast<size_t>(s)] = arg;
    }
  }
  std::vector<double> conf(labels.size(), 0.0);
  int s = S - 1;
  if (S > 1 && score[static_cast<size_t>(T - 1)][static_cast<size_t>(S - 2)] >
                   score[static_cast<size_t>(T - 1)][static_cast<size_t>(S - 1)]) {
    s = S - 2;
  }
  for (int t = T - 1; t >= 0 && s >= 0; --t) {
    if (s % 2 == 1) {
      auto& c = conf[static_cast<size_t>(s / 2)];
      c = std::max(c, static_cast<double>(probs.at<float>(label(s), t)));
    }
    s = from[static_cast<size_t>(t)][static_cast<size_t>(s)];
  }
  return conf;
}

}  // namespace

std::string DefaultPlateModel() {
  if (const char* env = std::getenv("VIGIL_PLATE_MODEL"); env && *env) return env;
  return std::string(VIGIL_SOURCE_DIR) + "/samples/models/plate_reader.onnx";
}

PlateText DecodeColumns(const cv::Mat& probs) {
  // CTC prefix beam search. Prefixes are at most kMaxPlateLength class ids, kept inline (a map of
  // vectors cost a third of a read in allocations); a prefix is found again only among the last
  // column's beam: an extension of one prefix can only be another prefix of the beam, never another
  // extension.
  struct Prefix {
    std::array<int16_t, plate::kMaxPlateLength> c{};
    int len = 0;
    double blank = 0, label = 0;
    double total() const { return blank + label; }
  };
  const int C = probs.rows, T = probs.cols;
  std::vector<Prefix> beam(1);
  beam[0].blank = 1.0;
  std::vector<Prefix> next;
  std::vector<std::pair<int, double>> live;  // this column's classes not pruned
  for (int t = 0; t < T; ++t) {
    live.clear();
    for (int c = 0; c < C; ++c) {
      const double p = probs.at<float>(c, t);
      if (p >= kPrune) live.emplace_back(c, p);
    }
    next.assign(beam.size(), Prefix{});
    for (size_t i = 0; i < beam.size(); ++i) {
      next[i].c = beam[i].c;
      next[i].len = beam[i].len;
    }
    for (size_t i = 0; i < beam.size(); ++i) {
      const Prefix& pre = beam[i];
      for (const auto& [c, p] : live) {
        if (c == 0) {
          next[i].blank += pre.total() * p;
          continue;
        }
        const bool repeat = pre.len > 0 && pre.c[static_cast<size_t>(pre.len - 1)] == c;
        if (repeat) next[i].label += pre.label * p;  // the same character continuing
        if (pre.len >= plate::kMaxPlateLength) continue;
        const double add = repeat ? pre.blank * p : pre.total() * p;  // a repeat needs a blank between
        Prefix ext;
        ext.c = pre.c;
        ext.c[static_cast<size_t>(pre.len)] = static_cast<int16_t>(c);
        ext.len = pre.len + 1;
        auto same = std::find_if(next.begin(), next.begin() + static_cast<long>(beam.size()), [&](const Prefix& q) {
          return q.len == ext.len && std::equal(q.c.begin(), q.c.begin() + q.len, ext.c.begin());
        });
        if (same != next.begin() + static_cast<long>(beam.size())) {
          same->label += add;
        } else {
          ext.label = add;
          next.push_back(ext);
        }
      }
    }
    std::erase_if(next, [](const Prefix& q) { return !(q.total() > 0); });  // no path reaches it
    const size_t keep = std::min(next.size(), static_cast<size_t>(kBeam));
    std::partial_sort(next.begin(), next.begin() + static_cast<long>(keep), next.end(),
                      [](const Prefix& a, const Prefix& b) { return a.total() > b.total(); });
    next.resize(keep);
    std::swap(beam, next);
  }
  std::sort(beam.begin(), beam.end(), [](const Prefix& a, const Prefix& b) { return a.total() > b.total(); });

  PlateText out;
  out.labelled_chars = beam.empty() ? 0 : beam.front().len;
  const std::u32string_view alphabet = plate::PlateAlphabet();
  for (const Prefix& pre : beam) {
    std::u32string text;
    std::vector<int> prefix(pre.c.begin(), pre.c.begin() + pre.len);
    for (int c : prefix) text.push_back(alphabet[static_cast<size_t>(c - 1)]);
    auto layout = plate::CheckGrammar(text);
    if (!layout.ok()) continue;
    out.plate = plate::Encode(text);
    out.layout = *layout;
    out.char_confidence = AlignedConfidence(probs, prefix);
    out.confidence = *std::min_element(out.char_confidence.begin(), out.char_confidence.end());
    break;
  }
  return out;
}

namespace {

// A network the reader's directory may hold (an empty net when the file is absent); InvalidArgument
// naming the file when OpenCV cannot read it or its outputs are not `outputs`.
Result<cv::dnn::Net> LoadBesideReader(const std::filesystem::path& file, const char* what, size_t outputs,
                                      const char* names) {
  cv::dnn::Net net;
  if (!std::filesystem::exists(file)) return net;
  try {
    net = cv::dnn::readNetFromONNX(file.string());
  } catch (const cv::Exception& e) {
    return Status::InvalidArgument(fmt::format("{} {}: {}", what, file.string(), e.what()));
  }
  if (net.empty() || net.getUnconnectedOutLayersNames().size() != outputs) {
    return Status::InvalidArgument(fmt::format("{} {}: expected {} output(s) ({})", what, file.string(), outputs, names));
  }
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return net;
}

}  // namespace

Result<std::unique_ptr<PlateReader>> PlateReader::Load(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return Status::NotFound(fmt::format("plate model {} does not exist", path));
  }
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(path);
  } catch (const cv::Exception& e) {
    return Status::InvalidArgument(fmt::format("plate model {}: {}", path, e.what()));
  }
  auto names = net.getUnconnectedOutLayersNames();
  if (net.empty() || names.size() != 2) {
    return Status::InvalidArgument(
        fmt::format("plate model {}: expected 2 outputs (chars, color), found {}", path, names.size()));
  }
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  std::unique_ptr<PlateReader> reader(new PlateReader(std::move(net)));
  const auto dir = std::filesystem::path(path).parent_path();
  VIGIL_ASSIGN_OR_RETURN(reader->two_row_net_,
                         LoadBesideReader(dir / "plate_reader_two_rows.onnx", "two-row plate model", 2, "chars, color"));
  VIGIL_ASSIGN_OR_RETURN(reader->corner_net_, LoadBesideReader(dir / "plate_corners.onnx", "plate corner model", 1, "corners"));
  return reader;
}

Result<std::vector<std::array<cv::Point2f, 4>>> PlateReader::Corners(const std::vector<cv::Mat>& crops) {
  std::vector<std::array<cv::Point2f, 4>> out;
  if (corner_net_.empty()) return Status::FailedPrecondition("no plate corner model loaded");
  if (crops.empty()) return out;
  for (size_t i = 0; i < crops.size(); ++i) {
    if (crops[i].empty() || crops[i].type() != CV_8UC3) {
      return Status::InvalidArgument(fmt::format("corner crop {} is empty or not 8-bit BGR", i));
    }
  }
  cv::Mat result;
  try {
    cv::Mat blob = cv::dnn::blobFromImages(crops, 1.0 / 255, {kCornerInputWidth, kCornerInputHeight}, cv::Scalar(),
                                           false, false, CV_32F);
    corner_net_.setInput(blob, "crop");
    result = corner_net_.forward("corners");
  } catch (const cv::Exception& e) {
    return Status::Internal(fmt::format("plate corner network: {}", e.what()));
  }
  for (size_t n = 0; n < crops.size(); ++n) {
    const float* v = result.ptr<float>(static_cast<int>(n));
    out.push_back({cv::Point2f(v[0], v[1]), cv::Point2f(v[2], v[3]), cv::Point2f(v[4], v[5]), cv::Point2f(v[6], v[7])});
  }
  return out;
}

Status PlateReader::SetLocalProvinces(std::string_view provinces, double weight) {
  if (!(weight >= 1 && weight <= 100)) {
    return Status::InvalidArgument(fmt::format("local province weight {} is not in [1, 100]", weight));
  }
  std::vector<int> classes;
  const std::u32string_view alphabet = plate::PlateAlphabet();
  for (char32_t ch : plate::Decode(std::string(provinces))) {
    if (plate::kProvinces.find(ch) == std::u32string_view::npos) {
      return Status::InvalidArgument(fmt::format("local province '{}' is not a province character",
                                                 plate::Encode(std::u32string(1, ch))));
    }
    classes.push_back(static_cast<int>(alphabet.find(ch)) + 1);  // class 0 is the blank
  }
  local_classes_ = std::move(classes);
  local_weight_ = weight;
  return Status::Ok();
}

Result<std::vector<PlateText>> PlateReader::Read(const std::vector<cv::Mat>& crops, bool two_rows) {
  std::vector<PlateText> out;
  if (crops.empty()) return out;
  std::vector<cv::Mat> inputs;
  for (size_t i = 0; i < crops.size(); ++i) {
    const cv::Mat& c = crops[i];
    if (c.empty() || c.type() != CV_8UC3) {
      return Status::InvalidArgument(fmt::format("plate crop {} is empty or not 8-bit BGR", i));
    }
    inputs.push_back(c);
  }
  std::vector<cv::Mat> outs;
  try {
    cv::Mat blob = cv::dnn::blobFromImages(inputs, 1.0, {kPlateInputWidth, kPlateInputHeight},
                                           cv::Scalar(), false, false, CV_32F);
    cv::dnn::Net& net = two_rows && !two_row_net_.empty() ? two_row_net_ : net_;
    net.setInput(blob, "crop");
    net.forward(outs, std::vector<cv::String>{"chars", "color"});
  } catch (const cv::Exception& e) {
    return Status::Internal(fmt::format("plate network: {}", e.what()));
  }
  const cv::Mat& chars = outs[0];  // N x C x 1 x T
  const cv::Mat& color = outs[1];  // N x 5
  const int C = chars.size[1], T = chars.size[3];
  for (size_t n = 0; n < crops.size(); ++n) {
    cv::Mat scores(C, T, CV_32F, const_cast<float*>(chars.ptr<float>(static_cast<int>(n))));
    cv::Mat probs(C, T, CV_32F);
    for (int t = 0; t < T; ++t) {  // softmax over classes, per column
      float mx = -1e30f;
      for (int c = 0; c < C; ++c) mx = std::max(mx, scores.at<float>(c, t));
      float sum = 0;
      for (int c = 0; c < C; ++c) sum += probs.at<float>(c, t) = std::exp(scores.at<float>(c, t) - mx);
      for (int c = 0; c < C; ++c) probs.at<float>(c, t) /= sum;
      if (!local_classes_.empty()) {
        float weighted = 1;
        for (int c : local_classes_) {
          if (c >= C) continue;
          float& p = probs.at<float>(c, t);
          weighted += p * static_cast<float>(local_weight_ - 1);
          p *= static_cast<float>(local_weight_);
        }
        for (int c = 0; c < C; ++c) probs.at<float>(c, t) /= weighted;
      }
    }
    PlateText text = DecodeColumns(probs);
    // Colour: the most probable background the plate's text allows.
    const float* logits = color.ptr<float>(static_cast<int>(n));
    double mx = *std::max_element(logits, logits + 5), sum = 0;
    std::array<double, 5> p{};
    for (int k = 0; k < 5; ++k) sum += p[static_cast<size_t>(k)] = std::exp(logits[k] - mx);
    std::u32string t32 = plate::Decode(text.plate);
    double best = -1;
    for (int k = 0; k < 5; ++k) {
      double pk = p[static_cast<size_t>(k)] / sum;
      if (!text.plate.empty() && !plate::BackgroundAllowed(t32, text.layout, kColors[k])) continue;
      if (pk > best) {
        best = pk;
        text.color = kColors[k];
        text.color_confidence = pk;
      }
    }
    out.push_back(std::move(text));
  }
  return out;
}

}  // namespace vigil::analytics
