// culturegan-bench-step [--json]: culturegan's training step against a Python (PyTorch)
// reference of the same step, in one run, on the same thread count and the same LibTorch/BLAS
// (issue 14). For each setting (step_settings.h: "quickstart", "paper64"):
//   * culturegan: the config culturegan-train would run, the algorithm from the factory and
//     the real trainer::run_step with a GradientReducer on a 1-rank MPI communicator
//     (culturegan_step.h), on an in-memory random batch;
//   * Python: bench/gpu/stargan_reference.py --serve with the same settings, derived from the
//     same config (python_reference.h); its parameter counts must equal culturegan's;
//   * after warm-up, `repeats` timed runs of `steps` steps each, culturegan and Python
//     alternating (and swapping who goes first) so load bursts from other jobs hit both;
//     step_vs_python = the median over repeats of culturegan ÷ Python images/s of the same
//     repeat (the two runs next to each other in time, so a change of load between repeats
//     cancels); the images/s reported are each side's median. *_cpu: the same per CPU second
//     of the process (load-independent to first order).
// FLOPs per step come from the reference's layer shapes (3 × the forward FLOPs of every
// Conv2d / ConvTranspose2d / Linear call of one step); GFLOP/s = FLOPs × steps/s, and
// fraction_of_gemm = that ÷ a 1024³ fp32 torch::mm timed between the repeats (blas_ceiling.h).
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench/step/blas_ceiling.h"
#include "bench/step/compute_threads.h"
#include "bench/step/culturegan_step.h"
#include "bench/step/python_reference.h"
#include "bench/step/step_settings.h"
#include "distributed/process_env.h"

namespace cb = culturegan::bench;

namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else if (static_cast<unsigned char>(c) >= 0x20)
      out += c;
  }
  return out;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./=:,+") == std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string json_list(const std::vector<double>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += fmt::format("{}{:.4f}", i ? ", " : "", v[i]);
  return "[" + out + "]";
}

struct SizeResult {
  std::string name, what, python_command;
  int64_t batch = 0, image_size = 0;
  int steps = 0, repeats = 0;
  std::vector<double> cg_ips, py_ips, cg_cpu_ips, py_cpu_ips, gemm;
  double flops = 0, flops_forward = 0, flops_grad_aware = 0;
  std::map<std::string, int64_t> params;
  std::vector<double> ratios() const { return paired(cg_ips, py_ips); }
  std::vector<double> cpu_ratios() const { return paired(cg_cpu_ips, py_cpu_ips); }
  static std::vector<double> paired(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> out;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) out.push_back(a[i] / b[i]);
    return out;
  }
  double cg() const { return median(cg_ips); }
  double py() const { return median(py_ips); }
  double gemm_rate() const { return median(gemm); }
  double cg_gflops() const { return flops * cg() / static_cast<double>(batch) / 1e9; }
  double py_gflops() const { return flops * py() / static_cast<double>(batch) / 1e9; }
};

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a reference that died is reported from its exit, not by SIGPIPE
  culturegan::distributed::MpiRuntime runtime(&argc, &argv);
  CLI::App app{
      "culturegan-bench-step: culturegan's training step vs a PyTorch (Python) reference of "
      "the same step, same threads, same run"};
  bool json = false;
  std::string sizes_arg = "quickstart,paper64";
  std::string source_dir = CULTUREGAN_SOURCE_DIR, python = CULTUREGAN_PYTHON;
  std::string config = "configs/quickstart.toml";
  std::vector<std::string> sets;
  int threads = 1, warmup = 2, repeats = 5, steps = 0;
  int64_t image_size = 0, batch = 0, cultures = 6;
  app.add_flag("--json", json, "print one JSON object");
  app.add_option("--sizes", sizes_arg, "comma list of settings: quickstart, paper64");
  app.add_option("--threads", threads, "intra-op threads for both sides")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed steps per side before the repeats")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--repeats", repeats, "timed runs per side (the median counts)")
      ->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "steps per timed run (0: quickstart 3, paper64 1)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--image-size", image_size, "override data.image_size (0: the setting's, 64)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", batch, "override train.batch_size (0: the setting's)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--cultures", cultures, "number of cultures (the shared corpus has 6)")
      ->check(CLI::Range(2, 1000));
  app.add_option("--set", sets, "more config overrides for both settings, key=value (TOML)");
  app.add_option("--config", config, "base config, relative to --source-dir");
  app.add_option("--source-dir", source_dir, "repository root");
  app.add_option("--python", python, "interpreter with torch for the reference");
  CLI11_PARSE(app, argc, argv);
  const auto& env = runtime.env();
  if (env.world_size != 1) {
    if (env.rank == 0)
      fmt::print(stderr, "culturegan-bench-step: run it as one process (found {} ranks)\n",
                 env.world_size);
    return 2;
  }
  std::vector<const cb::StepSize*> chosen;
  {
    std::stringstream ss(sizes_arg);
    std::string name;
    while (std::getline(ss, name, ',')) {
      const cb::StepSize* hit = nullptr;
      for (const auto& s : cb::step_sizes())
        if (s.name == name) hit = &s;
      if (!hit) {
        fmt::print(stderr,
                   "culturegan-bench-step: --sizes: unknown setting '{}' (quickstart, paper64)\n",
                   name);
        return 2;
      }
      chosen.push_back(hit);
    }
  }
  std::vector<std::string> extra = sets;
  if (image_size > 0) extra.push_back(fmt::format("data.image_size={}", image_size));
  if (batch > 0) extra.push_back(fmt::format("train.batch_size={}", batch));

  auto say = [&](const std::string& s) {
    if (!json) std::fputs(s.c_str(), stdout), std::fflush(stdout);
  };
  const cb::ThreadSetup ts = cb::setup_compute_threads(threads);
  const std::string load_before = cb::load_average();
  const cb::BlasInfo blas = cb::loaded_blas();
  std::vector<double> all_gemm{cb::gemm_gflops()};
  say(fmt::format(
      "culturegan-bench-step: {} thread(s) per side, CPUs {} (inherited {}{}), load "
      "average {}\nBLAS: libblas.so.3 -> {}; loaded {}; {}\n",
      threads, ts.cpus, ts.inherited_cpus, ts.error.empty() ? "" : "; " + ts.error, load_before,
      blas.alternative.empty() ? "?" : blas.alternative, fmt::join(blas.libraries, ", "),
      blas.openblas_config.empty() ? "no OpenBLAS" : blas.openblas_config));

  std::vector<SizeResult> results;
  std::string python_blas, python_torch, commands;
  double python_gemm = 0;
  try {
    for (const cb::StepSize* size : chosen) {
      const auto cfg = cb::size_config(*size, source_dir + "/" + config, extra);
      SizeResult r;
      r.name = size->name;
      r.what = size->what;
      r.batch = cfg.train.batch_size;
      r.image_size = cfg.data.image_size;
      r.steps = steps > 0 ? steps : size->default_steps;
      r.repeats = repeats;
      std::vector<std::string> py_argv{python, source_dir + "/bench/gpu/stargan_reference.py"};
      for (auto& a : cb::reference_arguments(cfg, cultures, threads, warmup)) py_argv.push_back(a);
      r.python_command =
          fmt::format("OMP_NUM_THREADS={0} OPENBLAS_NUM_THREADS={0} MKL_NUM_THREADS={0}", threads);
      for (const auto& a : py_argv) r.python_command += " " + shell_quote(a);
      commands += r.python_command + "\n";
      say(
          fmt::format("[{}] {}: building culturegan's step and starting the reference ({} warm-up "
                      "steps each)...\n",
                      r.name, r.what, warmup));
      cb::CulturganStep cg(cfg, cultures, env);
      cb::PythonReference py(py_argv, cb::child_environment(threads));
      cg.run(warmup);
      r.params = cg.parameter_counts();
      for (const auto& [net, n] : r.params)
        if (static_cast<int64_t>(py.number("parameters." + net)) != n)
          throw cb::ReferenceError(fmt::format(
              "{}: the reference's {} has {} parameters, culturegan's {}: not the same layers",
              r.name, net, static_cast<int64_t>(py.number("parameters." + net)), n));
      r.flops = py.number("flops_per_step");
      r.flops_forward = py.number("flops_forward_per_step");
      r.flops_grad_aware = py.number("flops_grad_aware_per_step");
      python_gemm = py.number("gemm_gflops");
      python_blas = cb::json_string(py.setup(), "blas");
      python_torch = cb::json_string(py.setup(), "torch");
      const double images = static_cast<double>(r.batch * r.steps);
      for (int rep = 0; rep < repeats; ++rep) {
        for (int side = 0; side < 2; ++side) {
          if ((side == 0) == (rep % 2 == 0)) {
            const auto t = cg.run(r.steps);
            r.cg_ips.push_back(images / t.seconds);
            r.cg_cpu_ips.push_back(images / t.cpu_seconds);
          } else {
            const auto t = py.run(r.steps);
            r.py_ips.push_back(images / t.seconds);
            r.py_cpu_ips.push_back(images / t.cpu_seconds);
          }
        }
        r.gemm.push_back(cb::gemm_gflops());
        say(
            fmt::format("  repeat {}/{}: culturegan {:.3f} images/s, Python {:.3f} images/s, "
                        "GEMM {:.1f} GFLOP/s\n",
                        rep + 1, repeats, r.cg_ips.back(), r.py_ips.back(), r.gemm.back()));
      }
      all_gemm.insert(all_gemm.end(), r.gemm.begin(), r.gemm.end());
      results.push_back(std::move(r));
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "culturegan-bench-step: {}\n", e.what());
    return 1;
  }
  const std::string load_after = cb::load_average();
  const double gemm = median(all_gemm);

  if (!json) {
    fmt::print(
        "\nfp32 GEMM 1024^3 on {} thread(s): {:.1f} GFLOP/s (median of {} in this "
        "process), {:.1f} in the reference's\n",
        threads, gemm, all_gemm.size(), python_gemm);
    fmt::print("{:<11} {:>5} {:>12} {:>12} {:>8} {:>10} {:>9} {:>9} {:>8} {:>8}\n", "setting",
               "batch", "culturegan", "Python", "step_vs", "GFLOP", "cg", "py", "cg/GEMM",
               "py/GEMM");
    fmt::print("{:<11} {:>5} {:>12} {:>12} {:>8} {:>10} {:>9} {:>9} {:>8} {:>8}\n", "", "",
               "images/s", "images/s", "_python", "/step", "GFLOP/s", "GFLOP/s", "", "");
    for (const auto& r : results)
      fmt::print(
          "{:<11} {:>5} {:>12.3f} {:>12.3f} {:>8.3f} {:>10.2f} {:>9.2f} {:>9.2f} {:>8.3f} "
          "{:>8.3f}\n",
          r.name, r.batch, r.cg(), r.py(), median(r.ratios()), r.flops / 1e9, r.cg_gflops(),
          r.py_gflops(), r.cg_gflops() / r.gemm_rate(), r.py_gflops() / r.gemm_rate());
    fmt::print("per CPU second (load-independent): ");
    for (const auto& r : results)
      fmt::print("{} culturegan {:.3f}, Python {:.3f} images/CPU-s (ratio {:.3f}); ", r.name,
                 median(r.cg_cpu_ips), median(r.py_cpu_ips), median(r.cpu_ratios()));
    fmt::print(
        "\nFLOPs: 3 x the forward FLOPs of every Conv2d/ConvTranspose2d/Linear call of "
        "one step (reference's layer shapes); load average after: {}\ncommands:\n{}",
        load_after, commands);
    return 0;
  }
  std::string per_size;
  for (const auto& r : results) {
    std::string params;
    for (const auto& [net, n] : r.params)
      params += fmt::format("{}\"{}\": {}", params.empty() ? "" : ", ", net, n);
    per_size += fmt::format(
        "{}\"{}\": {{\"what\": \"{}\", \"batch\": {}, \"image_size\": {}, \"steps\": {}, "
        "\"repeats\": {}, \"culturegan_images_per_second\": {:.4f}, "
        "\"python_images_per_second\": {:.4f}, \"step_vs_python\": {:.4f}, "
        "\"step_vs_python_of_medians\": {:.4f}, \"step_vs_python_repeats\": {}, "
        "\"flops_per_step\": {:.0f}, \"flops_forward_per_step\": {:.0f}, "
        "\"flops_grad_aware_per_step\": {:.0f}, \"culturegan_gflops\": {:.4f}, "
        "\"python_gflops\": {:.4f}, \"gemm_gflops\": {:.4f}, \"fraction_of_gemm_culturegan\": "
        "{:.4f}, \"fraction_of_gemm_python\": {:.4f}, "
        "\"culturegan_images_per_cpu_second\": {:.4f}, \"python_images_per_cpu_second\": {:.4f}, "
        "\"step_vs_python_cpu\": {:.4f}, \"culturegan_repeats_images_per_second\": {}, "
        "\"python_repeats_images_per_second\": {}, \"parameters\": {{{}}}, "
        "\"python_command\": \"{}\"}}",
        per_size.empty() ? "" : ", ", r.name, json_escape(r.what), r.batch, r.image_size, r.steps,
        r.repeats, r.cg(), r.py(), median(r.ratios()), r.cg() / r.py(), json_list(r.ratios()),
        r.flops, r.flops_forward, r.flops_grad_aware, r.cg_gflops(), r.py_gflops(), r.gemm_rate(),
        r.cg_gflops() / r.gemm_rate(), r.py_gflops() / r.gemm_rate(), median(r.cg_cpu_ips),
        median(r.py_cpu_ips), median(r.cpu_ratios()), json_list(r.cg_ips), json_list(r.py_ips),
        params, json_escape(r.python_command));
  }
  std::vector<std::string> quoted;
  for (const auto& l : blas.libraries) quoted.push_back("\"" + json_escape(l) + "\"");
  fmt::print(
      "{{\"sizes\": {{{}}}, \"gemm_gflops\": {:.4f}, \"python_gemm_gflops\": {:.4f}, "
      "\"blas\": {{\"alternative\": \"{}\", \"libraries\": [{}], \"openblas_config\": \"{}\", "
      "\"python_libraries\": \"{}\"}}, \"threads\": {}, \"openblas_threads\": {}, \"cpus\": "
      "\"{}\", \"inherited_cpus\": \"{}\", \"python_torch\": \"{}\", \"load_average_before\": "
      "\"{}\", \"load_average_after\": \"{}\", \"flops_method\": \"3 x forward FLOPs (2 x MACs "
      "from the layer shapes) of every Conv2d, ConvTranspose2d and Linear call of one step\", "
      "\"commands\": \"{}\"}}\n",
      per_size, gemm, python_gemm, json_escape(blas.alternative), fmt::join(quoted, ", "),
      json_escape(blas.openblas_config), json_escape(python_blas), threads, ts.openblas_threads,
      ts.cpus, ts.inherited_cpus, json_escape(python_torch), load_before, load_after,
      json_escape(commands));
  return 0;
}
