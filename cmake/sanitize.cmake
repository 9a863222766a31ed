# Hardening builds (docs/robustness.md). Both apply to every target of the build directory, so use
# a separate one (tools/build.sh --sanitize and tools/fuzz.sh -> build-sanitize); the
# normal build is unchanged.
#   SPEAKERNET_SANITIZE: AddressSanitizer + UndefinedBehaviorSanitizer (GCC or Clang). Undefined
#     behaviour aborts (no recovery), so a test that triggers it fails.
#   SPEAKERNET_FUZZ: the libFuzzer targets in fuzz/ (Clang only; implies SPEAKERNET_SANITIZE).
#     Everything is compiled with coverage hooks (-fsanitize=fuzzer-no-link); only the fuzz
#     targets link libFuzzer itself.
option(SPEAKERNET_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(SPEAKERNET_FUZZ "Build the libFuzzer targets in fuzz/ (Clang; implies SPEAKERNET_SANITIZE)" OFF)

if(SPEAKERNET_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SPEAKERNET_FUZZ needs Clang (libFuzzer): configure with "
                        "-DCMAKE_CXX_COMPILER=clang++ (tools/fuzz.sh does)")
  endif()
  set(SPEAKERNET_SANITIZE ON)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(SPEAKERNET_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g1)
  add_link_options(-fsanitize=address,undefined)
  # ASan brings its own malloc; jemalloc would take allocations out of its sight.
  set(SPEAKERNET_JEMALLOC OFF CACHE BOOL "Link jemalloc" FORCE)
  message(STATUS "speakernet: AddressSanitizer + UndefinedBehaviorSanitizer build")
endif()
