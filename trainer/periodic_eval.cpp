#include "trainer/periodic_eval.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "common/atomic_write.h"
#include "eval/eval_inputs.h"

namespace culturegan::trainer {
namespace {
std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : "null"; }
double mean(const std::map<std::string, double>& m) {
  double s = 0;
  for (const auto& [k, v] : m) s += v;
  return m.empty() ? NAN : s / static_cast<double>(m.size());
}
}  // namespace

PeriodicEval::PeriodicEval(const Config& cfg, const data::CorpusReader& corpus)
    : cfg_(cfg), image_size_(corpus.image_size()) {
  const auto& cultures = corpus.cultures();
  source_ = -1;
  for (size_t i = 0; i < cultures.size(); ++i)
    if (cultures[i] == cfg.sample.source_culture) source_ = static_cast<int64_t>(i);
  if (source_ < 0)
    throw ConfigError(fmt::format(
        "key 'sample.source_culture': eval.every needs a culture of {} to translate from, found "
        "\"{}\"",
        cfg.data.corpus, cfg.sample.source_culture));
  if (!std::filesystem::exists(cfg.eval.classifier))
    throw ConfigError(fmt::format(
        "key 'eval.classifier': {}: no such file (make it with `culturegan-eval --corpus {} "
        "--classifier {}`)",
        cfg.eval.classifier, cfg.data.corpus, cfg.eval.classifier));
  try {
    clf_ = eval::load_classifier(cfg.eval.classifier, static_cast<int64_t>(cultures.size()),
                                 cfg.eval.classifier_width);
  } catch (const std::exception& e) {
    throw ConfigError(fmt::format("key 'eval.classifier': {}", e.what()));
  }
  set_ = eval::load_eval_set(corpus);
}

bool PeriodicEval::due(int64_t step) const {
  return cfg_.eval.every > 0 && step > 0 && step % cfg_.eval.every == 0;
}

std::string PeriodicEval::run(GanAlgorithm& algo, int64_t step) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string path = (std::filesystem::path(cfg_.run.dir) / "eval.bundle").string();
  algo.export_bundle(path, set_.cultures);
  std::shared_ptr<models::CultureGenerator> gen =
      models::make_culture_generator(models::load_bundle(path), path);
  eval::EvalOptions options;
  options.source = source_;
  const auto translate = eval::bundle_translate_fn(gen, set_.cultures, image_size_, source_, path);
  const eval::EvalReport r = eval::evaluate(clf_, set_, translate, options);
  // The whole report (confusion matrix, per-culture values) for culturegan-report.
  const std::filesystem::path dir = std::filesystem::path(cfg_.run.dir) / "eval";
  std::filesystem::create_directories(dir);
  common::write_file_atomically((dir / fmt::format("step-{:09d}.json", step)).string(),
                                r.to_json(set_.cultures, source_));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string line = fmt::format(
      "{{\"step\": {}, \"eval.seconds\": {}, \"eval.classifier_val_accuracy\": {}, "
      "\"eval.target_accuracy_mean\": {}",
      step, num(seconds), num(r.ceiling), num(r.target_accuracy_mean));
  for (const auto& [culture, acc] : r.target_accuracy)
    line += fmt::format(", \"eval.target_accuracy.{}\": {}", culture, num(acc));
  line += fmt::format(
      ", \"eval.fid\": {}, \"eval.kid\": {}, \"eval.cycle_psnr_db\": {}, \"eval.cycle_ssim\": {}, "
      "\"eval.diversity\": {}, \"eval.content_gradient_correlation\": {}, "
      "\"eval.content_gray_ssim\": {}, \"eval.checkerboard_index\": {}, \"eval.kid_floor\": {}}}",
      num(mean(r.fid)), num(mean(r.kid)), num(mean(r.cycle_psnr)), num(mean(r.cycle_ssim)),
      num(mean(r.diversity)), num(r.content_gradient_correlation_mean),
      num(r.content_gray_ssim_mean), num(r.checkerboard_index_mean), num(r.kid_floor_mean));
  return line;
}

}  // namespace culturegan::trainer
