# Extraction runs trained models (LibTorch); it is a separate target so that scoring and
# metrics stay torch-free and quick to compile.
speakernet_add_layer(extraction TORCH
  SOURCES embedding_extractor.cpp
  DEPS speakernet_backend speakernet_augmentation speakernet_training)

speakernet_add_test(extraction_test TORCH
  SOURCES embedding_extractor_test.cpp
  DEPS speakernet_extraction)

# DET curves and score histograms. The probit / DET sweep is plain C++; drawing needs cairo
# (libcairo2-dev, installed by tools/setup.sh). Without it the library still builds and the
# `plot` command reports that plotting is unavailable.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(CAIRO IMPORTED_TARGET cairo)
endif()
speakernet_add_layer(plotting
  SOURCES det_plot.cpp
  DEPS speakernet_backend)
if(CAIRO_FOUND)
  target_link_libraries(speakernet_plotting PRIVATE PkgConfig::CAIRO)
  target_compile_definitions(speakernet_plotting PRIVATE SPEAKERNET_HAVE_CAIRO=1)
else()
  message(WARNING "cairo not found (apt-get install libcairo2-dev): `speakernet plot` disabled")
endif()

speakernet_add_test(plot_test
  SOURCES det_plot_test.cpp
  DEPS speakernet_plotting)
