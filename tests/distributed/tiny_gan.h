// A tiny StarGAN-style GAN for the distributed tests (distributed/ must not depend on
// trainer/): G(x, c) with instance norm, D(x) -> (source logit map, class logits), and the
// three phases of a real GAN step:
//   D_main: adversarial loss on real and on G(x).detach() (two backward calls) + class loss
//   D_reg:  R1 penalty on real images (double backward)
//   G_main: adversarial + class loss on G(x, c') and a cycle term through G twice,
//           |G(G(x, c'), c) - x|
// Every loss is a mean over the batch, so N ranks x batch b average to 1 rank x batch N*b.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/torch_compat.h"

namespace culturegan::distributed::testing {

constexpr int kDomains = 3;
constexpr int kSize = 16;

struct TinyGImpl : torch::nn::Module {
  TinyGImpl()
      : c1(register_module(
            "c1", torch::nn::Conv2d(
                      torch::nn::Conv2dOptions(3 + kDomains, 16, 3).padding(1).bias(false)))),
        n1(register_module(
            "n1", torch::nn::InstanceNorm2d(torch::nn::InstanceNorm2dOptions(16).affine(true)))),
        c2(register_module("c2",
                           torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 16, 3).padding(1)))),
        c3(register_module("c3",
                           torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 3, 3).padding(1)))) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c) {
    auto maps =
        c.view({c.size(0), kDomains, 1, 1}).expand({c.size(0), kDomains, x.size(2), x.size(3)});
    auto h = torch::relu(n1(c1(torch::cat({x, maps}, 1))));
    h = torch::relu(c2(h)) + h;
    return torch::tanh(c3(h));
  }
  torch::nn::Conv2d c1;
  torch::nn::InstanceNorm2d n1;
  torch::nn::Conv2d c2, c3;
};
TORCH_MODULE(TinyG);

struct TinyDImpl : torch::nn::Module {
  TinyDImpl()
      : c1(register_module(
            "c1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 16, 4).stride(2).padding(1)))),
        c2(register_module(
            "c2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 4).stride(2).padding(1)))),
        src(register_module("src",
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 1, 3).padding(1)))),
        cls(register_module("cls", torch::nn::Linear(32 * 4 * 4, kDomains))) {}
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    auto h = torch::leaky_relu(c1(x), 0.01);
    h = torch::leaky_relu(c2(h), 0.01);
    return {src(h), cls(h.flatten(1))};
  }
  torch::nn::Conv2d c1, c2, src;
  torch::nn::Linear cls;
};
TORCH_MODULE(TinyD);

/// The global batch of `step`: images [n,3,16,16] in [-1,1], source and target labels [n].
struct TinyBatch {
  torch::Tensor x, c_org, c_trg;
  TinyBatch slice(int64_t begin, int64_t len) const {
    return {x.narrow(0, begin, len), c_org.narrow(0, begin, len), c_trg.narrow(0, begin, len)};
  }
};
inline TinyBatch make_batch(int64_t step, int64_t n) {
  auto gen = at::detail::createCPUGenerator(1000 + step);
  TinyBatch b;
  b.x = torch::rand({n, 3, kSize, kSize}, gen) * 2 - 1;
  b.c_org = torch::randint(kDomains, {n}, gen, torch::kLong);
  b.c_trg = (b.c_org + 1 + torch::randint(kDomains - 1, {n}, gen, torch::kLong)) % kDomains;
  return b;
}

/// Hooks around each phase's backward: begin(phase) before, finish(phase) after.
struct PhaseHooks {
  std::function<void(const std::string&)> begin = [](const std::string&) {};
  std::function<void(const std::string&)> finish = [](const std::string&) {};
  std::function<void(const std::string&)> backward_returned = [](const std::string&) {};
};

/// Adam, as the trainer uses, makes the first update lr*sign(g): a gradient element that is
/// zero up to rounding (1e-7 relative in float32) can flip sign between 1 x N*b and N x b,
/// which no reducer can prevent. So the Adam runs are float64; float32 runs use SGD.
struct TinyGan {
  TinyG g;
  TinyD d;
  torch::ScalarType dtype;
  std::unique_ptr<torch::optim::Optimizer> g_opt, d_opt;
  explicit TinyGan(uint64_t seed, torch::ScalarType dt = torch::kDouble, bool adam = true)
      : g((torch::manual_seed(seed), TinyG())), d(TinyD()), dtype(dt) {
    g->to(dtype);
    d->to(dtype);
    if (adam) {
      g_opt = std::make_unique<torch::optim::Adam>(
          g->parameters(), torch::optim::AdamOptions(1e-3).betas({0.5, 0.999}));
      d_opt = std::make_unique<torch::optim::Adam>(
          d->parameters(), torch::optim::AdamOptions(1e-3).betas({0.5, 0.999}));
    } else {
      g_opt = std::make_unique<torch::optim::SGD>(g->parameters(),
                                                  torch::optim::SGDOptions(1e-2).momentum(0.9));
      d_opt = std::make_unique<torch::optim::SGD>(d->parameters(),
                                                  torch::optim::SGDOptions(1e-2).momentum(0.9));
    }
  }

  torch::Tensor onehot(const torch::Tensor& c) const {
    return torch::one_hot(c, kDomains).to(dtype);
  }

  /// One GAN step on `batch` (this rank's share). Returns nothing; weights change.
  void step(const TinyBatch& in, PhaseHooks& hooks, bool r1 = true) {
    const TinyBatch batch{in.x.to(dtype), in.c_org, in.c_trg};
    const auto ct = onehot(batch.c_trg), co = onehot(batch.c_org);
    // D_main: two backward calls, the case PyTorch DDP cannot handle.
    compat::zero_grad(*d_opt);
    hooks.begin("D_main");
    {
      auto [src_real, cls_real] = d(batch.x);
      auto loss_real =
          -src_real.mean() + torch::nn::functional::cross_entropy(cls_real, batch.c_org);
      loss_real.backward();
      torch::Tensor fake;
      {
        torch::NoGradGuard ng;
        fake = g(batch.x, ct);
      }
      auto src_fake = d(fake).first;
      auto loss_fake = src_fake.mean();
      loss_fake.backward();
    }
    hooks.backward_returned("D_main");
    hooks.finish("D_main");
    d_opt->step();
    if (r1) {  // D_reg: R1 penalty, double backward; shares D's parameters with D_main
      compat::zero_grad(*d_opt);
      hooks.begin("D_reg");
      auto x = batch.x.detach().requires_grad_(true);
      auto out = d(x).first.sum();
      auto grad = torch::autograd::grad({out}, {x}, {}, true, true)[0];
      auto penalty = 5.0 * grad.pow(2).sum({1, 2, 3}).mean();
      penalty.backward();
      hooks.backward_returned("D_reg");
      hooks.finish("D_reg");
      d_opt->step();
    }
    // G_main: G used twice (cycle); D gets gradients too but is not in this phase.
    compat::zero_grad(*g_opt);
    hooks.begin("G_main");
    {
      auto fake = g(batch.x, ct);
      auto [src_fake, cls_fake] = d(fake);
      auto rec = g(fake, co);
      auto loss = -src_fake.mean() + torch::nn::functional::cross_entropy(cls_fake, batch.c_trg) +
                  10.0 * (rec - batch.x).abs().mean();
      loss.backward();
    }
    hooks.backward_returned("G_main");
    hooks.finish("G_main");
    g_opt->step();
  }

  std::vector<std::pair<std::string, torch::Tensor>> named_tensors() {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (auto& p : g->named_parameters()) out.emplace_back("G." + p.key(), p.value());
    for (auto& p : d->named_parameters()) out.emplace_back("D." + p.key(), p.value());
    return out;
  }
};

}  // namespace culturegan::distributed::testing
