// main() for GoogleTest binaries run under mpiexec: MPI runtime + gtest, and the result
// is agreed on by all ranks (the number of failed tests is all-reduced), so a test that
// fails on one rank fails the whole ctest. Only rank 0 prints gtest's report.
#pragma once
#include <mpi.h>

#include <gtest/gtest.h>

#include "distributed/process_env.h"

namespace culturegan::distributed::testing {

/// The runtime's environment, for tests.
const ProcessEnv& env();

}  // namespace culturegan::distributed::testing
