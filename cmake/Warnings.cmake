# culturegan_target_defaults(TARGET): warnings on, repository root on the include path,
# and a precompiled <torch/torch.h> for targets that use LibTorch (saves ~10 s a file).
function(culturegan_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

function(culturegan_use_torch_pch target)
  target_precompile_headers(${target} PRIVATE <torch/torch.h>)
endfunction()
