# The device check's own programs (bench/gpu/device-check.sh), included by hook.cmake at the end
# of the top-level CMakeLists.txt (so paths here are absolute):
#   culturegan-device-comm-check   the data-plane communicator under mpirun (NCCL on a GPU
#                                  machine, MPI in the CPU dry run): collectives, dtypes,
#                                  async, and the compute/communication stream ordering
#   culturegan-torch-compat-probe  every wrapper of common/torch_compat.h on this LibTorch
find_package(GTest REQUIRED)

add_executable(culturegan-device-comm-check ${CMAKE_CURRENT_LIST_DIR}/comm_check.cpp)
culturegan_target_defaults(culturegan-device-comm-check)
culturegan_use_torch_pch(culturegan-device-comm-check)
target_link_libraries(culturegan-device-comm-check PRIVATE culturegan_distributed GTest::gtest MPI::MPI_C)
if(CULTUREGAN_HAVE_NCCL AND (TARGET c10_cuda OR TARGET torch_cuda))
  # The ordering check records its own events on LibTorch's current stream.
  target_compile_definitions(culturegan-device-comm-check PRIVATE CULTUREGAN_TORCH_HAS_CUDA)
  target_link_libraries(culturegan-device-comm-check PRIVATE culturegan_nccl)
endif()

add_executable(culturegan-torch-compat-probe ${CMAKE_CURRENT_LIST_DIR}/torch_compat_probe.cpp)
culturegan_target_defaults(culturegan-torch-compat-probe)
culturegan_use_torch_pch(culturegan-torch-compat-probe)
target_link_libraries(culturegan-torch-compat-probe PRIVATE culturegan_torch GTest::gtest GTest::gtest_main)
