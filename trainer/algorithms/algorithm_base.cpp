#include "trainer/algorithms/algorithm_base.h"

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "models/memory_format.h"
#include "trainer/algorithms/ema.h"
#include "trainer/algorithms/regularizers.h"

namespace culturegan::trainer {
namespace {

bool contains(const std::vector<torch::Tensor>& ts, const torch::Tensor& t) {
  for (const auto& x : ts)
    if (x.is_same(t)) return true;
  return false;
}

// "G.encoder" matches "G.encoder" and "G.encoder.*".
bool matches(const std::string& entry, const std::string& full) {
  return full == entry || (full.size() > entry.size() &&
                           full.compare(0, entry.size(), entry) == 0 && full[entry.size()] == '.');
}

}  // namespace

double lazy_regularization_ratio(const Config& cfg) {
  if (cfg.loss.r1_gamma <= 0) return 1.0;
  const double k = static_cast<double>(cfg.loss.r1_interval);
  return k / (k + 1.0);
}

AlgorithmBase::AlgorithmBase(const Config& cfg) : cfg_(cfg) {}

void AlgorithmBase::track(const std::string& name, std::shared_ptr<torch::nn::Module> module,
                          torch::Device device) {
  module->to(device);
  if (cfg_.train.channels_last)
    models::to_memory_format(*module, torch::MemoryFormat::ChannelsLast);
  modules_.emplace_back(name, std::move(module));
}

void AlgorithmBase::track_ema(std::shared_ptr<torch::nn::Module> ema,
                              std::shared_ptr<torch::nn::Module> model) {
  copy_weights(*ema, *model);
  for (auto& p : ema->parameters()) p.set_requires_grad(false);
  emas_.emplace_back(std::move(ema), std::move(model));
}

std::vector<torch::Tensor> AlgorithmBase::trainable_parameters(
    const torch::nn::Module& module) const {
  std::vector<torch::Tensor> out;
  for (auto& p : module.parameters())
    if (!contains(frozen_, p)) out.push_back(p);
  return out;
}

// train.freeze → frozen_ (requires_grad off). Every entry must match a parameter of `nets`.
void AlgorithmBase::apply_freeze(const std::vector<std::shared_ptr<torch::nn::Module>>& nets) {
  std::vector<std::pair<std::string, torch::Tensor>> named;  // "<module>.<param>"
  std::set<std::string> roots;                               // "<module>.<first part>"
  for (const auto& [name, m] : modules_) {
    bool trained = false;
    for (const auto& n : nets) trained = trained || n.get() == m.get();
    if (!trained) continue;
    for (const auto& p : m->named_parameters()) {
      named.emplace_back(name + "." + p.key(), p.value());
      roots.insert(name + "." + p.key().substr(0, p.key().find('.')));
    }
  }
  for (const auto& entry : cfg_.train.freeze) {
    int hits = 0;
    for (auto& [full, t] : named)
      if (matches(entry, full)) {
        ++hits;
        if (!contains(frozen_, t)) frozen_.push_back(t);
      }
    if (hits == 0)
      throw ConfigError(fmt::format(
          "key 'train.freeze': \"{}\" names no trained parameter; expected a network or a "
          "part of one: {}",
          entry, fmt::join(roots, ", ")));
  }
  for (auto& t : frozen_) t.set_requires_grad(false);
}

void AlgorithmBase::build(const std::vector<std::shared_ptr<torch::nn::Module>>& d_nets,
                          const std::vector<std::shared_ptr<torch::nn::Module>>& g_nets,
                          Losses losses) {
  const auto& o = cfg_.optim;
  const double ratio = lazy_regularization_ratio(cfg_);
  d_lr_ = o.d_lr * ratio;
  std::vector<std::shared_ptr<torch::nn::Module>> all = d_nets;
  all.insert(all.end(), g_nets.begin(), g_nets.end());
  apply_freeze(all);
  auto params_of = [this](const std::vector<std::shared_ptr<torch::nn::Module>>& nets) {
    std::vector<torch::Tensor> out;
    for (const auto& m : nets)
      for (auto& p : trainable_parameters(*m)) out.push_back(p);
    return out;
  };
  const auto d_params = params_of(d_nets), g_params = params_of(g_nets);
  opt_g_ = std::make_unique<torch::optim::Adam>(
      g_params, torch::optim::AdamOptions(o.g_lr).betas(std::make_tuple(o.beta1, o.beta2)));
  opt_d_ = std::make_unique<torch::optim::Adam>(
      d_params, torch::optim::AdamOptions(d_lr_).betas(
                    std::make_tuple(std::pow(o.beta1, ratio), std::pow(o.beta2, ratio))));
  const int64_t steps = cfg_.train.steps, decay = o.decay_start;
  auto scheduled = [steps, decay](torch::optim::Optimizer* opt, double base,
                                  std::function<LossTerms(const StepInput&)> loss) {
    return [=](const StepInput& in) {
      set_lr(*opt, decayed_lr(base, in.step, steps, decay));
      return loss(in);
    };
  };
  if (!d_params.empty())
    phases_.push_back(Phase{"D_main", 1, d_params, opt_d_.get(),
                            scheduled(opt_d_.get(), d_lr_, std::move(losses.d_main)), g_params});
  if (cfg_.loss.r1_gamma > 0 && !d_params.empty()) {
    const double gain = 0.5 * cfg_.loss.r1_gamma * static_cast<double>(cfg_.loss.r1_interval);
    auto r1 = std::move(losses.r1);
    phases_.push_back(Phase{"D_reg", cfg_.loss.r1_interval, d_params, opt_d_.get(),
                            [gain, r1](const StepInput& in) {
                              const torch::Tensor penalty = r1(in);
                              LossTerms out;
                              out.total = gain * penalty;
                              out.terms.emplace_back("r1", penalty);
                              return out;
                            },
                            g_params});
  }
  if (!g_params.empty())
    phases_.push_back(Phase{"G_main", o.n_critic, g_params, opt_g_.get(),
                            scheduled(opt_g_.get(), o.g_lr, std::move(losses.g_main)), d_params});
}

void AlgorithmBase::after_step(int64_t step) {
  if (emas_.empty() || step % cfg_.optim.n_critic != 0) return;
  const double beta = ema_beta_at(cfg_.train.ema_beta, step);
  for (auto& [ema, model] : emas_) ema_update(*ema, *model, beta);
}

std::vector<std::pair<std::string, torch::optim::Optimizer*>> AlgorithmBase::optimizers() {
  return {{"optim_G", opt_g_.get()}, {"optim_D", opt_d_.get()}};
}

}  // namespace culturegan::trainer
