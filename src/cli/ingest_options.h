// The ingest endpoint as command-line options, shared by the commands that
// run a central kubelake (`run`, `pipeline`, and `serve`): --listen-ingest
// HOST:PORT with TLS, client CA, accepted clusters and state file.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <set>
#include <string>

#include "ingest/ingest_server.h"
#include "log/event_log.h"

namespace kl::cli {

struct IngestArgs {
  std::string listen = "off";  // HOST:PORT or off
  std::string tls_cert, tls_key, client_ca;
  bool plain_http = false;
  std::string clusters_file;
  std::string state_path;  // default <data-dir>/ingest/state.json
  int max_concurrent_appends = 4;
  int threads = 0;  // 0: the number of cores, at least 2

  bool enabled() const { return listen != "off" && !listen.empty(); }
};

void AddIngestOptions(CLI::App* cmd, IngestArgs* args);

// The log URI parameter to use for the central log when ingest is on and
// the user chose no log: acknowledgements wait for fdatasync.
inline constexpr const char* kIngestLogFsync = "fsync=batch";

// Starts the endpoint on `log` (nullptr when ingest is off).
Result<std::unique_ptr<ingest::IngestServer>> StartIngest(const IngestArgs& args, log::EventLog* log,
                                                          const std::string& data_dir,
                                                          const std::set<std::string>& local_clusters);

// "ingest 4 clusters, 1234 events, 2 refused" for status lines.
std::string IngestStatusLine(const ingest::IngestServer& server);

}  // namespace kl::cli
