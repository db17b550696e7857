// cli — the `kubelake` program: one subcommand family per part, each added
// by its own file here. The CLI is the top of the one-way data flow and may
// use every part.
#pragma once

#include <CLI/CLI.hpp>

#include "common/status.h"

namespace kl::cli {

// Each Add*Commands registers a subcommand family on the root app.
void AddVersionCommand(CLI::App* app);
void AddTableCommands(CLI::App* app);
void AddLogCommands(CLI::App* app);
void AddCollectorCommands(CLI::App* app);
void AddSimulatorCommands(CLI::App* app);
void AddRunCommands(CLI::App* app);
void AddSqlCommands(CLI::App* app);

// Records the outcome of the running command: an error is printed to stderr
// ("kubelake: <what went wrong>") and main() exits with status 1.
void Finish(const Status& status);
int ExitCode();

}  // namespace kl::cli
