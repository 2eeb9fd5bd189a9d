#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "data/counter_rng.h"
#include "data/sampler.h"

using namespace culturegan::data;

namespace {

// Pool 0..n-1 with the given culture sizes.
ShardedSampler make(const std::vector<int>& counts, SamplerOptions opt) {
  std::vector<int64_t> pool;
  std::vector<int32_t> labels;
  for (size_t c = 0; c < counts.size(); ++c)
    for (int k = 0; k < counts[c]; ++k) {
      labels.push_back(static_cast<int32_t>(c));
      pool.push_back(static_cast<int64_t>(pool.size()));
    }
  return ShardedSampler(pool, labels, opt);
}

}  // namespace

TEST(CounterRng, GoldenValuesArePortable) {
  // Pinned outputs: any change of the generator or the bounded mapping changes data order
  // of existing runs, which must never happen silently.
  EXPECT_EQ(splitmix64(0), 0xE220A8397B1DCDAFull);
  CounterRng rng(42, 7);
  std::vector<int> v(10);
  std::iota(v.begin(), v.end(), 0);
  portable_shuffle(v, rng);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(v, (std::vector<int>{5, 9, 6, 3, 2, 7, 0, 1, 4, 8}));
}

TEST(CounterRng, BelowIsUniformEnough) {
  CounterRng rng(1, 2);
  std::vector<int> hist(6, 0);
  for (int i = 0; i < 60000; ++i) ++hist[rng.below(6)];
  for (int h : hist) EXPECT_NEAR(h, 10000, 400);
}

TEST(ShardedSampler, DisjointAndCoveringForWorldSizes1To8) {
  for (int world = 1; world <= 8; ++world) {
    for (int b : {1, 3}) {
      SamplerOptions opt;
      opt.seed = 11;
      ShardedSampler proto = make({50, 30, 17}, opt);  // 97 samples
      std::vector<ShardedSampler> ranks(static_cast<size_t>(world), proto);
      const int64_t steps = 97 / (int64_t{world} * b);
      std::multiset<int64_t> seen;
      for (int64_t s = 0; s < steps; ++s)
        for (int r = 0; r < world; ++r)
          for (int64_t i : ranks[size_t(r)].next_batch(r, world, b)) seen.insert(i);
      const std::set<int64_t> uniq(seen.begin(), seen.end());
      EXPECT_EQ(uniq.size(), seen.size()) << "overlap at world " << world;
      EXPECT_EQ(int64_t(seen.size()), steps * world * b);
      EXPECT_GE(int64_t(seen.size()), 97 - world * b + 1)
          << "drop_last dropped more than one global batch";
      // All ranks agree on the state, and it does not depend on the rank.
      for (int r = 1; r < world; ++r)
        EXPECT_EQ(ranks[size_t(r)].state().consumed, ranks[0].state().consumed);
      // The next call starts epoch 1.
      ranks[0].next_batch(0, world, b);
      EXPECT_EQ(ranks[0].state().epoch, 1);
    }
  }
}

TEST(ShardedSampler, SameSeedSameOrderDifferentEpochOrSeedDiffers) {
  SamplerOptions opt;
  opt.seed = 5;
  ShardedSampler a = make({40, 40}, opt), b = make({40, 40}, opt);
  EXPECT_EQ(a.epoch_order(0), b.epoch_order(0));
  EXPECT_NE(a.epoch_order(0), a.epoch_order(1));
  opt.seed = 6;
  EXPECT_NE(make({40, 40}, opt).epoch_order(0), a.epoch_order(0));
  std::vector<int64_t> sorted = a.epoch_order(3);
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 80; ++i) EXPECT_EQ(sorted[size_t(i)], i);
}

TEST(ShardedSampler, ResumeAtAnotherWorldSizeSeesExactlyTheUnseenSamples) {
  SamplerOptions opt;
  opt.seed = 123;
  const std::vector<int> counts = {56, 36, 20};  // 112 = 40 seen at 2x4 + 72 = 6 steps at 3x4
  std::vector<ShardedSampler> two(2, make(counts, opt));
  std::set<int64_t> before;
  for (int step = 0; step < 5; ++step)  // k = 5 * 2 * 4 = 40 samples
    for (int r = 0; r < 2; ++r)
      for (int64_t i : two[size_t(r)].next_batch(r, 2, 4)) before.insert(i);
  const SamplerState saved = two[0].state();
  EXPECT_EQ(saved.consumed, 40);
  std::vector<ShardedSampler> three(
      3, make(counts, SamplerOptions{}));  // other seed: restore overrides
  for (auto& s : three) s.restore(saved);
  std::multiset<int64_t> after;
  while (three[0].state().consumed + 12 <= 112)
    for (int r = 0; r < 3; ++r)
      for (int64_t i : three[size_t(r)].next_batch(r, 3, 4)) after.insert(i);
  EXPECT_EQ(three[0].state().epoch, 0);
  EXPECT_EQ(after.size(), 72u);
  std::set<int64_t> all(before);
  for (int64_t i : after) {
    EXPECT_EQ(before.count(i), 0u) << "sample " << i << " seen twice";
    all.insert(i);
  }
  EXPECT_EQ(all.size(), 112u);  // exactly the unseen set, no duplicates
}

TEST(ShardedSampler, CultureBalancedSharesAreEqual) {
  SamplerOptions opt;
  opt.seed = 9;
  opt.culture_balanced = true;
  const std::vector<int> counts = {751, 152, 638, 224, 211, 252};
  ShardedSampler s = make(counts, opt);
  std::vector<int32_t> label_of;
  for (size_t c = 0; c < counts.size(); ++c)
    label_of.insert(label_of.end(), size_t(counts[c]), int32_t(c));
  std::vector<int64_t> hist(counts.size(), 0);
  int64_t total = 0;
  for (int step = 0; step < 2228 * 5 / 32; ++step)
    for (int64_t i : s.next_batch(0, 1, 32)) {
      ++hist[size_t(label_of[size_t(i)])];
      ++total;
    }
  for (int64_t h : hist) EXPECT_NEAR(double(h) / total, 1.0 / 6, 0.02);
  // Within one epoch, a culture's images are all seen before any repeats.
  const std::vector<int64_t> order = s.epoch_order(0);
  std::vector<int64_t> monet;
  for (int64_t i : order)
    if (label_of[size_t(i)] == 1) monet.push_back(i);
  ASSERT_GE(monet.size(), 152u);
  EXPECT_EQ(std::set<int64_t>(monet.begin(), monet.begin() + 152).size(), 152u);
}

TEST(ShardedSampler, NoDropLastPadsTheLastBatch) {
  SamplerOptions opt;
  opt.drop_last = false;
  ShardedSampler s = make({10}, opt);
  std::vector<int64_t> seen;
  for (int step = 0; step < 3; ++step)
    for (int64_t i : s.next_batch(0, 1, 4)) seen.push_back(i);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 10u);  // 12 slots cover all 10
  EXPECT_EQ(s.state().epoch, 0);
  s.next_batch(0, 1, 4);
  EXPECT_EQ(s.state().epoch, 1);
}

TEST(ShardedSampler, RejectsBadArguments) {
  EXPECT_THROW(ShardedSampler({}, {}, {}), std::invalid_argument);
  EXPECT_THROW(ShardedSampler({1, 2}, {0}, {}), std::invalid_argument);
  ShardedSampler s = make({10}, {});
  EXPECT_THROW(s.next_batch(2, 2, 1), std::invalid_argument);
  EXPECT_THROW(s.next_batch(0, 0, 1), std::invalid_argument);
  EXPECT_THROW(s.next_batch(0, 1, 0), std::invalid_argument);
  EXPECT_THROW(s.next_batch(0, 4, 3), std::invalid_argument);  // 12 > 10
  EXPECT_THROW(s.restore({0, 0, 11}), std::invalid_argument);
  EXPECT_THROW(s.restore({0, -1, 0}), std::invalid_argument);
}

TEST(ShardedSampler, BalancedResumeCoversEveryEpochPositionOnce) {
  // Balanced epochs repeat images of small cultures, so "unseen" is about positions of
  // the epoch order: 2 ranks for 3 steps, then 5 ranks, then 1 rank: every position of
  // epoch 0 exactly once, and the images match the epoch order at those positions.
  SamplerOptions opt;
  opt.seed = 77;
  opt.culture_balanced = true;
  const std::vector<int> counts = {50, 7, 3};  // 60 positions
  ShardedSampler proto = make(counts, opt);
  const std::vector<int64_t> order = proto.epoch_order(0);
  std::vector<int> hits(60, 0);
  auto take = [&](std::vector<ShardedSampler>& ranks, int world, int b, int steps) {
    for (int s = 0; s < steps; ++s)
      for (int r = 0; r < world; ++r) {
        const BatchPlan p = ranks[size_t(r)].next_batch_plan(r, world, b);
        EXPECT_EQ(p.epoch, 0);
        for (size_t k = 0; k < p.positions.size(); ++k) {
          ++hits[size_t(p.positions[k])];
          EXPECT_EQ(p.indices[k], order[size_t(p.positions[k])]);
        }
      }
  };
  std::vector<ShardedSampler> two(2, proto);
  take(two, 2, 3, 3);  // 18
  std::vector<ShardedSampler> five(5, proto);
  for (auto& s : five) s.restore(two[0].state());
  take(five, 5, 2, 3);  // 30 -> 48
  std::vector<ShardedSampler> one(1, proto);
  one[0].restore(five[0].state());
  take(one, 1, 4, 3);  // 12 -> 60
  for (int h : hits) EXPECT_EQ(h, 1);
}
