#pragma once
// A child process for end-to-end tests (vigild as users run it): started with posix_spawn, output to
// files, signalled, waited for with a bound. The destructor kills what is still running.

#include <sys/types.h>

#include <string>
#include <vector>

namespace vigil::testing {

class Process {
 public:
  // Starts `argv[0]` with stdout and stderr appended to `log_path`.
  Process(const std::vector<std::string>& argv, const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool started() const { return pid_ > 0; }
  void Signal(int sig);
  // Waits up to timeout_s; returns the exit code, 128+signal if killed, or -1 on time-out.
  int Wait(double timeout_s);
  bool Running();
  pid_t pid() const { return pid_; }
  // Every thread's stack of the running process (gdb in batch mode), for a test that found it hung;
  // a note when gdb is missing.
  std::string Stacks() const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// SIGTERM, then waits up to timeout_s. Returns the exit code (-1 on time-out, when the log at
// `log_path` and every thread's stack are written to stderr for the test's output).
int StopCleanly(Process& process, double timeout_s, const std::string& log_path);

// Reads a whole file ("" if missing).
std::string ReadFile(const std::string& path);
// Writes a whole file.
void WriteFile(const std::string& path, const std::string& text);
// Path of a built binary, from the environment variable meson sets for the tests.
std::string BinaryFromEnv(const char* var);
// A TCP port on 127.0.0.1 that was free a moment ago (for endpoints a child process binds); throws
// std::runtime_error when none can be had.
int FreePort();
// Makes a key as an admin would: `vigild --config CONFIG keys add USER ROLE --out DIR/USER.key`.
// Returns the key file's path; throws std::runtime_error (with vigild's words) when it fails.
std::string MakeKey(const std::string& config, const std::string& user, const std::string& role,
                    const std::string& dir);

}  // namespace vigil::testing
