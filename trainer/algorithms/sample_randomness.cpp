#include "trainer/algorithms/sample_randomness.h"

#include <ATen/CPUGeneratorImpl.h>

#include "common/device_copy.h"

namespace culturegan::trainer {

uint64_t counter_hash(uint64_t seed, uint64_t step, uint64_t index, uint64_t stream) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull ^
               (step + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^
               (index + 0x8CB92BA72F3D8DD7ull) * 0x94D049BB133111EBull ^ stream;
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double counter_uniform(uint64_t seed, uint64_t step, uint64_t index, uint64_t stream) {
  return static_cast<double>(counter_hash(seed, step, index, stream) >> 11) *
         (1.0 / 9007199254740992.0);
}

torch::Tensor batch_uniform(const StepInput& in, uint64_t stream) {
  const int64_t b = in.images.size(0);
  auto out = torch::empty({b}, torch::kFloat);
  auto* p = out.data_ptr<float>();
  for (int64_t i = 0; i < b; ++i)
    p[i] = static_cast<float>(counter_uniform(in.seed, static_cast<uint64_t>(in.step),
                                              static_cast<uint64_t>(in.global_offset + i), stream));
  return common::to_device_async(out, in.images.device());
}

torch::Tensor counter_noise(const StepInput& in, int64_t z_dim, uint64_t stream) {
  const int64_t b = in.images.size(0);
  auto z = torch::empty({b, z_dim}, torch::kFloat);
  for (int64_t i = 0; i < b; ++i) {
    auto gen = at::detail::createCPUGenerator(
        counter_hash(in.seed, static_cast<uint64_t>(in.step),
                     static_cast<uint64_t>(in.global_offset + i), stream));
    z[i].copy_(at::randn({z_dim}, gen));
  }
  return common::to_device_async(z, in.images.device());
}

torch::Tensor target_labels(const StepInput& in, int64_t num_cultures) {
  const int64_t b = in.labels.size(0);
  // The host copy when the trainer gave one: no device-to-host read inside the step.
  auto labels = (in.host_labels.defined() ? in.host_labels : in.labels)
                    .to(torch::kCPU, torch::kLong)
                    .contiguous();
  auto out = torch::empty({b}, torch::kLong);
  const int64_t* src = labels.data_ptr<int64_t>();
  int64_t* dst = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < b; ++i) {
    const uint64_t h = counter_hash(in.seed, static_cast<uint64_t>(in.step),
                                    static_cast<uint64_t>(in.global_offset + i), /*stream=*/1);
    if (num_cultures <= 1) {
      dst[i] = 0;
    } else {
      const int64_t shift = 1 + static_cast<int64_t>(h % static_cast<uint64_t>(num_cultures - 1));
      dst[i] = (src[i] + shift) % num_cultures;
    }
  }
  return common::to_device_async(out, in.labels.device());
}

}  // namespace culturegan::trainer
