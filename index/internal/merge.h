#pragma once
// K-way merge of keyset-ordered sources fetched in chunks: "the next N events of these 40 cameras"
// costs 40 index seeks and about N rows, not 40 × N rows or a sort of everything in range.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "base/status.h"

namespace vigil::index::internal {

using Key = std::pair<int64_t, int64_t>;  // (time, id)

// fetch(source, after, n) returns up to n rows of `source` strictly after `after` (nullopt: from the
// start) in the merge order; key(row) gives its position. Returns up to `want` rows overall.
template <typename Row>
Result<std::vector<Row>> MergeSources(
    size_t sources, size_t want, bool descending,
    const std::function<Key(const Row&)>& key,
    const std::function<Result<std::vector<Row>>(size_t, std::optional<Key>, size_t)>& fetch) {
  std::vector<Row> out;
  if (sources == 0 || want == 0) return out;
  size_t chunk = std::clamp<size_t>(2 * want / sources + 1, std::min<size_t>(want, 16), want);
  struct Cursor {
    std::vector<Row> rows;
    size_t pos = 0;
    bool exhausted = false;
  };
  std::vector<Cursor> cur(sources);
  auto refill = [&](size_t s, std::optional<Key> after) -> Status {
    VIGIL_ASSIGN_OR_RETURN(cur[s].rows, fetch(s, after, chunk));
    cur[s].pos = 0;
    cur[s].exhausted = cur[s].rows.size() < chunk;
    return Status::Ok();
  };
  auto later = [&](size_t a, size_t b) {  // heap order: true when a comes after b
    Key ka = key(cur[a].rows[cur[a].pos]);
    Key kb = key(cur[b].rows[cur[b].pos]);
    return descending ? ka < kb : ka > kb;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t s = 0; s < sources; ++s) {
    VIGIL_RETURN_IF_ERROR(refill(s, std::nullopt));
    if (!cur[s].rows.empty()) heap.push(s);
  }
  while (!heap.empty() && out.size() < want) {
    size_t s = heap.top();
    heap.pop();
    Cursor& c = cur[s];
    out.push_back(std::move(c.rows[c.pos]));
    if (++c.pos == c.rows.size()) {
      if (c.exhausted) continue;
      VIGIL_RETURN_IF_ERROR(refill(s, key(out.back())));
      if (c.rows.empty()) continue;
    }
    heap.push(s);
  }
  return out;
}

}  // namespace vigil::index::internal
