// plan_buckets: reverse order, 1 MiB first bucket then bucket_mb, one dtype per bucket.
#include <gtest/gtest.h>

#include "distributed/bucket_plan.h"

namespace cgd = culturegan::distributed;

namespace {

constexpr int64_t kMiB = 1 << 20;

TEST(BucketPlan, ReverseOrderSmallFirstBucketThenLargeOnes) {
  // Ten float32 tensors of 0.5 MiB each (131072 elements).
  std::vector<torch::Tensor> params;
  for (int i = 0; i < 10; ++i) params.push_back(torch::zeros({131072}));
  const auto plan = cgd::plan_buckets(params, 1 * kMiB, 2 * kMiB);
  // First bucket: params 9, 8 (1 MiB); then 4 per 2 MiB bucket: 7..4, 3..0.
  ASSERT_EQ(plan.size(), 3u);
  ASSERT_EQ(plan[0].slots.size(), 2u);
  EXPECT_EQ(plan[0].slots[0].param, 9);
  EXPECT_EQ(plan[0].slots[1].param, 8);
  EXPECT_EQ(plan[0].slots[1].offset, 131072);
  EXPECT_EQ(plan[1].slots.size(), 4u);
  EXPECT_EQ(plan[1].slots.front().param, 7);
  EXPECT_EQ(plan[2].slots.back().param, 0);
  EXPECT_EQ(plan[2].numel, 4 * 131072);
}

TEST(BucketPlan, LargeParameterGetsItsOwnBucketAndDtypesNeverMix) {
  std::vector<torch::Tensor> params = {torch::zeros({10}, torch::kDouble),
                                       torch::zeros({3 * kMiB / 4}), torch::zeros({10}),
                                       torch::zeros({5}, torch::kDouble)};
  const auto plan = cgd::plan_buckets(params, kMiB, kMiB);
  int64_t covered = 0;
  for (const auto& b : plan) {
    for (const auto& s : b.slots) {
      EXPECT_EQ(params[s.param].scalar_type(), b.dtype);
      covered += s.numel;
    }
  }
  EXPECT_EQ(covered, 10 + 3 * kMiB / 4 + 10 + 5);
  // The 3 MiB tensor closes its bucket (with the 10-element float tensor before it).
  bool big_alone_or_closing = false;
  for (const auto& b : plan)
    if (b.dtype == torch::kFloat && b.slots.back().param == 1) big_alone_or_closing = true;
  EXPECT_TRUE(big_alone_or_closing);
}

}  // namespace
