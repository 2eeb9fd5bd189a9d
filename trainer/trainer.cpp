#include "trainer/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/atomic_write.h"
#include "common/device_copy.h"
#include "data/corpus_reader.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "distributed/communicator.h"
#include "distributed/consistency.h"
#include "distributed/control_plane.h"
#include "distributed/gradient_reducer.h"
#include "models/memory_format.h"
#include "trainer/algorithms/algorithm_factory.h"
#include "trainer/checkpoint.h"
#include "trainer/init_from.h"
#include "trainer/periodic_eval.h"
#include "trainer/progress.h"
#include "trainer/report_refresh.h"
#include "trainer/resume.h"
#include "trainer/run_options.h"
#include "trainer/sample_grid.h"
#include "trainer/signals.h"
#include "trainer/step_log.h"
#include "trainer/train_step.h"

namespace culturegan::trainer {
namespace fs = std::filesystem;
namespace {

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

// Bounded waits for the report at the end (ReportRefresher::finish): for a refresh still
// running, then for the final one. Shorter on preemption, whose grace time is short.
constexpr double kReportWaitS = 30, kReportFinalWaitS = 60;
constexpr double kReportWaitPreemptedS = 0, kReportFinalWaitPreemptedS = 10;

int exit_code_of(const std::exception& e) {
  if (dynamic_cast<const ConfigError*>(&e) || dynamic_cast<const data::CorpusError*>(&e) ||
      dynamic_cast<const CheckpointError*>(&e))
    return kExitBadInput;
  return kExitError;
}

// One rank's run: what start-up builds, the step loop, the end.
class Run {
 public:
  Run(const TrainOptions& options, const distributed::ProcessEnv& env)
      : options_(options), cfg_(options.config), env_(env), root_(env.rank == 0) {}

  int execute() {
    try {
      if (const int rc = start(); rc != kExitOk) return rc;
      for (int64_t step = state_.step; step < cfg_.train.steps; ++step) {
        const std::optional<int> stop = train_one_step(step);
        if (stop) return *stop;
        if (budget_spent_) break;
      }
      return finish();
    } catch (const std::exception& e) {
      // A started run leaves its summary and report; the exception goes on to train_main.
      end_report("failed", exit_code_of(e), e.what());
      throw;
    }
  }

 private:
  // Corpus, communicators, model, reducer, resume, loader, samples, evaluation.
  int start() {
    install_preemption_handlers();
    if (root_ && !slurm_context().empty()) fmt::print("culturegan-train: {}\n", slurm_context());
    if (cfg_.train.threads > 0) torch::set_num_threads(static_cast<int>(cfg_.train.threads));
    device_ = choose_device(cfg_.train.device, env_.local_rank);
    common::make_current(device_);  // cuda:<local rank> before any stream or communicator
    {
      std::string warning;
      precision_ = effective_precision(cfg_, device_, &warning);
      if (root_ && !warning.empty()) fmt::print(stderr, "culturegan-train: warning: {}\n", warning);
    }
    corpus_ = std::make_shared<const data::CorpusReader>(cfg_.data.corpus);
    const std::string note = check_against_corpus(cfg_, options_.config_path, *corpus_);
    if (root_ && !note.empty()) fmt::print("culturegan-train: {}\n", note);

    comm_ = distributed::make_communicator(to_string(cfg_.distributed.backend), env_,
                                           watchdog_options(cfg_));
    control_ = distributed::make_control_plane(*comm_);
    checkpointer_ = std::make_unique<Checkpointer>(cfg_.run.dir, cfg_.checkpoint.keep);
    const bool init = choose_cultures();
    num_cultures_ = static_cast<int64_t>(model_cultures_.size());
    torch::manual_seed(static_cast<uint64_t>(cfg_.train.seed));
    algo_ = make_algorithm(cfg_, num_cultures_, device_,
                           static_cast<int64_t>(corpus_->cultures().size()));
    if (init) {
      const std::string note = initialize_from(cfg_.train.init_from, *algo_, model_cultures_);
      if (root_) fmt::print("culturegan-train: {}\n", note);
    }
    distributed::broadcast_tensors(*comm_, all_state_tensors(*algo_), 0);
    reducer_ = std::make_unique<distributed::GradientReducer>(*comm_, reducer_options(cfg_));
    for (auto& phase : algo_->phases()) reducer_->declare_phase(phase.name, phase.params);

    auto state = start_or_resume(options_.resume, cfg_, env_, *checkpointer_, *algo_, *control_);
    if (!state) return kExitBadInput;
    state_ = *state;
    if (auto* ada = algo_->adaptive_augment(); ada && state_.ada) {
      // Rank 0 carries the interval's sums all-reduced at the save; the others start at 0.
      AdaState a = *state_.ada;
      if (!root_) a.sign_sum = 0, a.images = 0;
      ada->restore(a);
    }

    std::vector<int32_t> pool_labels;
    for (int64_t i : corpus_->train_indices()) pool_labels.push_back(corpus_->labels()[i]);
    sampler_ = std::make_unique<data::ShardedSampler>(corpus_->train_indices(), pool_labels,
                                                      sampler_options(cfg_));
    sampler_->restore(state_.sampler);
    loader_ = std::make_unique<data::Loader>(corpus_, *sampler_, env_.rank, env_.world_size,
                                             loader_options(cfg_));
    if (root_) write_run_files();
    if (const int rc = start_eval(); rc != kExitOk) return rc;
    progress_ =
        std::make_unique<Progress>(state_.step, cfg_.train.steps,
                                   env_.world_size * cfg_.train.batch_size, cfg_.train.log_every_s);
    // Rank 0's loss terms, one JSON line per step (appended across resumes).
    if (root_) {
      metrics_log_.open(fs::path(cfg_.run.dir) / "metrics.jsonl", std::ios::app);
      step_log_ = std::make_unique<StepLog>(*progress_, &metrics_log_);
      report_ = std::make_unique<ReportRefresher>(cfg_.run.dir, cfg_.report.every);
      write_summary("running");
    }
    return kExitOk;
  }

  // The model's cultures (model_cultures_): those of the checkpoint a resume will load; else
  // the corpus's, plus, with train.init_from, the weights' cultures the corpus lacks. Returns
  // whether to initialise from train.init_from (not when resuming). Every rank must agree.
  bool choose_cultures() {
    const auto& corpus = corpus_->cultures();
    model_cultures_ = corpus;
    std::optional<std::string> resume_dir;
    if (!options_.resume.empty()) try {
        resume_dir = checkpointer_->resolve(options_.resume, nullptr);
      } catch (const CheckpointError&) {
        // start_or_resume reports it on every rank
      }
    bool init = false;
    if (resume_dir) {
      const auto saved = checkpoint_cultures(*resume_dir);
      if (!saved.empty()) {
        if (saved.size() < corpus.size() ||
            !std::equal(corpus.begin(), corpus.end(), saved.begin()))
          throw CheckpointError(fmt::format(
              "{}: cultures: the checkpoint's model has [{}], the corpus {} has [{}]: its "
              "cultures must come first, in the same order",
              *resume_dir, fmt::join(saved, ", "), cfg_.data.corpus, fmt::join(corpus, ", ")));
        model_cultures_ = saved;
      }
      if (root_ && !cfg_.train.init_from.empty())
        fmt::print("culturegan-train: resuming {}; train.init_from = {} is not loaded again\n",
                   *resume_dir, cfg_.train.init_from);
    } else if (!cfg_.train.init_from.empty()) {
      model_cultures_ = merged_cultures(corpus, init_source_cultures(cfg_.train.init_from));
      init = true;
    }
    const double n = static_cast<double>(model_cultures_.size());
    if (control_->sum({n}, "model_cultures")[0] != n * env_.world_size)
      throw CheckpointError(fmt::format(
          "the ranks disagree on the model's cultures (this rank: {}): is {} shared by every "
          "rank?",
          model_cultures_.size(), cfg_.run.dir));
    return init;
  }

  // Rank 0: run.dir/summary.json (docs/report.md); a failed write is a warning.
  void write_summary(const std::string& reason, int exit_code = -1, int64_t preempted_at = -1,
                     const std::string& error = "") {
    RunSummary s;
    s.steps = state_.step;
    s.steps_total = cfg_.train.steps;
    s.world_size = env_.world_size;
    s.global_batch = env_.world_size * cfg_.train.batch_size;
    s.images_per_second = progress_ ? progress_->images_per_second() : 0.0;
    s.wall_s = progress_ ? progress_->elapsed_s() : 0.0;
    s.exit_reason = reason;
    s.exit_code = exit_code;
    s.preempted_at_step = preempted_at;
    s.error = error;
    if (corpus_) s.cultures = corpus_->cultures();
    const std::string path = (fs::path(cfg_.run.dir) / "summary.json").string();
    try {
      common::write_file_atomically(path, summary_json(s));
    } catch (const std::exception& e) {
      fmt::print(stderr, "culturegan-train: warning: {}\n", e.what());
    }
  }

  // Rank 0, every report.every steps: the summary so far, then culturegan-report in the
  // background (skipped while the previous one runs). Costs the training thread the summary
  // write and a posix_spawn (docs/report.md has the measured stall).
  void refresh_report() {
    const auto t0 = std::chrono::steady_clock::now();
    flush_log();
    metrics_log_.flush();  // the report reads whole lines
    write_summary("running");
    report_->start();
    longest_refresh_ms_ = std::max(
        longest_refresh_ms_,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }

  // Rank 0, on every way out of a started run: the final summary.json, then the final report
  // (bounded waits), then one line saying where it is. Never throws.
  void end_report(const std::string& reason, int exit_code, const std::string& error = "",
                  int64_t preempted_at = -1) {
    if (!root_ || !report_) return;
    try {
      flush_log();
      if (metrics_log_) metrics_log_.flush();
      write_summary(reason, exit_code, preempted_at, error);
      const bool preempted = reason == "preempted";
      const bool ok = report_->finish(preempted ? kReportWaitPreemptedS : kReportWaitS,
                                      preempted ? kReportFinalWaitPreemptedS : kReportFinalWaitS);
      const auto& st = report_->stats();
      if (ok)
        fmt::print(
            "culturegan-train: report {} (refreshes during training: {} started, {} skipped "
            "while one ran; final one in {:.1f} s; longest training stall {:.1f} ms)\n",
            report_->output(), st.started, st.skipped, st.final_s,
            std::max(longest_refresh_ms_, st.longest_call_ms));
      std::fflush(stdout);
    } catch (const std::exception& e) {
      fmt::print(stderr, "culturegan-train: warning: run report: {}\n", e.what());
    }
    report_.reset();
  }

  // Rank 0: sample sources, the resolved config, the start-up line.
  void write_run_files() {
    std::vector<std::string> source_paths;
    sources_ =
        sample_sources(*corpus_, cfg_.sample.source_culture, cfg_.sample.count, &source_paths);
    fs::create_directories(fs::path(cfg_.run.dir) / "samples");
    std::ofstream list(fs::path(cfg_.run.dir) / "samples" / "sources.txt");
    for (const auto& p : source_paths) list << p << "\n";
    std::ofstream(fs::path(cfg_.run.dir) / "config.toml") << cfg_.to_toml();
    fmt::print(
        "culturegan-train: {} ranks on {} node(s), backend {}, device {}, precision {}, {} "
        "cultures, {} train images, global batch {}, steps {}..{}\n",
        env_.world_size, env_.node_count, comm_->backend(), device_.str(), to_string(precision_),
        num_cultures_, corpus_->train_indices().size(), env_.world_size * cfg_.train.batch_size,
        state_.step, cfg_.train.steps);
    std::fflush(stdout);
  }

  // In-training evaluation on rank 0; a bad [eval] setting stops every rank with one line.
  int start_eval() {
    std::string error;
    if (root_ && cfg_.eval.every > 0) try {
        periodic_eval_ = std::make_unique<PeriodicEval>(cfg_, *corpus_);
      } catch (const std::exception& e) {
        error = e.what();
      }
    if (control_->any(!error.empty(), "eval_setup_check")) {
      if (root_) fmt::print(stderr, "culturegan-train: error: {}\n", error);
      return kExitBadInput;
    }
    return kExitOk;
  }

  // Rank 0 saves; every rank learns whether it worked, so a failed save (disk full,
  // unwritable directory) stops every rank cleanly with kExitError.
  bool save_checkpoint() {
    if (root_) flush_log();  // metrics.jsonl holds every step the checkpoint holds
    state_.cultures = model_cultures_;
    if (auto* ada = algo_->adaptive_augment()) {
      // The open interval's sums of every rank (a collective: every rank saves together).
      const auto local = ada->local_stats();
      const auto global = control_->sum({local[0], local[1]}, "ada_checkpoint_stats");
      state_.ada = AdaState{ada->p(), global[0], static_cast<int64_t>(global[1]), ada->r_t()};
    }
    bool failed = false;
    if (root_) {
      try {
        const std::string dir = checkpointer_->save(state_, *algo_, cfg_);
        fmt::print("culturegan-train: checkpoint {} ({:.1f} MB, {:.2f} s)\n", dir,
                   checkpointer_->last_save_bytes() / 1e6, checkpointer_->last_save_seconds());
      } catch (const CheckpointError& e) {
        const auto prev = checkpointer_->list();
        fmt::print(stderr,
                   "culturegan-train: error: checkpoint save at step {} failed: {}; {}; stopping\n",
                   state_.step, e.what(),
                   prev.empty() ? "no earlier checkpoint"
                                : "the previous checkpoint " + prev.back() + " is intact");
        failed = true;
      }
      std::fflush(stdout);
      std::fflush(stderr);
    }
    return !control_->any(failed, "checkpoint_status");
  }

  // One step and what follows it. Returns an exit code to stop with, or nullopt to go on.
  std::optional<int> train_one_step(int64_t step) {
    data::Batch batch = loader_->next();
    StepInput in{common::to_device_async(batch.images, device_),
                 common::to_device_async(batch.labels, device_),
                 step,
                 env_.rank * cfg_.train.batch_size,
                 static_cast<uint64_t>(cfg_.train.seed),
                 batch.labels};
    if (cfg_.train.channels_last)
      in.images = models::in_memory_format(in.images, torch::MemoryFormat::ChannelsLast);
    in.images = maybe_inject_nan_fault(in.images, step, env_.rank);  // test-only, off unless set
    StepResult result = run_step(*algo_, *reducer_, *comm_, in, cfg_.train.non_finite, precision_);
    std::map<std::string, double> host_values;  // logged beside the loss terms
    if (auto* ada = algo_->adaptive_augment()) {
      if (ada->due(step)) {  // r_t from every rank's real images of the interval
        const auto local = ada->local_stats();
        const auto global = control_->sum({local[0], local[1]}, "ada_stats");
        ada->adjust(global[0], global[1]);
      }
      host_values["ada.p"] = ada->p();
      host_values["ada.r_t"] = ada->r_t();
    }
    if (result.skipped && root_)
      fmt::print("culturegan-train: step {}: non-finite loss, step skipped on every rank\n", step);
    state_.step = step + 1;
    state_.sampler = batch.state_after;

    // Preemption: any rank's signal stops every rank after this step, with a checkpoint.
    // One control-plane reduction per step: [preemption signals, rank 0's budget spent].
    const bool budget = root_ && cfg_.train.max_minutes > 0 &&
                        progress_->elapsed_s() > cfg_.train.max_minutes * 60.0;
    const auto sig = control_->sum({static_cast<double>(preemption_signal()), budget ? 1.0 : 0.0},
                                   "preemption_check");
    if (sig[1] > 0) {
      if (root_)
        fmt::print(
            "culturegan-train: time budget train.max_minutes = {} reached at step {}/{}; "
            "finishing\n",
            cfg_.train.max_minutes, state_.step, cfg_.train.steps);
      budget_spent_ = true;
      return std::nullopt;
    }
    if (sig[0] > 0) {
      if (root_)
        fmt::print("culturegan-train: preemption signal received, saving at step {}\n",
                   state_.step);
      if (!save_checkpoint()) return fail_run("checkpoint save failed");
      if (root_)
        fmt::print("culturegan-train: saved; exiting with code {} (requeue me)\n",
                   int(kExitRequeue));
      end_report("preempted", kExitRequeue, "", state_.step);
      return kExitRequeue;
    }
    if (root_) log_step(std::move(result), std::move(host_values));
    // Replicas must stay bit-identical; a mismatch stops every rank naming the first tensor.
    if (distributed::is_check_step(state_.step, cfg_.distributed.check_every))
      distributed::check_consistency(*control_, named_state_tensors(*algo_), state_.step);
    if (cfg_.checkpoint.every > 0 && state_.step % cfg_.checkpoint.every == 0 &&
        state_.step < cfg_.train.steps && !save_checkpoint())
      return fail_run("checkpoint save failed");
    if (periodic_eval_ && periodic_eval_->due(state_.step) && metrics_log_) {
      flush_log();  // the eval line follows the step lines it comes after
      const std::string line = periodic_eval_->run(*algo_, state_.step);
      metrics_log_ << line << "\n";
      metrics_log_.flush();
      fmt::print("culturegan-train: eval {}\n", line);
    }
    if (root_ && cfg_.train.sample_every > 0 && state_.step % cfg_.train.sample_every == 0)
      write_sample_grid(fmt::format("{}/samples/step-{:09d}.png", cfg_.run.dir, state_.step),
                        *algo_, sources_, num_cultures_, device_);
    if (root_ && report_->due(state_.step) && state_.step < cfg_.train.steps) refresh_report();
    return std::nullopt;
  }

  // A runtime failure every rank agreed on: rank 0's summary and report say so.
  int fail_run(const std::string& why) {
    end_report("failed", kExitError, fmt::format("{} at step {}", why, state_.step));
    return kExitError;
  }

  // Rank 0: the step's metrics line and progress line, read from the device once per
  // log period (StepLog).
  void log_step(StepResult result, std::map<std::string, double> host_values) {
    step_log_->add(state_.step - 1, std::move(result.loss_names), std::move(result.loss_values),
                   std::move(host_values));
  }
  void flush_log() {
    if (step_log_) step_log_->flush();
  }

  // The last checkpoint, the bundle, the final grid and summary.json.
  int finish() {
    if (!save_checkpoint()) return fail_run("checkpoint save failed");
    if (!root_) return kExitOk;
    const std::string bundle = (fs::path(cfg_.run.dir) / "generator.bundle").string();
    algo_->export_bundle(bundle, model_cultures_);
    const std::string grid = (fs::path(cfg_.run.dir) / "samples" / "final.png").string();
    write_sample_grid(grid, *algo_, sources_, num_cultures_, device_);
    fmt::print("culturegan-train: done; generator bundle {}; sample grid {}\n", bundle, grid);
    std::fflush(stdout);
    end_report(budget_spent_ ? "time_budget" : "finished", kExitOk);
    return kExitOk;
  }

  const TrainOptions& options_;
  const Config& cfg_;
  const distributed::ProcessEnv& env_;
  const bool root_;
  torch::Device device_ = torch::kCPU;
  Precision precision_ = Precision::kFp32;  // train.precision after the CPU check
  std::shared_ptr<const data::CorpusReader> corpus_;
  std::vector<std::string> model_cultures_;  // corpus cultures first, then kept ones
  int64_t num_cultures_ = 0;
  std::unique_ptr<distributed::Communicator> comm_;     // data plane: tensors on device_
  std::unique_ptr<distributed::ControlPlane> control_;  // host values, always MPI
  std::unique_ptr<GanAlgorithm> algo_;
  std::unique_ptr<distributed::GradientReducer> reducer_;
  std::unique_ptr<Checkpointer> checkpointer_;
  TrainingState state_;
  std::unique_ptr<data::ShardedSampler> sampler_;
  std::unique_ptr<data::Loader> loader_;
  torch::Tensor sources_;
  std::unique_ptr<PeriodicEval> periodic_eval_;
  std::unique_ptr<Progress> progress_;
  std::ofstream metrics_log_;
  std::unique_ptr<StepLog> step_log_;        // rank 0; after progress_ and metrics_log_
  std::unique_ptr<ReportRefresher> report_;  // rank 0; null before start-up and after the end
  double longest_refresh_ms_ = 0;
  bool budget_spent_ = false;
};

}  // namespace

int run_training(const TrainOptions& options, const distributed::ProcessEnv& env) {
  Run run(options, env);
  return run.execute();
}

}  // namespace culturegan::trainer
