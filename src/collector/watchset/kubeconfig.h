// Where the API servers are and how to authenticate to them: clusters from
// a kubeconfig file (every context, or the chosen ones) or the in-cluster
// service account a pod runs with.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace kl::collector {

struct ClusterCredentials {
  std::string name;    // the context name; the cluster name in events
  std::string server;  // https://host:port (no trailing slash)
  std::string ca_pem;  // empty: the system trust store
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;       // bearer token
  std::string token_file;  // re-read for every request (service-account tokens rotate)
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
};

// Reads a kubeconfig. `contexts` empty: every context. File references
// (certificate-authority, client-certificate, client-key, tokenFile) are
// resolved against the kubeconfig's directory and read now.
Result<std::vector<ClusterCredentials>> LoadKubeconfig(const std::string& path,
                                                       const std::vector<std::string>& contexts = {});
Result<std::vector<ClusterCredentials>> ParseKubeconfig(const std::string& yaml, const std::string& base_dir,
                                                        const std::vector<std::string>& contexts = {});

// Credentials of the pod's service account: KUBERNETES_SERVICE_HOST/PORT and
// the files under `sa_dir` (/var/run/secrets/kubernetes.io/serviceaccount).
Result<ClusterCredentials> InClusterCredentials(const std::string& cluster_name,
                                                const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The bearer token to send now (token, or the token file's current content).
Result<std::string> CurrentToken(const ClusterCredentials& credentials);

}  // namespace kl::collector
