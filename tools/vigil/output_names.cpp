#include "tools/vigil/output_names.h"

#include <cctype>

namespace vigil::cli {

std::string SafeFileName(std::string_view name, std::string_view fallback, std::string_view ext) {
  std::string out;
  for (unsigned char ch : name) {
    if (out.size() >= 100) break;
    bool keep = std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch >= 0x80;
    out += keep ? static_cast<char>(ch) : '_';
  }
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  if (out.empty() || out.find_first_not_of("._") == std::string::npos) out = std::string(fallback);
  if (!out.ends_with(ext)) out += ext;
  return out;
}

}  // namespace vigil::cli
