// Touches each carried library once; run under the carried mpirun with 2 ranks.
#include <hdf5.h>
#include <mpi.h>
#include <zlib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <toml++/toml.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

TEST(Deps, All) {
  int rank = -1, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int one = 1, sum = 0;
  MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(sum, size);
  unsigned maj = 0, min = 0, rel = 0;
  EXPECT_GE(H5get_libversion(&maj, &min, &rel), 0);
  EXPECT_EQ(fmt::format("{}-{}", 1, "a"), "1-a");
  auto tbl = toml::parse("a = 3");
  EXPECT_EQ(tbl["a"].value_or(0), 3);
  CLI::App app("x");
  int v = 0;
  app.add_option("--v", v);
  const char* args[] = {"x", "--v", "5"};
  app.parse(3, args);
  EXPECT_EQ(v, 5);
  EXPECT_NE(crc32(0, reinterpret_cast<const Bytef*>("a"), 1), 0u);
  int len = 0;
  unsigned char px[12] = {0};
  unsigned char* png = stbi_write_png_to_mem(px, 6, 2, 2, 3, &len);
  EXPECT_NE(png, nullptr);
  free(png);
  if (rank == 0) std::printf("deps-check: MPI %d ranks, HDF5 %u.%u.%u, zlib %s\n", size, maj, min, rel, zlibVersion());
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS(), any = 0;
  MPI_Allreduce(&rc, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any;
}
