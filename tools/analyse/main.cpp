// vigil-analyse: runs a camera's analytics (the same stages vigild runs) over a video file, for trying
// rules on a recorded clip before putting them on a live camera, and for measuring the stages on
// labelled real footage.
//
//   vigil-analyse [--rules FILE] [--fps 5] [--start S] VIDEO
//
// `--rules` is a TOML file with an [analytics] table, as vigild's [cameras.analytics] (zones, lines,
// masks, sensitivity, ...); without it, motion and tamper only. One JSON line per event on stdout:
//   {"type":"tripwire","zone":"middle","phase":"instant","start_s":6.02,"end_s":6.02,"track":3,
//    "box":[x,y,w,h],"attributes":{...}}
// with times in seconds from the start of the video (frame times from the file's frame rate).
// Errors (unreadable rules or video) name the file; exit status 1.

#include <time.h>

#include <cstdio>

#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <toml++/toml.h>

#include "analytics/camera_analytics.h"
#include "base/clock.h"

using namespace vigil;

namespace {

const char* PhaseName(analytics::Phase p) {
  switch (p) {
    case analytics::Phase::kStart: return "start";
    case analytics::Phase::kEnd: return "end";
    case analytics::Phase::kInstant: return "instant";
  }
  return "?";
}

void Print(const analytics::Detection& d) {
  fmt::print("{{\"type\":\"{}\",\"zone\":\"{}\",\"phase\":\"{}\",\"start_s\":{:.2f},\"end_s\":{:.2f},"
             "\"track\":{},\"class\":\"{}\",\"class_confidence\":{:.2f},\"box\":[{},{},{},{}],\"attributes\":{}}}\n",
             EventTypeName(d.type), d.zone, PhaseName(d.phase), d.start_ns / 1e9, d.end_ns / 1e9,
             d.track, ObjectClassName(d.object_class), d.class_confidence, d.box.x, d.box.y, d.box.width,
             d.box.height, d.attributes.empty() ? "{}" : d.attributes);
}

void PrintLook(int64_t track, const analytics::ClassLook& l, double t_s) {
  fmt::print("{{\"look\":{},\"t_s\":{:.2f},\"box\":[{},{},{},{}],\"people_svm\":{:.2f},\"face\":{},\"aspect\":{:.2f},"
             "\"speed\":{:.2f},\"p\":{{\"person\":{:.2f},\"vehicle\":{:.2f},\"two_wheeler\":{:.2f},"
             "\"other\":{:.2f}}}}}\n",
             track, t_s, l.box.x, l.box.y, l.box.width, l.box.height, l.people_svm, l.face, l.aspect, l.speed, l.p[0], l.p[1], l.p[2], l.p[3]);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil-analyse: run a camera's analytics over a video file"};
  std::string video_file, rules_file;
  double fps = 5;
  app.add_option("video", video_file, "the video (any file OpenCV/FFmpeg decodes)")->required();
  app.add_option("--rules", rules_file, "TOML with an [analytics] table (zones, lines, masks, ...)");
  app.add_option("--fps", fps, "frames analysed a second (default 5)")->check(CLI::Range(0.5, 30.0));
  std::string debug_dir;
  app.add_option("--debug-dir", debug_dir,
                 "write every analysed frame there as JPEG: foreground tinted, tracks boxed (green confirmed)");
  std::string crops_dir, crops_prefix = "clip";
  app.add_option("--crops", crops_dir,
                 "write every confirmed, observed track's class crop (64x64 JPEG) of every analysed frame "
                 "there, with crops.csv (file, track, t_s, box in frame pixels, cut by the frame's edge)");
  app.add_option("--crops-prefix", crops_prefix, "file name prefix of the crops (default clip)");
  bool looks = false;
  app.add_flag("--looks", looks, "also print each look of the object classifier (its evidence and class scores)");
  CLI11_PARSE(app, argc, argv);

  analytics::AnalyticsConfig config;
  if (!rules_file.empty()) {
    toml::table t;
    try {
      t = toml::parse_file(rules_file);
    } catch (const toml::parse_error& e) {
      fmt::print(stderr, "vigil-analyse: {}:{}: {}\n", rules_file, e.source().begin.line, e.description());
      return 1;
    }
    const toml::table* at = t["analytics"].as_table();
    if (!at) {
      fmt::print(stderr, "vigil-analyse: {}: no [analytics] table\n", rules_file);
      return 1;
    }
    Status s = analytics::ParseAnalytics(rules_file, *at, "clip", config);
    if (!s.ok()) {
      fmt::print(stderr, "vigil-analyse: {}\n", s.message());
      return 1;
    }
  }
  config.enabled = true;
  config.fps = fps;

  cv::VideoCapture video(video_file);
  if (!video.isOpened()) {
    fmt::print(stderr, "vigil-analyse: {}: not a video OpenCV can decode\n", video_file);
    return 1;
  }
  double native = video.get(cv::CAP_PROP_FPS);
  if (!(native > 0)) native = 25;
  analytics::CameraAnalytics cam(config);
  std::FILE* crops_csv = nullptr;
  if (!crops_dir.empty()) {
    const std::string csv = crops_dir + "/crops.csv";
    const bool fresh = !std::filesystem::exists(csv);
    crops_csv = std::fopen(csv.c_str(), "a");
    if (!crops_csv) {
      fmt::print(stderr, "vigil-analyse: cannot write {}\n", csv);
      return 1;
    }
    if (fresh) std::fprintf(crops_csv, "file,track,t_s,x,y,w,h,cut\n");
  }
  std::vector<analytics::Detection> out;
  cv::Mat picture;
  int64_t n = 0, analysed = 0;
  double cpu_ms = 0;  // the stages' CPU time (decoding not included)
  double next_s = 0;
  for (; video.read(picture); ++n) {
    const double t_s = static_cast<double>(n) / native;
    if (t_s + 1e-9 < next_s) continue;
    next_s += 1.0 / fps;
    Frame f;
    f.camera = "clip";
    f.wall_ns = static_cast<int64_t>(t_s * kNsPerSec);
    f.sequence = ++analysed;
    f.bgr = picture;
    out.clear();
    timespec a{}, b{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    cam.Process(f, out);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    cpu_ms += (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    for (const auto& d : out) Print(d);
    if (!crops_dir.empty()) {
      const double sx = static_cast<double>(picture.cols) / cam.frame_size().width;
      const double sy = static_cast<double>(picture.rows) / cam.frame_size().height;
      for (const auto& tr : cam.tracks()) {
        if (!tr.confirmed || tr.coasting) continue;
        const cv::Rect box(static_cast<int>(tr.box.x * sx), static_cast<int>(tr.box.y * sy),
                           static_cast<int>(tr.box.width * sx), static_cast<int>(tr.box.height * sy));
        cv::Mat crop = analytics::ClassCrop(picture, box);
        if (crop.empty()) continue;
        const std::string name = fmt::format("{}-{:04d}-{:06d}.jpg", crops_prefix, tr.id, analysed);
        cv::imwrite(crops_dir + "/" + name, crop, {cv::IMWRITE_JPEG_QUALITY, 92});
        const bool cut = box.x <= 2 || box.y <= 2 || box.x + box.width >= picture.cols - 2 ||
                         box.y + box.height >= picture.rows - 2;
        std::fprintf(crops_csv, "%s,%lld,%.2f,%d,%d,%d,%d,%d\n", name.c_str(), static_cast<long long>(tr.id), t_s,
                     box.x, box.y, box.width, box.height, cut ? 1 : 0);
      }
    }
    if (looks) {
      for (const auto& [id, l] : cam.classifier().last_looks()) PrintLook(id, l, t_s);
    }
    if (!debug_dir.empty()) {
      cv::Mat view = cam.last_frame().clone();
      const cv::Mat& fg = cam.motion().foreground();
      if (!fg.empty()) {
        cv::Mat big;
        cv::resize(fg, big, view.size(), 0, 0, cv::INTER_NEAREST);
        view.setTo(cv::Scalar(255, 0, 255), big);
      }
      for (const auto& tr : cam.tracks()) {
        cv::Scalar c = tr.confirmed ? cv::Scalar(0, 255, 0) : cv::Scalar(0, 0, 255);
        cv::rectangle(view, tr.box, c, tr.coasting ? 1 : 2);
        std::string label = std::to_string(tr.id);
        if (tr.object_class != ObjectClass::kUnknown) {
          label += fmt::format(" {} {:.2f}", ObjectClassName(tr.object_class), tr.class_confidence);
        }
        cv::putText(view, label, tr.box.tl() + cv::Point(2, 14), cv::FONT_HERSHEY_SIMPLEX, 0.5, c);
      }
      cv::putText(view, fmt::format("{:.1f}s", t_s), {4, 16}, cv::FONT_HERSHEY_SIMPLEX, 0.5, {255, 255, 255});
      cv::imwrite(fmt::format("{}/{:06d}.jpg", debug_dir, analysed), view);
    }
  }
  if (n == 0) {
    fmt::print(stderr, "vigil-analyse: {}: no frames decoded\n", video_file);
    return 1;
  }
  out.clear();
  cam.Flush(out);
  for (const auto& d : out) Print(d);
  std::fflush(stdout);
  if (crops_csv) std::fclose(crops_csv);
  fmt::print(stderr, "vigil-analyse: {}: {} frames, {} analysed, {:.2f} ms of analysis CPU a frame\n", video_file, n,
             analysed, analysed ? cpu_ms / static_cast<double>(analysed) : 0.0);
  return 0;
}
