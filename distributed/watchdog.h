// Watchdog: turns a hung collective into a report and a non-zero exit of every rank.
//
// Every collective of a Communicator is registered here with its tag ("G_main/bucket2")
// and its sequence number (the n-th collective of that communicator; equal on all ranks
// because collectives are called in the same order). A monitor thread checks the
// registrations every `poll_s`; one pending for longer than `timeout_s` makes this rank
//   1. ask every other rank (non-blocking messages on a private duplicate of
//      MPI_COMM_WORLD, answered by their own watchdog threads, which keep running while
//      their main thread computes, sleeps or waits in MPI) which sequence number it has
//      entered and whether it is inside a collective;
//   2. name the ranks that had not arrived at the stuck collective (entered seq < seq of
//      the stuck one) and those that did not answer within `query_s`;
//   3. print one report to stderr (the lowest-numbered arrived rank prints it, the others
//      print one line) and abort every rank with `exit_code` (MPI_Abort).
// Asking the other ranks needs MPI_THREAD_MULTIPLE; with less, the report says the other
// ranks' state is unknown and the process exits with `exit_code` (mpirun/srun then end
// the job). Design after Horovod's stall inspector, but it aborts instead of warning.
#pragma once
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace culturegan::distributed {

/// Config keys distributed.timeout_s (default 300).
struct WatchdogOptions {
  double timeout_s = 300.0;  ///< seconds a collective may take; <= 0 disables the watchdog
  double poll_s = 0.05;      ///< how often the monitor thread looks
  double query_s = 2.0;      ///< how long to wait for the other ranks' answers
  int exit_code = 3;         ///< exit status of every rank after a timeout
};

class Watchdog {
 public:
  /// Collective over `world` (duplicates it). `can_query`: MPI_THREAD_MULTIPLE granted.
  Watchdog(const WatchdogOptions& options, MPI_Comm world, bool can_query);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  /// Registers collective `seq` named `tag` as started now; returns a handle for leave().
  uint64_t enter(const std::string& tag, uint64_t seq);
  /// Marks the collective as finished.
  void leave(uint64_t handle);
  const WatchdogOptions& options() const { return options_; }

 private:
  struct Pending {
    std::string tag;
    uint64_t seq;
    std::chrono::steady_clock::time_point start;
  };
  void run();
  void answer_queries();
  [[noreturn]] void on_timeout(const Pending& stuck);

  WatchdogOptions options_;
  MPI_Comm side_ = MPI_COMM_NULL;
  bool can_query_ = false;
  int rank_ = 0;
  int world_size_ = 1;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<uint64_t, Pending> pending_;
  uint64_t next_handle_ = 1;
  int64_t entered_seq_ = -1;  ///< highest sequence number entered
  std::string entered_tag_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace culturegan::distributed
