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

void check_consistency(Communicator& comm,
                       const std::vector<std::pair<std::string, torch::Tensor>>& named_tensors,
                       int64_t step) {
  const int64_t n = static_cast<int64_t>(named_tensors.size());
  // Element 0 is the list length, so a rank with another model is caught too.
  torch::Tensor mine = torch::empty({n + 1}, torch::kLong);
  auto* m = mine.data_ptr<int64_t>();
  m[0] = n;
  for (int64_t i = 0; i < n; ++i)
    m[i + 1] = static_cast<int64_t>(tensor_checksum(named_tensors[i].second));
  // Lengths may differ between ranks: gather the lengths first, then fixed-size rows.
  const torch::Device device =
      comm.backend() == "nccl" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  torch::Tensor len = torch::full({1}, n, torch::kLong).to(device);
  int64_t longest = n;
  const auto lengths = comm.all_gather(len, fmt::format("consistency/lengths/step{}", step));
  std::vector<int> length_mismatch;
  std::vector<int64_t> length_of;
  for (const auto& l : lengths) length_of.push_back(l.item<int64_t>());
  for (size_t r = 0; r < length_of.size(); ++r) {
    longest = std::max(longest, length_of[r]);
    if (length_of[r] != length_of[0]) length_mismatch.push_back(static_cast<int>(r));
  }
  torch::Tensor row = torch::zeros({longest + 1}, torch::kLong);
  row.narrow(0, 0, n + 1).copy_(mine);
  row = row.to(device);
  const auto rows = comm.all_gather(row, fmt::format("consistency/checksums/step{}", step));
  auto join = [](const std::vector<int>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s;
  };
  if (!length_mismatch.empty()) {
    throw ConsistencyError(
        fmt::format("consistency check at step {}: ranks {} pass {} tensors, rank 0 passes {}; "
                    "the replicas have different models",
                    step, join(length_mismatch), length_of[length_mismatch[0]], length_of[0]),
        "", length_mismatch);
  }
  const torch::Tensor all = torch::stack(rows).cpu();  // [world, longest + 1]
  const auto a = all.accessor<int64_t, 2>();
  for (int64_t i = 1; i <= n; ++i) {
    std::vector<int> differ;
    for (int64_t r = 1; r < all.size(0); ++r) {
      if (a[r][i] != a[0][i]) differ.push_back(static_cast<int>(r));
    }
    if (!differ.empty()) {
      const std::string& name = named_tensors[i - 1].first;
      throw ConsistencyError(fmt::format("consistency check at step {}: tensor '{}' (#{} of {}) "
                                         "differs on ranks {} from rank 0; the "
                                         "replicas have diverged (non-deterministic op, a "
                                         "rank-local update, or a missed all-reduce)",
                                         step, name, i - 1, n, join(differ)),
                             name, differ);
    }
  }
}

}  // namespace culturegan::distributed
