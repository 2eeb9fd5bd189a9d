// GAN losses. Every function returns a 0-dim float32 tensor, the mean over its inputs, so
// that a mean over ranks of per-rank means equals the mean over the global batch.
#pragma once
#include <string>

#include <torch/torch.h>

#include "trainer/choices.h"

namespace culturegan::trainer {

/// "lsgan" | "bce" | "hinge" | "wgan-gp" (WGAN critic loss; the gradient penalty is
/// loss.gp_lambda). Throws std::invalid_argument naming the value.
AdversarialLoss parse_adversarial_loss(const std::string& name);

/// Discriminator loss on real logits (any shape, raw D outputs).
///   lsgan: mean((D(x) - 1)^2)            Mao et al. 2017, eq. 2 (a=0, b=1)
///   bce:   mean(softplus(-D(x)))         = -log sigmoid(D(x)), Goodfellow et al. 2014
///   hinge: mean(relu(1 - D(x)))          Lim & Ye 2017 / Miyato et al. 2018
///   wgan-gp: -mean(D(x))                   Arjovsky et al. 2017 / Gulrajani et al. 2017, eq. 3
torch::Tensor d_loss_real(AdversarialLoss kind, const torch::Tensor& real_logits);

/// Discriminator loss on fake logits.
///   lsgan: mean(D(G(z))^2); bce: mean(softplus(D(G(z)))) = -log(1 - sigmoid); hinge: mean(relu(1 +
///   D)); wgan-gp: mean(D(G(z))).
torch::Tensor d_loss_fake(AdversarialLoss kind, const torch::Tensor& fake_logits);

/// Generator adversarial loss on fake logits.
///   lsgan: mean((D(G(z)) - 1)^2); bce: mean(softplus(-D(G(z)))) (non-saturating -log D);
///   hinge and wgan-gp: -mean(D(G(z))).
torch::Tensor g_loss_adv(AdversarialLoss kind, const torch::Tensor& fake_logits);

/// Culture classification: cross-entropy of logits [N,C] against labels [N] int64
/// (StarGAN eq. 2 and 3, single-label softmax since cultures are exclusive).
torch::Tensor culture_classification_loss(const torch::Tensor& logits, const torch::Tensor& labels);

/// Cycle reconstruction: mean |x - x_rec| (StarGAN eq. 4, L1).
torch::Tensor reconstruction_loss(const torch::Tensor& x, const torch::Tensor& x_rec);

}  // namespace culturegan::trainer
