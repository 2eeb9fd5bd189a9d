// A StarGAN spec small enough for unit tests (widths 4, one residual block).
#pragma once
#include "models/stargan.h"

namespace culturegan::testing {

inline models::StarGanSpec small_spec(int64_t size = 32, int64_t cultures = 4) {
  models::StarGanSpec s;
  s.num_cultures = cultures;
  s.image_size = size;
  s.g_conv_dim = 4;
  s.g_res_blocks = 1;
  s.d_conv_dim = 4;
  return s;
}

}  // namespace culturegan::testing
