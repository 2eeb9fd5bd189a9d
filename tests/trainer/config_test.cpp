#include <gtest/gtest.h>

#include "trainer/config.h"

using culturegan::trainer::ConfigError;
using culturegan::trainer::parse_config;

namespace {
const char* kBase = "[data]\ncorpus = \"c.h5\"\nimage_size = 64\n[train]\nsteps = 10\n";

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    parse_config(text, "x.toml", sets);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Config, ParsesAndFillsDefaults) {
  const auto c = parse_config(kBase, "x.toml");
  EXPECT_EQ(c.data.corpus, "c.h5");
  EXPECT_EQ(c.train.steps, 10);
  EXPECT_EQ(c.train.batch_size, 8);
  EXPECT_DOUBLE_EQ(c.loss.lambda_rec, 10.0);
  EXPECT_EQ(c.model.kind, culturegan::trainer::ModelKind::kStargan);
}

TEST(Config, UnknownKeyNamesKeyPositionAndSuggestion) {
  const std::string e = error_of(std::string(kBase) + "stepz = 3\n");
  EXPECT_NE(e.find("x.toml:6:1"), std::string::npos) << e;
  EXPECT_NE(e.find("'train.stepz' is unknown"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'train.steps'"), std::string::npos) << e;
}

TEST(Config, WrongTypeNamesExpectedAndFound) {
  const std::string e = error_of("[data]\ncorpus = \"c.h5\"\n[train]\nsteps = \"many\"\n");
  EXPECT_NE(e.find("x.toml:4:9"), std::string::npos) << e;
  EXPECT_NE(e.find("'train.steps': expected an integer, found string \"many\""), std::string::npos)
      << e;
}

TEST(Config, InvalidTomlIsReportedWithPosition) {
  const std::string e = error_of("[data\ncorpus=1");
  EXPECT_NE(e.find("x.toml:1:"), std::string::npos) << e;
  EXPECT_NE(e.find("not valid TOML"), std::string::npos) << e;
}

TEST(Config, SetTakesTomlValuesAndBareWordsAsStrings) {
  const auto c =
      parse_config(kBase, "x.toml",
                   {"train.steps=42", "run.dir=/tmp/r", "optim.g_lr=2e-4", "data.hflip=false",
                    "data.no_flip_cultures=[\"a\", \"b\"]", "run.dir=2024"});
  EXPECT_EQ(c.train.steps, 42);
  EXPECT_EQ(c.run.dir, "2024");
  EXPECT_DOUBLE_EQ(c.optim.g_lr, 2e-4);
  EXPECT_FALSE(c.data.hflip);
  ASSERT_EQ(c.data.no_flip_cultures.size(), 2u);
  EXPECT_EQ(c.data.no_flip_cultures[1], "b");
  // An integer where a float is expected is fine.
  EXPECT_DOUBLE_EQ(parse_config(kBase, "x.toml", {"loss.lambda_rec=5"}).loss.lambda_rec, 5.0);
}

TEST(Config, SetErrorsNameTheFlag) {
  EXPECT_NE(error_of(kBase, {"train.steps=abc"})
                .find("--set train.steps=abc: key 'train.steps': expected an integer, found string "
                      "\"abc\""),
            std::string::npos);
  EXPECT_NE(
      error_of(kBase, {"train.step=3"}).find("--set train.step=3: key 'train.step' is unknown"),
      std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.steps"}).find("expected key=value"), std::string::npos);
}

TEST(Config, RangesAndChoicesAreChecked) {
  EXPECT_NE(error_of(kBase, {"train.batch_size=0"})
                .find("'train.batch_size': expected a value > 0, found 0"),
            std::string::npos);
  EXPECT_NE(error_of(kBase, {"loss.adversarial=wgan"})
                .find("expected one of lsgan | bce | hinge | wgan-gp, found \"wgan\""),
            std::string::npos);
  EXPECT_NE(error_of("[train]\nsteps = 1\n").find("'data.corpus': required"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"data.image_size=66"}).find("multiple of 4"), std::string::npos);
  const std::string e = error_of(kBase, {"eval.every=100"});
  EXPECT_NE(e.find("key 'eval.classifier': eval.every = 100 needs a culture classifier file"),
            std::string::npos)
      << e;
  EXPECT_EQ(error_of(kBase, {"eval.every=100", "eval.classifier=clf.pt"}), "");
}

TEST(Config, ResolvedTomlRoundTripsWithTheSameHash) {
  const auto c =
      parse_config(kBase, "x.toml", {"train.seed=7", "data.no_flip_cultures=[\"ukiyo_e\"]"});
  const auto again = parse_config(c.to_toml(), "resolved.toml");
  EXPECT_EQ(again.hash(), c.hash());
  EXPECT_EQ(again.train.seed, 7);
  EXPECT_NE(parse_config(kBase, "x.toml").hash(), c.hash());
}

TEST(Config, KeysOfAnotherKindAndRenamedKeysAreErrors) {
  // A key the chosen model.kind does not read would do nothing: one error naming its readers.
  const std::string e1 = error_of(kBase, {"cyclegan.pool_size=4"});
  EXPECT_NE(e1.find("--set cyclegan.pool_size=4: key 'cyclegan.pool_size' is read by model.kind = "
                    "cyclegan only; with model.kind = \"stargan\" it would do nothing"),
            std::string::npos)
      << e1;
  // StarGAN v2's weights have the paper's names; the reused keys name the new ones.
  const std::string e2 =
      error_of(std::string(kBase) + "[model]\nkind = \"starganv2\"\n[loss]\nlambda_cls = 2.0\n");
  EXPECT_NE(e2.find("x.toml:9:1: key 'loss.lambda_cls': model.kind = \"starganv2\" reads this as "
                    "'starganv2.lambda_sty'"),
            std::string::npos)
      << e2;
  const std::string e3 = error_of(kBase, {"model.kind=cyclegan", "train.pool_size=10"});
  EXPECT_NE(e3.find("key 'train.pool_size': model.kind = \"cyclegan\" reads this as "
                    "'cyclegan.pool_size'"),
            std::string::npos)
      << e3;
  const std::string e4 = error_of(kBase, {"model.kind=dcgan", "loss.lambda_id=1"});
  EXPECT_NE(e4.find("key 'loss.lambda_id' is read by model.kind = stargan only"), std::string::npos)
      << e4;
  const std::string e5 = error_of(kBase, {"model.kind=cyclegan", "loss.lambda_id=1"});
  EXPECT_NE(e5.find("key 'loss.lambda_id': model.kind = \"cyclegan\" reads this as "
                    "'cyclegan.lambda_id'"),
            std::string::npos)
      << e5;
  const auto v2 = parse_config(kBase, "x.toml", {"model.kind=starganv2", "starganv2.lambda_ds=2"});
  EXPECT_DOUBLE_EQ(v2.starganv2.lambda_ds, 2.0);
  // The resolved TOML of a kind holds only its keys, and round-trips.
  EXPECT_EQ(v2.to_toml().find("lambda_cls"), std::string::npos);
  EXPECT_EQ(parse_config(v2.to_toml(), "resolved.toml").hash(), v2.hash());
}

TEST(Config, ChoicesBecomeEnums) {
  const auto c = parse_config(kBase, "x.toml",
                              {"train.non_finite=skip", "distributed.backend=mpi",
                               "loss.adversarial=hinge", "train.device=cpu"});
  EXPECT_EQ(c.train.non_finite, culturegan::trainer::NonFinitePolicy::kSkip);
  EXPECT_EQ(c.distributed.backend, culturegan::trainer::BackendChoice::kMpi);
  EXPECT_EQ(c.loss.adversarial, culturegan::trainer::AdversarialLoss::kHinge);
  EXPECT_EQ(c.train.device, culturegan::trainer::DeviceChoice::kCpu);
  EXPECT_NE(error_of(kBase, {"train.device=tpu"}).find("expected one of auto | cpu | cuda"),
            std::string::npos);
  // train.precision: real now (autocast, tests/trainer/checkpoint/test_precision.py).
  EXPECT_EQ(parse_config(kBase, "x.toml", {"train.precision=bf16"}).train.precision,
            culturegan::trainer::Precision::kBf16);
  EXPECT_EQ(parse_config(kBase, "x.toml").train.precision, culturegan::trainer::Precision::kFp32);
  EXPECT_NE(error_of(kBase, {"train.precision=fp16"}).find("expected one of fp32 | bf16"),
            std::string::npos);
}
