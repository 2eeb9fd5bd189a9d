// NCCL backend of Communicator: CUDA tensors, one GPU per rank.
//   bootstrap: rank 0 ncclGetUniqueId -> MPI_Bcast -> ncclCommInitRank on every rank;
//   stream:    its own high-priority CUDA stream; each collective waits on an event
//              recorded on the compute stream (LibTorch's current stream), and wait()
//              makes the compute stream wait on an event recorded after the collective;
//   average:   ncclAvg (NCCL >= 2.10).
// Compiled when CMake finds CUDA + NCCL (CULTUREGAN_HAVE_NCCL); runs where a GPU exists.
#pragma once
#include <memory>

#include "distributed/communicator.h"

namespace culturegan::distributed {

/// True when this build contains the NCCL backend.
bool nccl_compiled_in();

/// Collective over MPI_COMM_WORLD. Throws CommunicatorError, before any collective, when
/// NCCL is not compiled in or there is no usable CUDA device, with the CUDA error text,
/// e.g. "nccl backend: no CUDA device (cudaGetDeviceCount: CUDA driver version is
/// insufficient for CUDA runtime version)". Every rank checks for itself; a rank without
/// a GPU throws locally. The error is raised on every rank alike in the usual case of
/// a homogeneous job.
std::unique_ptr<Communicator> make_nccl_communicator(const ProcessEnv& env,
                                                     std::shared_ptr<CollectiveMonitor> monitor);

}  // namespace culturegan::distributed
