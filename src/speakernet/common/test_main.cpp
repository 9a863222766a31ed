// Shared GoogleTest entry point: quiet logging, deterministic single-threaded torch.
#include <gtest/gtest.h>

#include "speakernet/common/logging.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  speakernet::InitLogging("warn");
  return RUN_ALL_TESTS();
}
