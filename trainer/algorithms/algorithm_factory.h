// Builds the GAN algorithm a config names (model.kind).
#pragma once
#include <memory>

#include "trainer/algorithms/gan_algorithm.h"
#include "trainer/config.h"

namespace culturegan::trainer {

/// model.kind → algorithm: "stargan" (multi-domain culture translator), "dcgan" (conditional
/// DCGAN), "cyclegan" (two cultures). Weights are drawn from
/// the current torch seed. `trained_cultures` (stargan; 0 = all): how many of the first cultures
/// have images (the rest are kept from --init-from weights). Throws ConfigError for a kind this
/// build does not know or a bad train.freeze.
std::unique_ptr<GanAlgorithm> make_algorithm(const Config& cfg, int64_t num_cultures,
                                             torch::Device device, int64_t trained_cultures = 0);

}  // namespace culturegan::trainer
