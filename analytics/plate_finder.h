#pragma once
// Finds licence plates in a whole picture and reads them: candidate regions from two classical
// detectors (plate-coloured blobs: blue, yellow, green; and dense vertical-edge bands, which also
// find white and black plates), each rectified from its four corners to the reader's 32x128 input
// and kept only when the reader finds a grammatical plate with enough confidence and the region's
// background has the colour read (a blue plate is blue). The reader is the verifier: a region of
// text or a grille that reads as no plate is dropped.
//
// Thread-safety: bound to one thread (it owns a PlateReader).

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "analytics/plate_reader.h"
#include "base/status.h"

namespace vigil::analytics {

struct PlateCandidate {
  std::array<cv::Point2f, 4> corners;  // top-left, top-right, bottom-right, bottom-left, frame pixels
  cv::Rect box;                        // bounding box of the corners
  double score = 0;                    // detector's own ranking
};

struct PlateFinderOptions {
  int work_width = 960;       // frames are searched at most this wide (plates stay >= ~50 px)
  int max_candidates = 16;    // most regions read per frame, best-scored first
  double min_confidence = 0.5;
  // Find every read plate's corners again with the reader's corner network, when it has one.
  bool refine_corners = true;
  // With the corner network: this many regions read as no plate (best-scored first) also have their
  // corners found again and are read once more: a skewed plate in a loose box can read as nothing
  // until its corners are right (on the CCPD validation photos 0 -> 2: 97.3 -> 98.6 % exact; 4 and
  // 8 cost more for little; docs/plates.md).
  int refine_unread = 2;
  // FindNext (a camera's frames, where a plate is seen again and again as it comes closer): only
  // unread regions in whose loose crop the reader saw at least this much text (characters in its
  // most probable labelling, PlateText::labelled_chars): a grille or a wall labels 0-3, a tilted
  // plate in a loose box more (camsim plate scenes: the 6 of 489 unread regions whose refined
  // corners read a plate had labelled 6 and 7). Not for single pictures (Find): on the CCPD
  // validation photos 2 of 146 plates are read only from a loose crop labelled with fewer.
  int stream_refine_unread_min_chars = 4;
  // Regions no longer than kTwoRowMaxAspect times their height are also read as two-row plates.
  bool two_rows = true;
  // FindNext (a camera's frames in order): a region that still looks as it did when it was read keeps
  // that read's outcome for at most this many frames (staggered from half of it), then is read
  // afresh; 0 reads every region of every frame. 40: 5 s at a plate camera's 8 fps.
  int still_reuse_frames = 40;
  // FindNext: the whole frame is searched for candidate regions every this many frames; between
  // those, only the parts that changed since the frame before (a car moving, the caption's clock),
  // and the regions found elsewhere before are kept where they were. 1 searches every frame whole.
  // 8: once a second at a plate camera's 8 fps, so that a change too slow to see from one frame to
  // the next (a car creeping forward, dusk) waits at most a second.
  int whole_search_frames = 8;
};

// Two-row plates are 2:1 (440 x 220 mm), seen turned up to ~35 degrees; one-row plates 3.1:1.
inline constexpr double kTwoRowMaxAspect = 2.6;
// A quad's width over its height (means of its opposite sides).
double QuadAspect(const std::array<cv::Point2f, 4>& quad);

// Candidate plate regions of a BGR frame, best first (pure function of the frame).
std::vector<PlateCandidate> FindPlateCandidates(const cv::Mat& bgr, const PlateFinderOptions& options);

// The reader's input for a region: the quad warped to 32x128.
cv::Mat RectifyPlate(const cv::Mat& bgr, const std::array<cv::Point2f, 4>& corners);

// Two-row plates (GA 36: yellow rear plates of large vehicles and 挂 trailers, 440 x 220 mm, province
// and letter above the serial) are read by the one-row reader with their rows set side by side: the
// top row's two characters where a one-row plate has them, the serial's five after the dot.
// `plate`: a two-row plate straight on (its corners rectified, any size, BGR); returns the reader's
// 32x128 input.
cv::Mat StitchTwoRows(const cv::Mat& plate);
// The quad warped straight (kTwoRowSize) and stitched: the reader's input for a two-row region.
inline const cv::Size kTwoRowSize{192, 96};
cv::Mat RectifyTwoRowPlate(const cv::Mat& bgr, const std::array<cv::Point2f, 4>& corners);

// The quad warped to `size` (area-prefiltered when the quad is much larger); `transform`, when
// given, receives the homography from frame pixels to the output's.
cv::Mat RectifyQuad(const cv::Mat& bgr, const std::array<cv::Point2f, 4>& corners, cv::Size size,
                    cv::Matx33d* transform = nullptr);

// Intersection over union of two convex quadrilaterals, whichever way round their corners run.
double QuadIou(const std::array<cv::Point2f, 4>& a, const std::array<cv::Point2f, 4>& b);

// The plates' corners found again by the reader's corner network from loose quads around them (a
// detector's blob or box), `iterations` times, each from the last; a quad whose answer is not a
// plausible plate (not convex, much smaller or larger) stays as it was. FailedPrecondition without
// the corner network.
Result<std::vector<std::array<cv::Point2f, 4>>> RefineCorners(PlateReader& reader, const cv::Mat& bgr,
                                                             std::vector<std::array<cv::Point2f, 4>> quads,
                                                             int iterations = 2);

// Pictures that are each one plate (cut by hand or by another system, tightly or loosely) read: each
// as it is and, with the corner network, again from the corners found in it; the read kept is the
// refined one when it reads the same plate or a more certain one (the same rule as the finder's); a
// picture no longer than kTwoRowMaxAspect times its height is also read as a two-row plate.
Result<std::vector<PlateText>> ReadPlateCrops(PlateReader& reader, const std::vector<cv::Mat>& crops,
                                              double min_confidence = 0.5);

struct FoundPlate {
  PlateText text;
  PlateCandidate where;
};

class PlateFinder {
 public:
  PlateFinder(std::unique_ptr<PlateReader> reader, PlateFinderOptions options = {})
      : reader_(std::move(reader)), options_(options) {}

  // Plates read in the picture, one per plate (overlapping regions reading the same plate merged),
  // most confident first. Errors only from the reader (Internal).
  Result<std::vector<FoundPlate>> Find(const cv::Mat& bgr);
  // The same for the next frame of one fixed camera: candidate regions that look as they did when
  // they were last read, where they were (a wall, a sign, the caption, a parked car), keep that
  // read's outcome instead of being read again (see PlateFinderOptions::still_reuse_frames); a
  // read agreeing with the plate found near there in the frame before skips the corner network, and
  // a region that read as nothing there at its refined corners has them found again only every
  // other frame. A frame of another size starts afresh.
  Result<std::vector<FoundPlate>> FindNext(const cv::Mat& bgr);

  PlateReader& reader() { return *reader_; }
  // Candidate regions read, taken over unchanged from the frame before, and given to the corner
  // network, since construction.
  int64_t regions_read() const { return regions_read_; }
  int64_t regions_reused() const { return regions_reused_; }
  int64_t regions_refined() const { return regions_refined_; }
  // Frames whose candidates came from a search of the whole frame, and from its changed parts only.
  int64_t whole_searches() const { return whole_searches_; }
  int64_t part_searches() const { return part_searches_; }

 private:
  struct Still {
    cv::Rect box;    // the detector's box when it was read
    cv::Mat look;    // grey 16 x 64 of its rectified crop then
    int reuses_left = 0;
    std::optional<FoundPlate> found;  // its outcome: a plate, or nothing
  };
  Result<std::vector<FoundPlate>> Search(const cv::Mat& bgr, bool stream);
  // FindNext's candidates: the whole frame searched, or only where it changed (whole_search_frames).
  std::vector<PlateCandidate> ChangedCandidates(const cv::Mat& bgr);
  // Reads the regions (their crops rectified by RectifyPlate): each one's plate, or nothing.
  // `stream` (FindNext): the frame before says where the corner network need not run.
  Result<std::vector<std::optional<FoundPlate>>> ReadRegions(const cv::Mat& bgr,
                                                             std::vector<PlateCandidate> candidates,
                                                             std::vector<cv::Mat> crops, bool stream);

  std::unique_ptr<PlateReader> reader_;
  PlateFinderOptions options_;
  std::vector<Still> still_;  // the last frame's regions (FindNext)
  std::vector<FoundPlate> last_found_;  // the last frame's plates (FindNext)
  std::vector<cv::Rect> last_refused_;  // the last frame's regions unread at refined corners
  std::vector<cv::Rect> refused_now_;
  cv::Size still_size_;
  cv::Mat change_grey_;  // the frame before in grey at a quarter of the work size (FindNext)
  std::vector<PlateCandidate> last_candidates_;  // its candidate regions
  int since_whole_ = 0;  // frames since the whole frame was searched
  double edge_thresholds_[2] = {-1, -1};  // the last whole search's (work and coarse scale)
  int64_t whole_searches_ = 0;
  int64_t part_searches_ = 0;
  int64_t regions_read_ = 0;
  int64_t regions_reused_ = 0;
  int64_t regions_refined_ = 0;
};

}  // namespace vigil::analytics
