// Helpers for tests that start servers and run programs: a free local TCP port,
// a shell command's standard output and exit status, programs started in the
// background with their output in a log file, and stopping them.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace kl::testing {

// A TCP port on 127.0.0.1 that was free a moment ago. It is picked below the
// kernel's ephemeral range (ip_local_port_range), so no outgoing connection of
// another test can take it while a test stops and restarts a server on it; at
// random, so tests running in parallel rarely try the same one.
inline int FreePort() {
  int ephemeral_low = 32768;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d", &ephemeral_low) != 1) ephemeral_low = 32768;
    std::fclose(f);
  }
  const int low = 10000, high = std::max(low + 1000, ephemeral_low);  // [low, high)
  std::random_device seed;
  std::mt19937 rng(seed() ^ static_cast<unsigned>(::getpid()));
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = low + static_cast<int>(rng() % static_cast<unsigned>(high - low));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
    if (free) return port;
  }
  // Everything tried was taken: fall back to the kernel's pick.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// Runs `cmd` with /bin/sh; its standard output. `*exit_code` is the exit status,
// or -1 when it did not exit normally (killed by a signal) or could not be started.
inline std::string RunCommand(const std::string& cmd, int* exit_code) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *exit_code = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// Starts `args[0]` (a path) with `args` in the background, its standard output
// and error appended to `log`. The child's pid, or -1 when it could not start.
inline pid_t SpawnLogged(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  if (::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Sends `sig` to `*pid` (nothing when it is not running); for SIGKILL and
// SIGTERM waits for it to end and sets `*pid` to -1.
inline void KillProcess(pid_t* pid, int sig) {
  if (*pid <= 0) return;
  ::kill(*pid, sig);
  if (sig == SIGKILL || sig == SIGTERM) {
    int status;
    ::waitpid(*pid, &status, 0);
    *pid = -1;
  }
}

inline void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace kl::testing
