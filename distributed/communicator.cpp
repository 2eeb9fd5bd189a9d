// make_communicator (backend choice) and broadcast_tensors.
#include "distributed/communicator.h"

#include <map>

#include <fmt/format.h>

#include "distributed/mpi_communicator.h"
#include "distributed/nccl_communicator.h"
#include "distributed/strict_data_plane.h"

namespace culturegan::distributed {
namespace {

// Keeps an async collective registered with the monitor until it has completed.
class MonitoredWork : public Work {
 public:
  MonitoredWork(std::shared_ptr<Work> inner, std::shared_ptr<CollectiveMonitor> monitor,
                uint64_t handle)
      : inner_(std::move(inner)), monitor_(std::move(monitor)), handle_(handle) {}
  ~MonitoredWork() override {
    if (!done_) wait();
  }
  bool test() override {
    if (!done_ && inner_->test()) finish();
    return done_;
  }
  void wait() override {
    if (done_) return;
    inner_->wait();
    finish();
  }

 private:
  void finish() {
    done_ = true;
    monitor_->leave(handle_);
  }
  std::shared_ptr<Work> inner_;
  std::shared_ptr<CollectiveMonitor> monitor_;
  uint64_t handle_;
  bool done_ = false;
};

}  // namespace

Communicator::Communicator(int rank, int world_size, std::shared_ptr<CollectiveMonitor> monitor)
    : rank_(rank), world_size_(world_size), monitor_(std::move(monitor)) {}

Communicator::~Communicator() = default;

void Communicator::all_reduce(torch::Tensor& tensor, ReduceOp op, const std::string& tag) {
  CollectiveMonitor::Scope scope(*monitor_, tag);
  do_all_reduce(tensor, op);
}

void Communicator::broadcast(torch::Tensor& tensor, int root, const std::string& tag) {
  CollectiveMonitor::Scope scope(*monitor_, tag);
  do_broadcast(tensor, root);
}

std::vector<torch::Tensor> Communicator::all_gather(const torch::Tensor& tensor,
                                                    const std::string& tag) {
  CollectiveMonitor::Scope scope(*monitor_, tag);
  return do_all_gather(tensor);
}

void Communicator::barrier(const std::string& tag) {
  CollectiveMonitor::Scope scope(*monitor_, tag);
  do_barrier();
}

std::shared_ptr<Work> Communicator::all_reduce_async(torch::Tensor tensor, ReduceOp op,
                                                     const std::string& tag) {
  const uint64_t handle = monitor_->enter(tag);
  std::shared_ptr<Work> inner;
  try {
    inner = do_all_reduce_async(std::move(tensor), op);
  } catch (...) {
    monitor_->leave(handle);
    throw;
  }
  return std::make_shared<MonitoredWork>(std::move(inner), monitor_, handle);
}

std::unique_ptr<Communicator> make_communicator(const std::string& backend, const ProcessEnv& env) {
  return make_communicator(backend, env, WatchdogOptions{});
}

std::unique_ptr<Communicator> make_communicator(const std::string& backend, const ProcessEnv& env,
                                                const WatchdogOptions& watchdog) {
  if (backend != "mpi" && backend != "nccl" && backend != "auto")
    throw CommunicatorError(fmt::format(
        "distributed.backend: expected \"auto\", \"mpi\" or \"nccl\", found \"{}\"", backend));
  return make_communicator(backend, env, std::make_shared<CollectiveMonitor>(env, watchdog));
}

std::unique_ptr<Communicator> make_communicator(const std::string& backend, const ProcessEnv& env,
                                                std::shared_ptr<CollectiveMonitor> monitor) {
  std::unique_ptr<Communicator> comm;
  if (backend == "mpi") {
    comm = make_mpi_communicator(env, monitor);
  } else if (backend == "nccl") {
    comm = make_nccl_communicator(env, monitor);
  } else if (backend == "auto") {
    comm = nccl_compiled_in() && torch::cuda::is_available() ? make_nccl_communicator(env, monitor)
                                                             : make_mpi_communicator(env, monitor);
  } else {
    throw CommunicatorError(fmt::format(
        "distributed.backend: expected \"auto\", \"mpi\" or \"nccl\", found \"{}\"", backend));
  }
  if (strict_data_plane_requested()) comm = make_strict_data_plane(std::move(comm));
  return comm;
}

void broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors, int root) {
  torch::NoGradGuard no_grad;
  // One flat buffer per (device, dtype), in first-appearance order (identical on all ranks).
  std::vector<std::pair<std::string, std::vector<torch::Tensor>>> groups;
  std::map<std::string, size_t> index;
  for (const auto& t : tensors) {
    if (!t.defined() || t.numel() == 0) continue;
    const std::string key = t.device().str() + "/" + std::string(c10::toString(t.scalar_type()));
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, groups.size()).first;
      groups.push_back({key, {}});
    }
    groups[it->second].second.push_back(t);
  }
  for (auto& [key, group] : groups) {
    std::vector<torch::Tensor> flat;
    flat.reserve(group.size());
    for (const auto& t : group) flat.push_back(t.detach().reshape({-1}));
    torch::Tensor buffer = torch::cat(flat);
    comm.broadcast(buffer, root, "broadcast_tensors/" + key);
    int64_t offset = 0;
    for (auto& t : group) {
      t.detach().copy_(buffer.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

}  // namespace culturegan::distributed
