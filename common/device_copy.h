// Host-to-device copies and the current device, without a host synchronisation and without
// CUDA headers (so the CPU build and a CUDA LibTorch compile the same code).
#pragma once
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/torch.h>

namespace culturegan::common {

/// `t` on `device`. To a CUDA device: staged through page-locked (pinned) host memory and
/// copied with non_blocking = true, so the host does not wait for the queued kernels (the
/// copy is ordered on the current stream; LibTorch's pinned allocator keeps the staging
/// buffer alive until it completes). To the CPU, or when `t` is already there: `t` itself
/// (no copy). Any dtype and shape. Throws c10::Error when the device is unavailable.
inline torch::Tensor to_device_async(const torch::Tensor& t, const torch::Device& device) {
  if (t.device() == device) return t;
  if (device.is_cuda() && t.device().is_cpu())
    return t.pin_memory().to(device, /*non_blocking=*/true);
  return t.to(device);
}

/// Makes `device` the current device of this thread (cudaSetDevice for cuda:<i>), so
/// kernels, streams and NCCL communicators of this rank land on its own GPU and never on
/// GPU 0 by default. A no-op for the CPU. Throws c10::Error when the backend is missing.
inline void make_current(const torch::Device& device) {
  if (device.is_cpu()) return;
  c10::impl::getDeviceGuardImpl(device.type())->setDevice(device);
}

}  // namespace culturegan::common
