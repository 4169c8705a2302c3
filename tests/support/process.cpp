#include "tests/support/process.h"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vigil::testing {

Process::Process(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // The child must not inherit a blocked signal mask from a test's threads.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  if (posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ) != 0) pid_ = -1;
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
}

Process::~Process() {
  if (Running()) {
    Signal(SIGKILL);
    Wait(10);
  }
}

void Process::Signal(int sig) {
  if (pid_ > 0 && status_ == -1) ::kill(pid_, sig);
}

bool Process::Running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = st;
    return false;
  }
  return true;
}

int Process::Wait(double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (Running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (status_ == -1) return -1;
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

std::string Process::Stacks() const {
  if (pid_ <= 0) return "no process";
  std::string out_path = fmt::format("/tmp/vigil-stacks-{}.txt", pid_);
  std::string cmd = fmt::format("gdb -p {} -batch -ex 'thread apply all bt' > {} 2>&1", pid_, out_path);
  if (std::system(cmd.c_str()) != 0 && ReadFile(out_path).empty()) return "gdb not available";
  std::string text = ReadFile(out_path);
  std::remove(out_path.c_str());
  return text;
}

int StopCleanly(Process& process, double timeout_s, const std::string& log_path) {
  process.Signal(SIGTERM);
  int code = process.Wait(timeout_s);
  if (code == -1) {
    std::cerr << fmt::format("process {} did not stop within {} s of SIGTERM. Its log ({}):\n", process.pid(),
                             timeout_s, log_path)
              << ReadFile(log_path) << "\nIts threads:\n" << process.Stacks() << std::endl;
  }
  return code;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string BinaryFromEnv(const char* var) {
  const char* v = std::getenv(var);
  if (!v) throw std::runtime_error(std::string(var) + " is not set: run the tests with meson test");
  return v;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free TCP port on 127.0.0.1");
  }
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string MakeKey(const std::string& config, const std::string& user, const std::string& role,
                    const std::string& dir) {
  std::string out = dir + "/" + user + ".key";
  std::string log = dir + "/" + user + ".key.log";
  Process p({BinaryFromEnv("VIGILD"), "--config", config, "keys", "add", user, role, "--out", out}, log);
  if (!p.started() || p.Wait(30) != 0) {
    throw std::runtime_error("vigild keys add " + user + " " + role + ": " + ReadFile(log));
  }
  return out;
}

}  // namespace vigil::testing
