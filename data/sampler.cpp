#include "data/sampler.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

#include "data/counter_rng.h"

namespace culturegan::data {
namespace {

// Distinct generator streams per purpose, epoch, culture and cycle.
uint64_t stream_id(uint64_t tag, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  return splitmix64(splitmix64(splitmix64(tag) ^ a) ^ (b * 0x9E3779B97F4A7C15ull)) ^ c;
}
constexpr uint64_t kPlainTag = 1, kSlotTag = 2, kCultureTag = 3;

}  // namespace

ShardedSampler::ShardedSampler(std::vector<int64_t> pool, std::vector<int32_t> labels,
                               SamplerOptions options)
    : pool_(std::move(pool)), labels_(std::move(labels)), options_(options) {
  if (pool_.empty()) throw std::invalid_argument("sampler: the pool is empty");
  if (pool_.size() != labels_.size())
    throw std::invalid_argument("sampler: pool has " + std::to_string(pool_.size()) +
                                " entries but labels has " + std::to_string(labels_.size()));
  state_.seed = options_.seed;
}

int64_t ShardedSampler::epoch_size() const { return static_cast<int64_t>(pool_.size()); }

std::vector<int64_t> ShardedSampler::balanced_order(int64_t epoch) const {
  const uint64_t seed = state_.seed, e = static_cast<uint64_t>(epoch);
  std::map<int32_t, std::vector<int64_t>> members;  // culture -> pool entries, in pool order
  for (size_t i = 0; i < pool_.size(); ++i) members[labels_[i]].push_back(pool_[i]);
  std::vector<const std::vector<int64_t>*> groups;
  std::vector<int32_t> names;
  for (const auto& kv : members) {
    groups.push_back(&kv.second);
    names.push_back(kv.first);
  }
  const size_t m = pool_.size(), c = groups.size();
  std::vector<uint32_t> slots(m);
  for (size_t i = 0; i < m; ++i) slots[i] = static_cast<uint32_t>(i % c);
  CounterRng slot_rng(seed, stream_id(kSlotTag, e));
  portable_shuffle(slots, slot_rng);
  std::vector<size_t> used(c, 0);
  std::vector<std::vector<int64_t>> cycle(c);
  std::vector<int64_t> order(m);
  for (size_t i = 0; i < m; ++i) {
    const uint32_t g = slots[i];
    const size_t n = groups[g]->size();
    if (used[g] % n == 0) {  // start a new cycle through this culture
      cycle[g] = *groups[g];
      CounterRng rng(seed,
                     stream_id(kCultureTag, e, static_cast<uint64_t>(names[g]) + 1, used[g] / n));
      portable_shuffle(cycle[g], rng);
    }
    order[i] = cycle[g][used[g] % n];
    ++used[g];
  }
  return order;
}

std::vector<int64_t> ShardedSampler::epoch_order(int64_t epoch) const {
  if (options_.culture_balanced) return balanced_order(epoch);
  std::vector<int64_t> order = pool_;
  CounterRng rng(state_.seed, stream_id(kPlainTag, static_cast<uint64_t>(epoch)));
  portable_shuffle(order, rng);
  return order;
}

void ShardedSampler::build_order() {
  if (order_epoch_ == state_.epoch) return;
  order_ = epoch_order(state_.epoch);
  order_epoch_ = state_.epoch;
}

BatchPlan ShardedSampler::next_batch_plan(int rank, int world_size, int per_rank_batch) {
  if (world_size < 1)
    throw std::invalid_argument("sampler: world size must be >= 1, found " +
                                std::to_string(world_size));
  if (rank < 0 || rank >= world_size)
    throw std::invalid_argument("sampler: rank must be in [0," + std::to_string(world_size) +
                                "), found " + std::to_string(rank));
  if (per_rank_batch < 1)
    throw std::invalid_argument("sampler: per-rank batch must be >= 1, found " +
                                std::to_string(per_rank_batch));
  const int64_t global = int64_t{world_size} * per_rank_batch;
  const int64_t m = epoch_size();
  if (global > m)
    throw std::invalid_argument("sampler: global batch " + std::to_string(global) +
                                " (world size " + std::to_string(world_size) +
                                " x per-rank batch " + std::to_string(per_rank_batch) +
                                ") exceeds the epoch size " + std::to_string(m));
  const bool rollover = options_.drop_last ? state_.consumed + global > m : state_.consumed >= m;
  if (rollover) {
    ++state_.epoch;
    state_.consumed = 0;
  }
  build_order();
  BatchPlan plan;
  plan.epoch = state_.epoch;
  plan.indices.reserve(per_rank_batch);
  plan.positions.reserve(per_rank_batch);
  for (int j = 0; j < per_rank_batch; ++j) {
    int64_t p = state_.consumed + int64_t{rank} * per_rank_batch + j;
    if (p >= m) p -= m;  // only without drop_last: pad from the start of this epoch
    plan.positions.push_back(p);
    plan.indices.push_back(order_[static_cast<size_t>(p)]);
  }
  state_.consumed = std::min(state_.consumed + global, m);
  return plan;
}

std::vector<int64_t> ShardedSampler::next_batch(int rank, int world_size, int per_rank_batch) {
  return next_batch_plan(rank, world_size, per_rank_batch).indices;
}

SamplerState ShardedSampler::state() const { return state_; }

void ShardedSampler::restore(const SamplerState& state) {
  if (state.epoch < 0)
    throw std::invalid_argument("sampler state: epoch must be >= 0, found " +
                                std::to_string(state.epoch));
  if (state.consumed < 0 || state.consumed > epoch_size())
    throw std::invalid_argument(
        "sampler state: consumed must be in [0," + std::to_string(epoch_size()) + "], found " +
        std::to_string(state.consumed) + " (was the corpus or split changed?)");
  if (state.seed != state_.seed) order_epoch_ = -1;
  state_ = state;
  options_.seed = state.seed;
}

}  // namespace culturegan::data
