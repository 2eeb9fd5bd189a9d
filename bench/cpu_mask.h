// A benchmark's CPU mask: mpirun binds each rank to one core by default and a child inherits
// its parent's mask, so a benchmark that starts other programs (or measures in-process) widens
// its own mask first, so that its figures do not depend on how it was launched.
#pragma once
#include <string>

namespace culturegan::bench {

struct CpuMask {
  std::string inherited;  ///< CPUs this process was bound to before, e.g. "0" under --bind-to core
  std::string now;        ///< CPUs it (and every child it starts) may use afterwards, e.g. "0-1"
  std::string error;      ///< non-empty when the mask could not be read or widened
};

/// Widens this process's CPU mask to every online CPU (the kernel keeps it within the
/// cgroup's cpuset) and reports both masks as CPU lists ("0-1,4"). Never throws.
CpuMask widen_cpu_mask();

}  // namespace culturegan::bench
