// culturegan-infer: translate images into a target culture with a generator bundle.
//   culturegan-infer --bundle G.bundle --input IMG|DIR [--input ...] --target CULTURE|all|C:w,C:w
//       --output OUT [--strength 0..1] [--source CULTURE] [--device cpu|cuda] [--grid FILE.png]
//       [--seed N] [--reference IMG] [--size train|native|N] [--tile T] [--overlap O] [--batch B]
//       [--norm-stats global|tile] [--stats-size S]          (docs/inference.md)
//   dcgan bundles (noise → image): culturegan-infer --bundle G.bundle --count N --target ...
//       --output DIR [--seed N] [--grid FILE.png]
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>

#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "data/progress.h"
#include "inference/exif.h"
#include "inference/translate.h"

namespace fs = std::filesystem;
using namespace culturegan;

namespace {

std::vector<fs::path> collect_inputs(const std::vector<std::string>& inputs) {
  std::vector<fs::path> out;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(in)) {
        std::string ext = e.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
        if (e.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png"))
          files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      if (files.empty())
        throw std::invalid_argument(
            fmt::format("--input {}: no .jpg/.jpeg/.png files in the folder", in));
      out.insert(out.end(), files.begin(), files.end());
    } else if (fs::is_regular_file(in, ec)) {
      out.emplace_back(in);
    } else {
      throw std::invalid_argument(fmt::format("--input {}: no such file or folder", in));
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"culturegan-infer: translate images into the style of a culture"};
  std::string bundle, target, output, device = "cpu", source = "auto", grid, reference;
  std::vector<std::string> inputs;
  double strength = 1.0;
  uint64_t seed = 0;
  int count = 0;
  std::string size_text = "train", norm_stats = "global";
  inference::InferOptions opts;
  app.add_option("--bundle", bundle, "generator bundle written by culturegan-train")->required();
  app.add_option("--input", inputs, "image file or folder (repeatable)");
  app.add_option("--target", target, "CULTURE, 'all', or a mix CULTURE:w,CULTURE:w")->required();
  app.add_option("--output", output, "output folder (or a .png file for one input and one target)")
      ->required();
  app.add_option("--strength", strength, "style strength in [0,1]")->check(CLI::Range(0.0, 1.0));
  app.add_option("--source", source,
                 "culture of the inputs, used by --strength ('auto': 'photo' if the bundle has it; "
                 "'none': blend pixels)");
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--grid", grid,
                 "also write a PNG grid: rows = inputs, columns = input then each target");
  app.add_option("--seed", seed, "latent seed (starganv2 styles, dcgan samples)");
  app.add_option("--reference", reference,
                 "reference image whose style (read as --target's culture) is applied "
                 "(starganv2 bundles)");
  app.add_option("--count", count, "dcgan bundles: images to generate per target")
      ->check(CLI::PositiveNumber);
  app.add_option("--size", size_text,
                 "working resolution: train (the bundle's training size, short side), native "
                 "(the input's pixels) or N (short side N pixels)");
  app.add_option("--tile", opts.tiles.tile,
                 "tile side in working pixels (multiple of 4); larger images run in overlapping "
                 "tiles; 0 = never tile")
      ->capture_default_str();
  app.add_option("--overlap", opts.tiles.overlap,
                 "overlap of neighbouring tiles in pixels (multiple of 4, < tile/2)")
      ->capture_default_str();
  app.add_option("--batch", opts.tiles.batch, "tiles per forward pass")->capture_default_str();
  app.add_option("--norm-stats", norm_stats,
                 "InstanceNorm statistics of tiles: global (of the whole image, from a "
                 "downscaled first pass) or tile (each tile's own; seams)");
  app.add_option("--stats-size", opts.stats_size,
                 "long side of the statistics pass in pixels (0 = --tile)");
  CLI11_PARSE(app, argc, argv);

  try {
    opts.size = inference::parse_working_size(size_text);
    inference::check_tile_options(opts.tiles);
    if (norm_stats != "global" && norm_stats != "tile")
      throw std::invalid_argument(
          fmt::format("--norm-stats: expected global or tile, found '{}'", norm_stats));
    opts.global_norm_stats = norm_stats == "global";
    inference::Translator translator(bundle, device);
    const auto& cultures = translator.cultures();
    if (source == "auto")
      source =
          std::find(cultures.begin(), cultures.end(), "photo") != cultures.end() ? "photo" : "";
    if (source == "none") source = "";
    if (!source.empty() && std::find(cultures.begin(), cultures.end(), source) == cultures.end())
      throw std::invalid_argument(fmt::format("--source: unknown culture '{}'", source));
    const auto targets = inference::parse_targets(target, cultures);
    const int thumb = 128;
    std::vector<data::RgbImage> tiles;
    int rows = 0;
    if (!translator.translates()) {
      if (count <= 0 || !inputs.empty() || !reference.empty())
        throw std::invalid_argument(fmt::format(
            "{}: a {} bundle generates from noise: expected --count N and no --input/--reference",
            bundle, translator.model()));
      fs::create_directories(output);
      rows = count;
      std::vector<std::vector<data::RgbImage>> per_target(targets.size());
      for (size_t t = 0; t < targets.size(); ++t)
        for (int i = 0; i < count; ++i) {
          const data::RgbImage out =
              translator.generate(targets[t], seed + static_cast<uint64_t>(i));
          const std::string path =
              (fs::path(output) /
               fmt::format("{}_{:03d}.png", inference::target_label(targets[t]), i))
                  .string();
          data::save_png(path, out);
          per_target[t].push_back(out);
          fmt::print("seed {} -> {}\n", seed + static_cast<uint64_t>(i), path);
        }
      for (int i = 0; i < count; ++i) {  // grid rows: seeds; columns: a blank, then targets
        tiles.push_back(data::resize_square(per_target[0][static_cast<size_t>(i)], thumb));
        std::fill(tiles.back().pixels.begin(), tiles.back().pixels.end(), 255);
        for (auto& col : per_target)
          tiles.push_back(data::resize_square(col[static_cast<size_t>(i)], thumb));
      }
    } else {
      if (inputs.empty()) throw std::invalid_argument("--input: required for a translator bundle");
      if (count > 0)
        throw std::invalid_argument(fmt::format(
            "--count: the {} bundle translates input images; --count is for dcgan bundles",
            translator.model()));
      std::optional<data::RgbImage> ref_image;
      if (!reference.empty()) {
        if (targets.size() != 1 || targets[0].size() != 1)
          throw std::invalid_argument(fmt::format(
              "--reference: expected one --target culture (the reference's), found '{}'", target));
        ref_image = inference::load_upright(reference);
      }
      const auto files = collect_inputs(inputs);
      rows = static_cast<int>(files.size());
      const bool single_file = fs::path(output).extension() == ".png";
      if (single_file && (files.size() != 1 || targets.size() != 1))
        throw std::invalid_argument(fmt::format(
            "--output {}: a .png output needs one input and one target, found {} and {}", output,
            files.size(), targets.size()));
      if (!single_file) fs::create_directories(output);
      // A progress bar on stderr (one per output) for folders / several inputs.
      const int64_t total = static_cast<int64_t>(files.size() * targets.size());
      std::cerr.tie(nullptr);  // the bar must not flush stdout (scripts pipe it to grep -q)
      data::ProgressBar bar("translate", total, total > 1, isatty(2) != 0, std::cerr);
      int64_t done = 0;
      for (const auto& f : files) {
        const data::RgbImage image = inference::load_upright(f.string());
        if (!grid.empty()) tiles.push_back(data::resize_square(image, thumb));
        for (const auto& spec : targets) {
          const data::RgbImage out =
              ref_image ? translator.translate_reference(image, *ref_image, spec[0].first, strength,
                                                         source, opts)
                        : translator.translate(image, spec, strength, source, seed, opts);
          const std::string label =
              inference::target_label(spec) +
              (ref_image ? "-ref-" + fs::path(reference).stem().string() : "");
          const std::string path =
              single_file ? output
                          : (fs::path(output) / fmt::format("{}_{}.png", f.stem().string(), label))
                                .string();
          data::save_png(path, out);
          if (!grid.empty()) tiles.push_back(data::resize_square(out, thumb));
          fmt::print("{} -> {}\n", f.string(), path);
          bar.update(++done);
        }
      }
      bar.finish();
    }
    if (!grid.empty()) {
      const int cols = static_cast<int>(targets.size()) + 1, gap = 2;
      data::RgbImage g;
      const int tile = thumb;
      g.width = cols * (tile + gap) + gap;
      g.height = rows * (tile + gap) + gap;
      g.pixels.assign(static_cast<size_t>(g.width) * g.height * 3, 255);
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
          const auto& t = tiles[static_cast<size_t>(r * cols + c)];
          for (int y = 0; y < tile; ++y)
            std::copy(t.pixels.begin() + y * tile * 3, t.pixels.begin() + (y + 1) * tile * 3,
                      g.pixels.begin() +
                          ((gap + r * (tile + gap) + y) * g.width + gap + c * (tile + gap)) * 3);
        }
      data::save_png(grid, g);
      fmt::print("grid ({} rows: inputs; {} columns: input, {}) -> {}\n", rows, cols, target, grid);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "culturegan-infer: error: {}\n", e.what());
    return 2;
  }
  return 0;
}
