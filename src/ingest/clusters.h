// The clusters a central kubelake accepts events from, and how each proves
// who it is: a bearer token (kept as its SHA-256, or read from a file) and/or
// a client certificate whose subject common name is given. A YAML file:
//
//   clusters:
//   - name: prod-eu-1
//     tokenSha256: 9f86d08...      # sha256sum of the token; or token: / tokenFile:
//   - name: prod-us-2
//     certificateCommonName: prod-us-2   # client certificate signed by --ingest-client-ca
//
// Every other cluster name, and every credential that does not match the
// claimed cluster, is refused.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace kl::ingest {

struct AcceptedCluster {
  std::string name;
  std::string token_sha256;    // lower-case hex; empty: no token accepted
  std::string certificate_cn;  // empty: no certificate accepted
};

class AcceptedClusters {
 public:
  static Result<AcceptedClusters> Parse(const std::string& yaml, const std::string& base_dir = "");
  static Result<AcceptedClusters> Load(const std::string& path);

  size_t size() const { return clusters_.size(); }
  const AcceptedCluster* Find(const std::string& name) const;

  // Checks that the credentials prove the claimed cluster. Returns 0 when
  // they do, else the HTTP status to answer (401: no or wrong credentials,
  // 403: a cluster not on the list) with *error naming what failed (never the secret).
  int Authenticate(const std::string& claimed, const std::string& bearer_token, const std::string& cert_cn,
                   std::string* error) const;

 private:
  std::map<std::string, AcceptedCluster> clusters_;
};

std::string Sha256Hex(std::string_view data);

}  // namespace kl::ingest
