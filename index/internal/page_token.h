#pragma once
// Keyset page tokens: "<kind>.<query fingerprint>.<key>.<key>..." The fingerprint (FNV-1a of the
// query's normalised parameters) ties a token to the query that made it, so a token pasted into
// another query is refused instead of silently skipping rows.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "index/types.h"

namespace vigil::index::internal {

class Fingerprint {
 public:
  Fingerprint& Add(int64_t v);
  Fingerprint& Add(std::string_view s);
  // A set of strings, in any order: sorted first, so that the order given does not matter.
  Fingerprint& AddSet(std::vector<std::string> values);
  uint64_t value() const { return h_; }

 private:
  void Mix(const void* p, size_t n);
  uint64_t h_ = 1469598103934665603ull;
};

std::string EncodeToken(std::string_view kind, uint64_t fingerprint, const std::vector<int64_t>& key);

// Empty token: an empty key (first page). InvalidArgument when malformed, of another kind, of another
// query, or with a key of the wrong length.
Result<std::vector<int64_t>> DecodeToken(std::string_view token, std::string_view kind,
                                         uint64_t fingerprint, size_t key_size);

// InvalidArgument unless 1 <= limit <= kMaxPageLimit.
Status ValidateLimit(int64_t limit);

}  // namespace vigil::index::internal
