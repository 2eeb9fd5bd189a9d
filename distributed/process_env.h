// Process environment: MPI start-up and this process's place in the job.
#pragma once
#include <string>

namespace culturegan::distributed {

/// Where this process sits. local_rank comes from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED),
/// so it is right under mpirun and srun --mpi=pmix alike.
struct ProcessEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  int node_count = 1;
  std::string hostname;
  /// True when MPI granted MPI_THREAD_MULTIPLE. Without it the watchdog cannot ask the
  /// other ranks where they are (it still times out and aborts) and nothing else changes.
  bool mpi_thread_multiple = false;
};

/// RAII owner of MPI: MPI_Init_thread(MPI_THREAD_MULTIPLE wanted, FUNNELED accepted) in the
/// constructor, MPI_Finalize in the destructor. Construct exactly one, first thing in main.
/// If MPI is already initialised (by a host program) it is used as is and not finalised.
/// Sets OMPI_MCA_mpi_yield_when_idle=1 (waiting ranks yield their core) and
/// OMPI_MCA_coll_libnbc_iallreduce_algorithm=1 (ring for the reducer's MPI_Iallreduce)
/// unless the environment sets them; see README.md.
/// Destroy every Communicator before the runtime (they own threads that use MPI).
/// Throws std::runtime_error if MPI grants less than MPI_THREAD_FUNNELED.
class MpiRuntime {
 public:
  MpiRuntime(int* argc, char*** argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;
  const ProcessEnv& env() const { return env_; }

 private:
  ProcessEnv env_;
  bool owns_mpi_ = false;
};

/// Computes the ProcessEnv of an initialised MPI (collective over MPI_COMM_WORLD):
/// local rank and local world size from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED),
/// node_count = number of ranks whose local rank is 0.
ProcessEnv query_process_env();

/// The device this rank should compute on: "cuda:<local_rank mod device count>" when
/// LibTorch sees a CUDA device, else "cpu". (One GPU per rank, ranks of a node packed
/// onto the node's GPUs in local-rank order, as torchrun and TorchFort do.)
std::string device_for(const ProcessEnv& env);

/// The same choice for a node with `cuda_device_count` visible GPUs (0: "cpu"), without
/// asking LibTorch: what device_for() gives on such a node. Lets a CPU-only machine check
/// the placement of a multi-node, multi-GPU job (tests/multinode).
std::string device_for(const ProcessEnv& env, int cuda_device_count);

/// Aborts every rank of MPI_COMM_WORLD with `code` (MPI_Abort). Never returns.
/// Flushes stdout and stderr first so the last report is not lost.
[[noreturn]] void abort_all(int code);

}  // namespace culturegan::distributed
