#include "distributed/bucket_plan.h"

#include <map>
#include <string>

namespace culturegan::distributed {

std::vector<BucketSpec> plan_buckets(const std::vector<torch::Tensor>& params,
                                     int64_t first_bucket_bytes, int64_t bucket_bytes) {
  std::vector<BucketSpec> done;
  // The open bucket per (device, dtype); DDP keeps one open bucket per dtype the same way.
  std::map<std::string, BucketSpec> open;
  auto limit = [&] { return done.empty() ? first_bucket_bytes : bucket_bytes; };
  for (int i = static_cast<int>(params.size()) - 1; i >= 0; --i) {
    const auto& p = params[i];
    const std::string key = p.device().str() + "/" + std::string(c10::toString(p.scalar_type()));
    auto it = open.find(key);
    if (it == open.end()) {
      BucketSpec spec;
      spec.dtype = p.scalar_type();
      spec.device = p.device();
      it = open.emplace(key, spec).first;
    }
    BucketSpec& b = it->second;
    b.slots.push_back(BucketSlot{i, b.numel, p.numel()});
    b.numel += p.numel();
    if (b.numel * static_cast<int64_t>(p.element_size()) >= limit()) {
      done.push_back(std::move(b));
      open.erase(it);
    }
  }
  for (auto& [key, b] : open) done.push_back(std::move(b));
  return done;
}

}  // namespace culturegan::distributed
