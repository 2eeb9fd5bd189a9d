// ckpt_tool: test helper.
//   ckpt_tool bundle BUNDLE          loads a generator bundle with the C++ reader (format,
//       version, checksum verified); prints "weight NAME NUMEL FIRST LAST" per tensor with the
//       values as %a hex floats, so Python can compare them bit for bit.
//   ckpt_tool compare DIR_A DIR_B CULTURES
//       loads two checkpoints (model built from DIR_A/config.toml with CULTURES cultures) and
//       compares every module tensor, every Adam state (exp_avg, exp_avg_sq, step, matched by
//       parameter order: the archives key them by memory address, so their bytes differ from
//       run to run) and the RNG state. Prints "max_abs_diff X" and "IDENTICAL" when bitwise
//       equal, and "mean_abs_diff_weights X" over the module tensors. Exit 0, or 1 on an error.
#include <cstdio>
#include <cstdlib>

#include <torch/torch.h>

#include "common/torch_compat.h"
#include "models/bundle.h"
#include "trainer/algorithms/stargan.h"
#include "trainer/checkpoint.h"
#include "trainer/config.h"

using namespace culturegan;

namespace {

int bundle(const char* path) {
  const auto b = models::load_bundle(path);
  std::printf("cultures");
  for (const auto& c : b.cultures) std::printf(" %s", c.c_str());
  std::printf("\nimage_size %lld\n", static_cast<long long>(b.image_size()));
  for (const auto& [name, t] : b.weights) {
    auto flat = t.contiguous().view(-1);
    std::printf("weight %s %lld %a %a\n", name.c_str(), static_cast<long long>(flat.numel()),
                static_cast<double>(flat[0].item<float>()),
                static_cast<double>(flat[-1].item<float>()));
  }
  return 0;
}

std::vector<torch::Tensor> state_tensors(trainer::StarGanAlgorithm& a) {
  std::vector<torch::Tensor> out;
  for (auto& [n, m] : a.modules()) {
    for (auto& p : m->parameters()) out.push_back(p.detach());
    for (auto& b : m->buffers()) out.push_back(b.detach());
  }
  for (auto& [n, opt] : a.optimizers()) {
    for (auto& group : opt->param_groups())
      for (auto& p : group.params()) {
        auto it = opt->state().find(compat::optimizer_state_key(p));
        if (it == opt->state().end()) {
          out.push_back(torch::full({1}, -1.0));
          continue;
        }
        auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
        out.push_back(s.exp_avg());
        out.push_back(s.exp_avg_sq());
        out.push_back(torch::full({1}, static_cast<double>(s.step()), torch::kDouble));
      }
  }
  return out;
}

int compare(const std::string& a_dir, const std::string& b_dir, int64_t cultures) {
  const trainer::Config cfg = trainer::load_config(a_dir + "/config.toml");
  trainer::Checkpointer ck(a_dir + "/..", 1);
  torch::manual_seed(0);
  trainer::StarGanAlgorithm a(cfg, cultures, torch::kCPU), b(cfg, cultures, torch::kCPU);
  ck.load(a_dir, a);
  const auto rng_a = torch::rand({16});
  ck.load(b_dir, b);
  const auto rng_b = torch::rand({16});
  const auto ta = state_tensors(a), tb = state_tensors(b);
  if (ta.size() != tb.size()) throw std::runtime_error("different numbers of tensors");
  double worst = 0, sum_abs = 0;
  int64_t count = 0;
  size_t n_module = 0;
  for (auto& [n, m] : a.modules()) n_module += m->parameters().size() + m->buffers().size();
  bool identical = torch::equal(rng_a, rng_b);
  if (!identical) std::printf("rng differs\n");
  for (size_t i = 0; i < ta.size(); ++i) {
    if (!ta[i].sizes().equals(tb[i].sizes())) throw std::runtime_error("tensor shapes differ");
    if (!torch::isfinite(ta[i]).all().item<bool>())
      throw std::runtime_error("non-finite tensor in " + a_dir);
    if (!torch::equal(ta[i], tb[i])) identical = false;
    const auto d = (ta[i].to(torch::kDouble) - tb[i].to(torch::kDouble)).abs();
    worst = std::max(worst, d.max().item<double>());
    if (i < n_module) {
      sum_abs += d.sum().item<double>();
      count += d.numel();
    }
  }
  std::printf("tensors %zu\nmax_abs_diff %.6g\nmean_abs_diff_weights %.6g\n%s\n", ta.size(), worst,
              count ? sum_abs / count : 0.0, identical ? "IDENTICAL" : "DIFFERENT");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "bundle" && argc == 3) return bundle(argv[2]);
    if (cmd == "compare" && argc == 5) return compare(argv[2], argv[3], std::atoll(argv[4]));
    std::fprintf(stderr, "usage: ckpt_tool bundle BUNDLE | compare DIR_A DIR_B CULTURES\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckpt_tool: %s\n", e.what());
    return 1;
  }
}
