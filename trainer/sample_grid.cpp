#include "trainer/sample_grid.h"

#include <filesystem>
#include <stdexcept>

#include "data/image_io.h"
#include "data/loader.h"

namespace culturegan::trainer {
namespace fs = std::filesystem;

torch::Tensor sample_sources(const data::CorpusReader& corpus, const std::string& source_culture,
                             int64_t count, std::vector<std::string>* paths) {
  const auto& cultures = corpus.cultures();
  int32_t source = -1;
  for (size_t i = 0; i < cultures.size(); ++i)
    if (cultures[i] == source_culture) source = static_cast<int32_t>(i);
  std::vector<int64_t> picked;
  for (int64_t i : corpus.val_indices())
    if (static_cast<int64_t>(picked.size()) < count && (source < 0 || corpus.labels()[i] == source))
      picked.push_back(i);
  if (picked.empty())
    for (int64_t i : corpus.train_indices())
      if (static_cast<int64_t>(picked.size()) < count) picked.push_back(i);
  const int64_t s = corpus.image_size();
  auto u8 = torch::empty({static_cast<int64_t>(picked.size()), s, s, 3}, torch::kUInt8);
  for (size_t k = 0; k < picked.size(); ++k) {
    corpus.read_images(picked[k], 1, u8.data_ptr<uint8_t>() + k * s * s * 3);
    paths->push_back(corpus.source_path(picked[k]));
  }
  return data::to_model_range(u8);
}

void write_sample_grid(const std::string& path, GanAlgorithm& algo, const torch::Tensor& sources,
                       int64_t num_cultures, torch::Device device) {
  if (sources.size(0) == 0) return;
  auto x = sources.to(device);
  std::vector<torch::Tensor> columns{x};
  for (int64_t c = 0; c < num_cultures; ++c) columns.push_back(algo.translate(x, c));
  std::vector<std::vector<torch::Tensor>> tiles(static_cast<size_t>(x.size(0)));
  for (int64_t r = 0; r < x.size(0); ++r)
    for (auto& col : columns) tiles[r].push_back(col[r].to(torch::kCPU));
  fs::create_directories(fs::path(path).parent_path());
  save_grid_png(path, tiles);
}

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
