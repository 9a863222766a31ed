// speakernet: train, evaluate and deploy speaker-embedding networks.
#include <CLI/CLI.hpp>

#include <iostream>

#include "speakernet/cli/commands.h"
#include "speakernet/common/logging.h"
#include "speakernet/common/runtime.h"

int main(int argc, char** argv) {
  CLI::App app{"speakernet: speaker-embedding training, extraction and scoring in C++"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--log-level) may follow the subcommand
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();
  app.set_version_flag("--version", [] {
    return "speakernet " SPEAKERNET_VERSION " (" + speakernet::DescribeBuild() + ")";
  });
  app.parse_complete_callback([&] { speakernet::InitLogging(log_level); });
  for (const speakernet::RegisteredCommand& command : speakernet::RegisteredCommands()) {
    command.add(app);
  }
  // Subcommands that take `--section.key=value` config overrides (they allow extras) must not
  // fall through: CLI11 would hand their unknown options to the app, which rejects them. They get
  // their own --log-level instead, so that it may still follow the subcommand.
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_allow_extras()) {
      sub->fallthrough(false);
      sub->add_option("--log-level", log_level, "trace|debug|info|warn|error");
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
