// StepLog: loss values stay unread until a progress line is due, then every waiting step is
// written in order with one copy; the JSON lines match what the trainer always wrote.
#include <gtest/gtest.h>

#include <limits>
#include <sstream>

#include "trainer/step_log.h"

namespace ct = culturegan::trainer;

namespace {
std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}
}  // namespace

TEST(StepLog, WaitsUntilALineIsDueThenWritesEveryStepInOrder) {
  ct::Progress progress(0, 100, 8, /*period_s=*/3600);
  std::ostringstream metrics;
  ct::StepLog log(progress, &metrics);
  log.add(0, {"D_main.adv", "D_main.gp"}, torch::tensor({1.5f, 0.25f}), {});
  log.add(1, {"D_main.adv", "D_main.gp"}, torch::tensor({-2.0f, 0.5f}), {{"ada.p", 0.125}});
  log.add(2, {}, torch::Tensor(), {{"ada.p", 0.0}});
  EXPECT_EQ(log.pending(), 3u);
  EXPECT_EQ(metrics.str(), "");  // nothing read or written yet
  log.flush();
  EXPECT_EQ(log.pending(), 0u);
  const auto lines = lines_of(metrics.str());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "{\"step\": 1, \"D_main.adv\": 1.5, \"D_main.gp\": 0.25}");
  EXPECT_EQ(lines[1], "{\"step\": 2, \"D_main.adv\": -2, \"D_main.gp\": 0.5, \"ada.p\": 0.125}");
  EXPECT_EQ(lines[2], "{\"step\": 3, \"ada.p\": 0}");
}

TEST(StepLog, TheLastStepAndAFullQueueFlush) {
  ct::Progress progress(0, 200, 8, 3600);
  std::ostringstream metrics;
  ct::StepLog log(progress, &metrics);
  for (int64_t s = 0; s < static_cast<int64_t>(ct::StepLog::kMaxPending) - 1; ++s)
    log.add(s, {"G.adv"}, torch::tensor({1.0f}), {});
  EXPECT_EQ(log.pending(), ct::StepLog::kMaxPending - 1);
  log.add(ct::StepLog::kMaxPending - 1, {"G.adv"}, torch::tensor({1.0f}), {});
  EXPECT_EQ(log.pending(), 0u);
  EXPECT_EQ(lines_of(metrics.str()).size(), ct::StepLog::kMaxPending);
  log.add(199, {"G.adv"}, torch::tensor({1.0f}), {});  // the last step: a line is due
  EXPECT_EQ(log.pending(), 0u);
}

TEST(StepLog, NonFiniteValuesAreNullAndMismatchedNamesThrow) {
  ct::Progress progress(0, 100, 8, 3600);
  std::ostringstream metrics;
  ct::StepLog log(progress, &metrics);
  log.add(4, {"D_main.adv"}, torch::tensor({std::numeric_limits<float>::quiet_NaN()}), {});
  log.flush();
  EXPECT_EQ(metrics.str(), "{\"step\": 5, \"D_main.adv\": null}\n");
  EXPECT_THROW(log.add(5, {"a", "b"}, torch::tensor({1.0f}), {}), std::invalid_argument);
  ct::StepLog no_file(progress, nullptr);  // progress only
  no_file.add(6, {"a"}, torch::tensor({1.0f}), {});
  no_file.flush();
  EXPECT_EQ(no_file.pending(), 0u);
}
