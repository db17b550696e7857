#include "cli/ingest_options.h"

#include "common/file/file_util.h"

namespace kl::cli {

void AddIngestOptions(CLI::App* cmd, IngestArgs* a) {
  cmd->add_option("--listen-ingest", a->listen,
                  "HOST:PORT where in-cluster collectors ship events (kubelake collect --sink https://...), or off")
      ->capture_default_str();
  cmd->add_option("--ingest-tls-cert", a->tls_cert, "ingest: server certificate (PEM)");
  cmd->add_option("--ingest-tls-key", a->tls_key, "ingest: server key (PEM)");
  cmd->add_option("--ingest-client-ca", a->client_ca,
                  "ingest: CA (PEM) whose client certificates identify clusters (certificateCommonName)");
  cmd->add_flag("--ingest-plain-http", a->plain_http,
                "ingest: accept plain HTTP (only behind a TLS-terminating proxy or for tests)");
  cmd->add_option("--ingest-clusters", a->clusters_file,
                  "ingest: YAML list of accepted clusters and their tokens or certificate names (re-read on change)");
  cmd->add_option("--ingest-state", a->state_path,
                  "ingest: file of acknowledged positions (default: <data-dir>/ingest/state.json)");
  cmd->add_option("--ingest-max-appends", a->max_concurrent_appends,
                  "ingest: batches appended at once; more wait, then get 503 (backpressure)")
      ->capture_default_str();
  cmd->add_option("--ingest-threads", a->threads,
                  "ingest: threads serving the collectors' connections from an event loop each; a batch being "
                  "appended holds its thread (0: the number of cores, at least 2)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

Result<std::unique_ptr<ingest::IngestServer>> StartIngest(const IngestArgs& a, log::EventLog* log,
                                                          const std::string& data_dir,
                                                          const std::set<std::string>& local_clusters) {
  if (!a.enabled()) return std::unique_ptr<ingest::IngestServer>();
  ingest::IngestOptions o;
  KL_RETURN_IF_ERROR(ingest::ParseListenAddress(a.listen, &o.http.host, &o.http.port));
  if (a.tls_cert.empty() != a.tls_key.empty()) {
    return Status::InvalidArgument("--ingest-tls-cert and --ingest-tls-key go together");
  }
  if (a.tls_cert.empty() && !a.plain_http) {
    return Status::InvalidArgument(
        "--listen-ingest needs --ingest-tls-cert and --ingest-tls-key (tokens must not cross networks in clear "
        "text); --ingest-plain-http only behind a TLS-terminating proxy");
  }
  if (!a.tls_cert.empty()) {
    KL_ASSIGN_OR_RETURN(o.http.tls_cert_pem, ReadFile(a.tls_cert));
    KL_ASSIGN_OR_RETURN(o.http.tls_key_pem, ReadFile(a.tls_key));
  }
  if (!a.client_ca.empty()) {
    KL_ASSIGN_OR_RETURN(o.http.client_ca_pem, ReadFile(a.client_ca));
  }
  if (a.clusters_file.empty()) {
    return Status::InvalidArgument(
        "--listen-ingest needs --ingest-clusters FILE (the clusters accepted, and their credentials)");
  }
  o.clusters_file = a.clusters_file;
  o.state_path = a.state_path.empty() ? JoinPath(data_dir, "ingest/state.json") : a.state_path;
  o.local_clusters = local_clusters;
  o.max_concurrent_appends = a.max_concurrent_appends;
  if (a.threads > 0) o.http.threads = static_cast<unsigned>(a.threads);
  return ingest::IngestServer::Start(log, o);
}

std::string IngestStatusLine(const ingest::IngestServer& server) {
  ingest::IngestStats s = server.Stats();
  std::string line = "ingest " + std::to_string(s.clusters.size()) + " clusters, " + std::to_string(s.events) +
                     " events, " + std::to_string(s.duplicates) + " duplicates skipped";
  uint64_t refused = s.rejected_auth + s.rejected_malformed;
  if (refused > 0) line += ", " + std::to_string(refused) + " refused";
  if (s.busy > 0) line += ", " + std::to_string(s.busy) + " busy";
  if (s.append_errors > 0) line += ", " + std::to_string(s.append_errors) + " append errors";
  return line;
}

}  // namespace kl::cli
