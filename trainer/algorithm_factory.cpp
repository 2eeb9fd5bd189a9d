#include "trainer/algorithm_factory.h"

#include <fmt/format.h>

#include "trainer/stargan_algorithm.h"

namespace culturegan::trainer {

std::unique_ptr<GanAlgorithm> make_algorithm(const Config& cfg, int64_t num_cultures, torch::Device device) {
  if (cfg.model.kind == "stargan") return std::make_unique<StarGanAlgorithm>(cfg, num_cultures, device);
  throw ConfigError(fmt::format("key 'model.kind': expected stargan, found \"{}\"", cfg.model.kind));
}

}  // namespace culturegan::trainer
