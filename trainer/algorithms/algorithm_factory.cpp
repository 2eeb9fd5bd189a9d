#include "trainer/algorithms/algorithm_factory.h"

#include "trainer/algorithms/cyclegan.h"
#include "trainer/algorithms/dcgan.h"
#include "trainer/algorithms/stargan.h"
#include "trainer/algorithms/starganv2.h"

namespace culturegan::trainer {

std::unique_ptr<GanAlgorithm> make_algorithm(const Config& cfg, int64_t num_cultures,
                                             torch::Device device, int64_t trained_cultures) {
  switch (cfg.model.kind) {
    case ModelKind::kStargan:
      return std::make_unique<StarGanAlgorithm>(cfg, num_cultures, device, trained_cultures);
    case ModelKind::kStarganV2:
      return std::make_unique<StarGanV2Algorithm>(cfg, num_cultures, device);
    case ModelKind::kDcgan:
      return std::make_unique<DcganAlgorithm>(cfg, num_cultures, device);
    case ModelKind::kCycleGan:
      return std::make_unique<CycleGanAlgorithm>(cfg, num_cultures, device);
  }
  throw ConfigError("key 'model.kind': unknown value");
}

}  // namespace culturegan::trainer
