#include "data/loader.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "data/augment.h"
#include "data/counter_rng.h"

namespace culturegan::data {

struct Loader::Impl {
  std::shared_ptr<const CorpusReader> corpus;
  ShardedSampler sampler;
  int rank = 0, world = 1;
  LoaderOptions opt;
  int out_size = 0;
  bool pinned = false;
  std::vector<bool> flip_ok;  // per culture

  std::mutex m;
  std::condition_variable work_cv, ready_cv;
  int64_t next_job = 0, next_deliver = 0;
  std::map<int64_t, Batch> ready;
  std::exception_ptr error;
  int64_t error_job = -1;
  bool stop = false;
  std::vector<std::thread> threads;
  // Recycled image buffers (not with pinned memory: CUDA's host allocator caches those and
  // tracks in-flight copies). Reusing them avoids page faults and munmap TLB shootdowns
  // per batch, which otherwise make 2 threads slower than 1 and memory jagged.
  std::mutex pool_m;
  std::vector<torch::Tensor> pool;
  size_t pool_cap = 0;
  torch::Tensor image_buffer(int64_t b);

  Impl(std::shared_ptr<const CorpusReader> c, ShardedSampler s)
      : corpus(std::move(c)), sampler(std::move(s)) {}
  void worker();
  Batch produce(const BatchPlan& plan, const SamplerState& after, std::vector<uint8_t>& staging);
};

torch::Tensor Loader::Impl::image_buffer(int64_t b) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(pinned);
  if (pinned) return torch::empty({b, 3, out_size, out_size}, opts);
  std::lock_guard<std::mutex> lock(pool_m);
  for (const torch::Tensor& t : pool)  // free = nobody but the pool holds the tensor or its storage
    if (t.use_count() == 1 && t.storage().use_count() == 1 && t.size(0) == b) return t;
  torch::Tensor t = torch::empty({b, 3, out_size, out_size}, opts);
  if (pool.size() < pool_cap) pool.push_back(t);
  return t;
}

Batch Loader::Impl::produce(const BatchPlan& plan, const SamplerState& after,
                            std::vector<uint8_t>& staging) {
  const int s = corpus->image_size();
  const size_t bytes = size_t(s) * s * 3;
  const int64_t b = static_cast<int64_t>(plan.indices.size());
  // Sorted unique indices, read as contiguous runs.
  std::vector<int64_t> uniq = plan.indices;
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  staging.resize(uniq.size() * bytes);
  for (size_t i = 0; i < uniq.size();) {
    size_t j = i + 1;
    while (j < uniq.size() && uniq[j] == uniq[j - 1] + 1) ++j;
    corpus->read_images(uniq[i], static_cast<int64_t>(j - i), staging.data() + i * bytes);
    i = j;
  }
  Batch batch;
  batch.images = image_buffer(b);
  batch.labels =
      torch::empty({b}, torch::TensorOptions().dtype(torch::kInt64).pinned_memory(pinned));
  float* dst = batch.images.data_ptr<float>();
  int64_t* lab = batch.labels.data_ptr<int64_t>();
  const auto& labels = corpus->labels();
  const size_t plane = size_t(3) * out_size * out_size;
  for (int64_t k = 0; k < b; ++k) {
    const int64_t idx = plan.indices[size_t(k)];
    const size_t slot =
        static_cast<size_t>(std::lower_bound(uniq.begin(), uniq.end(), idx) - uniq.begin());
    const int32_t label = labels[static_cast<size_t>(idx)];
    CounterRng rng(opt.seed, splitmix64(static_cast<uint64_t>(plan.epoch)) ^
                                 static_cast<uint64_t>(plan.positions[size_t(k)]));
    const AugmentDraw draw =
        draw_augmentation(s, opt.random_resized_crop, opt.hflip && flip_ok[size_t(label)], rng);
    render_augmented(staging.data() + slot * bytes, s, draw, out_size, dst + size_t(k) * plane);
    lab[k] = label;
  }
  batch.state_after = after;
  return batch;
}

void Loader::Impl::worker() {
  std::vector<uint8_t> staging;
  for (;;) {
    int64_t job = 0;
    BatchPlan plan;
    SamplerState after;
    {
      std::unique_lock<std::mutex> lock(m);
      work_cv.wait(lock, [&] { return stop || next_job - next_deliver < opt.prefetch; });
      if (stop) return;
      job = next_job++;
      try {
        plan = sampler.next_batch_plan(rank, world, opt.batch_size);
        after = sampler.state();
      } catch (...) {
        error = std::current_exception();
        error_job = job;
        stop = true;
        ready_cv.notify_all();
        work_cv.notify_all();
        return;
      }
    }
    try {
      Batch batch = produce(plan, after, staging);
      std::lock_guard<std::mutex> lock(m);
      ready.emplace(job, std::move(batch));
      ready_cv.notify_all();
    } catch (...) {
      std::lock_guard<std::mutex> lock(m);
      if (!error || job < error_job) {
        error = std::current_exception();
        error_job = job;
      }
      stop = true;
      ready_cv.notify_all();
      work_cv.notify_all();
      return;
    }
  }
}

Loader::Loader(std::shared_ptr<const CorpusReader> corpus, ShardedSampler sampler, int rank,
               int world_size, LoaderOptions options) {
  if (!corpus) throw std::invalid_argument("loader: no corpus");
  if (options.batch_size < 1)
    throw std::invalid_argument("loader: batch_size must be >= 1, found " +
                                std::to_string(options.batch_size));
  if (options.threads < 1)
    throw std::invalid_argument("loader: threads must be >= 1, found " +
                                std::to_string(options.threads));
  if (options.prefetch < 1)
    throw std::invalid_argument("loader: prefetch must be >= 1, found " +
                                std::to_string(options.prefetch));
  if (!(options.random_resized_crop >= 0.0f && options.random_resized_crop < 1.0f))
    throw std::invalid_argument("loader: random_resized_crop must be in [0, 1), found " +
                                std::to_string(options.random_resized_crop));
  if (options.output_size < 0) throw std::invalid_argument("loader: output_size must be >= 0");
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw std::invalid_argument("loader: rank " + std::to_string(rank) + " outside world size " +
                                std::to_string(world_size));
  if (int64_t{world_size} * options.batch_size > sampler.epoch_size())
    throw std::invalid_argument("loader: global batch " +
                                std::to_string(int64_t{world_size} * options.batch_size) +
                                " exceeds the epoch size " + std::to_string(sampler.epoch_size()));
  impl_ = std::make_unique<Impl>(std::move(corpus), std::move(sampler));
  Impl& im = *impl_;
  im.rank = rank;
  im.world = world_size;
  im.opt = options;
  im.out_size = options.output_size > 0 ? options.output_size : im.corpus->image_size();
  im.pinned = torch::cuda::is_available();
  im.pool_cap = static_cast<size_t>(options.prefetch + options.threads + 4);
  const auto& cultures = im.corpus->cultures();
  im.flip_ok.assign(cultures.size(), true);
  for (const std::string& name : options.no_flip_cultures) {
    auto it = std::find(cultures.begin(), cultures.end(), name);
    if (it == cultures.end())
      throw std::invalid_argument("loader: no_flip culture '" + name + "' is not in " +
                                  im.corpus->path());
    im.flip_ok[size_t(it - cultures.begin())] = false;
  }
  for (int t = 0; t < options.threads; ++t) im.threads.emplace_back([&im] { im.worker(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->stop = true;
  }
  impl_->work_cv.notify_all();
  for (auto& t : impl_->threads) t.join();
}

Batch Loader::next() {
  Impl& im = *impl_;
  std::unique_lock<std::mutex> lock(im.m);
  im.ready_cv.wait(lock, [&] {
    return im.ready.count(im.next_deliver) || (im.error && im.error_job <= im.next_deliver);
  });
  auto it = im.ready.find(im.next_deliver);
  if (it == im.ready.end()) std::rethrow_exception(im.error);
  Batch batch = std::move(it->second);
  im.ready.erase(it);
  ++im.next_deliver;
  im.work_cv.notify_all();
  return batch;
}

torch::Tensor to_model_range(const torch::Tensor& uint8_nhwc) {
  if (uint8_nhwc.scalar_type() != torch::kUInt8 || uint8_nhwc.dim() != 4 || uint8_nhwc.size(3) != 3)
    throw std::invalid_argument("to_model_range: expected uint8 [N,H,W,3], found " +
                                std::string(c10::toString(uint8_nhwc.scalar_type())) + " rank " +
                                std::to_string(uint8_nhwc.dim()));
  return uint8_nhwc.permute({0, 3, 1, 2}).to(torch::kFloat32).div(127.5).sub(1.0).contiguous();
}

torch::Tensor to_uint8_nhwc(const torch::Tensor& model_range) {
  if (!model_range.is_floating_point() || model_range.dim() != 4 || model_range.size(1) != 3)
    throw std::invalid_argument("to_uint8_nhwc: expected float [N,3,H,W], found " +
                                std::string(c10::toString(model_range.scalar_type())) + " rank " +
                                std::to_string(model_range.dim()));
  return model_range.add(1.0)
      .mul(127.5)
      .round()
      .clamp(0, 255)
      .to(torch::kUInt8)
      .permute({0, 2, 3, 1})
      .contiguous();
}

}  // namespace culturegan::data
