#include "distributed/consistency.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace culturegan::distributed {

uint64_t tensor_checksum(const torch::Tensor& tensor) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const unsigned char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      h ^= data[i];
      h *= 1099511628211ull;
    }
  };
  if (!tensor.defined()) return h;
  const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  const auto dtype = static_cast<int64_t>(t.scalar_type());
  mix(reinterpret_cast<const unsigned char*>(&dtype), sizeof(dtype));
  for (int64_t s : t.sizes()) mix(reinterpret_cast<const unsigned char*>(&s), sizeof(s));
  // Hash 8 bytes at a time for speed, then the tail.
  const auto* bytes = static_cast<const unsigned char*>(t.data_ptr());
  const size_t n = static_cast<size_t>(t.numel()) * t.element_size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    h ^= word;
    h *= 1099511628211ull;
    h ^= h >> 29;
  }
  mix(bytes + i, n - i);
  return h;
}

void check_consistency(ControlPlane& control,
                       const std::vector<std::pair<std::string, torch::Tensor>>& named_tensors,
                       int64_t step) {
  const int64_t n = static_cast<int64_t>(named_tensors.size());
  std::vector<int64_t> mine(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    mine[i] = static_cast<int64_t>(tensor_checksum(named_tensors[i].second));
  // Host checksums over the control plane (lengths may differ between ranks).
  const auto rows = control.all_gather(mine, fmt::format("consistency/checksums/step{}", step));
  auto join = [](const std::vector<int>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s;
  };
  std::vector<int> length_mismatch;
  for (size_t r = 0; r < rows.size(); ++r)
    if (rows[r].size() != rows[0].size()) length_mismatch.push_back(static_cast<int>(r));
  if (!length_mismatch.empty()) {
    throw ConsistencyError(
        fmt::format("consistency check at step {}: ranks {} pass {} tensors, rank 0 passes {}; "
                    "the replicas have different models",
                    step, join(length_mismatch), rows[length_mismatch[0]].size(), rows[0].size()),
        "", length_mismatch);
  }
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int> differ;
    for (size_t r = 1; r < rows.size(); ++r)
      if (rows[r][i] != rows[0][i]) differ.push_back(static_cast<int>(r));
    if (!differ.empty()) {
      const std::string& name = named_tensors[i].first;
      throw ConsistencyError(fmt::format("consistency check at step {}: tensor '{}' (#{} of {}) "
                                         "differs on ranks {} from rank 0; the "
                                         "replicas have diverged (non-deterministic op, a "
                                         "rank-local update, or a missed all-reduce)",
                                         step, name, i, n, join(differ)),
                             name, differ);
    }
  }
}

void check_consistency(Communicator& comm,
                       const std::vector<std::pair<std::string, torch::Tensor>>& named_tensors,
                       int64_t step) {
  auto control = make_control_plane(comm);
  check_consistency(*control, named_tensors, step);
}

}  // namespace culturegan::distributed
