// Sample grids: rows are source images, columns are the input then each target culture.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

#include "data/corpus_reader.h"
#include "trainer/algorithms/gan_algorithm.h"

namespace culturegan::trainer {

/// Up to `count` val images of `source_culture` (any val images when it has none, then train
/// images): [K,3,S,S] float32 in [-1,1]; their source paths (relative to the ingest input
/// folder) are appended to `paths`.
torch::Tensor sample_sources(const data::CorpusReader& corpus, const std::string& source_culture,
                             int64_t count, std::vector<std::string>* paths);

/// Rows = `sources` ([K,3,S,S] in [-1,1]); columns = the input, then algo.translate into each
/// of the `num_cultures` cultures. Creates the parent directory. Nothing when K = 0.
void write_sample_grid(const std::string& path, GanAlgorithm& algo, const torch::Tensor& sources,
                       int64_t num_cultures, torch::Device device);

/// Lays out tiles[row][col] ([3,S,S] float32 in [-1,1], all the same size) into one RGB
/// image with a 2-pixel white gap, and writes it as PNG. Throws std::invalid_argument on
/// ragged or mismatched tiles, std::runtime_error if the PNG cannot be written.
void save_grid_png(const std::string& path, const std::vector<std::vector<torch::Tensor>>& tiles);

}  // namespace culturegan::trainer
