# culturegan_target_defaults(TARGET): warnings on, repository root on the include path.
function(culturegan_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

# One precompiled <torch/torch.h> for every target that uses LibTorch. Parsing the header
# costs ~55 s of a 2-core machine per translation unit without it; compiling it once per
# target (the previous scheme) still cost 22 compilations of ~55 s in a clean build. With
# GCC every target reuses the one from culturegan_torch_pch (same flags: warnings, the
# standard, the sanitizer options added before it in the top-level CMakeLists.txt);
# -Winvalid-pch makes a target that cannot use it say so instead of silently parsing.
# Clang (the fuzz build) rejects a PCH built under other flags, so there each target
# compiles its own.
function(culturegan_create_torch_pch)
  add_library(culturegan_torch_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp)
  culturegan_target_defaults(culturegan_torch_pch)
  target_link_libraries(culturegan_torch_pch PRIVATE culturegan_torch)
  target_precompile_headers(culturegan_torch_pch PRIVATE <torch/torch.h>)
endfunction()

function(culturegan_use_torch_pch target)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_precompile_headers(${target} REUSE_FROM culturegan_torch_pch)
    target_compile_options(${target} PRIVATE -Winvalid-pch)
  else()
    target_precompile_headers(${target} PRIVATE <torch/torch.h>)
  endif()
endfunction()
