# Every dependency is a Debian -dev package (see README). A CUDA LibTorch only needs
# -DCMAKE_PREFIX_PATH=/path/to/libtorch.
find_package(Torch REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)
pkg_check_modules(SOXR REQUIRED IMPORTED_TARGET soxr)
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)

# LibTorch 2.x ships its own fmt headers in its include dir, and compilers search it before the
# system dir, so Debian's spdlog (built for the system fmt 9) would compile against torch's fmt
# and fail ('basic_runtime' is not a member of 'fmt'). Forwarding headers for every system fmt
# header, searched before any linked target's include dirs, keep <fmt/...> on the system fmt.
get_target_property(SPEAKERNET_FMT_INCLUDE fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
foreach(dir ${TORCH_INCLUDE_DIRS})
  if(EXISTS "${dir}/fmt/format.h" AND SPEAKERNET_FMT_INCLUDE AND
     NOT "${dir}" STREQUAL "${SPEAKERNET_FMT_INCLUDE}")
    file(GLOB headers RELATIVE "${SPEAKERNET_FMT_INCLUDE}/fmt" "${SPEAKERNET_FMT_INCLUDE}/fmt/*.h")
    foreach(h ${headers})
      file(WRITE "${CMAKE_BINARY_DIR}/fmt-shim/fmt/${h}"
           "#include \"${SPEAKERNET_FMT_INCLUDE}/fmt/${h}\"  // see cmake/dependencies.cmake\n")
    endforeach()
    include_directories(BEFORE SYSTEM "${CMAKE_BINARY_DIR}/fmt-shim")
    message(STATUS "speakernet: ${dir}/fmt shadows the system fmt; using forwarding headers")
    break()
  endif()
endforeach()
find_package(Threads REQUIRED)

# ONNX export (Debian: libonnx-dev, whose CMake targets need protobuf's): optional, without it
# `speakernet export --onnx` explains what to install.
find_package(Protobuf QUIET)
find_package(ONNX QUIET CONFIG)
if(Protobuf_FOUND AND TARGET onnx)
  set(SPEAKERNET_ONNX_FOUND ON)
  message(STATUS "speakernet: ONNX ${ONNX_VERSION} (ONNX export)")
else()
  set(SPEAKERNET_ONNX_FOUND OFF)
  message(STATUS "speakernet: ONNX (libonnx-dev) not found; ONNX export is not available")
endif()
find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)

# yaml-cpp 0.7 exports `yaml-cpp`; newer releases export `yaml-cpp::yaml-cpp`.
if(TARGET yaml-cpp::yaml-cpp)
  set(SPEAKERNET_YAML_TARGET yaml-cpp::yaml-cpp)
else()
  set(SPEAKERNET_YAML_TARGET yaml-cpp)
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  # pch_defines/time_macros let ccache cache translation units that use the PCH; BASEDIR and
  # NOHASHDIR make hits independent of where the checkout lives (CI clones to a new folder).
  # Not include_file_mtime/ctime: with them ccache also caches a compile during which a source
  # or header changed (a checkout or rebase under a running build), and a later build got the
  # object of the old source for the new one (seen: a stale embedder.cpp.o, segfaults).
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros
      CCACHE_BASEDIR=${CMAKE_SOURCE_DIR} CCACHE_NOHASHDIR=1
      ${CCACHE_PROGRAM})
  message(STATUS "speakernet: using ccache ${CCACHE_PROGRAM}")
endif()

find_library(JEMALLOC_LIBRARY NAMES jemalloc)

# The shared libstdc++ the compiler links against (see speakernet_runtime_defaults).
execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libstdc++.so.6
                OUTPUT_VARIABLE SPEAKERNET_LIBSTDCXX OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET)
if(NOT IS_ABSOLUTE "${SPEAKERNET_LIBSTDCXX}" OR NOT EXISTS "${SPEAKERNET_LIBSTDCXX}")
  # A toolchain that links libstdc++ statically (seen: /opt/gcc on Ubuntu) knows no shared one;
  # the executables still load the system's through LibTorch.
  find_library(SPEAKERNET_SYSTEM_LIBSTDCXX NAMES libstdc++.so.6
               PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE} /usr/lib64 /usr/lib NO_DEFAULT_PATH)
  set(SPEAKERNET_LIBSTDCXX "${SPEAKERNET_SYSTEM_LIBSTDCXX}")
endif()
message(STATUS "speakernet: executables link ${SPEAKERNET_LIBSTDCXX} first")

# Debian's libtorch links libblas.so.3, whose default provider is the slow reference BLAS.
# When the OpenMP OpenBLAS is installed, point the executables' RPATH at it (DT_RPATH is
# transitive, so libtorch_cpu resolves libblas.so.3 there) without touching the system.
set(SPEAKERNET_OPENBLAS_DIR "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp")
if(NOT EXISTS "${SPEAKERNET_OPENBLAS_DIR}/libblas.so.3")
  set(SPEAKERNET_OPENBLAS_DIR "")
endif()

if(TARGET GTest::gtest_main)
  set(SPEAKERNET_GTEST_AVAILABLE ON)
else()
  find_package(GTest QUIET)
  set(SPEAKERNET_GTEST_AVAILABLE ${GTest_FOUND})
endif()
find_package(benchmark QUIET)

# oneDNN (optional; Debian: libdnnl-dev): its int8 GEMM (VNNI) preselects the AS-norm top-N
# candidates, about 4x the fp32 product's throughput. Without it (e.g. a pip CUDA LibTorch, whose
# bundled oneDNN exports no C API) AS-norm uses the fp32 product only.
option(SPEAKERNET_WITH_DNNL "Use the system oneDNN for the int8 AS-norm preselection" ON)
set(SPEAKERNET_DNNL_FOUND OFF)
if(SPEAKERNET_WITH_DNNL)
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h)
  find_library(DNNL_LIBRARY NAMES dnnl)
  if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY)
    set(SPEAKERNET_DNNL_FOUND ON)
    message(STATUS "speakernet: oneDNN ${DNNL_LIBRARY} (int8 AS-norm preselection)")
  else()
    message(STATUS "speakernet: oneDNN not found; AS-norm uses the fp32 product only")
  endif()
endif()
