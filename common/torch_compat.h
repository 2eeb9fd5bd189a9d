// The one place where LibTorch 1.13 (Debian 12) and 2.x (Debian 13's 2.6, PyTorch wheels'
// LibTorch on GPU machines) differ for culturegan. Code that touches one of these APIs calls
// the wrapper here instead of either spelling; scripts/check-libtorch2.sh builds against 2.6,
// bench/gpu/device-check.sh against the device machine's 2.x with CUDA, the main suite
// against 1.13, and bench/gpu/torch_compat_probe.cpp exercises every wrapper in all three.
//
//   optional        c10::optional is its own type in 1.13 and an alias of std::optional in
//                   2.x (deprecated there): use compat::optional / compat::nullopt where a
//                   LibTorch signature takes one.
//   optimizer state Optimizer::state() is keyed by c10::guts::to_string(TensorImpl*) in 1.13
//                   and by the TensorImpl* itself in 2.x (c10::guts::to_string is gone):
//                   use compat::optimizer_state_key(param).
//   autocast        1.13 has per-device spellings (set_enabled / set_cpu_enabled,
//                   set_autocast_gpu_dtype / _cpu_dtype); 2.4+ takes the device type
//                   (set_autocast_enabled(DeviceType, bool), set_autocast_dtype) and
//                   deprecates the old ones: use compat::AutocastGuard or the functions below.
//   serialisation   torch::pickle_save / pickle_load and torch::serialize archives have the
//                   same C++ signatures in 1.13 and 2.x (checked by the probe); what changed is
//                   Python's torch.load, which defaults to weights_only=True from 2.6 (Python
//                   readers of bundles must pass weights_only explicitly).
//   CUDA streams    <c10/cuda/CUDAStream.h> exists only in a CUDA LibTorch: include this
//                   header with CULTUREGAN_TORCH_HAS_CUDA defined to get
//                   compat::current_cuda_stream(device).
#pragma once
#include <optional>
#include <string>
#include <type_traits>

#include <ATen/autocast_mode.h>
#include <c10/util/Optional.h>
#include <torch/torch.h>
#include <torch/version.h>

#ifdef CULTUREGAN_TORCH_HAS_CUDA
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

/// True when the LibTorch being compiled against is at least major.minor.
#define CULTUREGAN_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||             \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

/// c10::Allocator's interface, for an allocator that wraps another (models/bundle.cpp):
/// `allocate()` is const in 1.13 and non-const in 2.x, where `copy_data()` is also pure virtual
/// (both changed with `Allocator::clone`, PyTorch 2.3; checked against 1.13 and 2.6).
#if CULTUREGAN_TORCH_AT_LEAST(2, 3)
#define CULTUREGAN_ALLOCATE_CONST
#define CULTUREGAN_ALLOCATOR_HAS_COPY_DATA 1
#else
#define CULTUREGAN_ALLOCATE_CONST const
#define CULTUREGAN_ALLOCATOR_HAS_COPY_DATA 0
#endif

namespace culturegan::compat {

/// The optional type LibTorch's own signatures take (c10::optional in 1.13, std::optional in 2.x).
template <class T>
using optional = c10::optional<T>;
inline constexpr auto nullopt = c10::nullopt;

/// Zeroes every gradient of `optimizer`'s parameters in place, as 1.13's `zero_grad()` does; 2.x's
/// `zero_grad()` sets them to undefined instead, and then a parameter a phase leaves without a
/// gradient is skipped by the optimizer (no momentum or Adam-state update) on one rank and
/// updated with the gradient reducer's zeros on N ranks. Zeroing keeps both LibTorch versions,
/// and every world size, on the same update.
inline void zero_grad(torch::optim::Optimizer& optimizer) {
#if CULTUREGAN_TORCH_AT_LEAST(2, 0)
  optimizer.zero_grad(/*set_to_none=*/false);
#else
  optimizer.zero_grad();
#endif
}

/// "major.minor.patch" of the LibTorch compiled against.
inline std::string torch_version() { return TORCH_VERSION; }

/// The key of `param`'s entry in Optimizer::state().
inline auto optimizer_state_key(const torch::Tensor& param) {
#if CULTUREGAN_TORCH_AT_LEAST(2, 0)
  return static_cast<void*>(param.unsafeGetTensorImpl());
#else
  return c10::guts::to_string(param.unsafeGetTensorImpl());
#endif
}
static_assert(
    std::is_same_v<
        decltype(optimizer_state_key(std::declval<const torch::Tensor&>())),
        std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type>,
    "compat::optimizer_state_key does not match Optimizer::state()'s key type");

/// Autocast for one device type (kCPU or kCUDA), spelled for the LibTorch at hand.
inline bool autocast_enabled(c10::DeviceType device) {
#if CULTUREGAN_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  TORCH_CHECK(device == c10::DeviceType::CPU || device == c10::DeviceType::CUDA,
              "compat::autocast_enabled: CPU or CUDA only, got ", device);
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled()
                                        : at::autocast::is_enabled();
#endif
}
inline void set_autocast_enabled(c10::DeviceType device, bool enabled) {
#if CULTUREGAN_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, enabled);
#else
  TORCH_CHECK(device == c10::DeviceType::CPU || device == c10::DeviceType::CUDA,
              "compat::set_autocast_enabled: CPU or CUDA only, got ", device);
  if (device == c10::DeviceType::CPU)
    at::autocast::set_cpu_enabled(enabled);
  else
    at::autocast::set_enabled(enabled);
#endif
}
inline at::ScalarType autocast_dtype(c10::DeviceType device) {
#if CULTUREGAN_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  TORCH_CHECK(device == c10::DeviceType::CPU || device == c10::DeviceType::CUDA,
              "compat::autocast_dtype: CPU or CUDA only, got ", device);
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                        : at::autocast::get_autocast_gpu_dtype();
#endif
}
inline void set_autocast_dtype(c10::DeviceType device, at::ScalarType dtype) {
#if CULTUREGAN_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(device, dtype);
#else
  TORCH_CHECK(device == c10::DeviceType::CPU || device == c10::DeviceType::CUDA,
              "compat::set_autocast_dtype: CPU or CUDA only, got ", device);
  if (device == c10::DeviceType::CPU)
    at::autocast::set_autocast_cpu_dtype(dtype);
  else
    at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

/// Scoped autocast, as Python's `with torch.autocast(device_type, dtype)`: enables autocast
/// for `device` with `dtype` (or disables it, enabled = false) and restores the previous state
/// on destruction; the outermost guard clears the cast cache on exit. Not copyable.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, at::ScalarType dtype, bool enabled = true)
      : device_(device),
        was_enabled_(autocast_enabled(device)),
        was_dtype_(autocast_dtype(device)) {
    set_autocast_enabled(device_, enabled);
    set_autocast_dtype(device_, dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast_enabled(device_, was_enabled_);
    set_autocast_dtype(device_, was_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool was_enabled_;
  at::ScalarType was_dtype_;
};

#ifdef CULTUREGAN_TORCH_HAS_CUDA
/// The stream LibTorch computes on for `device` (its current stream).
inline cudaStream_t current_cuda_stream(int device) {
  return c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).stream();
}
#endif

}  // namespace culturegan::compat
