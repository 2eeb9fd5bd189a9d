// GradientReducer: GAN-phase-aware bucketed gradient all-reduce.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "distributed/communicator.h"

namespace culturegan::distributed {

struct ReducerOptions {
  double first_bucket_mb = 1.0;
  double bucket_mb = 25.0;
  bool scrub_non_finite = false;  ///< replace NaN/Inf gradients by 0 before reducing
};

/// Usage per phase:
///   reducer.declare_phase("D_main", d_params);     // once, at set-up
///   reducer.begin("D_main");  loss.backward();  reducer.finish("D_main");  opt.step();
/// After finish() every declared parameter's .grad() holds the average over ranks
/// (a parameter that got no gradient on this rank contributes zeros).
class GradientReducer {
 public:
  GradientReducer(Communicator& comm, ReducerOptions options);
  ~GradientReducer();
  void declare_phase(const std::string& phase, const std::vector<torch::Tensor>& params);
  void begin(const std::string& phase);
  void finish(const std::string& phase);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace culturegan::distributed
