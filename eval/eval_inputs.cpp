#include "eval/eval_inputs.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace culturegan::eval {

EvalSet load_eval_set(const data::CorpusReader& corpus) {
  const int64_t s = corpus.image_size(), n = corpus.size();
  auto u8 = torch::empty({n, s, s, 3}, torch::kUInt8);
  corpus.read_images(0, n, u8.data_ptr<uint8_t>());
  auto all = u8.permute({0, 3, 1, 2}).to(torch::kFloat).div(127.5).sub(1.0).contiguous();
  auto labels = torch::from_blob(const_cast<int32_t*>(corpus.labels().data()), {n}, torch::kInt)
                    .to(torch::kLong);
  auto pick = [](const std::vector<int64_t>& idx) {
    return torch::from_blob(const_cast<int64_t*>(idx.data()), {static_cast<int64_t>(idx.size())},
                            torch::kLong)
        .clone();
  };
  EvalSet set;
  set.cultures = corpus.cultures();
  auto tr = pick(corpus.train_indices()), va = pick(corpus.val_indices());
  set.train_images = all.index_select(0, tr);
  set.train_labels = labels.index_select(0, tr);
  set.val_images = all.index_select(0, va);
  set.val_labels = labels.index_select(0, va);
  return set;
}

TranslateFn bundle_translate_fn(std::shared_ptr<models::CultureGenerator> gen,
                                const std::vector<std::string>& cultures, int64_t image_size,
                                int64_t source, const std::string& origin) {
  const auto& bundle = gen->bundle();
  if (bundle.image_size() != image_size)
    throw std::invalid_argument(fmt::format("{}: image_size: expected the corpus's {}, found {}",
                                            origin, image_size, bundle.image_size()));
  if (!gen->translates())
    throw std::invalid_argument(
        fmt::format("{}: model: a {} bundle generates from noise; evaluation needs a translator",
                    origin, bundle.model));
  std::vector<int64_t> to_bundle;  // corpus culture index → bundle culture index
  for (const auto& c : cultures) {
    auto it = std::find(bundle.cultures.begin(), bundle.cultures.end(), c);
    if (it == bundle.cultures.end())
      throw std::invalid_argument(
          fmt::format("{}: cultures: the corpus culture \"{}\" is missing (the {} bundle knows {})",
                      origin, c, bundle.model, fmt::join(bundle.cultures, ", ")));
    to_bundle.push_back(it - bundle.cultures.begin());
  }
  const int64_t bc = static_cast<int64_t>(bundle.cultures.size());
  const int64_t src = to_bundle.at(static_cast<size_t>(source));
  return [gen, to_bundle, bc, src](const torch::Tensor& x, const torch::Tensor& c) {
    auto cb = torch::zeros({c.size(0), bc});
    for (size_t i = 0; i < to_bundle.size(); ++i)
      cb.select(1, to_bundle[i]).copy_(c.select(1, static_cast<int64_t>(i)));
    return gen->translate(x, cb, src, 0);
  };
}

}  // namespace culturegan::eval
