// Driver for the watchdog test: a few GAN-like phases through the GradientReducer with a
// short distributed.timeout_s. With the fault switch (CULTUREGAN_FAULT_STALL_RANK/_AT) one
// rank sleeps before a collective; the others must report and abort, non-zero, in time.
// Usage: culturegan_distributed_stall_driver TIMEOUT_S STEPS
#include <cstdio>
#include <cstdlib>

#include "distributed/communicator.h"
#include "distributed/gradient_reducer.h"

namespace cgd = culturegan::distributed;

int main(int argc, char** argv) {
  cgd::MpiRuntime runtime(&argc, &argv);
  cgd::WatchdogOptions wd;
  wd.timeout_s = argc > 1 ? std::atof(argv[1]) : 2.0;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 3;
  auto comm = cgd::make_communicator("mpi", runtime.env(), wd);
  auto d = torch::randn({4000}, torch::requires_grad());
  auto g = torch::randn({4000}, torch::requires_grad());
  cgd::ReducerOptions o;
  o.first_bucket_mb = 0.005;
  o.bucket_mb = 0.005;
  cgd::GradientReducer reducer(*comm, o);
  reducer.declare_phase("D_main", {d});
  reducer.declare_phase("G_main", {g});
  for (int s = 0; s < steps; ++s) {
    for (const auto& [phase, p] : {std::make_pair("D_main", d), std::make_pair("G_main", g)}) {
      reducer.begin(phase);
      (p * p).sum().backward();
      reducer.finish(phase);
    }
  }
  comm->barrier("end");
  std::printf("rank %d finished %d steps\n", runtime.env().rank, steps);
  return 0;
}
