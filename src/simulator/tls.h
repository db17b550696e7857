// Certificates for the simulated API servers: a self-signed CA and a server
// certificate it signs for 127.0.0.1/localhost, made with OpenSSL's
// libcrypto (ECDSA P-256, which Go's TLS used by kubectl and libcurl accept).
#pragma once

#include <string>

#include "common/result.h"

namespace kl::simulator {

struct TlsMaterial {
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
};

// `common_name` names the CA ("kubelake-sim-ca"). Valid for ten years from now.
Result<TlsMaterial> GenerateTlsMaterial(const std::string& common_name);

std::string Base64Encode(std::string_view data);

}  // namespace kl::simulator
