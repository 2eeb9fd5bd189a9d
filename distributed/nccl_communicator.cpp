#include "distributed/nccl_communicator.h"

#include <mpi.h>

#include <thread>

#include <fmt/format.h>

#ifdef CULTUREGAN_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

#include "common/torch_compat.h"  // compat::current_cuda_stream with a CUDA LibTorch
#endif

namespace culturegan::distributed {

#ifndef CULTUREGAN_HAVE_NCCL

bool nccl_compiled_in() { return false; }

std::unique_ptr<Communicator> make_nccl_communicator(const ProcessEnv&,
                                                     std::shared_ptr<CollectiveMonitor>) {
  throw CommunicatorError(
      "nccl backend: this build has no NCCL (CMake found no CUDA toolkit + nccl.h; set "
      "CUDAToolkit_ROOT or use distributed.backend = \"mpi\")");
}

#else

bool nccl_compiled_in() { return true; }

namespace {

void check_cuda(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw CommunicatorError(fmt::format("nccl backend: {}: {}", what, cudaGetErrorString(err)));
}
void check_nccl(ncclResult_t res, const char* what) {
  if (res != ncclSuccess)
    throw CommunicatorError(fmt::format("nccl backend: {}: {}", what, ncclGetErrorString(res)));
}

ncclDataType_t nccl_datatype(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return ncclFloat32;
    case torch::kDouble:
      return ncclFloat64;
    case torch::kHalf:
      return ncclFloat16;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kInt:
      return ncclInt32;
    case torch::kLong:
      return ncclInt64;
    case torch::kByte:
      return ncclUint8;
    case torch::kChar:
      return ncclInt8;
    default:
      throw CommunicatorError(fmt::format("nccl backend: unsupported dtype {}", c10::toString(t)));
  }
}

/// The stream LibTorch computes on; the legacy default stream when LibTorch has no CUDA.
cudaStream_t compute_stream(int device) {
#ifdef CULTUREGAN_TORCH_HAS_CUDA
  return compat::current_cuda_stream(device);
#else
  (void)device;
  return cudaStreamLegacy;
#endif
}

class NcclWork : public Work {
 public:
  NcclWork(torch::Tensor tensor, cudaEvent_t done, cudaStream_t compute)
      : tensor_(std::move(tensor)), done_event_(done), compute_(compute) {}
  ~NcclWork() override {
    if (!done_) wait();
    cudaEventDestroy(done_event_);
  }
  bool test() override {
    if (!done_ && cudaEventQuery(done_event_) == cudaSuccess) finish();
    return done_;
  }
  void wait() override {
    if (done_) return;
    // Order the compute stream after the collective, then wait on the host as well, so the
    // watchdog sees a hung collective (NCCL would otherwise hang asynchronously).
    cudaStreamWaitEvent(compute_, done_event_, 0);
    while (cudaEventQuery(done_event_) == cudaErrorNotReady) std::this_thread::yield();
    finish();
  }

 private:
  void finish() { done_ = true; }
  torch::Tensor tensor_;  // keeps the memory alive while NCCL uses it on its stream
  cudaEvent_t done_event_;
  cudaStream_t compute_;
  bool done_ = false;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(const ProcessEnv& env, std::shared_ptr<CollectiveMonitor> monitor,
                   int device_count)
      : Communicator(env.rank, env.world_size, std::move(monitor)),
        rank_(env.rank),
        size_(env.world_size),
        device_(env.local_rank % device_count) {
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    ncclUniqueId id;
    if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
    check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
    int least = 0, greatest = 0;
    cudaDeviceGetStreamPriorityRange(&least, &greatest);
    check_cuda(cudaStreamCreateWithPriority(&stream_, cudaStreamNonBlocking, greatest),
               "cudaStreamCreate");
    check_cuda(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate");
  }
  ~NcclCommunicator() override {
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(comm_);
    cudaEventDestroy(ready_);
    cudaStreamDestroy(stream_);
  }
  std::string backend() const override { return "nccl"; }

 protected:
  std::shared_ptr<Work> do_all_reduce_async(torch::Tensor tensor, ReduceOp op) override {
    check(tensor, "all_reduce");
    const ncclRedOp_t nop = op == ReduceOp::kAverage ? ncclAvg : ncclSum;
    return launch(tensor, [&](cudaStream_t s) {
      check_nccl(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                               nccl_datatype(tensor.scalar_type()), nop, comm_, s),
                 "ncclAllReduce");
    });
  }
  void do_all_reduce(torch::Tensor& tensor, ReduceOp op) override {
    do_all_reduce_async(tensor, op)->wait();
  }
  void do_broadcast(torch::Tensor& tensor, int root) override {
    check(tensor, "broadcast");
    launch(tensor, [&](cudaStream_t s) {
      check_nccl(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                               nccl_datatype(tensor.scalar_type()), root, comm_, s),
                 "ncclBroadcast");
    })->wait();
  }
  std::vector<torch::Tensor> do_all_gather(const torch::Tensor& tensor) override {
    check(tensor, "all_gather");
    torch::Tensor out = torch::empty({size_, tensor.numel()}, tensor.options());
    launch(out, [&](cudaStream_t s) {
      check_nccl(ncclAllGather(tensor.data_ptr(), out.data_ptr(), tensor.numel(),
                               nccl_datatype(tensor.scalar_type()), comm_, s),
                 "ncclAllGather");
    })->wait();
    std::vector<torch::Tensor> result;
    for (int r = 0; r < size_; ++r) result.push_back(out[r].view(tensor.sizes()));
    return result;
  }
  void do_barrier() override {
    torch::Tensor one = torch::ones({1}, torch::TensorOptions().device(torch::kCUDA, device_));
    do_all_reduce(one, ReduceOp::kSum);
    check_cuda(cudaStreamSynchronize(compute_stream(device_)), "barrier");
  }

 private:
  void check(const torch::Tensor& t, const char* what) const {
    if (!t.defined() || !t.is_cuda())
      throw CommunicatorError(
          fmt::format("nccl backend: {} needs a CUDA tensor (use the mpi backend for CPU)", what));
    if (!t.is_contiguous())
      throw CommunicatorError(fmt::format("nccl backend: {} needs a contiguous tensor", what));
  }
  template <typename Fn>
  std::shared_ptr<Work> launch(const torch::Tensor& tensor, Fn&& fn) {
    const cudaStream_t compute = compute_stream(device_);
    check_cuda(cudaEventRecord(ready_, compute), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(stream_, ready_, 0), "cudaStreamWaitEvent");
    fn(stream_);
    cudaEvent_t done;
    check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate");
    check_cuda(cudaEventRecord(done, stream_), "cudaEventRecord");
    return std::make_shared<NcclWork>(tensor, done, compute);
  }

  int rank_, size_, device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(const ProcessEnv& env,
                                                     std::shared_ptr<CollectiveMonitor> monitor) {
  // Every rank checks its GPU, then all agree, so a rank without one cannot leave the
  // others waiting in the NCCL bootstrap.
  int count = 0;
  std::string reason;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    reason = fmt::format("no CUDA device (cudaGetDeviceCount: {})", cudaGetErrorString(err));
  } else if (count == 0) {
    reason = "no CUDA device (cudaGetDeviceCount: 0 devices)";
  } else if (!torch::cuda::is_available()) {
    reason =
        "LibTorch was built without CUDA, so there are no CUDA tensors to reduce (build against a "
        "CUDA LibTorch via CMAKE_PREFIX_PATH)";
  }
  int bad = reason.empty() ? 0 : 1, bad_ranks = 0;
  MPI_Allreduce(&bad, &bad_ranks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (bad) throw CommunicatorError(fmt::format("nccl backend: rank {}: {}", env.rank, reason));
  if (bad_ranks)
    throw CommunicatorError(
        fmt::format("nccl backend: {} other rank(s) have no usable CUDA device", bad_ranks));
  return std::make_unique<NcclCommunicator>(env, std::move(monitor), count);
}

#endif  // CULTUREGAN_HAVE_NCCL

}  // namespace culturegan::distributed
