#include "trainer/algorithms/style_loss.h"

namespace culturegan::trainer {
namespace {

void check_map(const torch::Tensor& f, const char* what, size_t layer) {
  TORCH_CHECK(f.dim() == 4, what, ": layer ", layer, " must be [N, C, H, W], got ", f.sizes());
}

void check_labels(const torch::Tensor& labels, int64_t n, int64_t k, const char* what) {
  TORCH_CHECK(labels.dim() == 1 && labels.scalar_type() == torch::kLong, what,
              ": cultures must be [N] int64, got ", labels.sizes(), " ", labels.scalar_type());
  TORCH_CHECK(labels.size(0) == n, what, ": ", labels.size(0), " cultures for a batch of ", n);
  if (labels.device().is_cpu() && n > 0) {
    TORCH_CHECK(labels.min().item<int64_t>() >= 0 && labels.max().item<int64_t>() < k, what,
                ": cultures must lie in [0, ", k, ")");
  }
}

}  // namespace

torch::Tensor gram_matrix(const torch::Tensor& f_in) {
  TORCH_CHECK(f_in.dim() == 4, "gram_matrix: expects [N, C, H, W], got ", f_in.sizes());
  TORCH_CHECK(f_in.numel() > 0, "gram_matrix: empty feature map ", f_in.sizes());
  const auto s = f_in.scalar_type();
  const auto f = (s == torch::kHalf || s == torch::kBFloat16) ? f_in.to(torch::kFloat) : f_in;
  const int64_t n = f.size(0), c = f.size(1), hw = f.size(2) * f.size(3);
  const auto flat = f.reshape({n, c, hw});
  return torch::bmm(flat, flat.transpose(1, 2)) / static_cast<double>(c * hw);
}

torch::Tensor gram_style_loss(const std::vector<torch::Tensor>& feats_fake,
                              const std::vector<torch::Tensor>& feats_real_target) {
  TORCH_CHECK(!feats_fake.empty(), "gram_style_loss: no feature layers");
  TORCH_CHECK(feats_fake.size() == feats_real_target.size(), "gram_style_loss: ", feats_fake.size(),
              " fake layers but ", feats_real_target.size(), " real layers");
  torch::Tensor total;
  for (size_t l = 0; l < feats_fake.size(); ++l) {
    check_map(feats_fake[l], "gram_style_loss (fake)", l);
    check_map(feats_real_target[l], "gram_style_loss (real)", l);
    TORCH_CHECK(feats_fake[l].size(1) == feats_real_target[l].size(1), "gram_style_loss: layer ", l,
                " has ", feats_fake[l].size(1), " fake channels but ", feats_real_target[l].size(1),
                " real channels");
    const auto target = gram_matrix(feats_real_target[l].detach()).mean(0, /*keepdim=*/true);
    const auto term = (gram_matrix(feats_fake[l]) - target).pow(2).mean();
    total = l == 0 ? term : total + term;
  }
  return total / static_cast<double>(feats_fake.size());
}

CultureGrams culture_gram_sums(const std::vector<torch::Tensor>& feats_real,
                               const torch::Tensor& labels, int64_t num_cultures) {
  TORCH_CHECK(!feats_real.empty(), "culture_gram_sums: no feature layers");
  TORCH_CHECK(num_cultures >= 1, "culture_gram_sums: num_cultures must be >= 1, got ",
              num_cultures);
  check_map(feats_real[0], "culture_gram_sums", 0);
  const int64_t m = feats_real[0].size(0);
  check_labels(labels, m, num_cultures, "culture_gram_sums");
  const auto device = feats_real[0].device();
  const auto lab = labels.to(device);
  CultureGrams out;
  for (size_t l = 0; l < feats_real.size(); ++l) {
    check_map(feats_real[l], "culture_gram_sums", l);
    TORCH_CHECK(feats_real[l].size(0) == m, "culture_gram_sums: layer ", l, " has batch ",
                feats_real[l].size(0), " but layer 0 has ", m);
    const auto g = gram_matrix(feats_real[l].detach());
    const int64_t c = g.size(1);
    out.sum.push_back(torch::zeros({num_cultures, c, c}, g.options()).index_add_(0, lab, g));
  }
  const auto fopt = torch::TensorOptions().dtype(torch::kFloat).device(device);
  out.count = torch::zeros({num_cultures}, fopt).index_add_(0, lab, torch::ones({m}, fopt));
  return out;
}

torch::Tensor gram_style_loss(const std::vector<torch::Tensor>& feats_fake,
                              const torch::Tensor& fake_targets, const CultureGrams& targets) {
  TORCH_CHECK(!feats_fake.empty(), "gram_style_loss: no feature layers");
  TORCH_CHECK(feats_fake.size() == targets.sum.size(), "gram_style_loss: ", feats_fake.size(),
              " fake layers but the culture table has ", targets.sum.size());
  TORCH_CHECK(targets.count.defined() && targets.count.dim() == 1,
              "gram_style_loss: culture counts must be [K]");
  const int64_t k = targets.count.size(0);
  check_map(feats_fake[0], "gram_style_loss (fake)", 0);
  const int64_t n = feats_fake[0].size(0);
  check_labels(fake_targets, n, k, "gram_style_loss");
  torch::Tensor total;
  for (size_t l = 0; l < feats_fake.size(); ++l) {
    const auto& f = feats_fake[l];
    check_map(f, "gram_style_loss (fake)", l);
    TORCH_CHECK(f.size(0) == n, "gram_style_loss: layer ", l, " has batch ", f.size(0),
                " but layer 0 has ", n);
    const int64_t c = f.size(1);
    const auto& sum = targets.sum[l];
    TORCH_CHECK(sum.dim() == 3 && sum.size(0) == k && sum.size(1) == c && sum.size(2) == c,
                "gram_style_loss: layer ", l, " culture sums must be [", k, ", ", c, ", ", c,
                "] for ", c, " fake channels, got ", sum.sizes());
    const auto g = gram_matrix(f);
    const auto t = fake_targets.to(g.device());
    const auto count = targets.count.to(g.device(), g.scalar_type());
    const auto mean =
        sum.to(g.device(), g.scalar_type()).detach() / count.clamp_min(1).view({k, 1, 1});
    const auto valid = (count.index_select(0, t) > 0).to(g.scalar_type());    // [N]
    const auto per_fake = (g - mean.index_select(0, t)).pow(2).mean({1, 2});  // [N]
    const auto term = (per_fake * valid).sum() / static_cast<double>(n);
    total = l == 0 ? term : total + term;
  }
  return total / static_cast<double>(feats_fake.size());
}

}  // namespace culturegan::trainer
