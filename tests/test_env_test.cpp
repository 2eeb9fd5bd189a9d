// The environment tests/CMakeLists.txt gives every discovered GoogleTest case
// (CULTUREGAN_TEST_ENV) arrives whole: gtest_discover_tests re-splits list-valued properties,
// and how many escapes a ';' needs differs between CMake versions (3.25 and 3.31 checked). A
// mistake there joins the variables into one value, which this test catches by name.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "<unset>";
}

TEST(TestEnvironment, EveryVariableArrivesSeparately) {
  EXPECT_EQ(env("OMP_NUM_THREADS"), "1");
  EXPECT_EQ(env("OMPI_ALLOW_RUN_AS_ROOT"), "1");
  EXPECT_EQ(env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"), "1");
  EXPECT_EQ(env("OMPI_MCA_rmaps_base_oversubscribe"), "1");
  const std::string src = env("CULTUREGAN_SOURCE_DIR");
  EXPECT_TRUE(std::filesystem::exists(src + "/CMakeLists.txt")) << "CULTUREGAN_SOURCE_DIR=" << src;
  const std::string bin = env("CULTUREGAN_BIN_DIR");
  EXPECT_TRUE(std::filesystem::is_directory(bin)) << "CULTUREGAN_BIN_DIR=" << bin;
  EXPECT_NE(env("CULTUREGAN_PYTHON"), "<unset>");
  EXPECT_NE(env("CULTUREGAN_CORPUS_DIR"), "<unset>");
}

}  // namespace
