#pragma once
// Typed reading of one TOML table for configuration files (vigild's config, camsim's scene scripts):
// every problem is an InvalidArgument naming "FILE:LINE", the key, the table and what was expected.
// Sizes ("500GB") and seconds are read here too, so that every config spells them the same way.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <set>
#include <vector>

#include <toml++/toml.h>

#include "base/clock.h"
#include "base/status.h"

namespace vigil {

// "path:line" of a node.
inline std::string Where(const std::string& path, const toml::node& node) {
  return fmt::format("{}:{}", path, node.source().begin.line);
}

// Parses "20GB", "500 MiB", "1.5TB", or a plain integer number of bytes.
Result<int64_t> ParseByteSize(const std::string& text);

// Reads keys of `table`. Not owning: `path` and `table` must outlive the reader. A missing optional
// key leaves the output untouched (its default).
class TomlReader {
 public:
  TomlReader(const std::string& path, const toml::table& table, std::string context)
      : path_(path), table_(table), context_(std::move(context)) {}

  // Refuses keys this table does not know.
  Status CheckKeys(std::initializer_list<std::string_view> known) const {
    std::set<std::string_view> allowed(known.begin(), known.end());
    for (auto&& [key, node] : table_) {
      if (!allowed.count(key.str())) {
        std::string list;
        for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        return Status::InvalidArgument(fmt::format("{}: unknown key '{}' in {} (known: {})",
                                                   Where(path_, node), key.str(), context_, list));
      }
    }
    return Status::Ok();
  }

  Status String(std::string_view key, std::string& out, bool required = false) const {
    const toml::node* n = table_.get(key);
    if (!n) return required ? Missing(key) : Status::Ok();
    auto v = n->value<std::string>();
    if (!v) return TypeError(*n, key, "a string");
    out = *v;
    return Status::Ok();
  }

  Status Double(std::string_view key, double& out, double lo, double hi, bool required = false) const {
    const toml::node* n = table_.get(key);
    if (!n) return required ? Missing(key) : Status::Ok();
    auto v = n->value<double>();
    if (!v) return TypeError(*n, key, "a number");
    if (!(*v >= lo && *v <= hi)) {
      return Status::InvalidArgument(fmt::format("{}: {} = {} in {} is out of range [{}, {}]",
                                                 Where(path_, *n), key, *v, context_, lo, hi));
    }
    out = *v;
    return Status::Ok();
  }

  Status Int(std::string_view key, int64_t& out, int64_t lo, int64_t hi) const {
    const toml::node* n = table_.get(key);
    if (!n) return Status::Ok();
    auto v = n->value<int64_t>();
    if (!v) return TypeError(*n, key, "an integer");
    if (*v < lo || *v > hi) {
      return Status::InvalidArgument(fmt::format("{}: {} = {} in {} is out of range [{}, {}]",
                                                 Where(path_, *n), key, *v, context_, lo, hi));
    }
    out = *v;
    return Status::Ok();
  }

  // Seconds (integer or fractional) into nanoseconds.
  Status Seconds(std::string_view key, int64_t& out_ns, double lo, double hi) const {
    double s = static_cast<double>(out_ns) / kNsPerSec;
    VIGIL_RETURN_IF_ERROR(Double(key, s, lo, hi));
    out_ns = static_cast<int64_t>(std::llround(s * kNsPerSec));
    return Status::Ok();
  }

  Status Millis(std::string_view key, int64_t& out_ns, int64_t lo, int64_t hi) const {
    int64_t ms = out_ns / kNsPerMs;
    VIGIL_RETURN_IF_ERROR(Int(key, ms, lo, hi));
    out_ns = ms * kNsPerMs;
    return Status::Ok();
  }

  // A size; `min` > 0 refuses smaller ones (a queue of 0 bytes records nothing).
  Status Bytes(std::string_view key, int64_t& out, int64_t min = 0) const {
    const toml::node* n = table_.get(key);
    if (!n) return Status::Ok();
    int64_t value = 0;
    if (auto i = n->value_exact<int64_t>()) {
      if (*i < 0) return Status::InvalidArgument(fmt::format("{}: {} must not be negative", Where(path_, *n), key));
      value = *i;
    } else {
      auto s = n->value<std::string>();
      if (!s) return TypeError(*n, key, "a size such as \"500GB\" or a number of bytes");
      auto parsed = ParseByteSize(*s);
      if (!parsed.ok()) {
        return Status::InvalidArgument(fmt::format("{}: {}: {}", Where(path_, *n), key, parsed.error().message()));
      }
      value = *parsed;
    }
    if (value < min) {
      return Status::InvalidArgument(
          fmt::format("{}: {} must be at least {} bytes, not {}", Where(path_, *n), key, min, value));
    }
    out = value;
    return Status::Ok();
  }

  Status Bool(std::string_view key, bool& out) const {
    const toml::node* n = table_.get(key);
    if (!n) return Status::Ok();
    auto v = n->value<bool>();
    if (!v) return TypeError(*n, key, "true or false");
    out = *v;
    return Status::Ok();
  }

  Status Strings(std::string_view key, std::vector<std::string>& out) const {
    const toml::node* n = table_.get(key);
    if (!n) return Status::Ok();
    const toml::array* arr = n->as_array();
    if (!arr) return TypeError(*n, key, "an array of strings");
    for (const auto& el : *arr) {
      auto v = el.value<std::string>();
      if (!v) return TypeError(el, key, "an array of strings");
      out.push_back(*v);
    }
    return Status::Ok();
  }

  const toml::table& table() const { return table_; }

  std::string Line(std::string_view key) const {
    const toml::node* n = table_.get(key);
    return n ? Where(path_, *n) : fmt::format("{}:{}", path_, table_.source().begin.line);
  }

 private:
  Status Missing(std::string_view key) const {
    return Status::InvalidArgument(
        fmt::format("{}:{}: {} needs '{}'", path_, table_.source().begin.line, context_, key));
  }
  Status TypeError(const toml::node& n, std::string_view key, std::string_view want) const {
    return Status::InvalidArgument(
        fmt::format("{}: {} in {} must be {}", Where(path_, n), key, context_, want));
  }

  const std::string& path_;
  const toml::table& table_;
  std::string context_;
};

}  // namespace vigil
