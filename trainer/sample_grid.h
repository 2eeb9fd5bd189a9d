// Sample grids: rows are source images, columns are the input then each target culture.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

namespace culturegan::trainer {

/// Lays out tiles[row][col] ([3,S,S] float32 in [-1,1], all the same size) into one RGB
/// image with a 2-pixel white gap, and writes it as PNG. Throws std::invalid_argument on
/// ragged or mismatched tiles, std::runtime_error if the PNG cannot be written.
void save_grid_png(const std::string& path, const std::vector<std::vector<torch::Tensor>>& tiles);

}  // namespace culturegan::trainer
