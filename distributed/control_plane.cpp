#include "distributed/control_plane.h"

#include <climits>

#include <fmt/format.h>

namespace culturegan::distributed {

ControlPlane::ControlPlane(std::shared_ptr<CollectiveMonitor> monitor)
    : monitor_(std::move(monitor)) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) throw CommunicatorError("control plane: MPI is not initialised");
  MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &world_size_);
}

ControlPlane::~ControlPlane() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

bool ControlPlane::any(bool value, const std::string& tag) {
  CollectiveMonitor::Scope scope(*monitor_, tag);
  int mine = value ? 1 : 0, out = 0;
  MPI_Allreduce(&mine, &out, 1, MPI_INT, MPI_LOR, comm_);
  return out != 0;
}

int ControlPlane::count(bool value, const std::string& tag) {
  CollectiveMonitor::Scope scope(*monitor_, tag);
  int mine = value ? 1 : 0, out = 0;
  MPI_Allreduce(&mine, &out, 1, MPI_INT, MPI_SUM, comm_);
  return out;
}

std::vector<double> ControlPlane::reduce(const std::vector<double>& values, MPI_Op op,
                                         const std::string& tag) {
  CollectiveMonitor::Scope scope(*monitor_, tag);
  std::vector<double> out(values.size());
  if (values.size() > static_cast<size_t>(INT_MAX))
    throw CommunicatorError(fmt::format("control plane: {} values in one call", values.size()));
  MPI_Allreduce(values.data(), out.data(), static_cast<int>(values.size()), MPI_DOUBLE, op, comm_);
  return out;
}

std::vector<double> ControlPlane::sum(const std::vector<double>& v, const std::string& tag) {
  return reduce(v, MPI_SUM, tag);
}
std::vector<double> ControlPlane::min(const std::vector<double>& v, const std::string& tag) {
  return reduce(v, MPI_MIN, tag);
}
std::vector<double> ControlPlane::max(const std::vector<double>& v, const std::string& tag) {
  return reduce(v, MPI_MAX, tag);
}

std::string ControlPlane::broadcast(const std::string& value, int root, const std::string& tag) {
  if (root < 0 || root >= world_size_)
    throw CommunicatorError(
        fmt::format("control plane: broadcast root {} outside world size {}", root, world_size_));
  CollectiveMonitor::Scope scope(*monitor_, tag);
  int64_t length = static_cast<int64_t>(value.size());
  MPI_Bcast(&length, 1, MPI_INT64_T, root, comm_);
  if (length < 0 || length > INT_MAX)
    throw CommunicatorError(fmt::format("control plane: broadcast of {} bytes", length));
  std::string out = rank_ == root ? value : std::string(static_cast<size_t>(length), '\0');
  if (length > 0) MPI_Bcast(out.data(), static_cast<int>(length), MPI_BYTE, root, comm_);
  return out;
}

std::vector<std::vector<int64_t>> ControlPlane::all_gather(const std::vector<int64_t>& values,
                                                           const std::string& tag) {
  CollectiveMonitor::Scope scope(*monitor_, tag);
  if (values.size() > static_cast<size_t>(INT_MAX))
    throw CommunicatorError(fmt::format("control plane: gather of {} values", values.size()));
  const int n = static_cast<int>(values.size());
  std::vector<int> counts(static_cast<size_t>(world_size_)), displs(counts.size());
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_);
  int64_t total = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    displs[r] = static_cast<int>(total);
    total += counts[r];
    if (total > INT_MAX) throw CommunicatorError("control plane: gather of more than 2^31 values");
  }
  std::vector<int64_t> flat(static_cast<size_t>(total));
  MPI_Allgatherv(values.data(), n, MPI_INT64_T, flat.data(), counts.data(), displs.data(),
                 MPI_INT64_T, comm_);
  std::vector<std::vector<int64_t>> out(counts.size());
  for (size_t r = 0; r < counts.size(); ++r)
    out[r].assign(flat.begin() + displs[r], flat.begin() + displs[r] + counts[r]);
  return out;
}

std::unique_ptr<ControlPlane> make_control_plane(const Communicator& data) {
  return std::make_unique<ControlPlane>(data.monitor());
}

}  // namespace culturegan::distributed
