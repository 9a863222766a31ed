# The installed package: a shared libspeakernet holding every layer behind the public API
# (speakernet/speakernet.h, speakernet/c_api.h), the CMake config giving speakernet::speakernet,
# and speakernet.pc. LibTorch is a private dependency: the public headers use the standard
# library only, so a program using speakernet needs neither LibTorch's headers nor its CMake
# files; libspeakernet.so finds libtorch through its RPATH (set to LibTorch's directory).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

configure_file(${CMAKE_SOURCE_DIR}/cmake/version.h.in
               ${CMAKE_BINARY_DIR}/include/speakernet/version.h @ONLY)
set(SPEAKERNET_PUBLIC_HEADERS
    ${CMAKE_SOURCE_DIR}/src/speakernet/speakernet.h
    ${CMAKE_SOURCE_DIR}/src/speakernet/c_api.h
    ${CMAKE_BINARY_DIR}/include/speakernet/version.h)

get_property(speakernet_layers GLOBAL PROPERTY SPEAKERNET_LAYERS)
add_library(speakernet_shared SHARED ${CMAKE_SOURCE_DIR}/cmake/shared_anchor.cpp)
# Every object of every layer goes in (--whole-archive), so static registrations survive; the
# version script exports the public API only (speakernet_* C functions, the public C++ classes).
target_link_libraries(speakernet_shared PRIVATE
    "-Wl,--whole-archive" ${speakernet_layers} "-Wl,--no-whole-archive")
target_link_options(speakernet_shared PRIVATE
    "-Wl,--version-script=${CMAKE_SOURCE_DIR}/cmake/libspeakernet.map")
# Every symbol resolved at link time, except in sanitizer builds: there the sanitizer runtime
# (__asan_*, __sancov_*) comes with the executable that loads the library.
if(NOT SPEAKERNET_SANITIZE)
  target_link_options(speakernet_shared PRIVATE "-Wl,--no-undefined")
endif()
set_property(TARGET speakernet_shared APPEND PROPERTY LINK_DEPENDS
             ${CMAKE_SOURCE_DIR}/cmake/libspeakernet.map)
if(SPEAKERNET_LIBSTDCXX)  # see speakernet_runtime_defaults: the system libstdc++ binds first
  target_link_options(speakernet_shared BEFORE PRIVATE "${SPEAKERNET_LIBSTDCXX}")
endif()
if(SPEAKERNET_OPENBLAS_DIR)  # DT_RPATH (transitive): libtorch resolves libblas to OpenBLAS
  target_link_options(speakernet_shared PRIVATE
                      "-Wl,--disable-new-dtags,-rpath,${SPEAKERNET_OPENBLAS_DIR}")
endif()
target_include_directories(speakernet_shared INTERFACE
    $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/src>
    $<BUILD_INTERFACE:${CMAKE_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(speakernet_shared INTERFACE cxx_std_17)
set_target_properties(speakernet_shared PROPERTIES
    OUTPUT_NAME speakernet EXPORT_NAME speakernet
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib
    INSTALL_RPATH_USE_LINK_PATH ON)
add_library(speakernet::speakernet ALIAS speakernet_shared)

install(TARGETS speakernet_shared EXPORT speakernetTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${SPEAKERNET_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/speakernet)
set(SPEAKERNET_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/speakernet)
install(EXPORT speakernetTargets NAMESPACE speakernet:: DESTINATION ${SPEAKERNET_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/speakernetConfig.cmake.in
    ${CMAKE_BINARY_DIR}/speakernetConfig.cmake INSTALL_DESTINATION ${SPEAKERNET_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/speakernetConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/speakernetConfig.cmake
              ${CMAKE_BINARY_DIR}/speakernetConfigVersion.cmake
        DESTINATION ${SPEAKERNET_CMAKE_DIR})
# The .pc file is relocatable: its paths are relative to its own folder.
file(RELATIVE_PATH SPEAKERNET_PC_INCLUDEDIR ${CMAKE_INSTALL_FULL_LIBDIR}
     ${CMAKE_INSTALL_FULL_INCLUDEDIR})
configure_file(${CMAKE_SOURCE_DIR}/cmake/speakernet.pc.in ${CMAKE_BINARY_DIR}/speakernet.pc
               @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/speakernet.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
