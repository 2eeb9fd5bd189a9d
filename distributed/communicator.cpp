// make_communicator (backend choice) and broadcast_tensors.
#include "distributed/communicator.h"

#include <map>

#include <fmt/format.h>

#include "distributed/mpi_communicator.h"
#include "distributed/nccl_communicator.h"

namespace culturegan::distributed {

std::unique_ptr<Communicator> make_communicator(const std::string& backend, const ProcessEnv& env) {
  return make_communicator(backend, env, WatchdogOptions{});
}

std::unique_ptr<Communicator> make_communicator(const std::string& backend, const ProcessEnv& env,
                                                const WatchdogOptions& watchdog) {
  if (backend == "mpi") return make_mpi_communicator(env, watchdog);
  if (backend == "nccl") return make_nccl_communicator(env, watchdog);
  if (backend == "auto") {
    if (nccl_compiled_in() && torch::cuda::is_available())
      return make_nccl_communicator(env, watchdog);
    return make_mpi_communicator(env, watchdog);
  }
  throw CommunicatorError(fmt::format(
      "distributed.backend: expected \"auto\", \"mpi\" or \"nccl\", found \"{}\"", backend));
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
