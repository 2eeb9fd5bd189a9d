#include "tests/distributed/mpi_test_main.h"

#include <cstdio>
#include <memory>

namespace culturegan::distributed::testing {
namespace {
const ProcessEnv* g_env = nullptr;
}
const ProcessEnv& env() { return *g_env; }
}  // namespace culturegan::distributed::testing

int main(int argc, char** argv) {
  culturegan::distributed::MpiRuntime runtime(&argc, &argv);
  culturegan::distributed::testing::g_env = &runtime.env();
  ::testing::InitGoogleTest(&argc, argv);
  const int rank = runtime.env().rank;
  if (rank != 0) {
    // Other ranks report failures only (with their rank), not the full listing.
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int local_rc = RUN_ALL_TESTS();
  const auto* unit = ::testing::UnitTest::GetInstance();
  int failed =
      unit->failed_test_count() + (local_rc != 0 && unit->failed_test_count() == 0 ? 1 : 0);
  if (failed && rank != 0) std::fprintf(stderr, "rank %d: %d test(s) FAILED\n", rank, failed);
  int total = 0;
  MPI_Allreduce(&failed, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0 && total) std::fprintf(stderr, "%d test failure(s) summed over all ranks\n", total);
  return total == 0 ? 0 : 1;
}
