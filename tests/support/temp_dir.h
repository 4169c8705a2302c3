#pragma once
// A directory under $TMPDIR removed (recursively) when the object dies, unless VIGIL_KEEP_TEST_DIRS is
// set, so that a failed test's recordings can be inspected.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace vigil::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "vigil-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    if (!std::getenv("VIGIL_KEEP_TEST_DIRS")) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace vigil::testing
