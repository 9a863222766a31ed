# One static library per layer (folder), linked in data-flow order; `speakernet` is the
# umbrella target. A layer lists only earlier layers in DEPS, which keeps the layering honest.
set(SPEAKERNET_SRC_ROOT ${CMAKE_SOURCE_DIR}/src)

# The PCH is generated once (speakernet_pch) and reused by every target that includes torch.
function(speakernet_use_pch target)
  if(SPEAKERNET_PCH)
    if(NOT TARGET speakernet_pch)
      add_library(speakernet_pch STATIC ${CMAKE_SOURCE_DIR}/cmake/pch_anchor.cpp)
      target_link_libraries(speakernet_pch PUBLIC torch)
      target_precompile_headers(speakernet_pch PRIVATE <torch/torch.h>)
    endif()
    target_precompile_headers(${target} REUSE_FROM speakernet_pch)
  endif()
endfunction()

function(speakernet_add_layer name)
  cmake_parse_arguments(L "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(speakernet_${name} STATIC ${L_SOURCES})
  set_property(GLOBAL APPEND PROPERTY SPEAKERNET_LAYERS speakernet_${name})
  target_include_directories(speakernet_${name} PUBLIC ${SPEAKERNET_SRC_ROOT})
  target_link_libraries(speakernet_${name} PUBLIC ${L_DEPS})
  target_compile_options(speakernet_${name} PRIVATE -Wall -Wextra)
  if(L_TORCH)
    target_link_libraries(speakernet_${name} PUBLIC torch)
    speakernet_use_pch(speakernet_${name})
  endif()
endfunction()

# Executables get jemalloc (retained pages: 1.15-1.9x faster training on Debian's LibTorch,
# see docs) and the OpenMP OpenBLAS via RPATH.
function(speakernet_runtime_defaults target)
  # PyTorch's own LibTorch builds (>= 2.5) export an unversioned copy of libstdc++'s
  # std::filesystem; linked after it, the system libstdc++ lost those symbols to libtorch.so, whose
  # remove_all jumped to address 0 (LibTorch 2.11, checkpoint pruning and extraction crashed).
  # Naming the shared libstdc++ first binds them, versioned, to the system library. (-lstdc++ is
  # not enough: a toolchain may resolve it to a static archive, which pulls nothing that early.)
  # --no-as-needed for the whole link: jemalloc works by interposing malloc, so nothing refers to
  # it and --as-needed (Ubuntu's default) drops it. Here a --push-state/--pop-state pair around
  # libstdc++ dropped it as well: the demo trained at 51 instead of 65 samples/s.
  target_link_options(${target} BEFORE PRIVATE "LINKER:--no-as-needed")
  if(SPEAKERNET_LIBSTDCXX)
    target_link_options(${target} PRIVATE "${SPEAKERNET_LIBSTDCXX}")
  endif()
  if(SPEAKERNET_JEMALLOC AND JEMALLOC_LIBRARY)
    target_sources(${target} PRIVATE ${CMAKE_SOURCE_DIR}/cmake/jemalloc_conf.cpp)
    target_link_libraries(${target} PRIVATE ${JEMALLOC_LIBRARY})
  endif()
  if(SPEAKERNET_OPENBLAS_DIR)
    target_link_options(${target} PRIVATE "-Wl,--disable-new-dtags,-rpath,${SPEAKERNET_OPENBLAS_DIR}")
  endif()
endfunction()

# speakernet_add_test(NAME SOURCES a.cpp b.cpp DEPS speakernet_x [TORCH])
function(speakernet_add_test name)
  if(NOT SPEAKERNET_BUILD_TESTS OR NOT SPEAKERNET_GTEST_AVAILABLE)
    return()
  endif()
  cmake_parse_arguments(T "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${T_SOURCES} ${CMAKE_SOURCE_DIR}/src/speakernet/common/test_main.cpp)
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock)
  target_compile_definitions(${name} PRIVATE
      SPEAKERNET_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
      SPEAKERNET_PYTHON="/usr/bin/python3")
  if(T_TORCH)
    speakernet_use_pch(${name})
  endif()
  speakernet_runtime_defaults(${name})
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES TIMEOUT 900)
endfunction()
