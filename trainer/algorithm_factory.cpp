#include "trainer/algorithm_factory.h"

#include <fmt/format.h>

#include "trainer/stargan_algorithm.h"
#include "trainer/starganv2_algorithm.h"
#include "trainer/zoo_algorithms.h"

namespace culturegan::trainer {

std::unique_ptr<GanAlgorithm> make_algorithm(const Config& cfg, int64_t num_cultures,
                                             torch::Device device) {
  if (cfg.model.kind == "stargan")
    return std::make_unique<StarGanAlgorithm>(cfg, num_cultures, device);
  if (cfg.model.kind == "dcgan") return std::make_unique<DcganAlgorithm>(cfg, num_cultures, device);
  if (cfg.model.kind == "starganv2")
    return std::make_unique<StarGanV2Algorithm>(cfg, num_cultures, device);
  if (cfg.model.kind == "cyclegan")
    return std::make_unique<CycleGanAlgorithm>(cfg, num_cultures, device);
  throw ConfigError(
      fmt::format("key 'model.kind': expected stargan | starganv2 | dcgan | cyclegan, found \"{}\"",
                  cfg.model.kind));
}

}  // namespace culturegan::trainer
