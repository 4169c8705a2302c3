#pragma once
// What a tracked object is: person, vehicle, two-wheeler or other, with a confidence.
//
// A track is looked at a few times, not every frame: when it is confirmed, then every
// `look_every_s` while it is seen, at most `max_looks` times. Each look scores the four classes from
// the object's picture, cut from the frame at the decoder's resolution, and from how it moves:
//   - OpenCV's shipped people detector (HOG + linear SVM, Dalal & Triggs), best window over a few
//     shifts of the box: a standing or walking person seen whole;
//   - OpenCV's shipped face and upper-body cascades (opencv-data), on the box's upper half: a person
//     close to the camera whose legs the frame cuts, whom the people detector does not see;
//   - the box's shape (height over width, from boxes the frame's edges do not cut) and the object's
//     speed in its own heights per second: a person walks at about 0.8 of their height a second, a
//     cyclist or e-bike rider at 2.5-4, a car at 2 or more car lengths; a car seen from above
//     driving up the picture is as tall as a person but neither walks like one nor looks like one.
// The looks' class scores are averaged; the track's class is the best, its confidence that score.
// A trained classifier on track crops (ONNX, like the plate reader) is the next step; this one
// is OpenCV's shipped detectors and geometry only (docs/analytics.md says what it gets right).
//
// Not thread-safe; one per camera (the cascades keep scratch state).

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/objdetect.hpp>

#include "analytics/tracker.h"
#include "base/event_type.h"

namespace vigil::analytics {

struct ClassifierSettings {
  int max_looks = 5;
  double look_every_s = 1.0;
};

// One look's evidence and scores (tools print them; tests check them).
struct ClassLook {
  cv::Rect box;             // frame pixels of the picture looked at
  double people_svm = -10;  // best HOG window's SVM margin (> 0: a person), -10 when too small
  bool face = false;        // a face or an upper body in the box's upper half
  double aspect = 0;        // height / width
  double speed = 0;         // own heights per second
  std::array<double, 4> p{};  // person, vehicle, two_wheeler, other; sums to 1
};

class ObjectClassifier {
 public:
  ObjectClassifier(ClassifierSettings settings, cv::Size analysis_size);

  // Looks at the confirmed, observed tracks that are due a look. `frame`: the decoded picture (any
  // size; boxes are in analysis pixels and scaled to it). Sets each track's class and confidence.
  void Update(std::vector<Track>& tracks, const cv::Mat& frame, int64_t t_ns);

  // One look at `box` (frame pixels of `frame`), for an object of the given shape and speed.
  ClassLook Look(const cv::Mat& frame, const cv::Rect& box, double aspect, double speed);

  // Whether the face and upper-body cascades were found (opencv-data).
  bool cascades() const { return !face_.empty() && !upper_.empty(); }
  // The looks the last Update took, with their tracks (tools print them).
  const std::vector<std::pair<int64_t, ClassLook>>& last_looks() const { return last_looks_; }

 private:
  double PeopleSvm(const cv::Mat& frame, const cv::Rect& box);
  bool Face(const cv::Mat& frame, const cv::Rect& box);

  ClassifierSettings settings_;
  cv::Size size_;
  cv::HOGDescriptor hog_;
  std::vector<float> svm_;
  cv::CascadeClassifier face_, upper_;
  std::vector<std::pair<int64_t, ClassLook>> last_looks_;
};

// The picture a class is judged from: the square around `box` (its longer side and a tenth more),
// from `frame` (the part outside the picture filled by repeating its edge), at `side` × `side`
// pixels. The trained classifier's input, and what its training crops are made with.
cv::Mat ClassCrop(const cv::Mat& frame, const cv::Rect& box, int side = 64);

// Height over width of the track's observed boxes that the frame's edges do not cut (median), or of
// its current box when every box was cut.
double TrackAspect(const Track& track, cv::Size frame_size);
// Speed of the track's foot (or head, when the foot is cut) over its last second of observed
// positions, in its own greatest height per second.
double TrackSpeed(const Track& track, cv::Size frame_size);

}  // namespace vigil::analytics
