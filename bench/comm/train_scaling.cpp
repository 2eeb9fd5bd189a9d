#include "bench/comm/train_scaling.h"

#include "bench/cpu_mask.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace culturegan::bench {
namespace {

bool launcher_variable(const std::string& kv) {
  for (const char* keep : {"OMPI_ALLOW_RUN_AS_ROOT", "OMPI_MCA_rmaps_base_oversubscribe"})
    if (kv.rfind(keep, 0) == 0) return false;
  for (const char* prefix :
       {"OMPI_", "PMIX_", "OPAL_", "ORTE_", "PMI_", "HYDRA_", "MPI_LOCAL", "SLURM_"})
    if (kv.rfind(prefix, 0) == 0) return true;
  return kv.rfind("OMP_NUM_THREADS=", 0) == 0;  // set explicitly below
}

/// Runs `sh -c command` in a clean environment; returns its stdout+stderr and exit status.
int run(const std::string& command, std::string& output) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e)
    if (!launcher_variable(*e)) env_store.emplace_back(*e);
  env_store.emplace_back("OMP_NUM_THREADS=1");
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  char tmpl[] = "/tmp/culturegan-bench-XXXXXX";
  const int fd = mkstemp(tmpl);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd, 1);
  posix_spawn_file_actions_adddup2(&actions, fd, 2);
  std::string cmd = command;
  char sh[] = "/bin/sh", c[] = "-c";
  char* argv[] = {sh, c, cmd.data(), nullptr};
  pid_t pid = 0;
  int status = -1;
  if (posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv, envp.data()) == 0)
    waitpid(pid, &status, 0);
  posix_spawn_file_actions_destroy(&actions);
  close(fd);
  std::ifstream in(tmpl);
  std::stringstream ss;
  ss << in.rdbuf();
  output = ss.str();
  std::remove(tmpl);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

double json_number(const std::string& text, const std::string& key) {
  const auto at = text.find("\"" + key + "\"");
  if (at == std::string::npos) return 0;
  const auto colon = text.find(':', at);
  return colon == std::string::npos ? 0 : std::strtod(text.c_str() + colon + 1, nullptr);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

AffinityReport widen_affinity_for_children() {
  AffinityReport a;
  const CpuMask mask = widen_cpu_mask();
  a.inherited = mask.inherited;
  a.error = mask.error;
  if (a.inherited.empty()) return a;
  std::string out;
  run("grep Cpus_allowed_list /proc/self/status", out);
  const auto colon = out.find(':');
  a.children = colon == std::string::npos ? out : out.substr(colon + 1);
  a.children.erase(0, a.children.find_first_not_of(" \t"));
  a.children.erase(a.children.find_last_not_of(" \t\n") + 1);
  return a;
}

ScalingResult train_scaling(const ScalingOptions& o) {
  ScalingResult r;
  const std::string dir = fmt::format("/tmp/culturegan-bench-comm-{}", getpid());
  for (int rep = 0; rep < std::max(1, o.repeats); ++rep) {
    for (int np : {1, 2}) {
      const std::string run_dir = fmt::format("{}/train-np{}-{}", dir, np, rep);
      const std::string cmd = fmt::format(
          "cd {} && OMP_NUM_THREADS=1 mpirun -np {} --oversubscribe --bind-to none -x "
          "OMP_NUM_THREADS=1 {} --config {} "
          "--set train.steps={} --set run.dir={} {}",
          o.source_dir, np, o.train_bin, o.config, o.steps, run_dir, o.extra_sets);
      if (rep == 0) r.commands += cmd + "\n";
      std::string out;
      const int rc = run(cmd, out);
      const double ips = json_number(read_file(run_dir + "/summary.json"), "images_per_second");
      if (rc != 0 || ips <= 0) {
        r.error += fmt::format(
            "culturegan-train np {} failed (exit {}, no images_per_second in {}/summary.json): "
            "{}\n",
            np, rc, run_dir, out.substr(0, 600));
      }
      double& best = np == 1 ? r.train_1 : r.train_2;
      best = std::max(best, ips);
    }
    for (int np : {1, 2}) {
      const std::string cmd = fmt::format(
          "cd {} && OMP_NUM_THREADS=1 {} bench/comm/ddp_reference.py --world-size {} --steps {} "
          "--warmup 0 --json",
          o.source_dir, o.python, np, o.steps);
      if (rep == 0) r.commands += cmd + "\n";
      std::string out;
      const int rc = run(cmd, out);
      const double ips = json_number(out, "images_per_second");
      if (rc != 0 || ips <= 0)
        r.error += fmt::format("ddp_reference.py world {} failed (exit {}): {}\n", np, rc, out);
      double& best = np == 1 ? r.ddp_1 : r.ddp_2;
      best = std::max(best, ips);
    }
  }
  std::string ignored;
  run("rm -rf " + dir, ignored);
  return r;
}

}  // namespace culturegan::bench
