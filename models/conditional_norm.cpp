#include "models/conditional_norm.h"

#include <cmath>

#include "models/norm_stats.h"

namespace culturegan::models {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

ConditionalInstanceNorm2dImpl::ConditionalInstanceNorm2dImpl(int64_t channels, int64_t embed_dim)
    : channels_(channels), embed_dim_(embed_dim) {
  fc = register_module("fc", nn::Linear(embed_dim, 2 * channels));
  torch::NoGradGuard no_grad;
  fc->weight.normal_(0.0, 0.1 / std::sqrt(static_cast<double>(embed_dim)));
  fc->bias.zero_();
}

torch::Tensor ConditionalInstanceNorm2dImpl::forward(const torch::Tensor& x,
                                                     const torch::Tensor& e) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == channels_, "ConditionalInstanceNorm2d: x must be [N,",
              channels_, ",H,W], got ", x.sizes());
  TORCH_CHECK(e.dim() == 2 && e.size(0) == x.size(0) && e.size(1) == embed_dim_,
              "ConditionalInstanceNorm2d: e must be [", x.size(0), ",", embed_dim_, "], got ",
              e.sizes());
  auto gb = fc->forward(e).view({x.size(0), 2 * channels_, 1, 1}).chunk(2, 1);
  auto h = instance_norm_2d(x, 1e-5);  // F::instance_norm unless a NormStatsScope is open
  return h * (1 + gb[0]) + gb[1];
}

}  // namespace culturegan::models
