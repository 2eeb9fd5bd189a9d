// culturegan-ingest: DIR/<culture>/*.{jpg,jpeg,png} -> corpus.h5 (docs/corpus-format.md).
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "data/corpus_reader.h"
#include "data/ingest.h"

int main(int argc, char** argv) {
  using namespace culturegan::data;
  IngestOptions opt;
  std::string policy = "crop";
  bool no_progress = false;
  CLI::App app{
      "culturegan-ingest: build a culture corpus (HDF5) from DIR/<culture>/*.{jpg,jpeg,png}"};
  app.add_option("--input", opt.input_dir, "input folder, one sub-folder per culture")->required();
  app.add_option("--output", opt.output_path, "corpus file to write")->required();
  app.add_option("--size", opt.size, "side S of the stored S x S images")->capture_default_str();
  app.add_option("--val-fraction", opt.val_fraction,
                 "fraction of each culture held out for validation")
      ->capture_default_str();
  app.add_option("--seed", opt.seed, "seed of the train/val split")->capture_default_str();
  app.add_option("--resize,--resize-policy", policy,
                 "non-square images: crop (center crop) | pad (letterbox) | stretch")
      ->capture_default_str();
  app.add_option("--threads", opt.threads, "decode threads (0 = all cores)")->capture_default_str();
  app.add_option("--gzip", opt.gzip_level, "gzip level of the image chunks, 0 = off")
      ->capture_default_str();
  app.add_option("--chunk-images", opt.chunk_images, "images per HDF5 chunk (0 = auto, ~64 KiB)")
      ->capture_default_str();
  app.add_flag("--strict", opt.strict, "an unreadable or non-image file is an error");
  app.add_flag("--no-progress", no_progress, "no progress bar");
  CLI11_PARSE(app, argc, argv);
  try {
    opt.policy = parse_resize_policy(policy);
    opt.progress = !no_progress;
    opt.progress_tty = isatty(STDERR_FILENO) != 0;
    const IngestReport r = ingest(opt, std::cerr);
    std::cout << fmt::format(
        "{}: {} images of {}x{} ({} resize) from {} files in {} cultures, {:.2f} s ({:.0f} "
        "files/s, {} threads)\n",
        opt.output_path, r.images_written, opt.size, opt.size, policy, r.files_seen,
        r.cultures.size(), r.seconds, r.files_seen / std::max(r.seconds, 1e-9), r.threads);
    std::cout << fmt::format(
        "skipped: {} unreadable, {} not images; {} exact duplicates removed; {} grayscale images "
        "kept\n",
        r.unreadable, r.not_image, r.duplicates, r.grayscale);
    std::cout << fmt::format("{:<28} {:>7} {:>7} {:>7}\n", "culture", "images", "train", "val");
    for (size_t c = 0; c < r.cultures.size(); ++c)
      std::cout << fmt::format("{:<28} {:>7} {:>7} {:>7}\n", r.cultures[c], r.per_culture[c],
                               r.train_per_culture[c], r.val_per_culture[c]);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "culturegan-ingest: error: " << e.what() << '\n';
    return 1;
  }
}
