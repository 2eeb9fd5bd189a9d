#include "bench/cpu_mask.h"

#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace culturegan::bench {
namespace {

std::string cpu_list(const cpu_set_t& set) {
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    int end = c;
    while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, &set)) ++end;
    out += (out.empty() ? "" : ",") + (end == c ? std::to_string(c) : fmt::format("{}-{}", c, end));
    c = end;
  }
  return out;
}

}  // namespace

CpuMask widen_cpu_mask() {
  CpuMask m;
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (sched_getaffinity(0, sizeof(mine), &mine) != 0) {
    m.error = fmt::format("sched_getaffinity: {}", std::strerror(errno));
    return m;
  }
  m.inherited = cpu_list(mine);
  cpu_set_t all;
  CPU_ZERO(&all);
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  for (long c = 0; c < online && c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
  if (sched_setaffinity(0, sizeof(all), &all) != 0)
    m.error =
        fmt::format("sched_setaffinity(all {} online CPUs): {}", online, std::strerror(errno));
  cpu_set_t now;
  CPU_ZERO(&now);
  if (sched_getaffinity(0, sizeof(now), &now) == 0) m.now = cpu_list(now);
  return m;
}

}  // namespace culturegan::bench
