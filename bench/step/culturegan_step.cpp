#include "bench/step/culturegan_step.h"

#include <time.h>

#include <chrono>

#include "models/memory_format.h"
#include "trainer/algorithms/algorithm_factory.h"
#include "trainer/run_options.h"
#include "trainer/train_step.h"

namespace culturegan::bench {
namespace {

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

CulturganStep::CulturganStep(const trainer::Config& cfg, int64_t num_cultures,
                             const distributed::ProcessEnv& env)
    : cfg_(cfg) {
  const torch::Device device(torch::kCPU);
  comm_ = distributed::make_communicator(trainer::to_string(cfg_.distributed.backend), env,
                                         trainer::watchdog_options(cfg_));
  precision_ = trainer::effective_precision(cfg_, device, nullptr);
  torch::manual_seed(static_cast<uint64_t>(cfg_.train.seed));
  algo_ = trainer::make_algorithm(cfg_, num_cultures, device, num_cultures);
  std::vector<torch::Tensor> state;  // trainer.cpp all_state_tensors: parameters and buffers
  for (auto& [name, m] : algo_->modules()) {
    for (auto& p : m->parameters()) state.push_back(p);
    for (auto& b : m->buffers()) state.push_back(b);
  }
  distributed::broadcast_tensors(*comm_, state, 0);
  reducer_ = std::make_unique<distributed::GradientReducer>(*comm_, trainer::reducer_options(cfg_));
  for (auto& phase : algo_->phases()) reducer_->declare_phase(phase.name, phase.params);
  auto gen = at::detail::createCPUGenerator(1);
  const int64_t b = cfg_.train.batch_size, s = cfg_.data.image_size;
  images_ = torch::rand({b, 3, s, s}, gen, torch::kFloat) * 2 - 1;
  labels_ = torch::randint(0, num_cultures, {b}, gen, torch::TensorOptions().dtype(torch::kLong));
}

CulturganStep::~CulturganStep() = default;

StepTiming CulturganStep::run(int steps) {
  StepTiming t;
  t.steps = steps;
  const double c0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i, ++step_) {
    // trainer.cpp train_one_step: rank 0's offset is 0; host_labels is the loader's copy.
    trainer::StepInput in{images_, labels_, step_, 0, static_cast<uint64_t>(cfg_.train.seed),
                          labels_};
    if (cfg_.train.channels_last)  // as train_one_step converts each batch
      in.images = models::in_memory_format(images_, torch::MemoryFormat::ChannelsLast);
    trainer::run_step(*algo_, *reducer_, *comm_, in, cfg_.train.non_finite, precision_);
  }
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  t.seconds = dt.count();
  t.cpu_seconds = process_cpu_seconds() - c0;
  return t;
}

std::map<std::string, int64_t> CulturganStep::parameter_counts() {
  std::map<std::string, int64_t> out;
  for (auto& [name, m] : algo_->modules()) {
    if (name.find("_ema") != std::string::npos) continue;
    int64_t n = 0;
    for (auto& p : m->parameters()) n += p.numel();
    out[name] = n;
  }
  return out;
}

}  // namespace culturegan::bench
