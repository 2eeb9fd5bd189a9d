// culturegan-eval: offline metrics for culture translation, no pretrained network needed.
//   culturegan-eval --corpus C.h5 [--bundle G.bundle] [--classifier clf.pt] [--epochs 12]
//       [--width 32] [--source photo] [--output report.json] [--seed 0] [--threads 0]
// Trains a small culture classifier on the corpus's train split (or loads --classifier when the
// file exists; a trained one is saved there), then reports as JSON: its accuracy on real val
// images (the ceiling), and with --bundle the target-culture accuracy of translated val images
// of the source culture, the target→predicted confusion matrix, FID/KID in the classifier's
// feature space per culture, cycle PSNR/SSIM, diversity across strengths, and each photo against
// its translation: gradient correlation and gray SSIM (content) and the checkerboard index; the
// KID floor (real val vs train) with or without a bundle. See docs/eval.md.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include "data/corpus_reader.h"
#include "eval/eval_inputs.h"

using namespace culturegan;

int main(int argc, char** argv) {
  CLI::App app{"culturegan-eval: offline culture-translation metrics (JSON)"};
  std::string corpus_path, bundle_path, classifier_path, source = "photo", output;
  eval::ClassifierOptions copts;
  int threads = 0;
  app.add_option("--corpus", corpus_path, "HDF5 corpus (culturegan-ingest)")->required();
  app.add_option("--bundle", bundle_path,
                 "generator bundle to evaluate (omit: classifier ceiling only)");
  app.add_option("--classifier", classifier_path,
                 "classifier file: loaded if it exists, else trained and saved");
  app.add_option("--epochs", copts.epochs, "classifier training epochs")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--width", copts.width, "classifier width")->check(CLI::PositiveNumber);
  app.add_option("--seed", copts.seed, "classifier seed");
  app.add_option("--source", source, "source culture whose val images are translated");
  app.add_option("--output", output, "also write the JSON report here");
  app.add_option("--threads", threads, "intra-op threads (0 = OMP_NUM_THREADS)");
  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) torch::set_num_threads(threads);
    data::CorpusReader corpus(corpus_path);
    const auto& cultures = corpus.cultures();
    const eval::EvalSet set = eval::load_eval_set(corpus);

    eval::CultureClassifier clf{nullptr};
    if (!classifier_path.empty() && std::filesystem::exists(classifier_path)) {
      clf = eval::load_classifier(classifier_path, static_cast<int64_t>(cultures.size()),
                                  copts.width);
      std::cerr << fmt::format("culturegan-eval: loaded classifier {}\n", classifier_path);
    } else {
      std::cerr << fmt::format(
          "culturegan-eval: training the culture classifier on {} train images ({} epochs)\n",
          set.train_images.size(0), copts.epochs);
      clf = eval::train_classifier(
          set.train_images, set.train_labels, static_cast<int64_t>(cultures.size()), copts,
          [](int64_t e, double loss) {
            std::cerr << fmt::format("culturegan-eval: epoch {} loss {:.4f}\n", e + 1, loss);
          });
      if (!classifier_path.empty()) eval::save_classifier(clf, classifier_path);
    }

    eval::EvalOptions eopts;
    eopts.source = -1;
    for (size_t i = 0; i < cultures.size(); ++i)
      if (cultures[i] == source) eopts.source = static_cast<int64_t>(i);
    if (eopts.source < 0)
      throw std::invalid_argument(
          fmt::format("--source {}: not a culture of {}", source, corpus_path));

    eval::TranslateFn translate;
    if (!bundle_path.empty()) {
      std::shared_ptr<models::CultureGenerator> gen =
          models::make_culture_generator(models::load_bundle(bundle_path), bundle_path);
      translate =
          eval::bundle_translate_fn(gen, cultures, corpus.image_size(), eopts.source, bundle_path);
    }
    const auto report = eval::evaluate(clf, set, translate, eopts);
    const std::string json = report.to_json(cultures, eopts.source);
    std::cout << json;
    if (!output.empty()) {
      std::ofstream out(output);
      out << json;
      if (!out) throw std::runtime_error(fmt::format("{}: cannot write the report", output));
    }
  } catch (const std::exception& e) {
    std::cerr << "culturegan-eval: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
