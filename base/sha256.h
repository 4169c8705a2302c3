#pragma once
// Incremental SHA-256 over OpenSSL's EVP interface, for segment and clip hashes (evidence manifests).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace vigil {

// Not thread-safe: one hash per writer.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void Update(const void* data, size_t size);
  // Returns the lowercase hex digest and resets the hash for reuse.
  std::string FinishHex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Hashes a whole file. Returns the lowercase hex digest, or an error naming the path.
Result<std::string> Sha256File(const std::string& path);

}  // namespace vigil
