// culturegan-eval: offline metrics for culture translation, no pretrained network needed.
//   culturegan-eval --corpus C.h5 [--bundle G.bundle] [--classifier clf.pt] [--epochs 12]
//       [--width 32] [--source photo] [--output report.json] [--seed 0] [--threads 0]
// Trains a small culture classifier on the corpus's train split (or loads --classifier when the
// file exists; a trained one is saved there), then reports as JSON: its accuracy on real val
// images (the ceiling), and with --bundle the target-culture accuracy of translated val images
// of the source culture, the target→predicted confusion matrix, FID/KID in the classifier's
// feature space per culture, cycle PSNR/SSIM and diversity across strengths. See docs/eval.md.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include "data/corpus_reader.h"
#include "trainer/eval/metrics.h"
#include "trainer/models/culture_generator.h"

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
    const int64_t s = corpus.image_size(), n = corpus.size();
    auto u8 = torch::empty({n, s, s, 3}, torch::kUInt8);
    corpus.read_images(0, n, u8.data_ptr<uint8_t>());
    auto all = u8.permute({0, 3, 1, 2}).to(torch::kFloat).div(127.5).sub(1.0).contiguous();
    auto labels = torch::from_blob(const_cast<int32_t*>(corpus.labels().data()), {n}, torch::kInt)
                      .to(torch::kLong);
    auto pick = [&](const std::vector<int64_t>& idx) {
      return torch::from_blob(const_cast<int64_t*>(idx.data()), {static_cast<int64_t>(idx.size())},
                              torch::kLong)
          .clone();
    };
    eval::EvalSet set;
    set.cultures = cultures;
    auto tr = pick(corpus.train_indices()), va = pick(corpus.val_indices());
    set.train_images = all.index_select(0, tr);
    set.train_labels = labels.index_select(0, tr);
    set.val_images = all.index_select(0, va);
    set.val_labels = labels.index_select(0, va);

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
    std::unique_ptr<models::CultureGenerator> gen;
    std::vector<int64_t> to_bundle;  // corpus culture index → bundle culture index
    if (!bundle_path.empty()) {
      auto bundle = models::load_bundle(bundle_path);
      if (bundle.image_size() != s)
        throw std::invalid_argument(
            fmt::format("{}: image_size: expected the corpus's {}, found {}", bundle_path, s,
                        bundle.image_size()));
      for (const auto& c : cultures) {
        auto it = std::find(bundle.cultures.begin(), bundle.cultures.end(), c);
        if (it == bundle.cultures.end())
          throw std::invalid_argument(
              fmt::format("{}: cultures: the corpus culture \"{}\" is missing (the {} bundle "
                          "knows {})",
                          bundle_path, c, bundle.model, fmt::join(bundle.cultures, ", ")));
        to_bundle.push_back(it - bundle.cultures.begin());
      }
      gen = models::make_culture_generator(bundle, bundle_path);
      if (!gen->translates())
        throw std::invalid_argument(fmt::format(
            "{}: model: a {} bundle generates from noise; culturegan-eval needs a translator",
            bundle_path, bundle.model));
      const int64_t bc = static_cast<int64_t>(bundle.cultures.size());
      const int64_t src = to_bundle[static_cast<size_t>(eopts.source)];
      translate = [&, bc, src](const torch::Tensor& x, const torch::Tensor& c) {
        auto cb = torch::zeros({c.size(0), bc});
        for (size_t i = 0; i < to_bundle.size(); ++i)
          cb.select(1, to_bundle[i]).copy_(c.select(1, static_cast<int64_t>(i)));
        return gen->translate(x, cb, src, 0);
      };
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
