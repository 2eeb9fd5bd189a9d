#include "eval/metrics.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "common/torch_compat.h"
#include "eval/content_metrics.h"

namespace culturegan::eval {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

CultureClassifierImpl::CultureClassifierImpl(int64_t num_cultures, int64_t width)
    : num_cultures_(num_cultures), width_(width) {
  nn::Sequential trunk(nn::Conv2d(nn::Conv2dOptions(3, width, 3).padding(1)), nn::ReLU());
  int64_t in = width;
  for (int64_t mult : {1, 2, 4, 4}) {
    trunk->push_back(
        nn::Conv2d(nn::Conv2dOptions(in, width * mult, 3).stride(2).padding(1).bias(false)));
    trunk->push_back(nn::BatchNorm2d(width * mult));
    trunk->push_back(nn::ReLU());
    in = width * mult;
  }
  trunk_ = register_module("trunk", trunk);
  head_ = register_module("head", nn::Linear(in, num_cultures));
}

torch::Tensor CultureClassifierImpl::features(const torch::Tensor& x) {
  return trunk_->forward(x).mean({2, 3});
}
torch::Tensor CultureClassifierImpl::forward(const torch::Tensor& x) {
  return head_->forward(features(x));
}

CultureClassifier train_classifier(const torch::Tensor& images, const torch::Tensor& labels,
                                   int64_t num_cultures, const ClassifierOptions& o,
                                   const std::function<void(int64_t, double)>& log) {
  torch::manual_seed(o.seed);
  CultureClassifier clf(num_cultures, o.width);
  clf->train();
  torch::optim::Adam opt(clf->parameters(), torch::optim::AdamOptions(o.lr));
  const int64_t n = images.size(0);
  auto y_all = labels.to(torch::kLong);
  torch::Tensor weight;
  if (o.balanced) {
    auto counts = torch::bincount(y_all, {}, num_cultures).to(torch::kFloat).clamp_min(1.0);
    weight = (1.0 / counts);
    weight = weight * (static_cast<double>(num_cultures) / weight.sum());
  }
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    auto perm = torch::randperm(n, torch::kLong);
    double total = 0;
    int64_t batches = 0;
    for (int64_t start = 0; start < n; start += o.batch_size) {
      auto idx = perm.narrow(0, start, std::min(o.batch_size, n - start));
      if (idx.size(0) < 2) continue;  // BatchNorm needs two samples
      auto x = images.index_select(0, idx);
      auto flip = (torch::rand({x.size(0), 1, 1, 1}) < 0.5);
      x = torch::where(flip, x.flip({3}), x);
      auto y = y_all.index_select(0, idx);
      compat::zero_grad(opt);
      auto loss = F::cross_entropy(clf->forward(x), y, F::CrossEntropyFuncOptions().weight(weight));
      loss.backward();
      opt.step();
      total += loss.item<double>();
      ++batches;
    }
    if (log) log(epoch, batches ? total / static_cast<double>(batches) : 0.0);
  }
  clf->eval();
  return clf;
}

void save_classifier(CultureClassifier& clf, const std::string& path) { torch::save(clf, path); }

CultureClassifier load_classifier(const std::string& path, int64_t num_cultures, int64_t width) {
  CultureClassifier clf(num_cultures, width);
  try {
    torch::load(clf, path);
  } catch (const c10::Error& e) {
    throw std::runtime_error(
        fmt::format("{}: cannot load a culture classifier for {} cultures, width {}: {}", path,
                    num_cultures, width, e.what_without_backtrace()));
  }
  clf->eval();
  return clf;
}

namespace {
template <typename Fn>
torch::Tensor batched(const torch::Tensor& x, int64_t batch, Fn fn) {
  std::vector<torch::Tensor> out;
  for (int64_t s = 0; s < x.size(0); s += batch)
    out.push_back(fn(x.narrow(0, s, std::min(batch, x.size(0) - s))));
  return torch::cat(out);
}
}  // namespace

torch::Tensor predict(CultureClassifier& clf, const torch::Tensor& images, int64_t batch) {
  torch::NoGradGuard no_grad;
  clf->eval();
  return batched(images, batch, [&](const torch::Tensor& x) { return clf->forward(x).argmax(1); });
}

torch::Tensor features(CultureClassifier& clf, const torch::Tensor& images, int64_t batch) {
  torch::NoGradGuard no_grad;
  clf->eval();
  return batched(images, batch,
                 [&](const torch::Tensor& x) { return clf->features(x).to(torch::kDouble); });
}

namespace {
torch::Tensor covariance(const torch::Tensor& x, torch::Tensor* mean) {
  *mean = x.mean(0);
  auto c = x - *mean;
  return c.t().mm(c) / static_cast<double>(x.size(0) - 1);
}
}  // namespace

double frechet_distance(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  auto a = a_in.to(torch::kDouble), b = b_in.to(torch::kDouble);
  if (a.size(0) < 2 || b.size(0) < 2 || a.size(1) != b.size(1))
    throw std::invalid_argument(
        fmt::format("frechet_distance: expected two [N>=2, D] sets with the same D, found [{}, {}] "
                    "and [{}, {}]",
                    a.size(0), a.size(1), b.size(0), b.size(1)));
  torch::Tensor mu_a, mu_b;
  auto sa = covariance(a, &mu_a), sb = covariance(b, &mu_b);
  auto [evals, evecs] = torch::linalg_eigh(sa, "L");
  auto sqrt_a = evecs.mm(torch::diag(evals.clamp_min(0).sqrt())).mm(evecs.t());
  auto m = sqrt_a.mm(sb).mm(sqrt_a);
  m = (m + m.t()) / 2;
  const double tr_sqrt = torch::linalg_eigvalsh(m, "L").clamp_min(0).sqrt().sum().item<double>();
  const double d = (mu_a - mu_b).pow(2).sum().item<double>() + sa.trace().item<double>() +
                   sb.trace().item<double>() - 2 * tr_sqrt;
  return std::max(0.0, d);
}

double kernel_distance(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  auto a = a_in.to(torch::kDouble), b = b_in.to(torch::kDouble);
  const double m = static_cast<double>(a.size(0)), n = static_cast<double>(b.size(0)),
               d = static_cast<double>(a.size(1));
  if (m < 2 || n < 2)
    throw std::invalid_argument("kernel_distance: expected at least 2 samples in each set");
  auto k = [&](const torch::Tensor& x, const torch::Tensor& y) {
    return (x.mm(y.t()) / d + 1).pow(3);
  };
  auto kxx = k(a, a), kyy = k(b, b), kxy = k(a, b);
  const double xx = (kxx.sum() - kxx.diagonal().sum()).item<double>() / (m * (m - 1));
  const double yy = (kyy.sum() - kyy.diagonal().sum()).item<double>() / (n * (n - 1));
  return xx + yy - 2 * kxy.mean().item<double>();
}

double psnr(const torch::Tensor& a, const torch::Tensor& b) {
  auto mse = ((a.to(torch::kDouble) - b.to(torch::kDouble)) / 2).pow(2).flatten(1).mean(1);
  auto per = (10.0 * torch::log10(1.0 / mse)).clamp_max(100.0);
  return per.mean().item<double>();
}

double ssim(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  auto a = (a_in.to(torch::kDouble) + 1) / 2, b = (b_in.to(torch::kDouble) + 1) / 2;
  const int64_t c = a.size(1);
  int64_t win = std::min<int64_t>({11, a.size(2), a.size(3)});
  if (win % 2 == 0) --win;
  auto coords = torch::arange(win, torch::kDouble) - static_cast<double>(win / 2);
  auto g = torch::exp(-coords.pow(2) / (2 * 1.5 * 1.5));
  g = g / g.sum();
  auto w = g.unsqueeze(1).mm(g.unsqueeze(0)).expand({c, 1, win, win}).contiguous();
  auto filt = [&](const torch::Tensor& x) {
    return F::conv2d(x, w, F::Conv2dFuncOptions().groups(c));
  };
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  auto mu_a = filt(a), mu_b = filt(b);
  auto saa = filt(a * a) - mu_a * mu_a, sbb = filt(b * b) - mu_b * mu_b,
       sab = filt(a * b) - mu_a * mu_b;
  auto map = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) /
             ((mu_a * mu_a + mu_b * mu_b + c1) * (saa + sbb + c2));
  return map.mean().item<double>();
}

double mean_pairwise_distance(const std::vector<torch::Tensor>& v) {
  double total = 0;
  int64_t pairs = 0;
  for (size_t k = 0; k < v.size(); ++k)
    for (size_t l = k + 1; l < v.size(); ++l, ++pairs)
      total += (v[k].to(torch::kDouble) - v[l].to(torch::kDouble)).norm(2, 1).mean().item<double>();
  return pairs ? total / static_cast<double>(pairs) : 0.0;
}

namespace {
/// φ(images of culture c) [N_c,F] float64 for each culture c (an undefined tensor when N_c = 0).
std::vector<torch::Tensor> per_culture_features(CultureClassifier& clf, const torch::Tensor& images,
                                                const torch::Tensor& labels, int64_t num_c) {
  auto y = labels.to(torch::kLong);
  std::vector<torch::Tensor> out(static_cast<size_t>(num_c));
  for (int64_t c = 0; c < num_c; ++c) {
    auto idx = (y == c).nonzero().view({-1});
    if (idx.size(0) > 0) out[c] = features(clf, images.index_select(0, idx));
  }
  return out;
}

std::map<std::string, double> floor_from(const std::vector<std::string>& cultures,
                                         const std::vector<torch::Tensor>& f_train,
                                         const std::vector<torch::Tensor>& f_val) {
  std::map<std::string, double> out;
  for (size_t c = 0; c < cultures.size(); ++c)
    if (f_train[c].defined() && f_val[c].defined() && f_train[c].size(0) >= 2 &&
        f_val[c].size(0) >= 2)
      out[cultures[c]] = kernel_distance(f_val[c], f_train[c]);
  return out;
}

double mean_except(const std::map<std::string, double>& m, const std::string& skip) {
  double sum = 0;
  int64_t n = 0;
  for (const auto& [k, v] : m)
    if (k != skip) sum += v, ++n;
  return n ? sum / static_cast<double>(n) : EvalReport::kUnmeasured;
}
}  // namespace

std::map<std::string, double> kid_floor(CultureClassifier& clf, const EvalSet& set) {
  const auto num_c = static_cast<int64_t>(set.cultures.size());
  return floor_from(set.cultures,
                    per_culture_features(clf, set.train_images, set.train_labels, num_c),
                    per_culture_features(clf, set.val_images, set.val_labels, num_c));
}

EvalReport evaluate(CultureClassifier& clf, const EvalSet& set, const TranslateFn& translate,
                    const EvalOptions& o) {
  EvalReport r;
  const auto num_c = static_cast<int64_t>(set.cultures.size());
  auto val_labels = set.val_labels.to(torch::kLong);
  auto val_pred = predict(clf, set.val_images);
  r.ceiling = (val_pred == val_labels).to(torch::kDouble).mean().item<double>();
  for (int64_t c = 0; c < num_c; ++c) {
    auto m = val_labels == c;
    if (m.sum().item<int64_t>() > 0)
      r.ceiling_per_culture[set.cultures[c]] =
          (val_pred.masked_select(m) == c).to(torch::kDouble).mean().item<double>();
  }
  r.confusion.assign(static_cast<size_t>(num_c),
                     std::vector<int64_t>(static_cast<size_t>(num_c), 0));
  const auto f_train = per_culture_features(clf, set.train_images, set.train_labels, num_c);
  r.kid_floor = floor_from(set.cultures, f_train,
                           per_culture_features(clf, set.val_images, val_labels, num_c));
  const std::string& source_name = set.cultures.at(static_cast<size_t>(o.source));
  r.kid_floor_mean = mean_except(r.kid_floor, source_name);
  if (!translate) return r;
  auto src_idx = (val_labels == o.source).nonzero().view({-1});
  auto xs = set.val_images.index_select(0, src_idx);
  r.source_images = xs.size(0);
  if (r.source_images == 0) return r;
  auto src_pred = predict(clf, xs);
  for (int64_t i = 0; i < src_pred.size(0); ++i)
    ++r.confusion[o.source][src_pred[i].item<int64_t>()];
  auto run = [&](const torch::Tensor& x, const torch::Tensor& c_vec) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> out;
    for (int64_t s = 0; s < x.size(0); s += o.batch) {
      const int64_t len = std::min(o.batch, x.size(0) - s);
      out.push_back(translate(x.narrow(0, s, len), c_vec.narrow(0, s, len)).to(torch::kFloat));
    }
    return torch::cat(out);
  };
  auto onehot = [&](int64_t c) {
    return torch::one_hot(torch::full({xs.size(0)}, c, torch::kLong), num_c).to(torch::kFloat);
  };
  double acc_sum = 0;
  for (int64_t t = 0; t < num_c; ++t) {
    if (t == o.source) continue;
    const std::string& name = set.cultures[t];
    auto y = run(xs, onehot(t));
    auto pred = predict(clf, y);
    for (int64_t i = 0; i < pred.size(0); ++i) ++r.confusion[t][pred[i].item<int64_t>()];
    r.target_accuracy[name] = (pred == t).to(torch::kDouble).mean().item<double>();
    acc_sum += r.target_accuracy[name];
    auto f_y = features(clf, y);
    const auto& f_ref = f_train[t];
    if (f_ref.defined() && f_ref.size(0) >= 2 && f_y.size(0) >= 2) {
      r.fid[name] = frechet_distance(f_ref, f_y);
      r.kid[name] = kernel_distance(f_ref, f_y);
    }
    r.content_gradient_correlation[name] = gradient_correlation(xs, y);
    r.content_gray_ssim[name] = gray_ssim(xs, y);
    r.checkerboard_index[name] = checkerboard_index(y, xs);
    auto back = run(y, onehot(o.source));
    r.cycle_psnr[name] = psnr(back, xs);
    r.cycle_ssim[name] = ssim(back, xs);
    std::vector<torch::Tensor> variants;
    for (double s : o.strengths)
      variants.push_back(features(clf, run(xs, s * onehot(t) + (1 - s) * onehot(o.source))));
    r.diversity[name] = mean_pairwise_distance(variants);
  }
  r.target_accuracy_mean = acc_sum / static_cast<double>(std::max<int64_t>(1, num_c - 1));
  r.content_gradient_correlation_mean = mean_except(r.content_gradient_correlation, source_name);
  r.content_gray_ssim_mean = mean_except(r.content_gray_ssim, source_name);
  r.checkerboard_index_mean = mean_except(r.checkerboard_index, source_name);
  return r;
}

namespace {
std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  return fmt::format("{:.6g}", v);
}
std::string object(const std::map<std::string, double>& m) {
  std::string s = "{";
  for (const auto& [k, v] : m)
    s += fmt::format("{}\"{}\": {}", s.size() > 1 ? ", " : "", k, num(v));
  return s + "}";
}
}  // namespace

std::string EvalReport::to_json(const std::vector<std::string>& cultures, int64_t source) const {
  std::string conf = "{";
  for (size_t t = 0; t < confusion.size(); ++t) {
    conf += fmt::format("{}\"{}\": [", t ? ", " : "", cultures[t]);
    for (size_t p = 0; p < confusion[t].size(); ++p)
      conf += fmt::format("{}{}", p ? ", " : "", confusion[t][p]);
    conf += "]";
  }
  conf += "}";
  std::string names = "[";
  for (size_t i = 0; i < cultures.size(); ++i)
    names += fmt::format("{}\"{}\"", i ? ", " : "", cultures[i]);
  names += "]";
  return fmt::format(
      "{{\n  \"cultures\": {},\n  \"chance\": {},\n  \"classifier_val_accuracy\": {},\n"
      "  \"classifier_val_accuracy_per_culture\": {},\n  \"source_culture\": \"{}\",\n  "
      "\"source_val_images\": {},\n"
      "  \"target_accuracy\": {},\n  \"target_accuracy_mean\": {},\n"
      "  \"confusion_target_to_predicted\": {},\n  \"fid\": {},\n  \"kid\": {},\n  "
      "\"cycle_psnr_db\": {},\n"
      "  \"cycle_ssim\": {},\n  \"diversity\": {},\n{}}}\n",
      names, num(1.0 / static_cast<double>(cultures.size())), num(ceiling),
      object(ceiling_per_culture), cultures[static_cast<size_t>(source)], source_images,
      object(target_accuracy), num(target_accuracy_mean), conf, object(fid), object(kid),
      object(cycle_psnr), object(cycle_ssim), object(diversity),
      fmt::format(
          "  \"content_gradient_correlation\": {},\n  \"content_gradient_correlation_mean\": {},\n"
          "  \"content_gray_ssim\": {},\n  \"content_gray_ssim_mean\": {},\n"
          "  \"checkerboard_index\": {},\n  \"checkerboard_index_mean\": {},\n"
          "  \"kid_floor\": {},\n  \"kid_floor_mean\": {}\n",
          object(content_gradient_correlation), num(content_gradient_correlation_mean),
          object(content_gray_ssim), num(content_gray_ssim_mean), object(checkerboard_index),
          num(checkerboard_index_mean), object(kid_floor), num(kid_floor_mean)));
}

}  // namespace culturegan::eval
