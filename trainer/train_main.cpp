// culturegan-train: the MPI-launched data-parallel trainer.
//   mpirun -np N culturegan-train --config configs/X.toml [--set a.b=v ...] [--resume auto|PATH]
//                                 [--init-from BUNDLE|CHECKPOINT]
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "data/corpus_reader.h"
#include "distributed/communicator.h"
#include "distributed/process_env.h"
#include "trainer/checkpoint.h"
#include "trainer/config.h"
#include "trainer/signals.h"
#include "trainer/train_step.h"
#include "trainer/trainer.h"

using namespace culturegan;

int main(int argc, char** argv) {
  // First thing: a SIGUSR1/SIGTERM during start-up (MPI init, corpus, resume) only sets the
  // flag, and the run saves and exits 75 after its first step instead of dying.
  trainer::install_preemption_handlers();
  distributed::MpiRuntime mpi(&argc, &argv);
  const auto& env = mpi.env();
  const bool root = env.rank == 0;

  CLI::App app{"culturegan-train: data-parallel GAN training of culture translators"};
  std::string config_path, resume, init_from;
  std::vector<std::string> overrides;
  bool config_docs = false;
  auto* config_opt = app.add_option("--config", config_path, "TOML config (see configs/)")
                         ->check(CLI::ExistingFile);
  app.add_flag("--config-docs", config_docs,
               "print the reference of every config key (docs/config.md) and exit");
  app.add_option("--set", overrides,
                 "override a key: --set train.steps=100 (value is TOML; a bare word is a string)");
  app.add_option(
      "--resume", resume,
      "resume: 'auto' (newest good checkpoint in run.dir, if any) or a checkpoint directory");
  app.add_option("--init-from", init_from,
                 "start from trained weights: a generator bundle or a checkpoint directory "
                 "(= --set train.init_from=PATH; cultures matched by name: docs/new-culture.md)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = root ? app.exit(e) : 0;
    (void)code;
    return e.get_exit_code() == 0 ? 0 : trainer::kExitBadInput;
  }
  if (config_docs) {
    if (root) fmt::print("{}", trainer::config_reference_markdown());
    return 0;
  }
  if (config_opt->count() == 0) {
    if (root) fmt::print(stderr, "culturegan-train: error: --config is required\n");
    return trainer::kExitBadInput;
  }

  // Bad input is the same on every rank: rank 0 reports it, every rank exits with code 2.
  auto bad_input = [&](const std::string& msg) {
    if (root) fmt::print(stderr, "culturegan-train: error: {}\n", msg);
    return int(trainer::kExitBadInput);
  };
  trainer::TrainOptions options;
  options.config_path = config_path;
  options.resume = resume;
  if (!init_from.empty()) {  // as a TOML string, whatever the path looks like
    std::string quoted;
    for (const char ch : init_from) {
      if (ch == '"' || ch == '\\') quoted += '\\';
      quoted += ch;
    }
    overrides.push_back("train.init_from=\"" + quoted + "\"");
  }
  try {
    options.config = trainer::load_config(config_path, overrides);
  } catch (const trainer::ConfigError& e) {
    return bad_input(e.what());
  }
  try {
    return trainer::run_training(options, env);
  } catch (const trainer::ConfigError& e) {
    return bad_input(e.what());
  } catch (const data::CorpusError& e) {
    return bad_input(e.what());
  } catch (const trainer::CheckpointError& e) {
    // A failed save or an unusable checkpoint: report from every rank that saw it and stop all.
    fmt::print(stderr, "culturegan-train: rank {}: checkpoint error: {}\n", env.rank, e.what());
    std::fflush(stderr);
    if (env.world_size > 1) distributed::abort_all(trainer::kExitBadInput);
    return trainer::kExitBadInput;
  } catch (const trainer::NonFiniteLossError& e) {
    // Every rank agreed on it: the ranks that computed the bad term (and rank 0) say so,
    // and all exit cleanly with code 1.
    if (root || e.seen_here())
      fmt::print(stderr, "culturegan-train: rank {}: error: {}\n", env.rank, e.what());
    return trainer::kExitError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "culturegan-train: rank {}: error: {}\n", env.rank, e.what());
    std::fflush(stderr);
    if (env.world_size > 1) distributed::abort_all(trainer::kExitError);
    return trainer::kExitError;
  }
}
