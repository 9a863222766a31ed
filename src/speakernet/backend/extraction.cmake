# Extraction runs trained models (LibTorch); it is a separate target so that scoring and
# metrics stay torch-free and quick to compile.
speakernet_add_layer(extraction TORCH
  SOURCES embedding_extractor.cpp
  DEPS speakernet_backend speakernet_training)

speakernet_add_test(extraction_test TORCH
  SOURCES embedding_extractor_test.cpp
  DEPS speakernet_extraction)
