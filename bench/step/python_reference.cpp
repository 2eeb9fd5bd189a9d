#include "bench/step/python_reference.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace culturegan::bench {
namespace {

// The position just after `"key":` at the top level of `text` from `from`, or npos.
size_t value_at(const std::string& text, const std::string& key, size_t from = 0) {
  const auto at = text.find("\"" + key + "\"", from);
  if (at == std::string::npos) return std::string::npos;
  const auto colon = text.find(':', at + key.size() + 2);
  return colon == std::string::npos ? colon : colon + 1;
}

}  // namespace

double json_number(const std::string& text, const std::string& key) {
  size_t from = 0;
  std::string leaf = key;
  if (const auto dot = key.find('.'); dot != std::string::npos) {
    from = value_at(text, key.substr(0, dot));
    if (from == std::string::npos) return 0;
    leaf = key.substr(dot + 1);
  }
  const auto v = value_at(text, leaf, from);
  return v == std::string::npos ? 0 : std::strtod(text.c_str() + v, nullptr);
}

std::string json_string(const std::string& text, const std::string& key) {
  auto v = value_at(text, key);
  if (v == std::string::npos) return "";
  v = text.find_first_not_of(' ', v);
  const bool list = v != std::string::npos && text[v] == '[';
  const auto end = list ? text.find(']', v) : std::string::npos;
  std::string out;
  for (size_t i = v; i < text.size() && (!list || i < end);) {
    const auto open = text.find('"', i);
    if (open == std::string::npos || (list && open > end)) break;
    const auto close = text.find('"', open + 1);
    if (close == std::string::npos) break;
    out += (out.empty() ? "" : ", ") + text.substr(open + 1, close - open - 1);
    if (!list) break;
    i = close + 1;
  }
  return out;
}

PythonReference::PythonReference(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& env) {
  char tmpl[] = "/tmp/culturegan-bench-step-XXXXXX";
  const int err_fd = mkstemp(tmpl);
  stderr_path_ = tmpl;
  int in_pipe[2], out_pipe[2];
  if (err_fd < 0 || pipe(in_pipe) != 0 || pipe(out_pipe) != 0)
    throw ReferenceError(fmt::format("cannot start the reference: {}", std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_fd})
    posix_spawn_file_actions_addclose(&actions, fd);
  std::vector<std::string> args = argv, envs = env;
  std::vector<char*> cargv, cenv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, cargv[0], &actions, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_fd);
  to_child_ = in_pipe[1];
  from_child_ = fdopen(out_pipe[0], "r");
  if (rc != 0) {
    pid_ = -1;
    throw ReferenceError(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  }
  setup_ = read_line();
  if (setup_.find("\"gemm_gflops\"") == std::string::npos)
    throw ReferenceError("the reference's set-up line lacks gemm_gflops: " + setup_ +
                         stderr_tail());
}

PythonReference::~PythonReference() {
  if (to_child_ >= 0) {
    const char quit[] = "quit\n";
    (void)!write(to_child_, quit, sizeof(quit) - 1);
    close(to_child_);
  }
  if (from_child_) fclose(from_child_);
  if (pid_ > 0) {
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  if (!stderr_path_.empty()) std::remove(stderr_path_.c_str());
}

std::string PythonReference::stderr_tail() const {
  std::ifstream in(stderr_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > 2000) s = s.substr(s.size() - 2000);
  return s.empty() ? "" : "\nreference stderr:\n" + s;
}

std::string PythonReference::read_line() {
  char* buf = nullptr;
  size_t cap = 0;
  ssize_t n = -1;
  std::string line;
  // Answers are JSON objects; anything else on stdout (e.g. ONEDNN_VERBOSE=1 lines) is skipped.
  while (from_child_ && (n = getline(&buf, &cap, from_child_)) > 0 && buf[0] != '{') {
  }
  if (n > 0) line.assign(buf, static_cast<size_t>(n));
  std::free(buf);
  if (n <= 0) {
    int status = 0;
    if (pid_ > 0 && waitpid(pid_, &status, 0) == pid_) pid_ = -1;
    throw ReferenceError(fmt::format("the reference exited (status {}) without an answer{}",
                                     WIFEXITED(status) ? WEXITSTATUS(status) : -1, stderr_tail()));
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

double PythonReference::number(const std::string& key) const { return json_number(setup_, key); }

StepTiming PythonReference::run(int steps) {
  const std::string cmd = fmt::format("run {}\n", steps);
  if (write(to_child_, cmd.data(), cmd.size()) != static_cast<ssize_t>(cmd.size()))
    throw ReferenceError("cannot write to the reference" + stderr_tail());
  const std::string line = read_line();
  if (line.find("\"finite\": true") == std::string::npos)
    throw ReferenceError("the reference's step failed or its losses are not finite: " + line +
                         stderr_tail());
  StepTiming t;
  t.steps = static_cast<int>(json_number(line, "steps"));
  t.seconds = json_number(line, "seconds");
  t.cpu_seconds = json_number(line, "cpu_seconds");
  return t;
}

}  // namespace culturegan::bench
