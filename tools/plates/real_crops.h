#pragma once
// Training crops from real photographs: each labelled plate (its four corners) seen as vigil's finder
// would hand it to the reader — rectified with the finder's own RectifyPlate — but at the sizes,
// detection errors and image quality of a street camera rather than a close-up: the photo scaled so
// that the plate is 64-260 px wide, the corners off as a detector's are (or an upright box around
// them, or a loose quad), then light, blur, noise and JPEG. Variant i of photo k depends only on
// (seed, k, i).

#include <cstdint>

#include <opencv2/core.hpp>

#include "tools/plates/evaluation.h"

namespace vigil::plates {

// Variant `variant` of `photo` (which must have corners); variant 0 with `augment` false is the
// plain rectification from the labelled corners (what CropsFromCorners gives).
cv::Mat RealVariant(const LabeledPhoto& photo, uint64_t seed, int64_t photo_index, int64_t variant,
                    bool augment, cv::Size out);

}  // namespace vigil::plates
