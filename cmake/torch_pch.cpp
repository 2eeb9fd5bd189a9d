// The translation unit that owns culturegan's precompiled <torch/torch.h>
// (cmake/Warnings.cmake: culturegan_create_torch_pch). It defines nothing.
