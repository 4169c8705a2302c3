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

Result<std::vector<uint8_t>> EncodeSnapshot(const cv::Mat& bgr, const cv::Rect& box, int quality,
                                            const std::string& label) {
  if (bgr.empty()) return Status::InvalidArgument("no frame to snapshot");
  if (box.empty()) return Jpeg(bgr, quality);
  cv::Mat drawn = bgr.clone();
  int thick = std::max(2, bgr.cols / 320);
  cv::rectangle(drawn, box, cv::Scalar(0, 0, 255), thick);
  if (!label.empty()) {
    // White on the box's colour, above the box (inside it when the box touches the top).
    const double scale = std::max(0.4, bgr.rows / 720.0);
    int base = 0;
    cv::Size ts = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base);
    int y = box.y - thick >= ts.height + base + 2 ? box.y - thick : box.y + ts.height + base + 2;
    cv::Rect bg(box.x, y - ts.height - base - 2, ts.width + 4, ts.height + base + 2);
    cv::rectangle(drawn, bg & cv::Rect(0, 0, drawn.cols, drawn.rows), cv::Scalar(0, 0, 255), cv::FILLED);
    cv::putText(drawn, label, {box.x + 2, y - base - 1}, cv::FONT_HERSHEY_SIMPLEX, scale,
                cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }
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

Result<std::vector<uint8_t>> ContactSheet(const std::vector<SheetTile>& tiles, int columns,
                                          int tile_width, int quality) {
  if (tiles.empty()) return Status::InvalidArgument("a contact sheet needs at least one picture");
  if (columns < 1 || tile_width < 64 || tile_width > 1920) {
    return Status::InvalidArgument(fmt::format("contact sheet: {} columns of {} px (1+ columns, 64-1920 px)",
                                               columns, tile_width));
  }
  const int tile_h = tile_width * 9 / 16;
  const int label_h = std::max(18, tile_width / 20);
  const int rows = (static_cast<int>(tiles.size()) + columns - 1) / columns;
  const int cols = std::min(columns, static_cast<int>(tiles.size()));
  const int gap = 4;
  cv::Mat sheet(rows * (tile_h + label_h + gap) + gap, cols * (tile_width + gap) + gap, CV_8UC3,
                cv::Scalar(30, 30, 30));
  const double font = label_h / 30.0;
  for (size_t i = 0; i < tiles.size(); ++i) {
    int r = static_cast<int>(i) / columns, c = static_cast<int>(i) % columns;
    cv::Rect cell(gap + c * (tile_width + gap), gap + r * (tile_h + label_h + gap), tile_width, tile_h);
    cv::Mat dst = sheet(cell);
    if (tiles[i].picture.empty()) {
      dst.setTo(cv::Scalar(80, 80, 80));
      cv::putText(dst, tiles[i].missing.substr(0, 48), {8, tile_h / 2}, cv::FONT_HERSHEY_SIMPLEX, font * 0.8,
                  cv::Scalar(230, 230, 230), 1, cv::LINE_AA);
    } else {
      cv::resize(tiles[i].picture, dst, dst.size(), 0, 0, cv::INTER_AREA);
    }
    cv::putText(sheet, tiles[i].label, {cell.x + 4, cell.y + tile_h + label_h - label_h / 4},
                cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }
  return Jpeg(sheet, quality);
}

}  // namespace vigil::analytics
