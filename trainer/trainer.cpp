#include "trainer/trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/corpus_reader.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "distributed/communicator.h"
#include "distributed/consistency.h"
#include "distributed/gradient_reducer.h"
#include "trainer/algorithm_factory.h"
#include "trainer/checkpoint.h"
#include "trainer/periodic_eval.h"
#include "trainer/progress.h"
#include "trainer/sample_grid.h"
#include "trainer/signals.h"
#include "trainer/train_step.h"

namespace culturegan::trainer {
namespace fs = std::filesystem;
namespace {

// True when any rank passes `failed`: one sum all-reduce, so every rank takes the same exit.
bool any_rank_failed(distributed::Communicator& comm, bool failed, const std::string& tag) {
  auto flag = torch::tensor({failed ? 1.0 : 0.0}, torch::kDouble);
  comm.all_reduce(flag, distributed::ReduceOp::kSum, tag);
  return flag.item<double>() > 0;
}

torch::Device choose_device(const std::string& want, int local_rank) {
  if (want == "cpu") return torch::kCPU;
  if (want == "cuda" && !torch::cuda::is_available())
    throw ConfigError(
        "train.device: expected a CUDA device for \"cuda\", found none "
        "(torch::cuda::is_available() is false)");
  if (want == "cuda" || (want == "auto" && torch::cuda::is_available()))
    return torch::Device(torch::kCUDA,
                         static_cast<c10::DeviceIndex>(local_rank % torch::cuda::device_count()));
  return torch::kCPU;
}

std::vector<torch::Tensor> all_state_tensors(GanAlgorithm& algo) {
  std::vector<torch::Tensor> out;
  for (auto& [name, m] : algo.modules()) {
    for (auto& p : m->parameters()) out.push_back(p);
    for (auto& b : m->buffers()) out.push_back(b);
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> named_state_tensors(GanAlgorithm& algo) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& [name, m] : algo.modules()) {
    for (const auto& p : m->named_parameters()) out.emplace_back(name + "." + p.key(), p.value());
    for (const auto& b : m->named_buffers()) out.emplace_back(name + "." + b.key(), b.value());
  }
  return out;
}

// Source-culture val images for the sample grid: [K,3,S,S] in [-1,1]. Their source paths
// (relative to the ingest input folder) go to `paths`.
torch::Tensor sample_sources(const data::CorpusReader& corpus, const std::string& source_culture,
                             int64_t count, std::vector<std::string>* paths) {
  const auto& cultures = corpus.cultures();
  int32_t source = -1;
  for (size_t i = 0; i < cultures.size(); ++i)
    if (cultures[i] == source_culture) source = static_cast<int32_t>(i);
  std::vector<int64_t> picked;
  for (int64_t i : corpus.val_indices())
    if (static_cast<int64_t>(picked.size()) < count && (source < 0 || corpus.labels()[i] == source))
      picked.push_back(i);
  if (picked.empty())
    for (int64_t i : corpus.train_indices())
      if (static_cast<int64_t>(picked.size()) < count) picked.push_back(i);
  const int64_t s = corpus.image_size();
  auto u8 = torch::empty({static_cast<int64_t>(picked.size()), s, s, 3}, torch::kUInt8);
  for (size_t k = 0; k < picked.size(); ++k) {
    corpus.read_images(picked[k], 1, u8.data_ptr<uint8_t>() + k * s * s * 3);
    paths->push_back(corpus.source_path(picked[k]));
  }
  return data::to_model_range(u8);
}

void write_sample_grid(const std::string& path, GanAlgorithm& algo, const torch::Tensor& sources,
                       int64_t num_cultures, torch::Device device) {
  if (sources.size(0) == 0) return;
  auto x = sources.to(device);
  std::vector<torch::Tensor> columns{x};
  for (int64_t c = 0; c < num_cultures; ++c) columns.push_back(algo.translate(x, c));
  std::vector<std::vector<torch::Tensor>> tiles(static_cast<size_t>(x.size(0)));
  for (int64_t r = 0; r < x.size(0); ++r)
    for (auto& col : columns) tiles[r].push_back(col[r].to(torch::kCPU));
  fs::create_directories(fs::path(path).parent_path());
  save_grid_png(path, tiles);
}

void write_summary(const std::string& path, const std::map<std::string, double>& values) {
  std::ofstream out(path);
  out << "{";
  bool first = true;
  for (const auto& [k, v] : values) {
    out << (first ? "" : ", ") << fmt::format("\"{}\": {}", k, v);
    first = false;
  }
  out << "}\n";
}

}  // namespace

int run_training(const TrainOptions& options, const distributed::ProcessEnv& env) {
  const Config& cfg = options.config;
  const bool root = env.rank == 0;
  install_preemption_handlers();
  if (root && !slurm_context().empty()) fmt::print("culturegan-train: {}\n", slurm_context());
  if (cfg.train.threads > 0) torch::set_num_threads(static_cast<int>(cfg.train.threads));
  const torch::Device device = choose_device(cfg.train.device, env.local_rank);

  auto corpus = std::make_shared<const data::CorpusReader>(cfg.data.corpus);
  if (corpus->image_size() != cfg.data.image_size)
    throw ConfigError(fmt::format(
        "{}: key 'data.image_size': expected the corpus's image size {} ({}), found {}",
        options.config_path, corpus->image_size(), cfg.data.corpus, cfg.data.image_size));
  const auto& cultures = corpus->cultures();
  const auto num_cultures = static_cast<int64_t>(cultures.size());
  for (const auto& name : cfg.data.no_flip_cultures)
    if (std::find(cultures.begin(), cultures.end(), name) == cultures.end())
      throw ConfigError(
          fmt::format("{}: key 'data.no_flip_cultures': expected cultures of {} ({}), found '{}'",
                      options.config_path, cfg.data.corpus, fmt::join(cultures, ", "), name));
  if (std::find(cultures.begin(), cultures.end(), cfg.sample.source_culture) == cultures.end() &&
      root)
    fmt::print(
        "culturegan-train: note: sample.source_culture '{}' is not in the corpus; sample grids use "
        "other val images\n",
        cfg.sample.source_culture);

  distributed::WatchdogOptions watchdog;
  watchdog.timeout_s = cfg.distributed.timeout_s;
  auto comm = distributed::make_communicator(cfg.distributed.backend, env, watchdog);
  torch::manual_seed(static_cast<uint64_t>(cfg.train.seed));
  const std::unique_ptr<GanAlgorithm> algorithm = make_algorithm(cfg, num_cultures, device);
  GanAlgorithm& algo = *algorithm;
  distributed::broadcast_tensors(*comm, all_state_tensors(algo), 0);

  distributed::ReducerOptions ropts;
  ropts.bucket_mb = cfg.distributed.bucket_mb;
  ropts.first_bucket_mb = cfg.distributed.first_bucket_mb;
  ropts.scrub_non_finite = cfg.distributed.scrub_non_finite;
  distributed::GradientReducer reducer(*comm, ropts);
  for (auto& phase : algo.phases()) reducer.declare_phase(phase.name, phase.params);

  Checkpointer checkpointer(cfg.run.dir, cfg.checkpoint.keep);
  TrainingState state;
  state.sampler.seed = static_cast<uint64_t>(cfg.train.seed);
  state.world_size = env.world_size;
  state.config_hash = cfg.hash();
  std::string resume_error;  // a bad --resume: every rank learns it, one line is printed, exit 2
  if (!options.resume.empty()) try {
      std::vector<std::string> notes;
      const auto dir = checkpointer.resolve(options.resume, &notes);
      if (root)
        for (const auto& n : notes) fmt::print("culturegan-train: {}\n", n);
      if (dir) {
        const int world = env.world_size;
        state = checkpointer.load(*dir, algo);
        if (root) {
          fmt::print(
              "culturegan-train: resumed from {} at step {} (written by world size {}, now {})\n",
              *dir, state.step, state.world_size, world);
          if (state.config_hash != cfg.hash())
            fmt::print(
                "culturegan-train: note: the config differs from the checkpoint's (hash {} vs "
                "{})\n",
                state.config_hash, cfg.hash());
        }
        state.world_size = world;
        state.config_hash = cfg.hash();
      } else if (root) {
        fmt::print("culturegan-train: --resume {}: no checkpoint in {}, starting from step 0\n",
                   options.resume, checkpointer.root());
      }
    } catch (const CheckpointError& e) {
      resume_error = e.what();
    }
  {
    auto bad =
        torch::tensor({resume_error.empty() ? 0.0 : 1.0, root && !resume_error.empty() ? 1.0 : 0.0},
                      torch::kDouble);
    comm->all_reduce(bad, distributed::ReduceOp::kSum, "resume_error_check");
    if (bad[0].item<double>() > 0) {
      if (!resume_error.empty() && (root || bad[1].item<double>() == 0))
        fmt::print(stderr, "culturegan-train: error: {}\n", resume_error);
      return kExitBadInput;
    }
  }
  // All ranks must resume from the same step.
  auto step_check = torch::tensor(
      {static_cast<double>(state.step), -static_cast<double>(state.step)}, torch::kDouble);
  comm->all_reduce(step_check, distributed::ReduceOp::kSum, "resume_step_check");
  if (step_check[0].item<double>() != static_cast<double>(state.step) * env.world_size)
    throw CheckpointError(
        "ranks resumed from different checkpoints: is run.dir on a shared file system?");

  std::vector<int32_t> pool_labels;
  for (int64_t i : corpus->train_indices()) pool_labels.push_back(corpus->labels()[i]);
  data::SamplerOptions sopts;
  sopts.seed = static_cast<uint64_t>(cfg.train.seed);
  sopts.culture_balanced = cfg.data.culture_balanced;
  data::ShardedSampler sampler(corpus->train_indices(), pool_labels, sopts);
  sampler.restore(state.sampler);
  data::LoaderOptions lopts;
  lopts.batch_size = static_cast<int>(cfg.train.batch_size);
  lopts.threads = static_cast<int>(cfg.data.threads);
  lopts.prefetch = static_cast<int>(cfg.data.prefetch);
  lopts.hflip = cfg.data.hflip;
  lopts.no_flip_cultures = cfg.data.no_flip_cultures;
  lopts.seed = static_cast<uint64_t>(cfg.train.seed);
  data::Loader loader(corpus, sampler, env.rank, env.world_size, lopts);

  std::vector<std::string> source_paths;
  const torch::Tensor sources =
      root ? sample_sources(*corpus, cfg.sample.source_culture, cfg.sample.count, &source_paths)
           : torch::Tensor();
  if (root) {
    fs::create_directories(fs::path(cfg.run.dir) / "samples");
    std::ofstream list(fs::path(cfg.run.dir) / "samples" / "sources.txt");
    for (const auto& p : source_paths) list << p << "\n";
    std::ofstream(fs::path(cfg.run.dir) / "config.toml") << cfg.to_toml();
    fmt::print(
        "culturegan-train: {} ranks on {} node(s), backend {}, device {}, {} cultures, {} train "
        "images, "
        "global batch {}, steps {}..{}\n",
        env.world_size, env.node_count, comm->backend(), device.str(), num_cultures,
        corpus->train_indices().size(), env.world_size * cfg.train.batch_size, state.step,
        cfg.train.steps);
    std::fflush(stdout);
  }

  // In-training evaluation on rank 0; a bad [eval] setting stops every rank with one line.
  std::unique_ptr<PeriodicEval> periodic_eval;
  {
    std::string eval_error;
    if (root && cfg.eval.every > 0) try {
        periodic_eval = std::make_unique<PeriodicEval>(cfg, *corpus);
      } catch (const std::exception& e) {
        eval_error = e.what();
      }
    if (any_rank_failed(*comm, !eval_error.empty(), "eval_setup_check")) {
      if (root) fmt::print(stderr, "culturegan-train: error: {}\n", eval_error);
      return kExitBadInput;
    }
  }

  Progress progress(state.step, cfg.train.steps, env.world_size * cfg.train.batch_size,
                    cfg.train.log_every_s);
  // Rank 0's loss terms, one JSON line per step (appended across resumes): the input of
  // trainer/eval/plot_metrics.py.
  std::ofstream metrics_log;
  if (root) metrics_log.open(fs::path(cfg.run.dir) / "metrics.jsonl", std::ios::app);
  // Rank 0 saves; every rank learns whether it worked (one all-reduce), so a failed save
  // (disk full, unwritable directory) stops every rank cleanly with kExitError.
  auto save_checkpoint = [&]() -> bool {
    bool failed = false;
    if (root) {
      try {
        const std::string dir = checkpointer.save(state, algo, cfg);
        fmt::print("culturegan-train: checkpoint {} ({:.1f} MB, {:.2f} s)\n", dir,
                   checkpointer.last_save_bytes() / 1e6, checkpointer.last_save_seconds());
      } catch (const CheckpointError& e) {
        const auto prev = checkpointer.list();
        fmt::print(stderr,
                   "culturegan-train: error: checkpoint save at step {} failed: {}; {}; stopping\n",
                   state.step, e.what(),
                   prev.empty() ? "no earlier checkpoint"
                                : "the previous checkpoint " + prev.back() + " is intact");
        failed = true;
      }
      std::fflush(stdout);
      std::fflush(stderr);
    }
    return !any_rank_failed(*comm, failed, "checkpoint_status");
  };

  for (int64_t step = state.step; step < cfg.train.steps; ++step) {
    data::Batch batch = loader.next();
    StepInput in{batch.images.to(device), batch.labels.to(device), step,
                 env.rank * cfg.train.batch_size, static_cast<uint64_t>(cfg.train.seed)};
    in.images = maybe_inject_nan_fault(in.images, step, env.rank);  // test-only, off unless set
    const StepResult result = run_step(algo, reducer, *comm, in, cfg.train.non_finite);
    if (result.skipped && root)
      fmt::print("culturegan-train: step {}: non-finite loss, step skipped on every rank\n", step);
    state.step = step + 1;
    state.sampler = batch.state_after;

    // Preemption: any rank's signal stops every rank after this step, with a checkpoint.
    // One all-reduce per step: [preemption signal on any rank, rank 0's time budget spent].
    const bool budget_spent =
        root && cfg.train.max_minutes > 0 && progress.elapsed_s() > cfg.train.max_minutes * 60.0;
    auto sig = torch::tensor({static_cast<double>(preemption_signal()), budget_spent ? 1.0 : 0.0},
                             torch::kDouble);
    comm->all_reduce(sig, distributed::ReduceOp::kSum, "preemption_check");
    if (sig[1].item<double>() > 0) {
      if (root)
        fmt::print(
            "culturegan-train: time budget train.max_minutes = {} reached at step {}/{}; "
            "finishing\n",
            cfg.train.max_minutes, state.step, cfg.train.steps);
      break;
    }
    if (sig[0].item<double>() > 0) {
      if (root)
        fmt::print("culturegan-train: preemption signal received, saving at step {}\n", state.step);
      if (!save_checkpoint()) return kExitError;
      if (root)
        fmt::print("culturegan-train: saved; exiting with code {} (requeue me)\n",
                   int(kExitRequeue));
      return kExitRequeue;
    }
    if (root) progress.update(step, result.losses);
    if (root && metrics_log) {
      std::string line = fmt::format("{{\"step\": {}", state.step);
      for (const auto& [k, v] : result.losses)
        line +=
            fmt::format(", \"{}\": {}", k, std::isfinite(v) ? fmt::format("{:.6g}", v) : "null");
      metrics_log << line << "}\n";
    }
    // Replicas must stay bit-identical; a mismatch stops every rank naming the first tensor.
    if (distributed::is_check_step(state.step, cfg.distributed.check_every))
      distributed::check_consistency(*comm, named_state_tensors(algo), state.step);
    if (cfg.checkpoint.every > 0 && state.step % cfg.checkpoint.every == 0 &&
        state.step < cfg.train.steps && !save_checkpoint())
      return kExitError;
    if (periodic_eval && periodic_eval->due(state.step) && metrics_log) {
      const std::string line = periodic_eval->run(algo, state.step);
      metrics_log << line << "\n";
      metrics_log.flush();
      fmt::print("culturegan-train: eval {}\n", line);
    }
    if (root && cfg.train.sample_every > 0 && state.step % cfg.train.sample_every == 0)
      write_sample_grid(fmt::format("{}/samples/step-{:09d}.png", cfg.run.dir, state.step), algo,
                        sources, num_cultures, device);
  }

  if (!save_checkpoint()) return kExitError;
  if (root) {
    const std::string bundle = (fs::path(cfg.run.dir) / "generator.bundle").string();
    algo.export_bundle(bundle, cultures);
    const std::string grid = (fs::path(cfg.run.dir) / "samples" / "final.png").string();
    write_sample_grid(grid, algo, sources, num_cultures, device);
    write_summary((fs::path(cfg.run.dir) / "summary.json").string(),
                  {{"steps", static_cast<double>(state.step)},
                   {"world_size", static_cast<double>(env.world_size)},
                   {"global_batch", static_cast<double>(env.world_size * cfg.train.batch_size)},
                   {"images_per_second", progress.images_per_second()},
                   {"wall_s", progress.elapsed_s()}});
    fmt::print("culturegan-train: done; generator bundle {}; sample grid {}\n", bundle, grid);
  }
  return kExitOk;
}

}  // namespace culturegan::trainer
