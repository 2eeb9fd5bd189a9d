// GradientReducer: GAN-phase-aware bucketed gradient all-reduce, overlapped with backward.
//
// How it works (the full story is in distributed/README.md):
//  * declare_phase() fixes a phase's parameter set and packs it into flat buckets
//    (plan_buckets: reverse parameter order, first bucket first_bucket_mb, then bucket_mb).
//    A gradient hook is registered once per parameter; it returns the gradient unchanged
//    (autograd still accumulates into .grad()) and adds a copy into the parameter's slot
//    of the active phase's bucket. Hooks of parameters outside the active phase do nothing,
//    so G's parameters receiving gradient in the D phase (or D's in the G phase) is fine.
//  * Readiness rule: a parameter is ready when its hook has fired as often as in the
//    phase's first step (learned then; the first step of each phase reduces everything in
//    finish()). A bucket starts (Communicator::all_reduce_async, average) as soon as all its
//    parameters are ready and every earlier bucket has started, so all ranks start buckets
//    in the same order. A parameter used twice in one backward (G(G(x,c'),c)) fires once
//    per backward (autograd sums both paths before the leaf); several backward calls in
//    one phase fire several times, and the learned count covers that.
//  * The last bucket always starts in finish() and carries two extra elements: "some
//    hook fired after its bucket had started" (a graph that changed), and the phase's
//    non-finite flag (finish(phase, flag)), so ranks agree on a non-finite loss without a
//    collective or a host read of their own. If any rank sets it,
//    every rank re-reduces the phase from .grad() synchronously and raises the learned
//    counts, so the result is always exact.
//  * finish() waits for every bucket and writes the averages into .grad() (a parameter with
//    no gradient on a rank contributes zeros). No buffer is broadcast per forward.
// Unlike DDP this needs no find_unused_parameters/static_graph, works with several backward
// passes per step, and never touches buffers (BatchNorm statistics stay per rank).
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "distributed/communicator.h"

namespace culturegan::distributed {

/// Config keys distributed.first_bucket_mb, distributed.bucket_mb, distributed.scrub_non_finite.
struct ReducerOptions {
  double first_bucket_mb = 1.0;   ///< MiB (2^20 bytes) of gradient in the first bucket
  double bucket_mb = 25.0;        ///< MiB per later bucket
  bool scrub_non_finite = false;  ///< replace NaN/Inf gradients by 0 before reducing
  bool overlap = true;            ///< start buckets from hooks; false: everything in finish()
  bool log_events = false;        ///< keep a timeline of ReducerEvent (tests, benchmarks)
};

/// Wrong use of the reducer (unknown phase, begin without finish, bad parameter).
class ReducerError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

struct ReducerEvent {
  enum class Kind { kBegin, kBucketStart, kFinishEnter, kFinishExit, kRedo };
  Kind kind;
  std::string phase;
  int bucket = -1;         ///< for kBucketStart
  bool from_hook = false;  ///< kBucketStart issued from a gradient hook (inside backward)
  int64_t time_ns = 0;     ///< steady_clock
};

/// Usage per phase:
///   reducer.declare_phase("D_main", d_params);     // once, at set-up
///   reducer.begin("D_main");  loss.backward();  reducer.finish("D_main");  opt.step();
/// After finish() every declared parameter's .grad() holds the average over ranks
/// (a parameter that got no gradient on this rank contributes zeros).
/// begin() resets the phase's .grad() to undefined (so autograd stores the first
/// gradient without a copy); gradients of earlier phases are therefore not carried over.
/// All methods are called from the training thread; hooks may run on autograd threads.
class GradientReducer {
 public:
  GradientReducer(Communicator& comm, ReducerOptions options);
  ~GradientReducer();
  /// params: leaf tensors that require grad, no duplicates; throws ReducerError otherwise
  /// or when a phase of that name exists. May be called between steps.
  void declare_phase(const std::string& phase, const std::vector<torch::Tensor>& params);
  /// Throws ReducerError for an unknown phase or while another phase is open.
  void begin(const std::string& phase);
  /// Throws ReducerError if `phase` is not the open phase.
  void finish(const std::string& phase);
  /// The same, carrying this rank's non-finite flag with the phase's last bucket (no extra
  /// collective, no host read before the reduction): `non_finite` is a 1-element tensor on
  /// the buckets' device, 1 when this rank's loss was non-finite, else 0 (undefined = 0).
  /// Returns the number of ranks whose flag was 1, read after the reduction. Gradients are
  /// reduced either way; the caller skips the optimizer step when the result is > 0.
  /// Throws ReducerError as finish(phase) does, or for a flag of another size.
  int finish(const std::string& phase, const torch::Tensor& non_finite);

  /// Bucket sizes in elements, in start order (tests, benchmarks).
  std::vector<int64_t> bucket_numels(const std::string& phase) const;
  /// Steps whose phase had to be re-reduced because the hook counts changed.
  int64_t redo_count() const;
  std::vector<ReducerEvent> events() const;
  void clear_events();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace culturegan::distributed
