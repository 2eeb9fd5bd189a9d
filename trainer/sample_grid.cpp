#include "trainer/sample_grid.h"

#include <stdexcept>

#include "data/image_io.h"
#include "data/loader.h"

namespace culturegan::trainer {

void save_grid_png(const std::string& path, const std::vector<std::vector<torch::Tensor>>& tiles) {
  if (tiles.empty() || tiles[0].empty()) throw std::invalid_argument("sample grid: no tiles");
  const int64_t rows = static_cast<int64_t>(tiles.size()),
                cols = static_cast<int64_t>(tiles[0].size());
  const int64_t h = tiles[0][0].size(1), w = tiles[0][0].size(2), gap = 2;
  data::RgbImage img;
  img.width = static_cast<int>(cols * (w + gap) + gap);
  img.height = static_cast<int>(rows * (h + gap) + gap);
  img.pixels.assign(static_cast<size_t>(img.width) * img.height * 3, 255);
  for (int64_t r = 0; r < rows; ++r) {
    if (static_cast<int64_t>(tiles[r].size()) != cols)
      throw std::invalid_argument("sample grid: ragged rows");
    for (int64_t c = 0; c < cols; ++c) {
      const auto& t = tiles[r][c];
      if (t.dim() != 3 || t.size(0) != 3 || t.size(1) != h || t.size(2) != w)
        throw std::invalid_argument("sample grid: tile shapes differ");
      auto u8 = data::to_uint8_nhwc(t.unsqueeze(0).to(torch::kCPU, torch::kFloat)).contiguous();
      const uint8_t* src = u8.data_ptr<uint8_t>();
      for (int64_t y = 0; y < h; ++y) {
        uint8_t* dst =
            img.pixels.data() + ((gap + r * (h + gap) + y) * img.width + gap + c * (w + gap)) * 3;
        std::copy(src + y * w * 3, src + (y + 1) * w * 3, dst);
      }
    }
  }
  data::save_png(path, img);
}

}  // namespace culturegan::trainer
