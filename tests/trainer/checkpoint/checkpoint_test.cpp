// Checkpointer unit tests (point 1): layout, atomic save, round trip of every model,
// optimizer and RNG state, keep-K, damaged/truncated newest -> resolve("auto") falls back and
// says so, failed saves (unwritable directory, disk full) keep the previous checkpoint.
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include "common/torch_compat.h"
#include "models/memory_format.h"
#include "trainer/algorithms/stargan.h"
#include "trainer/checkpoint.h"
#include "trainer/config.h"

namespace fs = std::filesystem;
using namespace culturegan::trainer;

namespace {

Config tiny_config() {
  const char* src = std::getenv("CULTUREGAN_SOURCE_DIR");
  const std::string path = std::string(src ? src : ".") + "/configs/quickstart.toml";
  return load_config(path,
                     {"data.corpus=unused.h5", "data.image_size=16", "model.g_conv_dim=4",
                      "model.d_conv_dim=4", "model.g_res_blocks=1", "data.no_flip_cultures=[]"});
}

}  // namespace

// Outside the anonymous namespace: TEST_F's classes derive from it (external linkage), which
// GCC's -Wsubobject-linkage flags in a unity build.
struct CheckpointFiles : ::testing::Test {
  fs::path dir;
  Config cfg = tiny_config();
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("culturegan-ckpt-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override {
    std::string cmd = "chattr -R -i '" + dir.string() + "' 2>/dev/null";
    (void)std::system(cmd.c_str());
    fs::remove_all(dir);
  }
  std::unique_ptr<StarGanAlgorithm> algo(uint64_t seed) {
    torch::manual_seed(seed);
    return std::make_unique<StarGanAlgorithm>(cfg, 3, torch::kCPU);
  }
  // One optimizer step on every optimizer with deterministic gradients, so Adam has state.
  static void fake_step(StarGanAlgorithm& a, int k) {
    for (auto& [name, opt] : a.optimizers()) {
      culturegan::compat::zero_grad(*opt);
      for (auto& group : opt->param_groups())
        for (auto& p : group.params()) p.mutable_grad() = torch::full_like(p, 0.01 * (k + 1));
      opt->step();
    }
  }
  static std::vector<torch::Tensor> all_tensors(StarGanAlgorithm& a) {
    std::vector<torch::Tensor> out;
    for (auto& [n, m] : a.modules()) {
      for (auto& p : m->parameters()) out.push_back(p.detach().clone());
      for (auto& b : m->buffers()) out.push_back(b.detach().clone());
    }
    return out;
  }
  TrainingState state_at(int64_t step) {
    TrainingState s;
    s.step = step;
    s.sampler = {5, step / 4, (step % 4) * 2};
    s.world_size = 2;
    s.config_hash = cfg.hash();
    return s;
  }
};

namespace {

void flip_byte(const fs::path& p, std::streamoff at) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(at);
  char c = 0;
  f.get(c);
  f.seekp(at);
  f.put(static_cast<char>(c ^ 0x5a));
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_F(CheckpointFiles, LayoutAndRoundTripOfEveryState) {
  auto a = algo(1);
  fake_step(*a, 0);
  Checkpointer ck(dir.string(), 3);
  auto saved_state = state_at(7);
  torch::manual_seed(42);
  const std::string d = ck.save(saved_state, *a, cfg);
  const auto rng_next = torch::rand({4});  // what the RNG gives right after the save
  EXPECT_EQ(fs::path(d).filename(), "step-000000007");
  for (const char* f : {"G.pt", "D.pt", "G_ema.pt", "optim_G.pt", "optim_D.pt", "rng.pt",
                        "state.toml", "config.toml", "MANIFEST"})
    EXPECT_TRUE(fs::is_regular_file(fs::path(d) / f)) << f;
  EXPECT_EQ(slurp(dir / "checkpoints" / "latest"), "step-000000007\n");
  EXPECT_EQ(verify_checkpoint(d), "");
  EXPECT_GT(ck.last_save_bytes(), 0u);
  for (const auto& e : fs::directory_iterator(dir / "checkpoints"))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();

  const auto st = toml::parse_file((fs::path(d) / "state.toml").string());
  EXPECT_EQ(st["step"].value<int64_t>(), 7);
  EXPECT_EQ(st["epoch"].value<int64_t>(), 1);
  EXPECT_EQ(st["world_size"].value<int64_t>(), 2);
  EXPECT_EQ(st["config_hash"].value<std::string>(), cfg.hash());
  for (const char* lib : {"culturegan", "torch", "mpi", "hdf5", "fmt", "tomlplusplus", "zlib"})
    EXPECT_TRUE(st["versions"][lib].value<std::string>().has_value()) << lib;
  EXPECT_EQ(slurp(fs::path(d) / "config.toml"), cfg.to_toml());

  // A fresh algorithm with other weights loads everything back.
  auto b = algo(99);
  torch::manual_seed(1234);
  const TrainingState got = ck.load(d, *b);
  EXPECT_EQ(got.step, 7);
  EXPECT_EQ(got.world_size, 2);
  EXPECT_EQ(got.sampler.seed, 5u);
  EXPECT_EQ(got.sampler.epoch, 1);
  EXPECT_EQ(got.sampler.consumed, 6);
  EXPECT_EQ(got.config_hash, cfg.hash());
  EXPECT_TRUE(torch::equal(torch::rand({4}), rng_next)) << "RNG state not restored";
  auto ta = all_tensors(*a), tb = all_tensors(*b);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) EXPECT_TRUE(torch::equal(ta[i], tb[i])) << i;
  // Optimizer state (Adam moments and step counts): the next step is bitwise the same.
  fake_step(*a, 1);
  fake_step(*b, 1);
  ta = all_tensors(*a);
  tb = all_tensors(*b);
  for (size_t i = 0; i < ta.size(); ++i)
    EXPECT_TRUE(torch::equal(ta[i], tb[i])) << "after a step: " << i;
}

// train.channels_last: a checkpoint restores the values bitwise and leaves the layout to the
// loading run's config (a channels-last checkpoint resumes NCHW and vice versa).
TEST_F(CheckpointFiles, ChannelsLastLayoutIsTheLoadingRunsNotTheFiles) {
  cfg.train.channels_last = true;
  auto a = algo(1);
  fake_step(*a, 0);
  Checkpointer ck(dir.string(), 3);
  const std::string d = ck.save(state_at(3), *a, cfg);
  const auto saved = all_tensors(*a);
  for (const bool channels_last : {true, false}) {
    SCOPED_TRACE(channels_last ? "load into channels-last" : "load into NCHW");
    cfg.train.channels_last = channels_last;
    auto b = algo(2);
    ck.load(d, *b);
    const auto got = all_tensors(*b);
    ASSERT_EQ(got.size(), saved.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(torch::equal(got[i], saved[i])) << i;
    for (auto& [name, m] : b->modules())
      if (name != "NCE_head") {  // linear layers only: nothing to convert
        EXPECT_EQ(culturegan::models::memory_format_of(*m), channels_last
                                                                ? torch::MemoryFormat::ChannelsLast
                                                                : torch::MemoryFormat::Contiguous)
            << name;
      }
  }
}

TEST_F(CheckpointFiles, KeepsTheNewestK) {
  auto a = algo(1);
  Checkpointer ck(dir.string(), 2);
  for (int s = 1; s <= 5; ++s) ck.save(state_at(s * 10), *a, cfg);
  const auto all = ck.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(fs::path(all[0]).filename(), "step-000000040");
  EXPECT_EQ(fs::path(all[1]).filename(), "step-000000050");
  // Saving the same step again (a resumed run) replaces it atomically.
  ck.save(state_at(50), *a, cfg);
  EXPECT_EQ(verify_checkpoint(all[1]), "");
  EXPECT_EQ(ck.list().size(), 2u);
}

TEST_F(CheckpointFiles, DamagedNewestFallsBackAndSaysSo) {
  auto a = algo(1);
  Checkpointer ck(dir.string(), 3);
  ck.save(state_at(10), *a, cfg);
  ck.save(state_at(20), *a, cfg);
  const std::string newest = ck.save(state_at(30), *a, cfg);
  std::vector<std::string> notes;
  EXPECT_EQ(ck.resolve("auto", &notes), newest);
  EXPECT_TRUE(notes.empty());

  flip_byte(fs::path(newest) / "G.pt", 100);  // bit rot: same size, other CRC
  notes.clear();
  auto got = ck.resolve("auto", &notes);
  ASSERT_TRUE(got);
  EXPECT_EQ(fs::path(*got).filename(), "step-000000020");
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("skipping damaged checkpoint"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("G.pt: expected CRC-32"), std::string::npos) << notes[0];
  EXPECT_NE(notes[1].find("using the previous good checkpoint"), std::string::npos) << notes[1];
  EXPECT_NE(notes[1].find("step-000000020"), std::string::npos) << notes[1];
  // An explicit --resume PATH that is damaged is an error naming the file.
  try {
    ck.resolve(newest, nullptr);
    ADD_FAILURE() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("G.pt"), std::string::npos) << e.what();
  }
  auto b = algo(2);
  EXPECT_THROW(ck.load(newest, *b), CheckpointError);

  // Truncated file in step 20 too (a crash or a full disk during a copy): detected by size.
  fs::resize_file(fs::path(*got) / "optim_D.pt", 10);
  notes.clear();
  got = ck.resolve("auto", &notes);
  ASSERT_TRUE(got);
  EXPECT_EQ(fs::path(*got).filename(), "step-000000010");
  EXPECT_NE(notes[1].find("truncated"), std::string::npos) << notes[1];

  // A save that crashed before its MANIFEST (temp dir) is invisible and cleaned by the next save.
  fs::create_directories(dir / "checkpoints" / "step-000000040.tmp-1");
  EXPECT_EQ(ck.list().size(), 3u);
  ck.save(state_at(50), *a, cfg);
  EXPECT_FALSE(fs::exists(dir / "checkpoints" / "step-000000040.tmp-1"));
}

TEST_F(CheckpointFiles, UnwritableDirectoryKeepsPreviousCheckpoint) {
  auto a = algo(1);
  Checkpointer ck(dir.string(), 3);
  const std::string prev = ck.save(state_at(10), *a, cfg);
  // Root ignores permission bits; the immutable attribute stops root too.
  const std::string cmd = "chattr +i '" + (dir / "checkpoints").string() + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "chattr +i is not available here";
  try {
    ck.save(state_at(20), *a, cfg);
    ADD_FAILURE() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Operation not permitted"), std::string::npos) << e.what();
  }
  (void)std::system(("chattr -i '" + (dir / "checkpoints").string() + "'").c_str());
  EXPECT_EQ(verify_checkpoint(prev), "");
  EXPECT_EQ(slurp(dir / "checkpoints" / "latest"), "step-000000010\n");
  EXPECT_EQ(ck.list().size(), 1u);
}

TEST_F(CheckpointFiles, CheckpointsPathIsAFile) {
  auto a = algo(1);
  std::ofstream(dir / "checkpoints") << "not a directory";
  Checkpointer ck(dir.string(), 3);
  try {
    ck.save(state_at(10), *a, cfg);
    ADD_FAILURE() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoints: cannot create checkpoint directory"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(CheckpointFiles, DiskFullKeepsPreviousCheckpoint) {
  auto a = algo(1);
  // Measure one checkpoint, then mount a tmpfs that holds it once but not twice.
  uint64_t bytes = 0;
  {
    Checkpointer probe((dir / "probe").string(), 1);
    probe.save(state_at(1), *a, cfg);
    bytes = probe.last_save_bytes();
  }
  const fs::path mnt = dir / "small";
  fs::create_directories(mnt);
  const std::string opts = "size=" + std::to_string(bytes * 3 / 2 + 8192);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, opts.c_str()) != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                 << "): needs CAP_SYS_ADMIN";
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  Checkpointer ck(mnt.string(), 3);
  const std::string prev = ck.save(state_at(10), *a, cfg);
  try {
    ck.save(state_at(20), *a, cfg);
    ADD_FAILURE() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
  EXPECT_EQ(verify_checkpoint(prev), "");
  EXPECT_EQ(slurp(mnt / "checkpoints" / "latest"), "step-000000010\n");
  for (const auto& e : fs::directory_iterator(mnt / "checkpoints"))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos)
        << "temp dir left: " << e.path();
  std::vector<std::string> notes;
  EXPECT_EQ(ck.resolve("auto", &notes), prev);
}
