#include "speakernet/cli/commands.h"

#include <algorithm>

namespace speakernet {
namespace {

// A function-local static: registrars in other translation units run during static
// initialisation, in an unspecified order, possibly before any namespace-scope vector exists.
std::vector<RegisteredCommand>& Registry() {
  static std::vector<RegisteredCommand> registry;
  return registry;
}

}  // namespace

CommandRegistrar::CommandRegistrar(int order, CommandAdder add) {
  Registry().push_back({order, add});
}

std::vector<RegisteredCommand> RegisteredCommands() {
  std::vector<RegisteredCommand> commands = Registry();
  std::stable_sort(commands.begin(), commands.end(),
                   [](const RegisteredCommand& a, const RegisteredCommand& b) {
                     return a.order < b.order;
                   });
  return commands;
}

}  // namespace speakernet
