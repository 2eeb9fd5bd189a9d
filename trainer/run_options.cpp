#include "trainer/run_options.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace culturegan::trainer {

bool cpu_has_avx512_bf16() {
  std::string flags;
  if (const char* over = std::getenv("CULTUREGAN_CPU_FLAGS")) {
    flags = over;
  } else {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("flags", 0) == 0) {
        flags = line.substr(line.find(':') + 1);
        break;
      }
  }
  std::istringstream words(flags);
  std::string w;
  while (words >> w)
    if (w == "avx512_bf16") return true;
  return false;
}

Precision effective_precision(const Config& cfg, torch::Device device, std::string* warning) {
  const Precision want = cfg.train.precision;
  if (want != Precision::kBf16 || !device.is_cpu() || cpu_has_avx512_bf16()) return want;
  if (warning)
    *warning =
        "train.precision = \"bf16\": this CPU has no AVX-512 BF16 (no avx512_bf16 flag in "
        "/proc/cpuinfo), where bfloat16 convolutions are slower than float32; training in fp32";
  return Precision::kFp32;
}

torch::Device choose_device(DeviceChoice want, int local_rank) {
  if (want == DeviceChoice::kCpu) return torch::kCPU;
  if (want == DeviceChoice::kCuda && !torch::cuda::is_available())
    throw ConfigError(
        "train.device: expected a CUDA device for \"cuda\", found none "
        "(torch::cuda::is_available() is false)");
  if (want == DeviceChoice::kCuda || (want == DeviceChoice::kAuto && torch::cuda::is_available()))
    return torch::Device(torch::kCUDA,
                         static_cast<c10::DeviceIndex>(local_rank % torch::cuda::device_count()));
  return torch::kCPU;
}

distributed::WatchdogOptions watchdog_options(const Config& cfg) {
  distributed::WatchdogOptions w;
  w.timeout_s = cfg.distributed.timeout_s;
  return w;
}

distributed::ReducerOptions reducer_options(const Config& cfg) {
  distributed::ReducerOptions r;
  r.bucket_mb = cfg.distributed.bucket_mb;
  r.first_bucket_mb = cfg.distributed.first_bucket_mb;
  r.scrub_non_finite = cfg.distributed.scrub_non_finite;
  return r;
}

data::SamplerOptions sampler_options(const Config& cfg) {
  data::SamplerOptions s;
  s.seed = static_cast<uint64_t>(cfg.train.seed);
  s.culture_balanced = cfg.data.culture_balanced;
  return s;
}

data::LoaderOptions loader_options(const Config& cfg) {
  data::LoaderOptions l;
  l.batch_size = static_cast<int>(cfg.train.batch_size);
  l.threads = static_cast<int>(cfg.data.threads);
  l.prefetch = static_cast<int>(cfg.data.prefetch);
  l.hflip = cfg.data.hflip;
  l.no_flip_cultures = cfg.data.no_flip_cultures;
  l.seed = static_cast<uint64_t>(cfg.train.seed);
  return l;
}

std::string check_against_corpus(const Config& cfg, const std::string& config_path,
                                 const data::CorpusReader& corpus) {
  if (corpus.image_size() != cfg.data.image_size)
    throw ConfigError(
        fmt::format("{}: key 'data.image_size': expected the corpus's image size {} ({}), found {}",
                    config_path, corpus.image_size(), cfg.data.corpus, cfg.data.image_size));
  const auto& cultures = corpus.cultures();
  for (const auto& name : cfg.data.no_flip_cultures)
    if (std::find(cultures.begin(), cultures.end(), name) == cultures.end())
      throw ConfigError(
          fmt::format("{}: key 'data.no_flip_cultures': expected cultures of {} ({}), found '{}'",
                      config_path, cfg.data.corpus, fmt::join(cultures, ", "), name));
  if (std::find(cultures.begin(), cultures.end(), cfg.sample.source_culture) == cultures.end())
    return fmt::format(
        "note: sample.source_culture '{}' is not in the corpus; sample grids use other val "
        "images",
        cfg.sample.source_culture);
  return "";
}

}  // namespace culturegan::trainer
