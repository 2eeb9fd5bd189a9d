#include "distributed/fault.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace culturegan::distributed {
namespace {

struct FaultSwitch {
  bool active = false;
  int rank = -1;
  bool by_seq = false;
  uint64_t seq = 0;
  std::string tag;
  double seconds = 3600;
  bool fired = false;
};

FaultSwitch& fault_switch() {
  static FaultSwitch sw = [] {
    FaultSwitch s;
    const char* rank = std::getenv("CULTUREGAN_FAULT_STALL_RANK");
    const char* at = std::getenv("CULTUREGAN_FAULT_STALL_AT");
    const char* secs = std::getenv("CULTUREGAN_FAULT_STALL_S");
    if (!rank || !at || !*at) return s;
    s.active = true;
    s.rank = std::atoi(rank);
    std::string a(at);
    s.by_seq = true;
    for (char c : a) s.by_seq = s.by_seq && std::isdigit(static_cast<unsigned char>(c));
    if (s.by_seq)
      s.seq = std::strtoull(at, nullptr, 10);
    else
      s.tag = a;
    if (secs) s.seconds = std::atof(secs);
    return s;
  }();
  return sw;
}

}  // namespace

void maybe_stall(int rank, uint64_t seq, const std::string& tag) {
  FaultSwitch& sw = fault_switch();
  if (!sw.active || sw.fired || rank != sw.rank) return;
  if (sw.by_seq ? seq != sw.seq : tag.find(sw.tag) == std::string::npos) return;
  sw.fired = true;
  std::fprintf(stderr,
               "culturegan fault switch: rank %d stalls %.0f s before collective '%s' (seq %llu)\n",
               rank, sw.seconds, tag.c_str(), static_cast<unsigned long long>(seq));
  std::fflush(stderr);
  std::this_thread::sleep_for(std::chrono::duration<double>(sw.seconds));
}

}  // namespace culturegan::distributed
