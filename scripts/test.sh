#!/usr/bin/env bash
# The test command: installs dependencies, starts the local Slurm cluster when the shared
# tools are beside the checkout (as root), builds, and runs every ctest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
SLURM_TOOLS=${SLURM_TOOLS:-../shared/tools/slurm}
if [ "${CULTUREGAN_NO_SLURM:-0}" != 1 ] && [ "$(id -u)" -eq 0 ] && [ -x "$SLURM_TOOLS/start-slurm.sh" ]; then
  echo "test.sh: starting the local Slurm cluster ($SLURM_TOOLS)"
  SLURM_CI_CPUS=${SLURM_CI_CPUS:-4} "$SLURM_TOOLS/start-slurm.sh" || echo "test.sh: Slurm did not start; Slurm tests will skip"
fi
bash scripts/build.sh
export OMP_NUM_THREADS=1
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "${CTEST_JOBS:-2}" --timeout 600
