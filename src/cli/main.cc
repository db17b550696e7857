// kubelake: a real-time operations data warehouse for Kubernetes fleets.
#include <csignal>

#include "cli/commands.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  CLI::App app{"kubelake: a real-time operations data warehouse for fleets of Kubernetes clusters"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kubelake 0.1.0");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")->capture_default_str();
  app.parse_complete_callback([&] { kl::InitLogging(log_level); });

  kl::cli::AddVersionCommand(&app);
  kl::cli::AddTableCommands(&app);
  kl::cli::AddLogCommands(&app);
  kl::cli::AddCollectorCommands(&app);
  kl::cli::AddSimulatorCommands(&app);
  kl::cli::AddRunCommands(&app);
  kl::cli::AddSqlCommands(&app);

  std::signal(SIGPIPE, SIG_IGN);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return kl::cli::ExitCode();
}
