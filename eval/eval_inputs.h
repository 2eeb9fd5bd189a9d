// What culturegan-eval and the trainer's periodic evaluation feed eval::evaluate: the corpus's
// splits as an EvalSet, and a bundle's generator as a TranslateFn in the corpus's culture order.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/corpus_reader.h"
#include "eval/metrics.h"
#include "models/culture_generator.h"

namespace culturegan::eval {

/// The corpus's train and val splits: images [N,3,S,S] float32 in [-1,1] (x = pixel/127.5 − 1),
/// labels [N] int64. Reads every image (S = 64: ~50 MB as float32 per 1,000 images).
/// Throws data::CorpusError from the reader.
EvalSet load_eval_set(const data::CorpusReader& corpus);

/// A TranslateFn that maps corpus culture vectors [N,C_corpus] onto the bundle's culture order
/// and calls gen->translate(x, c, source, seed 0), `source` being the corpus index of the
/// translated images' culture. Throws std::invalid_argument naming `origin` and the field when
/// the bundle's image_size is not `image_size`, a corpus culture is missing from the bundle, or
/// the bundle does not translate (dcgan).
TranslateFn bundle_translate_fn(std::shared_ptr<models::CultureGenerator> gen,
                                const std::vector<std::string>& cultures, int64_t image_size,
                                int64_t source, const std::string& origin);

}  // namespace culturegan::eval
