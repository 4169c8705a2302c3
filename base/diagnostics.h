#pragma once
// Last-resort diagnostics for a process that found part of itself stuck.

#include <string>

namespace vigil {

// Every thread's stack of this process, as gdb prints it (gdb attached in batch mode, a few seconds).
// A short note instead when gdb is not installed or may not attach.
std::string ThreadStacks();

}  // namespace vigil
