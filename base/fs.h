#pragma once
// Small file-system helpers with Status errors that name the path.

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace vigil {

// mkdir -p; an existing directory is success, a file in the way is an error naming it.
Status MakeDirs(const std::string& path);
// fsync of a directory, so that a created or removed entry survives power loss.
Status SyncDir(const std::string& path);
// Removes a file; a file already gone is success.
Status RemoveFile(const std::string& path);
Result<int64_t> FileSize(const std::string& path);
// Writes a whole new file (replacing one there), without fsync. Errors name the path.
Status WriteFile(const std::string& path, const void* data, size_t size);
// Free bytes available to unprivileged users on the file system holding `path`.
Result<int64_t> FreeBytes(const std::string& path);
// Joins two path parts with one '/'.
std::string JoinPath(const std::string& a, const std::string& b);
std::string DirName(const std::string& path);
// Raises this process's open-file limit to its hard limit (a node records hundreds of cameras, each
// with sockets, files and GStreamer's wake-up fds). Returns the new soft limit.
int64_t RaiseFileLimit();

}  // namespace vigil
