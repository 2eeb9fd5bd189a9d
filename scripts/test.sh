#!/usr/bin/env bash
# The test command: installs dependencies, starts the local Slurm cluster when the shared
# tools are beside the checkout (as root), builds, and runs every ctest suite.
#
#   bash scripts/test.sh                              every suite, normal build in build/
#   bash scripts/test.sh --sanitize address,undefined ASan+UBSan build (build-asan-ubsan/):
#                                                     unit, MPI and end-to-end suites
#   bash scripts/test.sh --sanitize address,undefined --scope ci
#                                                     the CI share of it: the unit, MPI and
#                                                     end-to-end suites and the fuzz replays,
#                                                     building only their targets
#   bash scripts/test.sh --sanitize thread            TSan build (build-tsan/): the threaded
#                                                     suites (loader prefetch, ingest, watchdog)
# Environment: BUILD_DIR, CTEST_JOBS (default 2), CTEST_ARGS (extra ctest arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=""
scope=all
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) [ $# -ge 2 ] || { echo "test.sh: --sanitize needs a value (address,undefined or thread)" >&2; exit 2; }
                sanitize=$2; shift 2 ;;
    --sanitize=*) sanitize=${1#--sanitize=}; shift ;;
    --scope) [ $# -ge 2 ] || { echo "test.sh: --scope needs a value (all or ci)" >&2; exit 2; }
             scope=$2; shift 2 ;;
    --scope=*) scope=${1#--scope=}; shift ;;
    *) echo "test.sh: unknown argument '$1' (expected --sanitize address,undefined|thread, --scope all|ci)" >&2; exit 2 ;;
  esac
done
case "$scope" in
  all) ;;
  ci) case "$sanitize" in address*|undefined*) ;; *) echo "test.sh: --scope ci goes with --sanitize address,undefined, found '${sanitize:-none}'" >&2; exit 2 ;; esac ;;
  *) echo "test.sh: --scope: expected all or ci, found '$scope'" >&2; exit 2 ;;
esac
case "$sanitize" in
  ""|address|undefined|address,undefined|undefined,address|thread) ;;
  *) echo "test.sh: --sanitize: expected address,undefined or thread, found '$sanitize'" >&2; exit 2 ;;
esac

bash scripts/install-deps.sh --test
export OMP_NUM_THREADS=1
export CULTUREGAN_SANITIZE="$sanitize"  # tests whose bounds a sanitizer changes read it
ctest_select=()
# A build folder made from scratch (CI's case) is a unity build (CULTUREGAN_UNITY_BUILD in
# CMakeLists.txt: about half the CPU time); an existing one keeps what it was configured with.
unity_if_fresh() {
  if [ ! -f "${BUILD_DIR:-build}/CMakeCache.txt" ]; then
    export CMAKE_ARGS="${CMAKE_ARGS:-} -DCULTUREGAN_UNITY_BUILD=${CULTUREGAN_UNITY_BUILD:-ON}"
  fi
}
if [ -z "$sanitize" ]; then
  SLURM_TOOLS=${SLURM_TOOLS:-../shared/tools/slurm}
  if [ "${CULTUREGAN_NO_SLURM:-0}" != 1 ] && [ "$(id -u)" -eq 0 ] && [ -x "$SLURM_TOOLS/start-slurm.sh" ]; then
    echo "test.sh: starting the local Slurm cluster ($SLURM_TOOLS)"
    SLURM_CI_CPUS=${SLURM_CI_CPUS:-4} "$SLURM_TOOLS/start-slurm.sh" || echo "test.sh: Slurm did not start; Slurm tests will skip"
  fi
  unity_if_fresh
  bash scripts/build.sh
else
  # The sanitizer runtime options (also needed while building: gtest_discover_tests runs
  # every test binary to list its tests). Suppressions: tests/sanitizers/, one reason each.
  supp="$PWD/tests/sanitizers"
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0:detect_odr_violation=0:suppressions=$supp/asan.supp"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
  if [ "$sanitize" = thread ]; then
    export BUILD_DIR=${BUILD_DIR:-build-tsan}
    # The suites whose code runs threads of its own: loader prefetch, ingest workers, the
    # collective watchdog and the control plane that drives it.
    export TARGETS=${TARGETS:-"culturegan_loader_tests culturegan_corpus_tests culturegan_distributed_stall_driver culturegan_distributed_control_plane_test"}
    ctest_select=(-R '^(Loader|Ingest|Prefetch|culturegan_distributed_(watchdog|control_plane))')
  else
    export BUILD_DIR=${BUILD_DIR:-build-asan-ubsan}
    # Unit, MPI and end-to-end suites; the Slurm, multi-node and soak suites exercise the
    # launchers (uninstrumented) around the same binaries and stay in the normal run.
    ctest_select=(-LE '^(slurm|multinode|soak)$')
    if [ "$scope" = ci ]; then
      # CI's share (docs/sanitizers.md: what it costs): every GoogleTest and MPI test, the
      # end-to-end runs, the CLI and fuzz replays; the checkpoint/preemption, precision,
      # report, recipe and tiling suites (the same binaries, longer runs) stay in --scope all.
      export TARGETS=${TARGETS:-"culturegan-train culturegan-ingest culturegan-corpus culturegan-infer
        culturegan_corpus_tests culturegan_loader_tests culturegan_models_tests
        culturegan_trainer_tests culturegan_zoo_tests culturegan_checkpoint_tests
        culturegan_eval_tests culturegan_untrusted_tests culturegan_make_test_bundle
        culturegan_distributed_bucket_plan_test culturegan_distributed_comm_test
        culturegan_distributed_reducer_test culturegan_distributed_control_plane_test
        culturegan_distributed_env_probe culturegan_distributed_stall_driver
        culturegan_ranks_agree_test culturegan_test_env_tests fuzz_image fuzz_config fuzz_corpus fuzz_bundle fuzz_checkpoint"}
      ctest_select=(-LE '^(slurm|multinode|soak|checkpoint)$'
                    -E '^(precision_|report_|zoo_recipes$|inference_tiled$|trainer_strict_data_plane$)')
    fi
  fi
  export CMAKE_ARGS="${CMAKE_ARGS:-} -DCULTUREGAN_SANITIZE=$sanitize -DCULTUREGAN_BUILD_BENCH=OFF"
  unity_if_fresh
  bash scripts/build.sh
fi
# shellcheck disable=SC2086
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "${CTEST_JOBS:-2}" --timeout 600 \
  "${ctest_select[@]}" ${CTEST_ARGS:-}
