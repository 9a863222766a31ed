// Each subcommand registers itself on the CLI11 app; main.cpp only wires them together.
#pragma once

#include <CLI/CLI.hpp>

namespace speakernet {

void AddComputeFbankCommand(CLI::App& app);
void AddTrainCommand(CLI::App& app);
void AddExtractCommand(CLI::App& app);
void AddScoreCommand(CLI::App& app);
void AddEvalCommand(CLI::App& app);
void AddModelInfoCommand(CLI::App& app);

}  // namespace speakernet
