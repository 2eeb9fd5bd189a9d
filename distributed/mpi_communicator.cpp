#include "distributed/mpi_communicator.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace culturegan::distributed {

MPI_Datatype mpi_datatype(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat:
      return MPI_FLOAT;
    case torch::kDouble:
      return MPI_DOUBLE;
    case torch::kInt:
      return MPI_INT32_T;
    case torch::kLong:
      return MPI_INT64_T;
    case torch::kByte:
      return MPI_UINT8_T;
    case torch::kChar:
      return MPI_INT8_T;
    default:
      throw CommunicatorError(
          fmt::format("mpi backend: cannot reduce dtype {} (use float32/float64/"
                      "float16/bfloat16/int32/int64/uint8)",
                      c10::toString(dtype)));
  }
}

namespace {

constexpr int64_t kMaxCount = INT_MAX;

// Waits for requests without holding a core for long: MPI_Test in a tight loop for the
// first 1 ms (ordinary completions keep their latency; a bucket takes ~0.1-3 ms), then
// MPI_Test + sleep, backing off from 20 us to 200 us. A rank that waits for a slower one (or for
// its own loader threads) so leaves the core to them, as gloo's blocking sockets do; OpenMPI's
// shared-memory transport only spins. Opt-in (CULTUREGAN_MPI_WAIT=polite): libnbc progresses only
// inside MPI calls, so the sleeps slowed the reducer's bucket all-reduces (bench/comm/RESULTS.md);
// default is spin.
bool polite_waits() {
  static const bool polite = [] {
    const char* v = std::getenv("CULTUREGAN_MPI_WAIT");
    return v && std::strcmp(v, "polite") == 0;
  }();
  return polite;
}

void polite_wait(std::vector<MPI_Request>& requests) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    int done = 0;
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
    if (done) return;
    if (clock::now() - start < std::chrono::milliseconds(1)) continue;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(200));
  }
}

bool needs_float_staging(torch::ScalarType t) { return t == torch::kHalf || t == torch::kBFloat16; }

void check_cpu(const torch::Tensor& t, const char* what) {
  if (!t.defined())
    throw CommunicatorError(fmt::format("mpi backend: {} of an undefined tensor", what));
  if (!t.device().is_cpu())
    throw CommunicatorError(
        fmt::format("mpi backend: {} needs a CPU tensor, got one on {} (use the nccl backend)",
                    what, t.device().str()));
  if (!t.is_contiguous())
    throw CommunicatorError(fmt::format("mpi backend: {} needs a contiguous tensor", what));
}

void check_average(const torch::Tensor& t, ReduceOp op) {
  if (op == ReduceOp::kAverage && !torch::isFloatingType(t.scalar_type()))
    throw CommunicatorError(
        fmt::format("mpi backend: average of a {} tensor (integer average is undefined)",
                    c10::toString(t.scalar_type())));
}

class MpiWork : public Work {
 public:
  MpiWork(torch::Tensor target, torch::Tensor wire, std::vector<MPI_Request> requests,
          double divisor)
      : target_(std::move(target)),
        wire_(std::move(wire)),
        requests_(std::move(requests)),
        divisor_(divisor) {}
  ~MpiWork() override {
    if (!done_) wait();
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE);
    if (flag) complete();
    return done_;
  }
  void wait() override {
    if (done_) return;
    if (polite_waits())
      polite_wait(requests_);
    else
      MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    complete();
  }

 private:
  void complete() {
    done_ = true;
    if (divisor_ != 1.0) wire_.div_(divisor_);
    if (!wire_.is_same(target_)) target_.copy_(wire_);
  }
  torch::Tensor target_, wire_;
  std::vector<MPI_Request> requests_;
  double divisor_;
  bool done_ = false;
};

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(const ProcessEnv& env, std::shared_ptr<CollectiveMonitor> monitor)
      : Communicator(env.rank, env.world_size, std::move(monitor)) {
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  std::string backend() const override { return "mpi"; }

 protected:
  void do_all_reduce(torch::Tensor& tensor, ReduceOp op) override {
    check_cpu(tensor, "all_reduce");
    check_average(tensor, op);
    torch::Tensor wire =
        needs_float_staging(tensor.scalar_type()) ? tensor.to(torch::kFloat) : tensor;
    const MPI_Datatype type = mpi_datatype(wire.scalar_type());
    const int64_t n = wire.numel();
    const int64_t elem = wire.element_size();
    auto* base = static_cast<char*>(wire.data_ptr());
    std::vector<MPI_Request> requests;
    for (int64_t off = 0; off < n; off += kMaxCount) {
      const int count = static_cast<int>(std::min(kMaxCount, n - off));
      if (!polite_waits()) {
        MPI_Allreduce(MPI_IN_PLACE, base + off * elem, count, type, MPI_SUM, comm_);
        continue;
      }
      requests.emplace_back();
      MPI_Iallreduce(MPI_IN_PLACE, base + off * elem, count, type, MPI_SUM, comm_,
                     &requests.back());
    }
    if (!requests.empty()) polite_wait(requests);
    if (op == ReduceOp::kAverage && size_ > 1) wire.div_(static_cast<double>(size_));
    if (!wire.is_same(tensor)) tensor.copy_(wire);
  }

  std::shared_ptr<Work> do_all_reduce_async(torch::Tensor tensor, ReduceOp op) override {
    check_cpu(tensor, "all_reduce_async");
    check_average(tensor, op);
    torch::Tensor wire =
        needs_float_staging(tensor.scalar_type()) ? tensor.to(torch::kFloat) : tensor;
    const MPI_Datatype type = mpi_datatype(wire.scalar_type());
    std::vector<MPI_Request> requests;
    const int64_t n = wire.numel();
    const int64_t elem = wire.element_size();
    auto* base = static_cast<char*>(wire.data_ptr());
    for (int64_t off = 0; off < n; off += kMaxCount) {
      const int count = static_cast<int>(std::min(kMaxCount, n - off));
      requests.emplace_back();
      MPI_Iallreduce(MPI_IN_PLACE, base + off * elem, count, type, MPI_SUM, comm_,
                     &requests.back());
    }
    const double divisor =
        (op == ReduceOp::kAverage && size_ > 1) ? static_cast<double>(size_) : 1.0;
    return std::make_shared<MpiWork>(tensor, wire, std::move(requests), divisor);
  }

  void do_broadcast(torch::Tensor& tensor, int root) override {
    check_cpu(tensor, "broadcast");
    check_root(root);
    auto* base = static_cast<char*>(tensor.data_ptr());
    const int64_t bytes = tensor.numel() * tensor.element_size();
    std::vector<MPI_Request> requests;
    for (int64_t off = 0; off < bytes; off += kMaxCount) {
      const int count = static_cast<int>(std::min(kMaxCount, bytes - off));
      if (!polite_waits()) {
        MPI_Bcast(base + off, count, MPI_BYTE, root, comm_);
        continue;
      }
      requests.emplace_back();
      MPI_Ibcast(base + off, count, MPI_BYTE, root, comm_, &requests.back());
    }
    if (!requests.empty()) polite_wait(requests);
  }

  std::vector<torch::Tensor> do_all_gather(const torch::Tensor& tensor) override {
    check_cpu(tensor, "all_gather");
    const int64_t bytes = tensor.numel() * tensor.element_size();
    if (bytes > kMaxCount)
      throw CommunicatorError("mpi backend: all_gather of more than 2 GiB per rank");
    torch::Tensor out = torch::empty({size_, tensor.numel()}, tensor.options());
    if (polite_waits()) {
      std::vector<MPI_Request> requests(1);
      MPI_Iallgather(tensor.data_ptr(), static_cast<int>(bytes), MPI_BYTE, out.data_ptr(),
                     static_cast<int>(bytes), MPI_BYTE, comm_, &requests[0]);
      polite_wait(requests);
    } else {
      MPI_Allgather(tensor.data_ptr(), static_cast<int>(bytes), MPI_BYTE, out.data_ptr(),
                    static_cast<int>(bytes), MPI_BYTE, comm_);
    }
    std::vector<torch::Tensor> result;
    for (int r = 0; r < size_; ++r) result.push_back(out[r].view(tensor.sizes()));
    return result;
  }

  void do_barrier() override {
    if (polite_waits()) {
      std::vector<MPI_Request> requests(1);
      MPI_Ibarrier(comm_, &requests[0]);
      polite_wait(requests);
    } else {
      MPI_Barrier(comm_);
    }
  }

 private:
  void check_root(int root) const {
    if (root < 0 || root >= size_)
      throw CommunicatorError(fmt::format("broadcast root {} outside world size {}", root, size_));
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(const ProcessEnv& env,
                                                    std::shared_ptr<CollectiveMonitor> monitor) {
  return std::make_unique<MpiCommunicator>(env, std::move(monitor));
}

}  // namespace culturegan::distributed
