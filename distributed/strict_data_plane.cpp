#include "distributed/strict_data_plane.h"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace culturegan::distributed {

// Checks, then forwards do_*() to the inner backend's do_*() (a friend of Communicator). It
// shares the inner backend's monitor, so every collective is numbered and watched once.
class StrictDataPlane : public Communicator {
 public:
  explicit StrictDataPlane(std::unique_ptr<Communicator> inner)
      : Communicator(inner->rank(), inner->world_size(), inner->monitor()),
        inner_(std::move(inner)) {}
  std::string backend() const override { return inner_->backend() + " (strict data plane)"; }

 protected:
  void do_all_reduce(torch::Tensor& tensor, ReduceOp op) override {
    check(tensor, "all_reduce");
    inner_->do_all_reduce(tensor, op);
  }
  void do_broadcast(torch::Tensor& tensor, int root) override {
    check(tensor, "broadcast");
    inner_->do_broadcast(tensor, root);
  }
  std::vector<torch::Tensor> do_all_gather(const torch::Tensor& tensor) override {
    check(tensor, "all_gather");
    return inner_->do_all_gather(tensor);
  }
  void do_barrier() override { inner_->do_barrier(); }
  std::shared_ptr<Work> do_all_reduce_async(torch::Tensor tensor, ReduceOp op) override {
    check(tensor, "all_reduce_async");
    return inner_->do_all_reduce_async(std::move(tensor), op);
  }

 private:
  static void check(const torch::Tensor& t, const char* what) {
    if (t.defined() && torch::isFloatingType(t.scalar_type()) && t.scalar_type() != torch::kDouble)
      return;
    throw CommunicatorError(fmt::format(
        "strict data plane: {} of a {} tensor {}: host values go over the control plane", what,
        t.defined() ? std::string(c10::toString(t.scalar_type())) : "undefined",
        t.defined() ? fmt::format("{}", fmt::join(t.sizes(), "x")) : ""));
  }
  std::unique_ptr<Communicator> inner_;
};

bool strict_data_plane_requested() {
  const char* v = std::getenv("CULTUREGAN_TEST_STRICT_DATA_PLANE");
  return v && std::strcmp(v, "1") == 0;
}

std::unique_ptr<Communicator> make_strict_data_plane(std::unique_ptr<Communicator> inner) {
  return std::make_unique<StrictDataPlane>(std::move(inner));
}

}  // namespace culturegan::distributed
