// Config → options of the run's parts (device, watchdog, reducer, sampler, loader), and the
// checks of the config against the corpus. Pure translation: no collective, no I/O but the
// messages.
#pragma once
#include <string>

#include <torch/torch.h>

#include "data/corpus_reader.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "distributed/gradient_reducer.h"
#include "distributed/watchdog.h"
#include "trainer/config.h"

namespace culturegan::trainer {

/// train.device: "cpu" → CPU; "cuda" → cuda:<local_rank mod device count> (ConfigError when
/// LibTorch sees no CUDA device); "auto" → CUDA when available, else CPU.
torch::Device choose_device(DeviceChoice want, int local_rank);

/// Whether this CPU has AVX-512 BF16 ("avx512_bf16" among the flags of /proc/cpuinfo; the
/// test-only environment variable CULTUREGAN_CPU_FLAGS replaces those flags).
bool cpu_has_avx512_bf16();

/// train.precision as the run will use it on `device`: bf16 on a CPU without AVX-512 BF16
/// (where LibTorch's bf16 convolutions are emulated and slower than fp32) falls back to fp32
/// and sets `*warning` to one line saying so; CUDA devices take bf16 as asked (it needs
/// compute capability 8.0 or newer, which is not checked).
Precision effective_precision(const Config& cfg, torch::Device device, std::string* warning);

distributed::WatchdogOptions watchdog_options(const Config& cfg);  ///< distributed.timeout_s
distributed::ReducerOptions reducer_options(const Config& cfg);  ///< distributed.*bucket_mb, scrub
data::SamplerOptions sampler_options(const Config& cfg);  ///< train.seed, data.culture_balanced
data::LoaderOptions loader_options(const Config& cfg);    ///< train.batch_size, data.*

/// Checks the config against the corpus: data.image_size equals the corpus's size and every
/// data.no_flip_cultures name is a corpus culture (ConfigError naming `config_path`, the key,
/// the corpus and what was found). Returns a note (or "") when sample.source_culture is not a
/// corpus culture.
std::string check_against_corpus(const Config& cfg, const std::string& config_path,
                                 const data::CorpusReader& corpus);

}  // namespace culturegan::trainer
