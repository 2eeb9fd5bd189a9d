// Offline evaluation of culture translation, with no pretrained network: a small culture
// classifier trained on the corpus's train split gives (1) the accuracy ceiling on real val
// images, (2) the target-culture accuracy of translated images, (3) a feature space for
// Fréchet (FID-style, Heusel et al. 2017) and kernel (KID, Bińkowski et al. 2018) distances
// and for diversity; cycle reconstruction is scored by PSNR and SSIM (Wang et al. 2004).
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace culturegan::eval {

/// conv3×3(w) → [conv3×3 s2 → BN → ReLU] × 4 (w, 2w, 4w, 4w) → global average pool (the
/// feature φ(x), 4w floats) → linear → C logits. Input [N,3,S,S] in [-1,1], S >= 16.
class CultureClassifierImpl : public torch::nn::Module {
 public:
  CultureClassifierImpl(int64_t num_cultures, int64_t width);
  torch::Tensor features(const torch::Tensor& x);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t num_cultures() const { return num_cultures_; }
  int64_t width() const { return width_; }

 private:
  int64_t num_cultures_, width_;
  torch::nn::Sequential trunk_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(CultureClassifier);

struct ClassifierOptions {
  int64_t width = 32;
  int64_t epochs = 12;
  int64_t batch_size = 32;
  double lr = 1e-3;
  uint64_t seed = 0;
  bool balanced = true;  ///< class-balanced cross-entropy (weights ∝ 1 / culture frequency)
};

/// Trains on images [N,3,S,S] in [-1,1] with labels [N] int64 (random horizontal flips).
/// `log(epoch, mean_loss)` is called after each epoch when set.
CultureClassifier train_classifier(const torch::Tensor& images, const torch::Tensor& labels,
                                   int64_t num_cultures, const ClassifierOptions& options,
                                   const std::function<void(int64_t, double)>& log = nullptr);
void save_classifier(CultureClassifier& clf, const std::string& path);
/// Throws std::runtime_error naming the path on a missing or mismatched file.
CultureClassifier load_classifier(const std::string& path, int64_t num_cultures, int64_t width);

/// Predicted culture [N] int64 and features [N,F] float64 (eval mode, batched, no grad).
torch::Tensor predict(CultureClassifier& clf, const torch::Tensor& images, int64_t batch = 64);
torch::Tensor features(CultureClassifier& clf, const torch::Tensor& images, int64_t batch = 64);

/// ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) for feature sets [N₁,D], [N₂,D] (N ≥ 2), in float64;
/// tr((Σ₁Σ₂)^½) = Σ √λ(Σ₁^½ Σ₂ Σ₁^½) by symmetric eigendecomposition.
double frechet_distance(const torch::Tensor& a, const torch::Tensor& b);
/// Unbiased MMD² with the cubic polynomial kernel k(x,y) = (xᵀy/D + 1)³ (KID).
double kernel_distance(const torch::Tensor& a, const torch::Tensor& b);
/// Mean over images of PSNR (dB) between [N,3,H,W] images in [-1,1] (peak = range 2);
/// identical images give +inf, reported as 100.
double psnr(const torch::Tensor& a, const torch::Tensor& b);
/// Mean SSIM (11×11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03, on [0,1] per channel).
double ssim(const torch::Tensor& a, const torch::Tensor& b);
/// variants[k] [N,F]: mean over images i and pairs k < l of ‖variants[k][i] − variants[l][i]‖₂.
double mean_pairwise_distance(const std::vector<torch::Tensor>& variants);

/// A translator under test: x [N,3,S,S] in [-1,1] and culture vectors c [N,C] → [N,3,S,S].
using TranslateFn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& c)>;

struct EvalSet {
  std::vector<std::string> cultures;
  torch::Tensor train_images, train_labels;  ///< reference distributions for FID/KID
  torch::Tensor val_images, val_labels;      ///< ceiling; val images of the source are translated
};

struct EvalOptions {
  int64_t source = 0;                                   ///< source culture index (photo)
  std::vector<double> strengths{0.25, 0.5, 0.75, 1.0};  ///< for diversity
  int64_t batch = 32;
};

struct EvalReport {
  static constexpr double kUnmeasured = std::numeric_limits<double>::quiet_NaN();  ///< JSON null
  double ceiling = 0;  ///< classifier accuracy on all real val images
  std::map<std::string, double> ceiling_per_culture;
  std::map<std::string, double> target_accuracy;  ///< per target culture (≠ source)
  double target_accuracy_mean = 0;
  std::vector<std::vector<int64_t>> confusion;  ///< [target requested][predicted] counts
  std::map<std::string, double> fid, kid, cycle_psnr, cycle_ssim, diversity;
  /// Per target culture, source photo vs its translation (eval/content_metrics.h):
  /// gradient_correlation, gray_ssim, checkerboard_index; *_mean: over the target cultures.
  std::map<std::string, double> content_gradient_correlation, content_gray_ssim, checkerboard_index;
  double content_gradient_correlation_mean = kUnmeasured, content_gray_ssim_mean = kUnmeasured,
         checkerboard_index_mean = kUnmeasured;
  /// kid_floor(): every culture with >= 2 train and >= 2 val images (also without a translator);
  /// kid_floor_mean: over the target cultures (≠ source), comparable to the mean of `kid`.
  std::map<std::string, double> kid_floor;
  double kid_floor_mean = kUnmeasured;
  int64_t source_images = 0;
  std::string to_json(const std::vector<std::string>& cultures, int64_t source) const;
};

/// KID floor: per culture c, kernel_distance(φ(val images of c), φ(train images of c)) in the
/// classifier's feature space, for every culture with at least 2 images in each split (others
/// are left out). It is what a translator whose outputs were indistinguishable from real val
/// images of c would score as `kid[c]`: 0 in expectation if φ saw train and val alike, above 0
/// by the classifier's train/val gap (the unbiased estimator's expectation does not depend on
/// the sample sizes; its spread does, ~ 1/√n). set: images [N,3,S,S] float32 in [-1,1], labels
/// [N] int64 in [0, cultures.size()).
std::map<std::string, double> kid_floor(CultureClassifier& clf, const EvalSet& set);

/// Scores the classifier on real val images (ceiling, kid_floor) and, when `translate` is set,
/// translates every val image of the source culture into every other culture (one-hot c), back
/// to the source (cycle), and at each strength s (c = s·target + (1 − s)·source) for diversity;
/// each translation is also scored against its photo for content (gradient correlation, gray
/// SSIM) and checkerboard artefacts (eval/content_metrics.h).
EvalReport evaluate(CultureClassifier& clf, const EvalSet& set, const TranslateFn& translate,
                    const EvalOptions& options);

}  // namespace culturegan::eval
