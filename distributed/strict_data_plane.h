// Test-only data-plane double: a Communicator that forwards to a real backend but, as NCCL
// does for host tensors, rejects every tensor that is not training state. On a CPU run the
// training state is float32 (or bfloat16/float16) weights and gradient buckets; host values
// that ranks agree on (flags, counters, checksums: float64/int32/int64/uint8/bool tensors)
// belong to the ControlPlane. Running the real trainer with this double proves that nothing
// but training state reaches the data plane, so the trainer cannot trip on NCCL's rule.
//   CULTUREGAN_TEST_STRICT_DATA_PLANE=1   make_communicator wraps its backend in the double
// Unset (the normal case) it is never constructed.
#pragma once
#include <memory>

#include "distributed/communicator.h"

namespace culturegan::distributed {

/// True when CULTUREGAN_TEST_STRICT_DATA_PLANE=1 is set.
bool strict_data_plane_requested();

/// Wraps `inner`, sharing its monitor; backend() is inner's + " (strict data plane)" (sequence
/// numbers and the watchdog are unchanged). Every call with a tensor of a host-value dtype throws
/// CommunicatorError "strict data plane: <call> of a <dtype> tensor <shape>: host values go over
/// the control plane", on every rank alike (the trainer calls collectives identically on every
/// rank).
std::unique_ptr<Communicator> make_strict_data_plane(std::unique_ptr<Communicator> inner);

}  // namespace culturegan::distributed
