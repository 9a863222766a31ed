// Each subcommand lives in its own `<name>_command.cpp` and registers itself with
// SPEAKERNET_REGISTER_COMMAND; main.cpp adds every registered command to the CLI11 app. A new
// command is therefore one new file (cli/CMakeLists.txt globs `*_command.cpp`).
#pragma once

#include <CLI/CLI.hpp>

#include <vector>

namespace speakernet {

using CommandAdder = void (*)(CLI::App& app);

struct RegisteredCommand {
  int order;  // place in --help; commands are listed in data-flow order
  CommandAdder add;
};

// All commands registered so far, sorted by `order`.
std::vector<RegisteredCommand> RegisteredCommands();

struct CommandRegistrar {
  CommandRegistrar(int order, CommandAdder add);
};

}  // namespace speakernet

// Help order used so far: 10 compute-fbank, 15 compute-vad, 20 train, 30 import, 31 export,
// 32 convert, 33 average, 35 model-info, 40 extract, 50 score, 55 calibrate/fuse,
// 56 make-calib-trials, 60 eval, 65 plot.
#define SPEAKERNET_REGISTER_COMMAND(order, adder) \
  static const ::speakernet::CommandRegistrar adder##_registrar { (order), &(adder) }
