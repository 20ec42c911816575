# One interface target carries warning and sanitizer flags; every target of ours links it.
add_library(chargerecon_flags INTERFACE)
target_compile_options(chargerecon_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${CHARGERECON_WERROR}>:-Werror>)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false positives inside Asio/Beast coroutine frames at -O2.
  target_compile_options(chargerecon_flags INTERFACE -Wno-maybe-uninitialized
    -Wno-mismatched-new-delete -Wno-array-bounds -Wno-stringop-overflow)
endif()
if(CHARGERECON_SANITIZE)
  string(REPLACE ";" "," _sanitizers "${CHARGERECON_SANITIZE}")
  target_compile_options(chargerecon_flags INTERFACE -fsanitize=${_sanitizers} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  target_link_options(chargerecon_flags INTERFACE -fsanitize=${_sanitizers})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND "thread" IN_LIST CHARGERECON_SANITIZE)
    # GCC warns that ThreadSanitizer does not model atomic_thread_fence, which Asio's handler
    # completion uses; Asio's cross-thread hand-offs also go through its scheduler's mutex,
    # which TSan does see, so the warning says nothing about our code.
    target_compile_options(chargerecon_flags INTERFACE -Wno-tsan)
  endif()
endif()
