// Test-only fault switch: makes one rank stall before a collective, so tests can prove
// that the watchdog turns a hang into a report and a non-zero exit.
//   CULTUREGAN_FAULT_STALL_RANK=r   the rank that stalls
//   CULTUREGAN_FAULT_STALL_AT=x     a sequence number (digits) or a substring of the tag
//   CULTUREGAN_FAULT_STALL_S=s      how long it sleeps (default 3600)
// Unset (the normal case) it costs one branch per collective.
#pragma once
#include <cstdint>
#include <string>

namespace culturegan::distributed {

/// Sleeps if the fault switch names this rank and this collective (seq or tag).
void maybe_stall(int rank, uint64_t seq, const std::string& tag);

}  // namespace culturegan::distributed
