// culturegan-torch-compat-probe: every wrapper of common/torch_compat.h against the LibTorch it
// was built with (1.13 in the main suite's build, 2.6 in scripts/check-libtorch2.sh's trixie
// root, the device machine's 2.x with CUDA in bench/gpu/device-check.sh). Prints the version.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include <torch/torch.h>

#include "common/torch_compat.h"

namespace compat = culturegan::compat;

namespace {

TEST(TorchCompat, Version) {
  std::printf("[ version  ] LibTorch %s, CUDA %s\n", compat::torch_version().c_str(),
              torch::cuda::is_available() ? "available" : "not available");
  EXPECT_EQ(compat::torch_version().rfind(std::to_string(TORCH_VERSION_MAJOR) + ".", 0), 0u);
  EXPECT_EQ(CULTUREGAN_TORCH_AT_LEAST(1, 13), true);
  EXPECT_EQ(CULTUREGAN_TORCH_AT_LEAST(TORCH_VERSION_MAJOR + 1, 0), false);
}

TEST(TorchCompat, Optional) {
  compat::optional<int64_t> none = compat::nullopt, some = 3;
  EXPECT_FALSE(none.has_value());
  EXPECT_EQ(some.value(), 3);
  // A LibTorch signature that takes the optional type.
  auto t = torch::arange(6, torch::kFloat).view({2, 3});
  EXPECT_TRUE(torch::equal(torch::argmax(t, compat::optional<int64_t>(1)),
                           torch::tensor({2, 2}, torch::kLong)));
}

TEST(TorchCompat, OptimizerStateKeyFindsAdamState) {
  torch::manual_seed(0);
  torch::nn::Linear lin(4, 2);
  torch::optim::Adam opt(lin->parameters(), torch::optim::AdamOptions(1e-2));
  for (auto& p : lin->parameters())
    EXPECT_EQ(opt.state().find(compat::optimizer_state_key(p)), opt.state().end());
  lin->forward(torch::randn({8, 4})).pow(2).sum().backward();
  opt.step();
  for (auto& p : lin->parameters()) {
    auto it = opt.state().find(compat::optimizer_state_key(p));
    ASSERT_NE(it, opt.state().end());
    auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
    EXPECT_EQ(s.step(), 1);
    EXPECT_EQ(s.exp_avg().sizes(), p.sizes());
  }
}

void check_autocast(c10::DeviceType type, const torch::Device& dev) {
  const auto a = torch::randn({8, 8}, torch::TensorOptions().device(dev));
  const bool was = compat::autocast_enabled(type);
  EXPECT_FALSE(was);
  EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kFloat);
  {
    compat::AutocastGuard guard(type, torch::kBFloat16);
    EXPECT_TRUE(compat::autocast_enabled(type));
    EXPECT_EQ(compat::autocast_dtype(type), torch::kBFloat16);
    EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kBFloat16) << "mm under autocast";
    {
      compat::AutocastGuard off(type, torch::kBFloat16, /*enabled=*/false);
      EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kFloat) << "mm with autocast disabled";
    }
    EXPECT_TRUE(compat::autocast_enabled(type));
  }
  EXPECT_FALSE(compat::autocast_enabled(type));
  EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kFloat);
}

TEST(TorchCompat, AutocastGuardCpu) { check_autocast(c10::DeviceType::CPU, torch::kCPU); }

TEST(TorchCompat, AutocastGuardCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  check_autocast(c10::DeviceType::CUDA, torch::Device(torch::kCUDA, 0));
}

TEST(TorchCompat, SerialisationRoundTrips) {
  // torch::pickle_save / pickle_load (generator bundles) and torch::serialize archives
  // (checkpoints) keep their C++ signatures across 1.13 and 2.x.
  c10::Dict<std::string, torch::Tensor> d;
  d.insert("w", torch::arange(5, torch::kFloat));
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(d));
  const auto back = torch::pickle_load(bytes).toGenericDict();
  EXPECT_TRUE(torch::equal(back.at("w").toTensor(), torch::arange(5, torch::kFloat)));

  torch::serialize::OutputArchive out;
  out.write("x", torch::ones({2, 2}));
  std::ostringstream os;
  out.save_to(os);
  torch::serialize::InputArchive in;
  std::istringstream is(os.str());
  in.load_from(is);
  torch::Tensor x;
  in.read("x", x);
  EXPECT_TRUE(torch::equal(x, torch::ones({2, 2})));
}

}  // namespace
