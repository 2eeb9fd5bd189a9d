#include "distributed/watchdog.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "distributed/process_env.h"

namespace culturegan::distributed {
namespace {

constexpr int kQueryTag = 7301;
constexpr int kAnswerTag = 7302;

struct Answer {
  int64_t entered_seq = -1;
  int32_t in_collective = 0;
  char tag[116] = {0};
};

std::string join(const std::vector<int>& ranks) {
  if (ranks.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < ranks.size(); ++i) out += (i ? ", " : "") + std::to_string(ranks[i]);
  return out;
}

}  // namespace

Watchdog::Watchdog(const WatchdogOptions& options, MPI_Comm world, bool can_query)
    : options_(options), can_query_(can_query) {
  MPI_Comm_dup(world, &side_);
  MPI_Comm_rank(side_, &rank_);
  MPI_Comm_size(side_, &world_size_);
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && side_ != MPI_COMM_NULL) MPI_Comm_free(&side_);
}

uint64_t Watchdog::enter(const std::string& tag, uint64_t seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t handle = next_handle_++;
  pending_[handle] = Pending{tag, seq, std::chrono::steady_clock::now()};
  if (static_cast<int64_t>(seq) > entered_seq_) {
    entered_seq_ = static_cast<int64_t>(seq);
    entered_tag_ = tag;
  }
  return handle;
}

void Watchdog::leave(uint64_t handle) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.erase(handle);
}

void Watchdog::answer_queries() {
  for (;;) {
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kQueryTag, side_, &flag, &status);
    if (!flag) return;
    int64_t asked = 0;
    MPI_Recv(&asked, 1, MPI_INT64_T, status.MPI_SOURCE, kQueryTag, side_, MPI_STATUS_IGNORE);
    Answer answer;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      answer.entered_seq = entered_seq_;
      answer.in_collective = pending_.empty() ? 0 : 1;
      std::strncpy(answer.tag, entered_tag_.c_str(), sizeof(answer.tag) - 1);
    }
    MPI_Send(&answer, sizeof(answer), MPI_BYTE, status.MPI_SOURCE, kAnswerTag, side_);
  }
}

void Watchdog::run() {
  if (options_.timeout_s <= 0) return;
  const auto poll = std::chrono::duration<double>(options_.poll_s);
  const auto timeout = std::chrono::duration<double>(options_.timeout_s);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    cv_.wait_for(lock, poll);
    if (stop_) break;
    if (can_query_) {
      lock.unlock();
      answer_queries();
      lock.lock();
    }
    const auto now = std::chrono::steady_clock::now();
    for (const auto& [handle, p] : pending_) {
      if (now - p.start > timeout) {
        const Pending stuck = p;
        lock.unlock();
        on_timeout(stuck);
      }
    }
  }
}

void Watchdog::on_timeout(const Pending& stuck) {
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stuck.start).count();
  std::vector<Answer> answers(world_size_);
  std::vector<bool> answered(world_size_, false);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    answers[rank_].entered_seq = entered_seq_;
    answers[rank_].in_collective = 1;
    std::strncpy(answers[rank_].tag, entered_tag_.c_str(), sizeof(answers[rank_].tag) - 1);
  }
  answered[rank_] = true;
  const auto query_time = std::chrono::duration<double>(options_.query_s);
  if (can_query_) {
    std::vector<MPI_Request> requests;
    std::vector<int> request_rank;
    const int64_t seq = static_cast<int64_t>(stuck.seq);
    for (int r = 0; r < world_size_; ++r) {
      if (r == rank_) continue;
      MPI_Request send, recv;
      MPI_Isend(&seq, 1, MPI_INT64_T, r, kQueryTag, side_, &send);
      MPI_Request_free(&send);
      MPI_Irecv(&answers[r], sizeof(Answer), MPI_BYTE, r, kAnswerTag, side_, &recv);
      requests.push_back(recv);
      request_rank.push_back(r);
    }
    const auto deadline = std::chrono::steady_clock::now() + query_time;
    size_t done = 0;
    while (done < requests.size() && std::chrono::steady_clock::now() < deadline) {
      for (size_t i = 0; i < requests.size(); ++i) {
        if (answered[request_rank[i]]) continue;
        int flag = 0;
        MPI_Test(&requests[i], &flag, MPI_STATUS_IGNORE);
        if (flag) {
          answered[request_rank[i]] = true;
          ++done;
        }
      }
      answer_queries();
      usleep(5000);
    }
  }
  std::vector<int> arrived, missing, silent;
  for (int r = 0; r < world_size_; ++r) {
    if (!answered[r])
      silent.push_back(r);
    else if (answers[r].entered_seq >= static_cast<int64_t>(stuck.seq))
      arrived.push_back(r);
    else
      missing.push_back(r);
  }
  const bool reporter = !arrived.empty() && arrived.front() == rank_;
  if (reporter || !can_query_) {
    std::string detail;
    for (int r : missing) {
      detail +=
          fmt::format("\n  rank {}: last entered collective seq {} '{}', {}", r,
                      answers[r].entered_seq, answers[r].tag,
                      answers[r].in_collective ? "waiting in a collective"
                                               : "not in a collective (computing or stalled)");
    }
    // A rank that cannot answer (its node or link is down) has not arrived either, as far as
    // anyone can tell: say so on the "not arrived" line instead of "none".
    std::string not_arrived =
        can_query_ ? join(missing) : "unknown (MPI_THREAD_MULTIPLE not granted)";
    if (can_query_ && !silent.empty())
      not_arrived = (missing.empty() ? std::string() : join(missing) + "; ") + "unknown for " +
                    join(silent) + " (did not answer: node or link down?)";
    std::string report = fmt::format(
        "culturegan watchdog: collective '{}' (seq {}) exceeded distributed.timeout_s={} s on rank "
        "{} "
        "(waited {:.2f} s)\n  ranks not arrived: {}{}\n  ranks arrived: {}\n  ranks that did not "
        "answer within {} s: {}\n",
        stuck.tag, stuck.seq, options_.timeout_s, rank_, waited, not_arrived, detail,
        can_query_ ? join(arrived) : "unknown", options_.query_s,
        can_query_ ? join(silent) : "unknown");
    report += fmt::format("  aborting all ranks with exit code {}\n", options_.exit_code);
    std::fputs(report.c_str(), stderr);
    std::fflush(stderr);
  } else {
    std::fprintf(stderr,
                 "culturegan watchdog: rank %d timed out in '%s' (seq %llu); rank %d reports\n",
                 rank_, stuck.tag.c_str(), static_cast<unsigned long long>(stuck.seq),
                 arrived.empty() ? -1 : arrived.front());
    std::fflush(stderr);
    // Give the reporting rank time to ask us and to print; keep answering meanwhile.
    const auto until = std::chrono::steady_clock::now() + query_time + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < until) {
      answer_queries();
      usleep(5000);
    }
  }
  if (!can_query_) std::_Exit(options_.exit_code);  // mpirun/srun end the others
  abort_all(options_.exit_code);
}

}  // namespace culturegan::distributed
