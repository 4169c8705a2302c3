#pragma once
// Names of files the command line writes for things the server named (clips, cameras): whatever a
// server sends, the file lands in the directory the user chose.

#include <string>
#include <string_view>

namespace vigil::cli {

// Letters, digits, '-', '_', '.' and non-ASCII (camera names in Chinese) are kept, anything else
// becomes '_'; no leading dots (no "..", no hidden files); at most 100 bytes; `ext` appended when
// missing; `fallback` when nothing is left.
std::string SafeFileName(std::string_view name, std::string_view fallback, std::string_view ext);

}  // namespace vigil::cli
