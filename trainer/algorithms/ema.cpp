#include "trainer/algorithms/ema.h"

#include <algorithm>
#include <stdexcept>

namespace culturegan::trainer {
namespace {
void check_same(const torch::OrderedDict<std::string, torch::Tensor>& a,
                const torch::OrderedDict<std::string, torch::Tensor>& b, const char* what) {
  if (a.size() != b.size())
    throw std::invalid_argument(std::string("ema: ") + what + " count differs: " +
                                std::to_string(a.size()) + " vs " + std::to_string(b.size()));
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].key() != b[i].key() || !a[i].value().sizes().equals(b[i].value().sizes()))
      throw std::invalid_argument(std::string("ema: ") + what + " '" + a[i].key() +
                                  "' does not match '" + b[i].key() + "'");
}
}  // namespace

void ema_update(torch::nn::Module& ema, const torch::nn::Module& model, double beta) {
  torch::NoGradGuard no_grad;
  const auto ep = ema.named_parameters(), mp = model.named_parameters();
  check_same(ep, mp, "parameter");
  for (size_t i = 0; i < ep.size(); ++i) ep[i].value().lerp_(mp[i].value(), 1.0 - beta);
  const auto eb = ema.named_buffers(), mb = model.named_buffers();
  check_same(eb, mb, "buffer");
  for (size_t i = 0; i < eb.size(); ++i) eb[i].value().copy_(mb[i].value());
}

double ema_beta_at(double beta, int64_t step) {
  return std::min(beta, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
}

void copy_weights(torch::nn::Module& dst, const torch::nn::Module& src) {
  torch::NoGradGuard no_grad;
  const auto dp = dst.named_parameters(), sp = src.named_parameters();
  check_same(dp, sp, "parameter");
  for (size_t i = 0; i < dp.size(); ++i) dp[i].value().copy_(sp[i].value());
  const auto db = dst.named_buffers(), sb = src.named_buffers();
  check_same(db, sb, "buffer");
  for (size_t i = 0; i < db.size(); ++i) db[i].value().copy_(sb[i].value());
}

}  // namespace culturegan::trainer
