// MPI backend of Communicator: CPU tensors, on a private duplicate of MPI_COMM_WORLD.
#pragma once
#include <mpi.h>

#include <memory>

#include "distributed/communicator.h"

namespace culturegan::distributed {

/// Maps a torch dtype to the MPI datatype used on the wire; float16/bfloat16 have none
/// (they are reduced in float32). Throws CommunicatorError for other dtypes.
MPI_Datatype mpi_datatype(torch::ScalarType dtype);

/// Collective over MPI_COMM_WORLD. Tensors must be CPU and contiguous.
/// all_reduce is MPI_Allreduce (OpenMPI's tuned algorithms); all_reduce_async is
/// MPI_Iallreduce, progressed by Work::test()/wait() (the reducer calls test() from its
/// gradient hooks, so no extra thread spins on the 2-core CI machines).
/// Blocking calls are MPI_Allreduce/MPI_Bcast/MPI_Allgather/MPI_Barrier and Work::wait is
/// MPI_Waitall. CULTUREGAN_MPI_WAIT=polite (opt-in) makes every wait MPI_Test for 1 ms, then
/// MPI_Test + sleep (20..200 us backoff), so a rank waiting for a slower one frees its core.
/// kAverage = MPI_SUM then division by the world size in place.
/// Messages above INT_MAX elements are split into several calls.
/// `monitor` numbers and watches every collective (shared with the control plane).
std::unique_ptr<Communicator> make_mpi_communicator(const ProcessEnv& env,
                                                    std::shared_ptr<CollectiveMonitor> monitor);

}  // namespace culturegan::distributed
