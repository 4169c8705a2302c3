#include "index/internal/page_token.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace vigil::index::internal {

void Fingerprint::Mix(const void* p, size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    h_ ^= b[i];
    h_ *= 1099511628211ull;
  }
}

Fingerprint& Fingerprint::Add(int64_t v) {
  Mix(&v, sizeof v);
  return *this;
}

Fingerprint& Fingerprint::Add(std::string_view s) {
  Add(static_cast<int64_t>(s.size()));
  Mix(s.data(), s.size());
  return *this;
}

Fingerprint& Fingerprint::AddSet(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  Add(static_cast<int64_t>(values.size()));
  for (const auto& v : values) Add(v);
  return *this;
}

std::string EncodeToken(std::string_view kind, uint64_t fingerprint, const std::vector<int64_t>& key) {
  std::string out = fmt::format("{}.{:016x}", kind, fingerprint);
  for (int64_t k : key) out += fmt::format(".{}", k);
  return out;
}

Result<std::vector<int64_t>> DecodeToken(std::string_view token, std::string_view kind,
                                         uint64_t fingerprint, size_t key_size) {
  if (token.empty()) return std::vector<int64_t>{};
  auto malformed = [&] {
    return Status::InvalidArgument(fmt::format("malformed page token '{}'", token));
  };
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() < 2) return malformed();
  if (parts[0] != kind) {
    return Status::InvalidArgument(fmt::format(
        "page token '{}' belongs to a {} query, not to this {} query", token, parts[0], kind));
  }
  uint64_t fp = 0;
  auto [p, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), fp, 16);
  if (ec != std::errc() || p != parts[1].data() + parts[1].size()) return malformed();
  if (fp != fingerprint) {
    return Status::InvalidArgument(fmt::format(
        "page token '{}' belongs to another query (different cameras, range or filters): start "
        "again without a token",
        token));
  }
  if (parts.size() != key_size + 2) return malformed();
  std::vector<int64_t> key;
  for (size_t i = 2; i < parts.size(); ++i) {
    int64_t v = 0;
    auto [q, ec2] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), v);
    if (ec2 != std::errc() || q != parts[i].data() + parts[i].size()) return malformed();
    key.push_back(v);
  }
  return key;
}

Status ValidateLimit(int64_t limit) {
  if (limit < 1 || limit > kMaxPageLimit) {
    return Status::InvalidArgument(
        fmt::format("page limit {} is out of range: ask for 1 to {} rows", limit, kMaxPageLimit));
  }
  return Status::Ok();
}

}  // namespace vigil::index::internal
