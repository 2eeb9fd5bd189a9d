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
};

/// RAII owner of MPI: MPI_Init_thread(MPI_THREAD_MULTIPLE wanted, FUNNELED accepted) in the
/// constructor, MPI_Finalize in the destructor. Construct exactly one, first thing in main.
class MpiRuntime {
 public:
  MpiRuntime(int* argc, char*** argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;
  const ProcessEnv& env() const { return env_; }

 private:
  ProcessEnv env_;
};

/// Aborts every rank of MPI_COMM_WORLD with `code` (MPI_Abort). Never returns.
[[noreturn]] void abort_all(int code);

}  // namespace culturegan::distributed
