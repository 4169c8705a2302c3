#include "base/gst_ptr.h"

#include <mutex>

namespace vigil {

void EnsureGstInit() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

}  // namespace vigil
