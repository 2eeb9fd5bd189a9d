// culturegan-bench-comm [--json]: run under `mpirun -np 2`. In one run:
//  (a) all-reduce algbw/busbw (nccl-tests definitions) for 4 KB .. 256 MB;
//  (b) the real G+D gradient set (quickstart StarGAN) reduced per tensor, fused in the
//      reducer's buckets, and as one MPI_Allreduce of the same bytes; the same for the
//      starganv2 recipe's G+F+E+D set (many small tensors: AdaIN and per-culture heads);
//  (c) training images/s at 1 and 2 ranks for culturegan-train and PyTorch DDP (gloo).
// Ratios are against references measured in the same run, so machine speed cancels out.
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench/comm/comm_sweep.h"
#include "bench/comm/train_scaling.h"
#include "distributed/communicator.h"
#include "models/stargan.h"
#include "models/starganv2.h"

namespace cgd = culturegan::distributed;
namespace cb = culturegan::bench;

namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else if (static_cast<unsigned char>(c) >= 0x20)
      out += c;
  }
  return out;
}

// Waits for rank 0 without spinning a core (the training runs need both cores).
void idle_barrier() {
  MPI_Request req;
  MPI_Ibarrier(MPI_COMM_WORLD, &req);
  int done = 0;
  while (!done) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string self_dir() {
  char buf[4096] = {0};
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  std::string p = n > 0 ? std::string(buf, n) : ".";
  return p.substr(0, p.find_last_of('/'));
}

}  // namespace

int main(int argc, char** argv) {
  cgd::MpiRuntime runtime(&argc, &argv);
  const auto& env = runtime.env();
  CLI::App app{
      "culturegan-bench-comm: all-reduce bandwidth, gradient fusion, training scaling vs DDP"};
  bool json = false, skip_train = false;
  double max_mb = 256, sweep_s = 0.3;
  int reps = 50;
  cb::ScalingOptions so;
  so.source_dir = CULTUREGAN_SOURCE_DIR;
  so.train_bin = self_dir() + "/culturegan-train";
  app.add_flag("--json", json, "print one JSON object");
  app.add_option("--max-mb", max_mb, "largest sweep message (MiB)");
  app.add_option("--sweep-seconds", sweep_s, "time per sweep size");
  app.add_option("--reps", reps, "repetitions per gradient-set variant");
  app.add_flag("--skip-train", skip_train, "skip part (c)");
  app.add_option("--train-steps", so.steps, "steps per training run in part (c)");
  app.add_option("--train-repeats", so.repeats,
                 "runs per configuration in part (c); the best counts");
  app.add_option("--train-bin", so.train_bin, "culturegan-train");
  app.add_option("--source-dir", so.source_dir, "repository root");
  app.add_option("--config", so.config, "trainer config (relative to --source-dir)");
  app.add_option("--train-set", so.extra_sets,
                 "extra trainer arguments, e.g. \"--set data.corpus=X\"");
  CLI11_PARSE(app, argc, argv);

  auto comm = cgd::make_communicator("mpi", env);
  const bool root = env.rank == 0;
  auto say = [&](const std::string& s) {
    if (root && !json) std::printf("%s", s.c_str()), std::fflush(stdout);
  };
  say(fmt::format("culturegan-bench-comm: {} ranks, {} node(s), MPI_THREAD_MULTIPLE {}\n",
                  env.world_size, env.node_count, env.mpi_thread_multiple ? "yes" : "no"));

  // (a)
  const auto rows =
      cb::allreduce_sweep(*comm, 4096, static_cast<int64_t>(max_mb * 1048576), sweep_s);
  say("(a) all-reduce float32 sum (MPI)\n        bytes     time_us   algbw_GB/s   busbw_GB/s\n");
  for (const auto& r : rows)
    say(fmt::format("{:>13} {:>11.1f} {:>12.3f} {:>12.3f}\n", r.bytes, r.seconds * 1e6, r.algbw_gbs,
                    r.busbw_gbs));

  // (b)
  struct SetRatios {
    cb::GradientSetResult r;
    std::string buckets;
    double vs_single = 0, pack_vs_single = 0, vs_per_tensor = 0, pack_vs_per_tensor = 0;
  };
  auto measure = [&](const std::vector<torch::Tensor>& grads, const std::string& name) {
    SetRatios out;
    out.r = cb::gradient_set(*comm, grads, 1.0, 25.0, reps);
    const auto& gs = out.r;
    out.vs_single = gs.single_allreduce_s / gs.fused_comm_s;
    out.pack_vs_single = gs.single_allreduce_s / gs.fused_s;
    out.vs_per_tensor = gs.per_tensor_s / gs.fused_comm_s;
    out.pack_vs_per_tensor = gs.per_tensor_s / gs.fused_s;
    for (size_t i = 0; i < gs.bucket_bytes.size(); ++i)
      out.buckets += (i ? ", " : "") + std::to_string(gs.bucket_bytes[i]);
    say(fmt::format(
        "(b) {} gradients: {} tensors, {} bytes, buckets [{}]\n"
        "    per tensor {:.1f} us, fused buckets {:.1f} us (with pack/unpack {:.1f} us; blocking "
        "per bucket {:.1f} us), one MPI_Allreduce {:.1f} us\n    fused_vs_single_allreduce {:.3f} "
        "(with pack {:.3f}), fused_vs_per_tensor {:.2f} (with pack {:.2f})\n",
        name, gs.tensors, gs.bytes, out.buckets, gs.per_tensor_s * 1e6, gs.fused_comm_s * 1e6,
        gs.fused_s * 1e6, gs.fused_blocking_s * 1e6, gs.single_allreduce_s * 1e6, out.vs_single,
        out.pack_vs_single, out.vs_per_tensor, out.pack_vs_per_tensor));
    return out;
  };
  std::vector<torch::Tensor> grads, grads_v2;
  {
    culturegan::models::StarGanSpec spec;  // configs/quickstart.toml
    spec.num_cultures = 6;
    spec.image_size = 64;
    spec.g_conv_dim = 16;
    spec.g_res_blocks = 2;
    spec.d_conv_dim = 16;
    culturegan::models::StarGanGenerator g(spec);
    culturegan::models::StarGanDiscriminator d(spec);
    for (auto& p : g->parameters()) grads.push_back(torch::randn_like(p));
    for (auto& p : d->parameters()) grads.push_back(torch::randn_like(p));
    culturegan::models::StarGanV2Spec v2;  // configs/starganv2.toml
    v2.num_cultures = 6;
    v2.image_size = 64;
    v2.g_conv_dim = 16;
    v2.g_res_blocks = 2;
    v2.d_conv_dim = 16;
    v2.z_dim = 16;
    culturegan::models::StarGanV2Generator g2(v2);
    culturegan::models::StarGanV2Mapping f2(v2);
    culturegan::models::StarGanV2Trunk e2(v2, v2.style_dim), d2(v2, 1);
    for (auto* m :
         std::initializer_list<torch::nn::Module*>{g2.get(), f2.get(), e2.get(), d2.get()})
      for (auto& p : m->parameters()) grads_v2.push_back(torch::randn_like(p));
  }
  const SetRatios q = measure(grads, "quickstart stargan G+D");
  const SetRatios v = measure(grads_v2, "starganv2 recipe G+F+E+D");
  const auto& gs = q.r;
  const double fused_vs_single = q.vs_single, fused_pack_vs_single = q.pack_vs_single;
  const double fused_vs_per_tensor = q.vs_per_tensor,
               fused_pack_vs_per_tensor = q.pack_vs_per_tensor;
  const std::string& buckets = q.buckets;

  // (c) Runs started from this rank must not inherit its binding (mpirun binds each rank to
  // one core by default): widen it first and report both masks.
  cb::AffinityReport aff;
  if (root) {
    aff = cb::widen_affinity_for_children();
    say(fmt::format("affinity: this rank was bound to CPUs {}; the runs it starts get CPUs {}{}\n",
                    aff.inherited, aff.children, aff.error.empty() ? "" : " (" + aff.error + ")"));
  }
  cb::ScalingResult sc;
  if (!skip_train) {
    if (root) {
      say("(c) training images/s at 1 and 2 ranks (this takes a few minutes)...\n");
      sc = cb::train_scaling(so);
    }
    idle_barrier();
  }
  const double scaling = sc.train_1 > 0 ? sc.train_2 / sc.train_1 : 0;
  const double ddp_scaling = sc.ddp_1 > 0 ? sc.ddp_2 / sc.ddp_1 : 0;
  if (!skip_train) {
    say(fmt::format(
        "    culturegan-train: {:.2f} images/s at 1 rank, {:.2f} at 2 ranks, scaling {:.3f}\n"
        "    PyTorch DDP gloo: {:.2f} images/s at 1 rank, {:.2f} at 2 ranks, scaling {:.3f}\n"
        "    commands:\n{}{}",
        sc.train_1, sc.train_2, scaling, sc.ddp_1, sc.ddp_2, ddp_scaling, sc.commands,
        sc.error.empty() ? "" : "    errors:\n" + sc.error));
  }
  if (root && json) {
    std::string sweep;
    for (size_t i = 0; i < rows.size(); ++i)
      sweep += fmt::format(
          "{}{{\"bytes\": {}, \"time_us\": {:.2f}, \"algbw_gbs\": {:.4f}, \"busbw_gbs\": {:.4f}}}",
          i ? ", " : "", rows[i].bytes, rows[i].seconds * 1e6, rows[i].algbw_gbs,
          rows[i].busbw_gbs);
    std::printf(
        "{\"world_size\": %d, \"sweep\": [%s], \"gradient_set\": {\"tensors\": %lld, \"bytes\": "
        "%lld, "
        "\"bucket_bytes\": [%s], \"per_tensor_us\": %.2f, \"fused_us\": %.2f, "
        "\"fused_with_pack_us\": %.2f, "
        "\"fused_blocking_us\": %.2f, \"single_allreduce_us\": %.2f}, "
        "\"fused_vs_single_allreduce\": %.4f, "
        "\"fused_with_pack_vs_single_allreduce\": %.4f, \"fused_vs_per_tensor\": %.4f, "
        "\"fused_with_pack_vs_per_tensor\": %.4f, "
        "\"images_per_second\": {\"train_1\": %.3f, \"train_2\": %.3f, \"ddp_1\": %.3f, \"ddp_2\": "
        "%.3f}, "
        "\"scaling_2_ranks\": %.4f, \"ddp_scaling_2_ranks\": %.4f, "
        "\"gradient_set_starganv2\": {\"tensors\": %lld, \"bytes\": %lld, \"bucket_bytes\": [%s], "
        "\"per_tensor_us\": %.2f, \"fused_us\": %.2f, \"fused_with_pack_us\": %.2f, "
        "\"single_allreduce_us\": %.2f, \"fused_vs_single_allreduce\": %.4f, "
        "\"fused_vs_per_tensor\": %.4f, \"fused_with_pack_vs_per_tensor\": %.4f}, "
        "\"affinity\": {\"inherited\": \"%s\", \"children\": \"%s\", \"error\": \"%s\"}, "
        "\"commands\": \"%s\", \"errors\": \"%s\"}\n",
        env.world_size, sweep.c_str(), static_cast<long long>(gs.tensors),
        static_cast<long long>(gs.bytes), buckets.c_str(), gs.per_tensor_s * 1e6,
        gs.fused_comm_s * 1e6, gs.fused_s * 1e6, gs.fused_blocking_s * 1e6,
        gs.single_allreduce_s * 1e6, fused_vs_single, fused_pack_vs_single, fused_vs_per_tensor,
        fused_pack_vs_per_tensor, sc.train_1, sc.train_2, sc.ddp_1, sc.ddp_2, scaling, ddp_scaling,
        static_cast<long long>(v.r.tensors), static_cast<long long>(v.r.bytes), v.buckets.c_str(),
        v.r.per_tensor_s * 1e6, v.r.fused_comm_s * 1e6, v.r.fused_s * 1e6,
        v.r.single_allreduce_s * 1e6, v.vs_single, v.vs_per_tensor, v.pack_vs_per_tensor,
        json_escape(aff.inherited).c_str(), json_escape(aff.children).c_str(),
        json_escape(aff.error).c_str(), json_escape(sc.commands).c_str(),
        json_escape(sc.error).c_str());
  }
  return 0;
}
