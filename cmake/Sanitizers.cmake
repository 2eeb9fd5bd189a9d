# CULTUREGAN_SANITIZE: a comma-separated list handed to -fsanitize= for every target
# (e.g. "address,undefined" or "thread"); empty for a normal build. scripts/test.sh
# --sanitize sets it. LibTorch, OpenMPI and HDF5 stay uninstrumented: findings inside them
# are suppressed in tests/sanitizers/*.supp, each with its reason.
set(CULTUREGAN_SANITIZE "" CACHE STRING
    "Sanitizers for every target, e.g. address,undefined or thread (empty: none)")
if(CULTUREGAN_SANITIZE)
  string(REPLACE "," ";" _sanitizers "${CULTUREGAN_SANITIZE}")
  foreach(s IN LISTS _sanitizers)
    if(NOT s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "CULTUREGAN_SANITIZE: expected a list of address, undefined, thread, "
                          "leak; found '${s}' in '${CULTUREGAN_SANITIZE}'")
    endif()
  endforeach()
  if("thread" IN_LIST _sanitizers AND ("address" IN_LIST _sanitizers OR "leak" IN_LIST _sanitizers))
    message(FATAL_ERROR "CULTUREGAN_SANITIZE: thread cannot be combined with address or leak "
                        "(found '${CULTUREGAN_SANITIZE}')")
  endif()
  # -O1 -g1: line numbers in reports, quick to compile; the heavy kernels run inside the
  # (optimised, uninstrumented) LibTorch anyway.
  set(_flags -fsanitize=${CULTUREGAN_SANITIZE} -fno-omit-frame-pointer -O1 -g1)

  if("undefined" IN_LIST _sanitizers)
    # Every UB finding fails the test instead of printing and going on.
    list(APPEND _flags -fno-sanitize-recover=undefined)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND "address" IN_LIST _sanitizers)
    # GCC's documentation: -fsanitize=address makes -Wmaybe-uninitialized report false
    # positives (here: in LibTorch's inlined c10::optional copies).
    list(APPEND _flags -Wno-maybe-uninitialized)
  endif()
  add_compile_options(${_flags})
  add_link_options(-fsanitize=${CULTUREGAN_SANITIZE})
  message(STATUS "culturegan: sanitizers ${CULTUREGAN_SANITIZE}")
endif()
