// The Python side of culturegan-bench-step: bench/gpu/stargan_reference.py --serve as a child
// process that times steps on command, so its repeats interleave with culturegan's.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/step/culturegan_step.h"

namespace culturegan::bench {

/// Thrown when the reference fails to start, exits, or answers something unexpected; what()
/// includes the tail of its stderr.
class ReferenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Starts `argv` (argv[0] = the interpreter path, then the script and its arguments) with
/// `env` ("NAME=value"), stdin/stdout on pipes and stderr in a temporary file, and waits for
/// its set-up line (a JSON object, printed after its warm-up; lines of its stdout that are not
/// JSON objects, e.g. ONEDNN_VERBOSE output, are skipped). Blocks on reads only, so it
/// takes no CPU while the reference runs and the reference takes none while culturegan runs.
class PythonReference {
 public:
  PythonReference(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  /// Sends "quit" and waits for the child (kills it if it does not exit within 10 s).
  ~PythonReference();
  PythonReference(const PythonReference&) = delete;
  PythonReference& operator=(const PythonReference&) = delete;

  /// The set-up line (JSON): torch, threads, blas, parameters, flops_*, gemm_gflops.
  const std::string& setup() const { return setup_; }
  /// A number of the set-up line ("flops_per_step", "gemm_gflops", "parameters.G", ...);
  /// 0 when absent.
  double number(const std::string& key) const;
  /// Runs `steps` steps in the reference ("run K"). Throws ReferenceError when it fails or its
  /// losses are not finite.
  StepTiming run(int steps);

 private:
  std::string read_line();
  std::string stderr_tail() const;

  pid_t pid_ = -1;
  int to_child_ = -1;
  FILE* from_child_ = nullptr;
  std::string stderr_path_;
  std::string setup_;
};

/// The value after "key": in a flat JSON text (a dotted key "a.b" looks for "b" inside the
/// object "a"); 0 when absent. Enough for the reference's own output lines.
double json_number(const std::string& text, const std::string& key);
/// The string value after "key": in a flat JSON text, or the elements of a list of strings
/// joined by ", "; "" when absent.
std::string json_string(const std::string& text, const std::string& key);

}  // namespace culturegan::bench
