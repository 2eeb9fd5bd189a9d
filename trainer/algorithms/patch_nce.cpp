#include "trainer/algorithms/patch_nce.h"

#include <ATen/CPUGeneratorImpl.h>

#include <string>
#include <utility>

namespace culturegan::trainer {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Reduced-precision inputs are computed in float32; float32/float64 stay as they are.
torch::Tensor upcast(const torch::Tensor& t) {
  const auto s = t.scalar_type();
  return (s == torch::kHalf || s == torch::kBFloat16) ? t.to(torch::kFloat) : t;
}

// CUT's Normalize(2): x / (‖x‖₂ + 1e-7) along the last dimension, with ‖x‖₂ taken as
// sqrt(Σx² + 1e-30) so that its gradient stays finite at x = 0 (sqrt's is infinite there: a
// projected patch of all zeros, common after ReLU at small widths, made the heads NaN after one
// step). The value is CUT's to float precision (1e-30 matters only for ‖x‖ < 1e-14).
torch::Tensor l2_normalise(const torch::Tensor& x) {
  return x / ((x.pow(2).sum(-1, /*keepdim=*/true) + 1e-30).sqrt() + 1e-7);
}

// f [N,C,H,W], ids [S] or [N,S] → [N,S,C].
torch::Tensor gather_patches(const torch::Tensor& f, const torch::Tensor& ids) {
  const auto flat = f.flatten(2);  // [N,C,H·W], index y·W + x
  torch::Tensor sel;
  if (ids.dim() == 1) {
    sel = flat.index_select(2, ids);
  } else {
    sel = flat.gather(2, ids.unsqueeze(1).expand({f.size(0), f.size(1), ids.size(1)}));
  }
  return sel.permute({0, 2, 1});
}

}  // namespace

PatchNceHeadImpl::PatchNceHeadImpl(std::vector<int64_t> channels, int64_t dim)
    : channels_(std::move(channels)), dim_(dim) {
  TORCH_CHECK(!channels_.empty(), "PatchNceHead: needs the channel count of at least one layer");
  TORCH_CHECK(dim_ >= 1, "PatchNceHead: projection dim must be >= 1, got ", dim_);
  for (size_t l = 0; l < channels_.size(); ++l) {
    TORCH_CHECK(channels_[l] >= 1, "PatchNceHead: layer ", l, " has channel count ", channels_[l],
                " (must be >= 1)");
    auto mlp = torch::nn::Sequential(torch::nn::Linear(channels_[l], dim_), torch::nn::ReLU(),
                                     torch::nn::Linear(dim_, dim_));
    for (auto& p : mlp->named_parameters()) {
      torch::NoGradGuard no_grad;
      if (p.key().find("weight") != std::string::npos) {
        torch::nn::init::xavier_normal_(p.value(), 0.02);
      } else {
        torch::nn::init::zeros_(p.value());
      }
    }
    mlps_.push_back(register_module("mlp_" + std::to_string(l), mlp));
  }
}

torch::Tensor PatchNceHeadImpl::forward(int64_t layer, const torch::Tensor& x) {
  TORCH_CHECK(layer >= 0 && layer < num_layers(), "PatchNceHead: layer ", layer,
              " out of range [0, ", num_layers(), ")");
  TORCH_CHECK(x.dim() == 2 && x.size(1) == channels_[layer], "PatchNceHead: layer ", layer,
              " expects [M, ", channels_[layer], "] features, got ", x.sizes());
  return mlps_[layer]->forward(x);
}

torch::Tensor info_nce(const torch::Tensor& q_in, const torch::Tensor& k_in, double tau) {
  TORCH_CHECK(tau > 0, "info_nce: temperature must be > 0, got ", tau);
  TORCH_CHECK(q_in.dim() == 2 || q_in.dim() == 3, "info_nce: q must be [S, D] or [B, S, D], got ",
              q_in.sizes());
  TORCH_CHECK(q_in.sizes() == k_in.sizes(), "info_nce: q ", q_in.sizes(), " and k ", k_in.sizes(),
              " must have the same shape");
  auto q = upcast(q_in.dim() == 2 ? q_in.unsqueeze(0) : q_in);
  auto k = upcast(k_in.dim() == 2 ? k_in.unsqueeze(0) : k_in);
  if (k.scalar_type() != q.scalar_type()) k = k.to(q.scalar_type());
  const int64_t s = q.size(1);
  TORCH_CHECK(s > 0 && q.size(2) > 0, "info_nce: S and D must be > 0, got ", q_in.sizes());

  const auto l_pos = (q * k).sum(-1, /*keepdim=*/true);  // [B,S,1]
  auto l_neg = torch::bmm(q, k.transpose(1, 2));         // [B,S,S], l_neg[b,i,j] = q_i·k_j
  const auto diag = torch::eye(s, q.options().dtype(torch::kBool)).unsqueeze(0);
  l_neg = l_neg.masked_fill(diag, -10.0);
  const auto logits = torch::cat({l_pos, l_neg}, -1) / tau;  // [B,S,S+1], positive at 0
  return (torch::logsumexp(logits, -1) - logits.select(-1, 0)).mean();
}

torch::Tensor sample_patch_ids(int64_t h, int64_t w, int64_t num_patches, uint64_t seed) {
  TORCH_CHECK(h >= 1 && w >= 1, "sample_patch_ids: feature map must be at least 1x1, got ", h, "x",
              w);
  TORCH_CHECK(num_patches >= 1, "sample_patch_ids: num_patches must be >= 1, got ", num_patches);
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t n = h * w;
  auto perm = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong));
  return num_patches >= n ? perm : perm.slice(0, 0, num_patches).clone();
}

std::vector<torch::Tensor> sample_patch_ids(const std::vector<torch::Tensor>& feats,
                                            int64_t num_patches, uint64_t seed) {
  std::vector<torch::Tensor> ids;
  ids.reserve(feats.size());
  for (size_t l = 0; l < feats.size(); ++l) {
    TORCH_CHECK(feats[l].dim() == 4, "sample_patch_ids: layer ", l, " must be [N, C, H, W], got ",
                feats[l].sizes());
    ids.push_back(sample_patch_ids(feats[l].size(2), feats[l].size(3), num_patches,
                                   splitmix64(seed ^ splitmix64(static_cast<uint64_t>(l)))));
  }
  return ids;
}

torch::Tensor patch_nce_loss(PatchNceHead& head, const std::vector<torch::Tensor>& feats_src,
                             const std::vector<torch::Tensor>& feats_fake,
                             const std::vector<torch::Tensor>& patch_ids, double tau) {
  const auto layers = static_cast<size_t>(head->num_layers());
  TORCH_CHECK(
      feats_src.size() == layers && feats_fake.size() == layers && patch_ids.size() == layers,
      "patch_nce_loss: head has ", layers, " layers but got ", feats_src.size(), " source maps, ",
      feats_fake.size(), " fake maps and ", patch_ids.size(), " id tensors");
  torch::Tensor total;
  for (size_t l = 0; l < layers; ++l) {
    const auto& src = feats_src[l];
    const auto& fake = feats_fake[l];
    TORCH_CHECK(src.dim() == 4, "patch_nce_loss: layer ", l, " source must be [N, C, H, W], got ",
                src.sizes());
    TORCH_CHECK(src.sizes() == fake.sizes(), "patch_nce_loss: layer ", l, " source ", src.sizes(),
                " and fake ", fake.sizes(), " must have the same shape");
    TORCH_CHECK(src.size(1) == head->channels()[l], "patch_nce_loss: layer ", l, " has ",
                src.size(1), " channels but the head expects ", head->channels()[l]);
    auto ids = patch_ids[l];
    TORCH_CHECK(ids.scalar_type() == torch::kLong, "patch_nce_loss: layer ", l,
                " ids must be int64, got ", ids.scalar_type());
    TORCH_CHECK(ids.dim() == 1 || (ids.dim() == 2 && ids.size(0) == src.size(0)),
                "patch_nce_loss: layer ", l, " ids must be [S] or [N=", src.size(0), ", S], got ",
                ids.sizes());
    TORCH_CHECK(ids.size(-1) > 0, "patch_nce_loss: layer ", l, " has no patch ids");
    const int64_t hw = src.size(2) * src.size(3);
    if (ids.device().is_cpu()) {
      TORCH_CHECK(ids.min().item<int64_t>() >= 0 && ids.max().item<int64_t>() < hw,
                  "patch_nce_loss: layer ", l, " ids must lie in [0, ", hw, ") (H·W of ",
                  src.sizes(), ")");
    }
    ids = ids.to(src.device());

    const int64_t n = src.size(0);
    const int64_t s = ids.size(-1);
    const int64_t c = src.size(1);
    auto project = [&](const torch::Tensor& f) {
      const auto patches = gather_patches(f, ids).reshape({n * s, c});
      return l2_normalise(head->forward(static_cast<int64_t>(l), patches)).view({n, s, -1});
    };
    torch::Tensor k;
    {
      torch::NoGradGuard no_grad;  // keys are detached (CUT): no graph needed
      k = project(src.detach());
    }
    const auto q = project(fake);
    const auto layer_loss = info_nce(q, k, tau);
    total = l == 0 ? layer_loss : total + layer_loss;
  }
  return total / static_cast<double>(layers);
}

torch::Tensor patch_nce_loss(PatchNceHead& head, const std::vector<torch::Tensor>& feats_src,
                             const std::vector<torch::Tensor>& feats_fake, uint64_t seed,
                             int64_t num_patches, double tau) {
  return patch_nce_loss(head, feats_src, feats_fake, sample_patch_ids(feats_src, num_patches, seed),
                        tau);
}

}  // namespace culturegan::trainer
