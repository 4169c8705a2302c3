#include "analytics/snapshot.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace vigil::analytics {

namespace {
Result<std::vector<uint8_t>> Jpeg(const cv::Mat& image, int quality) {
  std::vector<uint8_t> out;
  try {
    if (!cv::imencode(".jpg", image, out, {cv::IMWRITE_JPEG_QUALITY, quality})) {
      return Status::Internal("JPEG encoder refused the frame");
    }
  } catch (const cv::Exception& e) {
    return Status::Internal(fmt::format("JPEG encoder: {}", e.what()));
  }
  return out;
}
}  // namespace

Result<std::vector<uint8_t>> EncodeSnapshot(const cv::Mat& bgr, const cv::Rect& box, int quality) {
  if (bgr.empty()) return Status::InvalidArgument("no frame to snapshot");
  if (box.empty()) return Jpeg(bgr, quality);
  cv::Mat drawn = bgr.clone();
  int thick = std::max(2, bgr.cols / 320);
  cv::rectangle(drawn, box, cv::Scalar(0, 0, 255), thick);
  return Jpeg(drawn, quality);
}

Result<std::vector<uint8_t>> EncodeCrop(const cv::Mat& bgr, const cv::Rect& box, int quality) {
  if (box.empty()) return Status::InvalidArgument("no box to crop");
  int mx = box.width / 5, my = box.height / 5;
  cv::Rect grown(box.x - mx, box.y - my, box.width + 2 * mx, box.height + 2 * my);
  grown &= cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (grown.empty()) return Status::InvalidArgument("box lies outside the frame");
  return Jpeg(bgr(grown), quality);
}

}  // namespace vigil::analytics
