#include "distributed/gradient_reducer.h"

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "distributed/bucket_plan.h"

namespace culturegan::distributed {
// A named namespace, not an anonymous one: GradientReducer::Impl (external linkage) holds these,
// which GCC's -Wsubobject-linkage flags when the file is part of a unity build.
namespace reducer_detail {

static int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Bucket {
  BucketSpec spec;
  torch::Tensor
      flat;         // spec.numel elements (+2 flag elements for the last bucket: late, non-finite)
  int pending = 0;  // parameters not yet ready this step
  bool launched = false;
  std::shared_ptr<Work> work;
};

struct Phase {
  std::string name;
  std::vector<torch::Tensor> params;
  std::vector<int> bucket_of, slot_of;  // per parameter
  std::vector<Bucket> buckets;
  std::vector<int> expected, count;  // hook firings per step: learned, this step
  std::vector<int> local_of_gid;     // global parameter id -> index in params, or -1
  bool learned = false;
  int next_launch = 0;
  int next_test = 0;
  bool late = false;
  torch::Tensor non_finite;  // this step's flag (finish(phase, flag)), or undefined
  int64_t step = 0;
};

}  // namespace reducer_detail
using namespace reducer_detail;

struct GradientReducer::Impl {
  Impl(Communicator& c, ReducerOptions o) : comm(c), options(o) {}
  Communicator& comm;
  ReducerOptions options;
  mutable std::mutex mutex;
  std::vector<Phase> phases;
  std::map<std::string, int> phase_index;
  std::unordered_map<const c10::TensorImpl*, int> gid_of;
  std::vector<std::pair<torch::Tensor, unsigned>> hooks;  // per global parameter id
  int active = -1;
  int64_t redos = 0;
  std::vector<ReducerEvent> events;

  void log(ReducerEvent::Kind kind, const Phase& ph, int bucket = -1, bool from_hook = false) {
    if (options.log_events)
      events.push_back(ReducerEvent{kind, ph.name, bucket, from_hook, now_ns()});
  }

  Phase& find(const std::string& name) {
    auto it = phase_index.find(name);
    if (it == phase_index.end())
      throw ReducerError(fmt::format("gradient reducer: unknown phase '{}'", name));
    return phases[it->second];
  }

  torch::Tensor slot_view(Phase& ph, int p) {
    const BucketSlot& s = ph.buckets[ph.bucket_of[p]].spec.slots[ph.slot_of[p]];
    return ph.buckets[ph.bucket_of[p]].flat.narrow(0, s.offset, s.numel).view(ph.params[p].sizes());
  }

  void launch(Phase& ph, int b, bool from_hook) {
    Bucket& bucket = ph.buckets[b];
    for (const BucketSlot& s : bucket.spec.slots) {
      if (ph.count[s.param] == 0) bucket.flat.narrow(0, s.offset, s.numel).zero_();
    }
    if (options.scrub_non_finite)
      bucket.flat.narrow(0, 0, bucket.spec.numel).nan_to_num_(0.0, 0.0, 0.0);
    if (b + 1 == static_cast<int>(ph.buckets.size())) {
      bucket.flat[bucket.spec.numel].fill_(ph.late ? 1.0 : 0.0);
      // This rank's non-finite flag, a device value: copied, never read before the reduction.
      torch::Tensor flag = bucket.flat.narrow(0, bucket.spec.numel + 1, 1);
      if (ph.non_finite.defined())
        flag.copy_(ph.non_finite.reshape({1}));
      else
        flag.zero_();
    }
    bucket.launched = true;
    log(ReducerEvent::Kind::kBucketStart, ph, b, from_hook);
    bucket.work = comm.all_reduce_async(bucket.flat, ReduceOp::kAverage,
                                        fmt::format("{}/bucket{}/step{}", ph.name, b, ph.step));
  }

  // Starts ready buckets in order; the last bucket is left to finish().
  void launch_ready(Phase& ph) {
    const int last = static_cast<int>(ph.buckets.size()) - 1;
    while (ph.next_launch < last && ph.buckets[ph.next_launch].pending == 0)
      launch(ph, ph.next_launch++, true);
  }

  void progress(Phase& ph) {
    while (ph.next_test < ph.next_launch && ph.buckets[ph.next_test].work->test()) ++ph.next_test;
  }

  void on_grad(int gid, const torch::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mutex);
    if (active < 0 || !grad.defined()) return;
    Phase& ph = phases[active];
    if (gid >= static_cast<int>(ph.local_of_gid.size())) return;
    const int p = ph.local_of_gid[gid];
    if (p < 0) return;
    const int c = ++ph.count[p];
    Bucket& bucket = ph.buckets[ph.bucket_of[p]];
    if (bucket.launched) {  // more contributions than learned: finish() re-reduces
      ph.late = true;
      return;
    }
    torch::NoGradGuard no_grad;
    torch::Tensor view = slot_view(ph, p);
    if (c == 1)
      view.copy_(grad);
    else
      view.add_(grad);
    if (ph.learned && options.overlap && c == ph.expected[p] && --bucket.pending == 0)
      launch_ready(ph);
    progress(ph);
  }
};

GradientReducer::GradientReducer(Communicator& comm, ReducerOptions options)
    : impl_(std::make_unique<Impl>(comm, options)) {
  if (options.first_bucket_mb <= 0 || options.bucket_mb <= 0)
    throw ReducerError("distributed.bucket_mb and distributed.first_bucket_mb must be > 0");
}

GradientReducer::~GradientReducer() {
  for (auto& [param, handle] : impl_->hooks) param.remove_hook(handle);
}

void GradientReducer::declare_phase(const std::string& name,
                                    const std::vector<torch::Tensor>& params) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.mutex);
  if (im.active >= 0)
    throw ReducerError(fmt::format("gradient reducer: declare_phase('{}') while phase '{}' is open",
                                   name, im.phases[im.active].name));
  if (im.phase_index.count(name))
    throw ReducerError(fmt::format("gradient reducer: phase '{}' declared twice", name));
  Phase ph;
  ph.name = name;
  ph.params = params;
  std::unordered_map<const c10::TensorImpl*, int> seen;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    if (!p.defined() || !p.requires_grad() || !p.is_leaf())
      throw ReducerError(fmt::format(
          "gradient reducer: phase '{}': parameter {} is not a leaf tensor that requires grad",
          name, i));
    if (!seen.emplace(p.unsafeGetTensorImpl(), static_cast<int>(i)).second)
      throw ReducerError(
          fmt::format("gradient reducer: phase '{}': parameter {} appears twice", name, i));
  }
  const auto mib = [](double mb) { return static_cast<int64_t>(mb * 1024.0 * 1024.0); };
  std::vector<BucketSpec> specs =
      plan_buckets(params, mib(im.options.first_bucket_mb), mib(im.options.bucket_mb));
  ph.bucket_of.assign(params.size(), -1);
  ph.slot_of.assign(params.size(), -1);
  for (size_t b = 0; b < specs.size(); ++b) {
    Bucket bucket;
    bucket.spec = std::move(specs[b]);
    const int64_t extra = b + 1 == specs.size() ? 2 : 0;
    bucket.flat =
        torch::zeros({bucket.spec.numel + extra},
                     torch::TensorOptions().dtype(bucket.spec.dtype).device(bucket.spec.device));
    for (size_t s = 0; s < bucket.spec.slots.size(); ++s) {
      ph.bucket_of[bucket.spec.slots[s].param] = static_cast<int>(b);
      ph.slot_of[bucket.spec.slots[s].param] = static_cast<int>(s);
    }
    ph.buckets.push_back(std::move(bucket));
  }
  ph.expected.assign(params.size(), 0);
  ph.count.assign(params.size(), 0);
  for (size_t i = 0; i < params.size(); ++i) {
    const auto* key = params[i].unsafeGetTensorImpl();
    auto it = im.gid_of.find(key);
    if (it == im.gid_of.end()) {
      const int gid = static_cast<int>(im.hooks.size());
      it = im.gid_of.emplace(key, gid).first;
      Impl* raw = impl_.get();
      const unsigned handle =
          params[i].register_hook([raw, gid](torch::Tensor grad) { raw->on_grad(gid, grad); });
      im.hooks.emplace_back(params[i], handle);
    }
    if (it->second >= static_cast<int>(ph.local_of_gid.size()))
      ph.local_of_gid.resize(it->second + 1, -1);
    ph.local_of_gid[it->second] = static_cast<int>(i);
  }
  im.phase_index[name] = static_cast<int>(im.phases.size());
  im.phases.push_back(std::move(ph));
}

void GradientReducer::begin(const std::string& name) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.mutex);
  Phase& ph = im.find(name);
  if (im.active >= 0)
    throw ReducerError(fmt::format(
        "gradient reducer: begin('{}') while phase '{}' is open; call finish('{}') first", name,
        im.phases[im.active].name, im.phases[im.active].name));
  for (auto& p : ph.params) {
    if (p.grad().defined()) p.mutable_grad().reset();
  }
  std::fill(ph.count.begin(), ph.count.end(), 0);
  for (auto& b : ph.buckets) {
    b.launched = false;
    b.work.reset();
    b.pending = 0;
    for (const auto& s : b.spec.slots) b.pending += ph.expected[s.param] > 0 ? 1 : 0;
  }
  ph.next_launch = ph.next_test = 0;
  ph.late = false;
  im.active = im.phase_index[name];
  im.log(ReducerEvent::Kind::kBegin, ph);
}

void GradientReducer::finish(const std::string& name) { finish(name, torch::Tensor()); }

int GradientReducer::finish(const std::string& name, const torch::Tensor& non_finite) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.mutex);
  Phase& ph = im.find(name);
  if (im.active != im.phase_index[name])
    throw ReducerError(
        fmt::format("gradient reducer: finish('{}') but the open phase is '{}'", name,
                    im.active < 0 ? std::string("none") : im.phases[im.active].name));
  im.log(ReducerEvent::Kind::kFinishEnter, ph);
  torch::NoGradGuard no_grad;
  if (non_finite.defined() && non_finite.numel() != 1)
    throw ReducerError(
        fmt::format("gradient reducer: finish('{}'): the non-finite flag has {} "
                    "elements, expected 1",
                    name, non_finite.numel()));
  ph.non_finite = non_finite.defined() ? non_finite.detach() : torch::Tensor();
  while (ph.next_launch < static_cast<int>(ph.buckets.size()))
    im.launch(ph, ph.next_launch++, false);
  for (auto& b : ph.buckets) b.work->wait();
  int non_finite_ranks = 0;
  // The last bucket's two extra slots, [late flag, mean non-finite flag], come to the host in
  // one copy: the one host synchronisation a phase needs (the skip decision), not two.
  double tail[2] = {0.0, 0.0};
  if (!ph.buckets.empty() && (non_finite.defined() || ph.learned)) {
    const auto& last = ph.buckets.back();
    const torch::Tensor t = last.flat.narrow(0, last.spec.numel, 2).to(torch::kCPU, torch::kDouble);
    tail[0] = t.data_ptr<double>()[0];
    tail[1] = t.data_ptr<double>()[1];
  }
  if (ph.buckets.empty() && non_finite.defined()) {
    // No gradient to carry the flag: reduce the flag alone.
    torch::Tensor flag = non_finite.detach().to(torch::kFloat).reshape({1}).clone();
    im.comm.all_reduce(flag, ReduceOp::kSum, fmt::format("{}/non_finite/step{}", ph.name, ph.step));
    non_finite_ranks = static_cast<int>(std::lround(flag.item<double>()));
  } else if (non_finite.defined()) {
    const double mean = tail[1];
    non_finite_ranks = static_cast<int>(std::lround(mean * im.comm.world_size()));
  }
  ph.non_finite = torch::Tensor();
  const bool redo = ph.learned && !ph.buckets.empty() && tail[0] != 0.0;
  if (redo) {
    // Some rank's hooks fired after a bucket had started: .grad() holds each rank's full sum.
    ++im.redos;
    im.log(ReducerEvent::Kind::kRedo, ph);
    for (size_t b = 0; b < ph.buckets.size(); ++b) {
      for (const auto& s : ph.buckets[b].spec.slots) {
        const torch::Tensor& g = ph.params[s.param].grad();
        torch::Tensor view = ph.buckets[b].flat.narrow(0, s.offset, s.numel);
        if (g.defined())
          view.copy_(g.reshape({-1}));
        else
          view.zero_();
      }
      torch::Tensor data = ph.buckets[b].flat.narrow(0, 0, ph.buckets[b].spec.numel);
      if (im.options.scrub_non_finite) data.nan_to_num_(0.0, 0.0, 0.0);
      im.comm.all_reduce(data, ReduceOp::kAverage,
                         fmt::format("{}/redo{}/step{}", ph.name, b, ph.step));
    }
  }
  for (size_t p = 0; p < ph.params.size(); ++p) {
    torch::Tensor avg = im.slot_view(ph, static_cast<int>(p));
    torch::Tensor& grad = ph.params[p].mutable_grad();
    if (grad.defined())
      grad.copy_(avg);
    else
      grad = avg.clone();
  }
  if (!ph.learned || redo) {
    for (size_t p = 0; p < ph.params.size(); ++p)
      ph.expected[p] = std::max(ph.expected[p], ph.count[p]);
    ph.learned = true;
  }
  ++ph.step;
  im.active = -1;
  im.log(ReducerEvent::Kind::kFinishExit, ph);
  return non_finite_ranks;
}

std::vector<int64_t> GradientReducer::bucket_numels(const std::string& phase) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::vector<int64_t> out;
  for (const auto& b : impl_->find(phase).buckets) out.push_back(b.spec.numel);
  return out;
}

int64_t GradientReducer::redo_count() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->redos;
}

std::vector<ReducerEvent> GradientReducer::events() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->events;
}

void GradientReducer::clear_events() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->events.clear();
}

}  // namespace culturegan::distributed
