# Adds bench/gpu's targets to a culturegan build without touching the project's CMake files:
#   cmake -S . -B BUILD -DCMAKE_PROJECT_culturegan_INCLUDE=bench/gpu/hook.cmake ...
# (bench/gpu/device-check.sh and scripts/check-libtorch2.sh pass it). CMake includes this file
# at culturegan's project() call; the deferred call includes targets.cmake once the top-level
# CMakeLists.txt has been read, so every target and imported dependency exists by then
# (a deferred call may not add a subdirectory, so the targets live in the top directory).
cmake_minimum_required(VERSION 3.19)  # cmake_language(DEFER)
# EVAL bakes this file's directory into the call (a deferred call's arguments are evaluated
# when it runs, where CMAKE_CURRENT_LIST_DIR is the top directory).
cmake_language(EVAL CODE "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]]
                          CALL include [[${CMAKE_CURRENT_LIST_DIR}/targets.cmake]])")
