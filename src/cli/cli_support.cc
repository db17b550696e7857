#include <cstdio>

#include "cli/commands.h"

namespace kl::cli {
namespace {
int g_exit_code = 0;
}  // namespace

void Finish(const Status& status) {
  if (status.ok()) return;
  std::fprintf(stderr, "kubelake: %s\n", status.ToString().c_str());
  g_exit_code = 1;
}

int ExitCode() { return g_exit_code; }

void AddVersionCommand(CLI::App* app) {
  auto* cmd = app->add_subcommand("version", "Print the kubelake version");
  cmd->callback([] { std::printf("kubelake 0.1.0\n"); });
}

}  // namespace kl::cli
