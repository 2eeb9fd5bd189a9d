// Fuzz target: checkpoint MANIFEST + state.toml read, as `culturegan-train --resume` and
// `--init-from CHECKPOINT` do it. Input: the MANIFEST text, then a line "#--state.toml", then
// the state.toml text. The harness writes a checkpoint directory with those two files and
// small valid G.pt, optim_G.pt and rng.pt archives (a 2x2 Linear and its Adam state), then
//   1. trainer::verify_checkpoint(dir) with the MANIFEST as given (returns a reason, never
//      throws, never hangs, reads nothing outside the directory);
//   2. trainer::checkpoint_cultures(dir);
//   3. rewrites the MANIFEST so it verifies (what someone handing over a doctored checkpoint
//      would do) and runs Checkpointer::load(dir, algo): archives, RNG, state.toml fields.
// Clean rejection: trainer::CheckpointError naming the checkpoint. Anything else is a finding.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/torch_compat.h"
#include "tests/fuzz/fuzz_util.h"
#include "trainer/checkpoint.h"

using namespace culturegan;
namespace fs = std::filesystem;

namespace {

// The smallest GanAlgorithm a checkpoint can be loaded into: module G, optimizer optim_G.
class TinyAlgo : public trainer::GanAlgorithm {
 public:
  TinyAlgo() : g_(std::make_shared<torch::nn::LinearImpl>(2, 2)), opt_(g_->parameters()) {}
  std::vector<trainer::Phase>& phases() override { return phases_; }
  void after_step(int64_t) override {}
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() override {
    return {{"G", g_}};
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    return {{"optim_G", &opt_}};
  }
  torch::Tensor translate(const torch::Tensor& x, int64_t) override { return x; }
  void export_bundle(const std::string&, const std::vector<std::string>&) override {}
  void step_once() {
    culturegan::compat::zero_grad(opt_);
    g_->forward(torch::ones({1, 2})).sum().backward();
    opt_.step();
  }

 private:
  std::shared_ptr<torch::nn::LinearImpl> g_;
  torch::optim::Adam opt_;
  std::vector<trainer::Phase> phases_;
};

std::string archive_bytes(torch::serialize::OutputArchive& ar) {
  std::string buf;
  ar.save_to([&buf](const void* p, size_t n) -> size_t {
    buf.append(static_cast<const char*>(p), n);
    return n;
  });
  return buf;
}

struct Template {
  std::vector<std::pair<std::string, std::string>> files;  // name, bytes
};

const Template& the_template() {
  static const Template t = [] {
    torch::manual_seed(0);
    TinyAlgo algo;
    algo.step_once();
    Template t;
    for (auto& [name, m] : algo.modules()) {
      torch::serialize::OutputArchive ar;
      m->save(ar);
      t.files.emplace_back(name + ".pt", archive_bytes(ar));
    }
    for (auto& [name, o] : algo.optimizers()) {
      torch::serialize::OutputArchive ar;
      o->save(ar);
      t.files.emplace_back(name + ".pt", archive_bytes(ar));
    }
    std::ostringstream rng;
    torch::save(at::detail::getDefaultCPUGenerator().get_state(), rng);
    t.files.emplace_back("rng.pt", rng.str());
    return t;
  }();
  return t;
}

std::string crc_hex(std::string_view s) {
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(s.data()),
                          static_cast<uInt>(s.size()));
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08lx", crc);
  return buf;
}

void expect_clean(const std::string& msg, const std::string& dir) {
  fuzz::note(msg);
  if (msg.find(dir) == std::string::npos) fuzz::bad_message("does not name the checkpoint", msg);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const auto [manifest, state] = fuzz::split_once(all, "\n#--state.toml\n");
  const fs::path run = fuzz::scratch_dir() / "run";
  const fs::path dir = run / "checkpoints" / "step-000000001";
  std::error_code ec;
  fs::remove_all(run, ec);
  fs::create_directories(dir);
  for (const auto& [name, bytes] : the_template().files) fuzz::write_bytes(dir / name, bytes);
  fuzz::write_bytes(dir / "state.toml", state);
  fuzz::write_bytes(dir / "MANIFEST", manifest);

  (void)trainer::verify_checkpoint(dir.string());  // documented never to throw
  try {
    (void)trainer::checkpoint_cultures(dir.string());
  } catch (const trainer::CheckpointError& e) {
    expect_clean(e.what(), dir.string());
  }

  std::string good;
  for (const auto& [name, bytes] : the_template().files)
    good += crc_hex(bytes) + " " + std::to_string(bytes.size()) + " " + name + "\n";
  good += crc_hex(state) + " " + std::to_string(state.size()) + " state.toml\n";
  fuzz::write_bytes(dir / "MANIFEST", good);
  TinyAlgo algo;
  try {
    const trainer::Checkpointer ck(run.string(), 1);
    if (!ck.resolve("auto", nullptr)) {
      std::fprintf(stderr, "resolve(auto) found no checkpoint although one verifies\n");
      std::abort();
    }
    (void)ck.load(dir.string(), algo);
  } catch (const trainer::CheckpointError& e) {
    expect_clean(e.what(), dir.string());
  }
  return 0;
}
