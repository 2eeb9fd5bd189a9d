// Fuzz: mutate a small valid corpus many times; every mutant must either open and read
// back completely or fail with one CorpusError — never crash, never hang, never throw
// anything else. CI runs 200 iterations; set CULTUREGAN_FUZZ_ITERATIONS for longer runs
// (and CULTUREGAN_FUZZ_SEED to vary the mutations).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "data/corpus_reader.h"
#include "data/counter_rng.h"
#include "data/sampler.h"
#include "tests/data/test_util.h"

using namespace culturegan;

namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoll(v) : fallback;
}

std::string mutate(const std::string& base, data::CounterRng& rng) {
  std::string s = base;
  const uint64_t n = s.size();
  switch (rng.below(6)) {
    case 0: {  // flip a few bytes anywhere
      const uint64_t k = 1 + rng.below(8);
      for (uint64_t i = 0; i < k; ++i) s[rng.below(n)] ^= static_cast<char>(1 + rng.below(255));
      break;
    }
    case 1: {  // overwrite a random run with random bytes
      const uint64_t at = rng.below(n), len = std::min<uint64_t>(1 + rng.below(64), n - at);
      for (uint64_t i = 0; i < len; ++i) s[at + i] = static_cast<char>(rng.below(256));
      break;
    }
    case 2:  // truncate
      s.resize(rng.below(n));
      break;
    case 3: {  // zero a run
      const uint64_t at = rng.below(n), len = std::min<uint64_t>(1 + rng.below(256), n - at);
      for (uint64_t i = 0; i < len; ++i) s[at + i] = 0;
      break;
    }
    case 4: {  // copy one region over another (plausible-looking structures)
      const uint64_t from = rng.below(n), to = rng.below(n);
      const uint64_t len = std::min<uint64_t>({1 + rng.below(128), n - from, n - to});
      s.replace(to, len, base.substr(from, len));
      break;
    }
    default: {  // set a byte in the first 4 KiB (superblock, root object header) to an extreme
      s[rng.below(std::min<uint64_t>(n, 4096))] = static_cast<char>(rng.below(2) ? 0xff : 0x00);
      break;
    }
  }
  return s;
}

// Everything a consumer does with a corpus.
void exercise(const std::string& path) {
  data::CorpusReader r(path);
  std::vector<uint8_t> buf(size_t(r.image_size()) * r.image_size() * 3);
  for (int64_t i = 0; i < r.size(); ++i) {
    r.read_images(i, 1, buf.data());
    (void)r.source_path(i);
  }
  (void)r.read_content_hashes();
  if (!r.train_indices().empty()) {
    std::vector<int32_t> labels;
    for (int64_t i : r.train_indices()) labels.push_back(r.labels()[size_t(i)]);
    data::ShardedSampler s(r.train_indices(), labels, {});
    (void)s.next_batch(0, 1, 1);
  }
}

}  // namespace

TEST(CorpusFuzz, MutantsNeverCrashHangOrThrowOtherErrors) {
  const int64_t iterations = env_int("CULTUREGAN_FUZZ_ITERATIONS", 200);
  const uint64_t seed = static_cast<uint64_t>(env_int("CULTUREGAN_FUZZ_SEED", 1));
  const std::string dir = testutil::temp_dir("fuzz");
  // Two bases: plain chunks of 2 images, and gzip chunks of 3 (inflate errors too).
  const std::string bases[2] = {testutil::read_file(testutil::make_corpus(
                                    testutil::temp_dir("fuzz-plain"), {4, 3, 2}, 6, 0.3, 2)),
                                testutil::read_file(testutil::make_corpus(
                                    testutil::temp_dir("fuzz-gzip"), {4, 3, 2}, 6, 0.3, 3, 4))};
  const std::string path = dir + "/mutant.h5";

  // Hang watchdog: an iteration that takes more than 20 s aborts the test binary.
  std::atomic<int64_t> current{-1};
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    int64_t last = -2;
    auto since = std::chrono::steady_clock::now();
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (current != last) {
        last = current;
        since = std::chrono::steady_clock::now();
      }
      if (std::chrono::steady_clock::now() - since > std::chrono::seconds(20)) {
        std::fprintf(stderr, "fuzz: iteration %lld (seed %llu) hangs\n", (long long)last,
                     (unsigned long long)seed);
        std::abort();
      }
    }
  });

  int64_t rejected = 0, accepted = 0;
  for (int64_t it = 0; it < iterations; ++it) {
    current = it;
    data::CounterRng rng(seed, static_cast<uint64_t>(it));
    testutil::write_file(path, mutate(bases[it % 2], rng));
    try {
      exercise(path);
      ++accepted;
    } catch (const data::CorpusError& e) {
      ++rejected;
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << "iteration " << it << ": " << msg;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "iteration " << it << " (seed " << seed
                    << "): not a CorpusError: " << e.what();
    }
  }
  done = true;
  watchdog.join();
  std::printf("fuzz: %lld iterations, %lld rejected with CorpusError, %lld read back fine\n",
              (long long)iterations, (long long)rejected, (long long)accepted);
  EXPECT_GT(rejected, iterations / 10) << "mutations too weak to test anything";
}
