#pragma once
// A decoded picture of one camera, as ingest's analysis branch hands it to analytics: the meeting
// type of the two modules (neither includes the other).

#include <cstdint>
#include <string>

#include <opencv2/core.hpp>

namespace vigil {

struct Frame {
  std::string camera;
  int64_t wall_ns = 0;  // server wall time the picture was taken (arrival of its first packet)
  int64_t sequence = 0;  // analysed frames of this camera since start, from 1
  cv::Mat bgr;           // CV_8UC3, owned (reference-counted like every cv::Mat)
};

}  // namespace vigil
