#include "trainer/report_refresh.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace culturegan::trainer {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string default_tool() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "culturegan-report";
  return (exe.parent_path() / "culturegan-report").string();
}

// The last non-empty line of a small log file, for a warning.
std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

}  // namespace

ReportRefresher::ReportRefresher(std::string run_dir, int64_t every, std::string tool)
    : run_dir_(std::move(run_dir)),
      output_((fs::path(run_dir_) / "report.html").string()),
      log_((fs::path(run_dir_) / "report.log").string()),
      tool_(tool.empty() ? default_tool() : std::move(tool)),
      every_(every) {}

ReportRefresher::~ReportRefresher() { reap(0); }

bool ReportRefresher::due(int64_t step) const {
  return every_ > 0 && step > 0 && step % every_ == 0;
}

void ReportRefresher::warn_failed(int status) {
  ++stats_.failed;
  const std::string why = WIFEXITED(status)     ? fmt::format("exit {}", WEXITSTATUS(status))
                          : WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
                                                : "status " + std::to_string(status);
  const std::string tail = last_line(log_);
  fmt::print(stderr,
             "culturegan-train: warning: report refresh failed ({}; {}{}); training goes on\n", why,
             log_, tail.empty() ? "" : ": " + tail);
  std::fflush(stderr);
}

bool ReportRefresher::reap(double timeout_s) {
  if (child_ < 0) return true;
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(child_, &status, WNOHANG);
    if (r == child_) {
      child_ = -1;
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        warn_failed(status);
        return true;
      }
      return true;
    }
    if (r < 0 && errno != EINTR) {  // ECHILD: reaped elsewhere (SIGCHLD ignored); status unknown
      child_ = -1;
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool ReportRefresher::spawn(bool lower_priority) {
  if (access(tool_.c_str(), X_OK) != 0) {
    if (!tool_missing_warned_)
      fmt::print(stderr,
                 "culturegan-train: warning: no run report: {} is not there or not executable "
                 "(configuring the build writes it beside culturegan-train); training goes on\n",
                 tool_);
    std::fflush(stderr);
    tool_missing_warned_ = true;
    ++stats_.failed;
    return false;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  // stdin from /dev/null, stdout and stderr to report.log, nothing else inherited (MPI's
  // sockets and pipes stay the trainer's: a child outliving it holds none of them open).
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
  // Default dispositions and an empty mask: the trainer's ignored or blocked signals (and
  // its preemption handlers) are not the child's.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD, SIGHUP})
    sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> args = {tool_, run_dir_, "-o", output_};
  if (lower_priority) args.insert(args.end(), {"--nice", "10"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, tool_.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    ++stats_.failed;
    fmt::print(stderr,
               "culturegan-train: warning: report refresh could not start {}: {}; training goes "
               "on\n",
               tool_, std::strerror(rc));
    std::fflush(stderr);
    return false;
  }
  child_ = pid;
  return true;
}

bool ReportRefresher::start() {
  const auto t0 = Clock::now();
  bool started = false;
  if (!reap(0)) {
    ++stats_.skipped;
  } else if (spawn(true)) {
    ++stats_.started;
    started = true;
  }
  stats_.longest_call_ms = std::max(stats_.longest_call_ms, ms_since(t0));
  return started;
}

bool ReportRefresher::finish(double wait_s, double final_wait_s) {
  const auto t0 = Clock::now();
  if (!reap(wait_s)) {
    fmt::print(stderr,
               "culturegan-train: warning: report refresh (pid {}) still running after {} s; "
               "no final report\n",
               child_, wait_s);
    std::fflush(stderr);
    return false;
  }
  const int64_t failed_before = stats_.failed;
  if (!spawn(false)) return false;  // the training is over: the final one need not yield
  const bool done = reap(final_wait_s);
  stats_.final_s = ms_since(t0) / 1000.0;
  if (!done) {
    fmt::print(stderr,
               "culturegan-train: warning: the final report (pid {}) is still being written "
               "after {} s; it will replace {} when done\n",
               child_, final_wait_s, output_);
    std::fflush(stderr);
    return false;
  }
  stats_.final_written = stats_.failed == failed_before;
  return stats_.final_written;
}

}  // namespace culturegan::trainer
