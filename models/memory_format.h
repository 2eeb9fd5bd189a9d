// Memory layout of a network's 4-D tensors: NCHW (PyTorch's default) or channels-last (NHWC
// strides, same shape and values), the layout oneDNN and cuDNN prefer for convolutions with
// bf16/tensor cores. A convolution whose input or weight is channels-last returns a
// channels-last output, so converting the weights and the input batch carries the layout
// through the network (PyTorch's `model.to(memory_format=torch.channels_last)`,
// "Channels Last Memory Format in PyTorch", pytorch.org tutorials). Values are those of the NCHW
// run up to float rounding (other kernels, other summation orders).
#pragma once
#include <torch/torch.h>

namespace culturegan::models {

/// Every 4-D parameter and buffer of `module` and its submodules, in `format`
/// (torch::MemoryFormat::ChannelsLast or ::Contiguous), in place (`set_data`: the tensors keep
/// their identity, so optimizers and gradient hooks that hold them are unaffected). Other
/// tensors are left as they are. Throws std::invalid_argument for another format.
void to_memory_format(torch::nn::Module& module, torch::MemoryFormat format);

/// ChannelsLast when some 4-D parameter of `module` is channels-last and not NCHW-contiguous
/// (a 1×1 map is both, and does not count), else Contiguous.
torch::MemoryFormat memory_format_of(const torch::nn::Module& module);

/// `x` ([N,C,H,W], any dtype) in `format`; other ranks are returned unchanged.
torch::Tensor in_memory_format(const torch::Tensor& x, torch::MemoryFormat format);

}  // namespace culturegan::models
