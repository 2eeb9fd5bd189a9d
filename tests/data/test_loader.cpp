#include <gtest/gtest.h>

#include <torch/torch.h>

#include "data/loader.h"
#include "tests/data/h5_tamper.h"
#include "tests/data/test_util.h"

using namespace culturegan;
using namespace culturegan::data;

namespace {

std::shared_ptr<const CorpusReader> corpus(const std::vector<int>& counts, int size = 8,
                                           int chunk = 3) {
  const std::string dir = testutil::temp_dir("loader");
  return std::make_shared<const CorpusReader>(testutil::make_corpus(dir, counts, size, 0.0, chunk));
}

ShardedSampler sampler_for(const CorpusReader& c, uint64_t seed = 1, bool balanced = false) {
  SamplerOptions o;
  o.seed = seed;
  o.culture_balanced = balanced;
  return ShardedSampler(c.train_indices(),
                        std::vector<int32_t>(c.labels().begin(), c.labels().end()), o);
}

}  // namespace

TEST(Loader, BatchesFollowTheSamplerAndHoldTheRightImages) {
  auto c = corpus({10, 7, 5});
  LoaderOptions o;
  o.batch_size = 4;
  o.threads = 3;
  o.hflip = false;
  Loader loader(c, sampler_for(*c), 1, 2, o);
  ShardedSampler ref = sampler_for(*c);
  for (int step = 0; step < 8; ++step) {  // crosses an epoch boundary (22 / 8 = 2 steps)
    const Batch b = loader.next();
    const std::vector<int64_t> want = ref.next_batch(1, 2, 4);
    ASSERT_EQ(b.images.sizes(), (std::vector<int64_t>{4, 3, 8, 8}));
    ASSERT_EQ(b.images.scalar_type(), torch::kFloat32);
    EXPECT_EQ(b.state_after.consumed, ref.state().consumed);
    EXPECT_EQ(b.state_after.epoch, ref.state().epoch);
    for (int k = 0; k < 4; ++k) {
      const int64_t i = want[size_t(k)];
      EXPECT_EQ(b.labels[k].item<int64_t>(), c->labels()[size_t(i)]);
      for (int ch = 0; ch < 3; ++ch)
        for (int x = 0; x < 8; x += 3)
          ASSERT_NEAR(b.images[k][ch][5][x].item<float>(),
                      testutil::corpus_pixel(i, x, ch) / 127.5f - 1.0f, 1e-6);
    }
  }
}

TEST(Loader, SameSeedSameBatchesWhateverTheThreadCount) {
  auto c = corpus({12, 9});
  LoaderOptions o;
  o.batch_size = 5;
  o.random_resized_crop = 0.3f;
  o.seed = 77;
  o.threads = 1;
  Loader a(c, sampler_for(*c), 0, 1, o);
  o.threads = 4;
  o.prefetch = 2;
  Loader b(c, sampler_for(*c), 0, 1, o);
  o.seed = 78;
  Loader other(c, sampler_for(*c), 0, 1, o);
  bool any_diff = false;
  for (int step = 0; step < 6; ++step) {
    const Batch x = a.next(), y = b.next(), z = other.next();
    EXPECT_TRUE(torch::equal(x.images, y.images)) << "step " << step;
    EXPECT_TRUE(torch::equal(x.labels, y.labels));
    any_diff |= !torch::equal(x.images, z.images);
    EXPECT_LE(x.images.max().item<float>(), 1.0f);
    EXPECT_GE(x.images.min().item<float>(), -1.0f);
  }
  EXPECT_TRUE(any_diff) << "the augmentation seed has no effect";
}

TEST(Loader, AugmentationDoesNotDependOnWorldSize) {
  // 1 rank x batch 6 sees the same augmented samples as 2 ranks x batch 3.
  auto c = corpus({20});
  LoaderOptions o;
  o.random_resized_crop = 0.2f;
  o.batch_size = 6;
  Loader one(c, sampler_for(*c), 0, 1, o);
  o.batch_size = 3;
  Loader r0(c, sampler_for(*c), 0, 2, o), r1(c, sampler_for(*c), 1, 2, o);
  for (int step = 0; step < 4; ++step)
    EXPECT_TRUE(torch::equal(one.next().images, torch::cat({r0.next().images, r1.next().images})));
}

TEST(Loader, FlipsHalfTheTimeExceptForNoFlipCultures) {
  auto c = corpus({40, 40});
  LoaderOptions o;
  o.batch_size = 10;
  o.no_flip_cultures = {"c1"};
  Loader loader(c, sampler_for(*c), 0, 1, o);
  int flipped[2] = {0, 0}, total[2] = {0, 0};
  for (int step = 0; step < 16; ++step) {
    const Batch b = loader.next();
    for (int k = 0; k < 10; ++k) {
      const int label = static_cast<int>(b.labels[k].item<int64_t>());
      // Pixel x=0 of channel 0 equals corpus_pixel(i, 0, 0) unless flipped (then x=7).
      const int left =
          static_cast<int>(std::lround((b.images[k][0][0][0].item<float>() + 1.0f) * 127.5f));
      const int right =
          static_cast<int>(std::lround((b.images[k][0][0][7].item<float>() + 1.0f) * 127.5f));
      const bool flip = (left - right + 256) % 256 == 7, plain = (right - left + 256) % 256 == 7;
      ASSERT_TRUE(flip != plain);  // stored values grow by 1 per x (mod 256)
      flipped[label] += flip ? 1 : 0;
      ++total[label];
    }
  }
  EXPECT_EQ(flipped[1], 0);
  EXPECT_GT(flipped[0], total[0] / 5);
  EXPECT_LT(flipped[0], total[0] * 4 / 5);
  EXPECT_THROW(Loader(c, sampler_for(*c), 0, 1, LoaderOptions{8, 1, 1, true, {"nope"}}),
               std::invalid_argument);
}

TEST(Loader, OutputSizeAndCrop) {
  auto c = corpus({9}, 16, 1);
  LoaderOptions o;
  o.batch_size = 3;
  o.output_size = 12;
  o.random_resized_crop = 0.5f;
  Loader loader(c, sampler_for(*c), 0, 1, o);
  EXPECT_EQ(loader.next().images.sizes(), (std::vector<int64_t>{3, 3, 12, 12}));
}

TEST(Loader, ResumesFromStateAfter) {
  auto c = corpus({15, 6});
  LoaderOptions o;
  o.batch_size = 4;
  o.random_resized_crop = 0.4f;
  Loader full(c, sampler_for(*c, 3, true), 0, 1, o);
  SamplerState mid;
  for (int step = 0; step < 3; ++step) mid = full.next().state_after;
  ShardedSampler s = sampler_for(*c, 0, true);
  s.restore(mid);
  Loader resumed(c, std::move(s), 0, 1, o);
  for (int step = 0; step < 5; ++step)
    EXPECT_TRUE(torch::equal(full.next().images, resumed.next().images));
}

TEST(Loader, RejectsBadOptions) {
  auto c = corpus({6});
  LoaderOptions o;
  o.batch_size = 0;
  EXPECT_THROW(Loader(c, sampler_for(*c), 0, 1, o), std::invalid_argument);
  o.batch_size = 4;
  EXPECT_THROW(Loader(c, sampler_for(*c), 0, 2, o), std::invalid_argument);  // 8 > 6
  EXPECT_THROW(Loader(c, sampler_for(*c), 2, 2, o), std::invalid_argument);
  o.random_resized_crop = 1.5f;
  EXPECT_THROW(Loader(c, sampler_for(*c), 0, 1, o), std::invalid_argument);
}

TEST(Loader, ModelRangeConversionsRoundTrip) {
  const torch::Tensor u8 = torch::randint(0, 256, {2, 5, 4, 3}, torch::kUInt8);
  const torch::Tensor f = to_model_range(u8);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{2, 3, 5, 4}));
  EXPECT_FLOAT_EQ(to_model_range(torch::full({1, 1, 1, 3}, 255, torch::kUInt8)).max().item<float>(),
                  1.0f);
  EXPECT_FLOAT_EQ(to_model_range(torch::zeros({1, 1, 1, 3}, torch::kUInt8)).min().item<float>(),
                  -1.0f);
  EXPECT_TRUE(torch::equal(to_uint8_nhwc(f), u8));
  EXPECT_EQ(to_uint8_nhwc(torch::full({1, 3, 1, 1}, 7.0f))[0][0][0][0].item<uint8_t>(), 255);
  EXPECT_THROW(to_model_range(f), std::invalid_argument);
  EXPECT_THROW(to_uint8_nhwc(u8), std::invalid_argument);
}

TEST(Loader, HeldBatchesAreNeverOverwrittenByRecycling) {
  auto c = corpus({30});
  LoaderOptions o;
  o.batch_size = 5;
  o.threads = 2;
  o.prefetch = 2;
  Loader a(c, sampler_for(*c), 0, 1, o), b(c, sampler_for(*c), 0, 1, o);
  std::vector<torch::Tensor> held;  // every other batch is kept, also as a view
  for (int step = 0; step < 30; ++step) {
    const Batch x = a.next();
    if (step % 2 == 0) held.push_back(x.images.narrow(0, 1, 3));
  }
  for (int step = 0; step < 30; ++step) {
    const Batch y = b.next();
    if (step % 2 == 0) {
      EXPECT_TRUE(torch::equal(held[size_t(step / 2)], y.images.narrow(0, 1, 3))) << step;
    }
  }
}

TEST(Loader, CorruptChunkIsAnErrorAfterTheGoodBatches) {
  // Chunk = 1 image; corrupt every chunk but the first 4 images': with a sequential-ish
  // read the loader must deliver nothing wrong and rethrow CorpusError, never crash/hang.
  const std::string dir = testutil::temp_dir("loader-corrupt");
  const std::string path = testutil::make_corpus(dir, {12}, 8, 0.0, 1);
  std::string bytes = testutil::read_file(path);
  for (hsize_t chunk = 4; chunk < 12; ++chunk)
    bytes[testutil::chunk_location(path, "/images", chunk).first + 1] ^= 0x33;
  testutil::write_file(path, bytes);
  auto c = std::make_shared<const CorpusReader>(path);
  LoaderOptions o;
  o.batch_size = 4;
  o.threads = 2;
  Loader loader(c, sampler_for(*c), 0, 1, o);
  try {
    for (int step = 0; step < 6; ++step) {
      const Batch b = loader.next();  // only a batch of images 0..3 can succeed
      for (int k = 0; k < 4; ++k) {
        // Channel 0 at x=0 and x=7 holds 7i and 7i+7 (swapped if flipped): i = min / 7.
        const int l =
            static_cast<int>(std::lround((b.images[k][0][0][0].item<float>() + 1.0f) * 127.5f));
        const int r =
            static_cast<int>(std::lround((b.images[k][0][0][7].item<float>() + 1.0f) * 127.5f));
        EXPECT_LT(std::min(l, r) / 7, 4) << "a sample from a corrupt chunk was delivered";
      }
    }
    FAIL() << "no error from corrupt chunks";
  } catch (const CorpusError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": dataset /images: read of images"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(loader.next(), CorpusError);  // stays failed
}
