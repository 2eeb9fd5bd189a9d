// Launch facts across nodes (tests/multinode, issue 15 point 2). Every rank prints one line
//   rank R of W, local rank L of LW, nodes N, host H, device cpu, device with 2 GPUs per node
//   cuda:L, launcher rank R local L, tcp peers A,B, shm peers K, allreduce ok[ MISMATCH ...]
// and the exit status is 0 only if every rank agrees with facts computed independently of
// ProcessEnv:
// - local rank / local world size / node count from the host names of all ranks (an
//   all-gather): ranks with the same host name are one node, local rank = position among them;
// - the launcher's own variables (OMPI_COMM_WORLD_RANK / _LOCAL_RANK, SLURM_PROCID / _LOCALID);
// - device_for(env, 2) == "cuda:<local rank>" (a node with 2 GPUs);
// - the transport: after an all-to-all with every rank, this process holds established TCP
//   connections to exactly the other nodes' addresses (read from /proc/net/tcp through its
//   own socket inodes), and has mapped the shared-memory (vader) segment of every other rank
//   on its node and of none elsewhere (/proc/self/maps);
// - an all-reduce through the project's Communicator of a 1 MiB tensor sums correctly.
#include <dirent.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "distributed/communicator.h"

namespace cgd = culturegan::distributed;

namespace {

int env_int(const char* a, const char* b) {
  const char* v = std::getenv(a);
  if (!v) v = std::getenv(b);
  return v ? std::atoi(v) : -1;
}

// Socket inodes this process holds.
std::set<std::string> socket_inodes() {
  std::set<std::string> out;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char link[256] = {0};
    const std::string p = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t n = readlink(p.c_str(), link, sizeof(link) - 1);
    if (n <= 0) continue;
    const std::string s(link, static_cast<size_t>(n));
    if (s.rfind("socket:[", 0) == 0) out.insert(s.substr(8, s.size() - 9));
  }
  closedir(d);
  return out;
}

std::string ip_of(const std::string& hex) {  // "0100A8C0" (little endian) -> "192.168.0.1"
  const unsigned long v = std::stoul(hex, nullptr, 16);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%lu.%lu.%lu.%lu", v & 255, (v >> 8) & 255, (v >> 16) & 255,
                (v >> 24) & 255);
  return buf;
}

// Remote IPv4 addresses of this process's established TCP connections (loopback excluded).
std::set<std::string> tcp_peers() {
  const auto mine = socket_inodes();
  std::set<std::string> out;
  std::ifstream f("/proc/self/net/tcp");
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::istringstream is(line);
    std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
    is >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
    if (st != "01" || !mine.count(inode)) continue;
    const std::string ip = ip_of(remote.substr(0, remote.find(':')));
    if (ip.rfind("127.", 0) != 0) out.insert(ip);
  }
  return out;
}

// Files of shared-memory (vader) segments mapped into this process.
std::set<std::string> shm_segments() {
  std::set<std::string> out;
  std::ifstream f("/proc/self/maps");
  std::string line;
  while (std::getline(f, line)) {
    const auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    const std::string path = line.substr(pos);
    if (path.find("vader_segment") != std::string::npos) out.insert(path);
  }
  return out;
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ",") + x;
  return out.empty() ? "none" : out;
}

}  // namespace

int main(int argc, char** argv) {
  cgd::MpiRuntime runtime(&argc, &argv);
  const auto& e = runtime.env();
  std::vector<std::string> why;

  // Independent facts from the host names of all ranks.
  char host[64] = {0};
  std::snprintf(host, sizeof(host), "%s", e.hostname.c_str());
  std::vector<char> hosts(64 * static_cast<size_t>(e.world_size));
  MPI_Allgather(host, 64, MPI_CHAR, hosts.data(), 64, MPI_CHAR, MPI_COMM_WORLD);
  std::set<std::string> distinct;
  int my_local = 0, my_local_size = 0;
  for (int r = 0; r < e.world_size; ++r) {
    const std::string h(&hosts[64 * static_cast<size_t>(r)]);
    distinct.insert(h);
    if (h == e.hostname) {
      if (r < e.rank) ++my_local;
      ++my_local_size;
    }
  }
  if (my_local != e.local_rank)
    why.push_back("local rank vs host names " + std::to_string(my_local));
  if (my_local_size != e.local_world_size)
    why.push_back("local world size vs host names " + std::to_string(my_local_size));
  if (static_cast<int>(distinct.size()) != e.node_count)
    why.push_back("node count vs host names " + std::to_string(distinct.size()));
  const int launcher_rank = env_int("SLURM_PROCID", "OMPI_COMM_WORLD_RANK");
  const int launcher_local = env_int("SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK");
  if (launcher_rank >= 0 && launcher_rank != e.rank) why.push_back("launcher rank");
  if (launcher_local >= 0 && launcher_local != e.local_rank) why.push_back("launcher local rank");
  const std::string gpu2 = cgd::device_for(e, 2);
  if (gpu2 != "cuda:" + std::to_string(e.local_rank)) why.push_back("device_for(env, 2) " + gpu2);

  // Talk to every rank (64 KiB each way), then look at the transports this process uses.
  const int chunk = 64 * 1024;
  std::vector<char> out(static_cast<size_t>(chunk) * e.world_size, static_cast<char>(e.rank));
  std::vector<char> in(out.size());
  MPI_Alltoall(out.data(), chunk, MPI_CHAR, in.data(), chunk, MPI_CHAR, MPI_COMM_WORLD);
  for (int r = 0; r < e.world_size; ++r)
    if (in[static_cast<size_t>(chunk) * r] != static_cast<char>(r))
      why.push_back("all-to-all data");
  MPI_Barrier(MPI_COMM_WORLD);
  const auto peers = tcp_peers();
  const auto segments = shm_segments();
  // Expected: TCP to the other nodes' addresses only. Addresses are gathered as text.
  char addr[64] = {0};
  {
    // this node's address = the local address of any established connection, else none
    std::ifstream f("/proc/self/net/tcp");
    std::string line;
    std::getline(f, line);
    const auto mine = socket_inodes();
    while (std::getline(f, line)) {
      std::istringstream is(line);
      std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
      is >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
      if (st != "01" || !mine.count(inode)) continue;
      const std::string ip = ip_of(local.substr(0, local.find(':')));
      if (ip.rfind("127.", 0) != 0) {
        std::snprintf(addr, sizeof(addr), "%s", ip.c_str());
        break;
      }
    }
  }
  std::vector<char> addrs(64 * static_cast<size_t>(e.world_size));
  MPI_Allgather(addr, 64, MPI_CHAR, addrs.data(), 64, MPI_CHAR, MPI_COMM_WORLD);
  std::set<std::string> other_nodes;
  for (int r = 0; r < e.world_size; ++r) {
    const std::string h(&hosts[64 * static_cast<size_t>(r)]);
    const std::string a(&addrs[64 * static_cast<size_t>(r)]);
    if (h != e.hostname && !a.empty()) other_nodes.insert(a);
  }
  if (e.node_count > 1 && peers != other_nodes)
    why.push_back("tcp peers " + join(peers) + " != other nodes " + join(other_nodes));
  if (e.node_count > 1 && other_nodes.size() != static_cast<size_t>(e.node_count - 1))
    why.push_back("addresses of the other nodes: " + join(other_nodes));
  // Own segment + one per other rank of this node.
  if (e.local_world_size > 1 && static_cast<int>(segments.size()) != e.local_world_size)
    why.push_back("shm segments " + std::to_string(segments.size()));
  for (const auto& s : segments)
    for (const auto& h : distinct)
      if (h != e.hostname && s.find("." + h + ".") != std::string::npos)
        why.push_back("maps another node's shm segment " + s);

  // The project's data plane across nodes.
  auto comm = cgd::make_communicator("mpi", e);
  torch::Tensor t = torch::full({256 * 1024}, static_cast<float>(e.rank + 1));
  comm->all_reduce(t, cgd::ReduceOp::kSum, "probe/allreduce");
  const float want = static_cast<float>(e.world_size * (e.world_size + 1) / 2);
  const bool reduce_ok = (t == want).all().item<bool>();
  if (!reduce_ok) why.push_back("allreduce sum");

  std::string bad;
  for (const auto& w : why) bad += (bad.empty() ? " MISMATCH: " : "; ") + w;
  std::printf(
      "rank %d of %d, local rank %d of %d, nodes %d, host %s, device %s, device with 2 GPUs per "
      "node %s, launcher rank %d local %d, address %s, tcp peers %s, shm peers %zu, allreduce "
      "%s%s\n",
      e.rank, e.world_size, e.local_rank, e.local_world_size, e.node_count, e.hostname.c_str(),
      cgd::device_for(e).c_str(), gpu2.c_str(), launcher_rank, launcher_local,
      addr[0] ? addr : "none", join(peers).c_str(), segments.empty() ? 0 : segments.size() - 1,
      reduce_ok ? "ok" : "WRONG", bad.c_str());
  std::fflush(stdout);
  torch::Tensor total = torch::full({1}, static_cast<int64_t>(why.size()), torch::kLong);
  comm->all_reduce(total, cgd::ReduceOp::kSum, "probe/bad");
  return total.item<int64_t>() == 0 ? 0 : 1;
}
