// Exponential moving average of a module's weights (the G_ema used for samples and export).
#pragma once
#include <memory>

#include <torch/torch.h>

namespace culturegan::trainer {

/// ema_p ← beta · ema_p + (1 − beta) · p for every parameter; buffers are copied.
/// `ema` and `model` must have the same parameter names and shapes (ema = model->clone()).
/// Source: Karras et al. 2018 (progressive GANs) / Yazıcı et al. 2019 "The unusual
/// effectiveness of averaging in GAN training"; matches stylegan3 training_loop.py's
/// G_ema update with a fixed beta. Throws std::invalid_argument on a name or shape mismatch.
void ema_update(torch::nn::Module& ema, const torch::nn::Module& model, double beta);

/// The decay used at optimizer step `step` (0-based): min(beta, (1 + step) / (10 + step)).
/// Early in a run G_ema follows G closely instead of staying near its random initial
/// weights for ~1/(1 − beta) steps (with beta = 0.999 a 500-step run would export mostly
/// noise). Source: TensorFlow's tf.train.ExponentialMovingAverage with num_updates.
double ema_beta_at(double beta, int64_t step);

/// Copies every parameter and buffer of `src` into `dst` (same structure).
void copy_weights(torch::nn::Module& dst, const torch::nn::Module& src);

}  // namespace culturegan::trainer
