// Consistency check: are the replicas still replicas?
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "distributed/communicator.h"
#include "distributed/control_plane.h"

namespace culturegan::distributed {

/// Thrown on every rank alike when the ranks' tensors differ. what() names the step, the
/// first differing tensor (by name and index) and the ranks that differ from rank 0.
class ConsistencyError : public std::runtime_error {
 public:
  ConsistencyError(const std::string& message, std::string tensor, std::vector<int> ranks)
      : std::runtime_error(message), tensor_(std::move(tensor)), ranks_(std::move(ranks)) {}
  const std::string& tensor() const { return tensor_; }
  const std::vector<int>& ranks() const { return ranks_; }

 private:
  std::string tensor_;
  std::vector<int> ranks_;
};

/// 64-bit FNV-1a hash of the tensor's bytes (shape and dtype included); equal iff the
/// replicas are bit-identical, which data-parallel replicas are (every rank applies the
/// same averaged gradient with the same optimizer). CUDA tensors are hashed on the host.
uint64_t tensor_checksum(const torch::Tensor& tensor);

/// Collective over the control plane (one all-gather of one int64 host checksum per tensor):
/// compares every rank's checksums with rank 0's, whatever device the tensors are on. Call it every
/// distributed.check_every steps with all parameters and buffers (names as in
/// named_parameters()/named_buffers()). Throws ConsistencyError("consistency check at step 300:
/// tensor 'D.conv1.weight'
/// (#4 of 52) differs on ranks 1, 3 from rank 0; ...") on every rank; returns normally
/// when all agree. Every rank must pass the same list (names and count); a rank whose list
/// is a different length is reported too.
void check_consistency(ControlPlane& control,
                       const std::vector<std::pair<std::string, torch::Tensor>>& named_tensors,
                       int64_t step);
/// The same over a temporary control plane beside `comm` (sharing its monitor); collective.
void check_consistency(Communicator& comm,
                       const std::vector<std::pair<std::string, torch::Tensor>>& named_tensors,
                       int64_t step);

/// True when `step` is a check step for `check_every` (> 0 and step % check_every == 0).
inline bool is_check_step(int64_t step, int64_t check_every) {
  return check_every > 0 && step % check_every == 0;
}

}  // namespace culturegan::distributed
