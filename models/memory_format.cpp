#include "models/memory_format.h"

#include <stdexcept>

namespace culturegan::models {
namespace {

void check_format(torch::MemoryFormat format) {
  if (format != torch::MemoryFormat::ChannelsLast && format != torch::MemoryFormat::Contiguous)
    throw std::invalid_argument(
        "to_memory_format: expected torch::MemoryFormat::ChannelsLast or ::Contiguous");
}

}  // namespace

void to_memory_format(torch::nn::Module& module, torch::MemoryFormat format) {
  check_format(format);
  torch::NoGradGuard no_grad;
  auto convert = [format](torch::Tensor t) {
    if (t.defined() && t.dim() == 4 && !t.is_contiguous(format)) t.set_data(t.contiguous(format));
  };
  for (auto& p : module.parameters(/*recurse=*/true)) convert(p);
  for (auto& b : module.buffers(/*recurse=*/true)) convert(b);
}

torch::MemoryFormat memory_format_of(const torch::nn::Module& module) {
  for (const auto& p : module.parameters(/*recurse=*/true))
    if (p.dim() == 4 && !p.is_contiguous() && p.is_contiguous(torch::MemoryFormat::ChannelsLast))
      return torch::MemoryFormat::ChannelsLast;
  return torch::MemoryFormat::Contiguous;
}

torch::Tensor in_memory_format(const torch::Tensor& x, torch::MemoryFormat format) {
  check_format(format);
  return x.dim() == 4 ? x.contiguous(format) : x;
}

}  // namespace culturegan::models
