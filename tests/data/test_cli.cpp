// culturegan-corpus and culturegan-ingest as users run them (binaries from CULTUREGAN_BIN_DIR).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "data/image_io.h"
#include "tests/data/h5_tamper.h"
#include "tests/data/test_util.h"

using namespace culturegan;

namespace {

struct Result {
  int code;
  std::string out;
};

Result run(const std::string& args) {
  // CULTUREGAN_BIN_DIR from the environment, else the build's bin folder.
  const char* env = std::getenv("CULTUREGAN_BIN_DIR");
  const std::string bin = env && *env ? env : CULTUREGAN_TEST_BIN_DIR;
  const std::string cmd = bin + "/" + args + " 2>&1";
  Result r{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

TEST(CorpusCli, CheckPrintsPerCultureTableAndInfoTheSummary) {
  const std::string p = testutil::make_corpus(testutil::temp_dir("cli"), {6, 4}, 8, 0.5, 2);
  const Result check = run("culturegan-corpus check " + p);
  EXPECT_EQ(check.code, 0) << check.out;
  EXPECT_NE(check.out.find("OK, corpus format v1, 10 images of 8x8, 2 cultures"), std::string::npos)
      << check.out;
  // label, culture, images, train, val, size
  EXPECT_NE(check.out.find("    0  c0                                 6       3       3  8x8"),
            std::string::npos)
      << check.out;
  EXPECT_NE(check.out.find("    1  c1                                 4       2       2  8x8"),
            std::string::npos)
      << check.out;
  const Result info = run("culturegan-corpus info " + p);
  EXPECT_EQ(info.code, 0) << info.out;
  EXPECT_NE(info.out.find("images:          10 of 8x8x3 uint8 (5 train, 5 val)"), std::string::npos)
      << info.out;
  EXPECT_NE(info.out.find("cultures:        2: c0 (6), c1 (4)"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("chunks of 2 images, gzip off, fletcher32 on"), std::string::npos)
      << info.out;
}

TEST(CorpusCli, CheckFailsWithOneLineOnABadCorpus) {
  const std::string p = testutil::make_corpus(testutil::temp_dir("cli-bad"), {3, 3}, 8);
  const auto [addr, size] = testutil::chunk_location(p, "/images", 0);
  std::string bytes = testutil::read_file(p);
  bytes[addr + 3] ^= 0x5a;
  testutil::write_file(p, bytes);
  const Result r = run("culturegan-corpus check " + p);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("culturegan-corpus: error: " + p + ": dataset /images: read of images"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_EQ(run("culturegan-corpus check /nonexistent.h5").code, 1);
}

TEST(IngestCli, IngestsPadsAndRejectsBadOptions) {
  const std::string dir = testutil::temp_dir("cli-ingest");
  std::filesystem::create_directories(dir + "/in/a");
  data::save_png(dir + "/in/a/x.png", testutil::pattern_image(10, 4, 1));
  data::save_png(dir + "/in/a/y.png", testutil::pattern_image(4, 10, 2));
  testutil::write_file(dir + "/in/a/z.jpg", "broken");
  const Result ok = run("culturegan-ingest --input " + dir + "/in --output " + dir +
                        "/c.h5 --size 6 --resize pad --no-progress");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("2 images of 6x6 (pad resize) from 3 files in 1 cultures"),
            std::string::npos)
      << ok.out;
  EXPECT_NE(ok.out.find("skipped: 1 unreadable"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("warning: skipped: a/z.jpg: cannot decode image"), std::string::npos)
      << ok.out;
  const Result strict = run("culturegan-ingest --input " + dir + "/in --output " + dir +
                            "/s.h5 --size 6 --strict --no-progress");
  EXPECT_EQ(strict.code, 1) << strict.out;
  EXPECT_NE(strict.out.find("a/z.jpg"), std::string::npos) << strict.out;
  EXPECT_NE(
      run("culturegan-ingest --input " + dir + "/in --output " + dir + "/p.h5 --resize zoom").code,
      0);
  EXPECT_NE(
      run("culturegan-ingest --input " + dir + "/in --output " + dir + "/p.h5 --val-fraction 1.5")
          .code,
      0);
}
