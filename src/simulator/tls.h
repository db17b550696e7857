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
  std::string ca_key_pem;  // signs client certificates (GenerateClientCertificate)
};

struct ClientCertificate {
  std::string cert_pem;
  std::string key_pem;
};
// A client certificate (extendedKeyUsage clientAuth) for `common_name`, signed by the CA of `ca`.
Result<ClientCertificate> GenerateClientCertificate(const TlsMaterial& ca, const std::string& common_name);

// `common_name` names the CA ("kubelake-sim-ca"). Valid for ten years from now.
Result<TlsMaterial> GenerateTlsMaterial(const std::string& common_name);

std::string Base64Encode(std::string_view data);

}  // namespace kl::simulator
