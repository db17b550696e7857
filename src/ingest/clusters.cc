#include "ingest/clusters.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include "common/file/file_util.h"
#include "common/string_util.h"

namespace kl::ingest {

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

Result<AcceptedClusters> AcceptedClusters::Parse(const std::string& yaml, const std::string& base_dir) {
  AcceptedClusters out;
  try {
    YAML::Node root = YAML::Load(yaml);
    YAML::Node list = root ? root["clusters"] : YAML::Node();
    if (!list || !list.IsSequence())
      return Status::InvalidArgument("accepted clusters: expected a list under \"clusters:\"");
    size_t i = 0;
    for (const YAML::Node& n : list) {
      ++i;
      auto where = "accepted clusters: entry " + std::to_string(i);
      if (!n.IsMap()) return Status::InvalidArgument(where + " is not a mapping");
      AcceptedCluster c;
      c.name = n["name"] ? n["name"].as<std::string>() : "";
      if (c.name.empty()) return Status::InvalidArgument(where + " has no name");
      where += " (" + c.name + ")";
      if (n["tokenSha256"]) {
        c.token_sha256 = ToLower(Trim(n["tokenSha256"].as<std::string>()));
        if (c.token_sha256.size() != 64 || c.token_sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
          return Status::InvalidArgument(where + ": tokenSha256 must be 64 hex digits (sha256sum of the token)");
        }
      }
      std::string token;
      if (n["token"]) token = n["token"].as<std::string>();
      if (n["tokenFile"]) {
        std::string path = n["tokenFile"].as<std::string>();
        if (!path.empty() && path[0] != '/' && !base_dir.empty()) path = JoinPath(base_dir, path);
        auto text = ReadFile(path);
        if (!text.ok()) return text.status().WithContext(where + ": tokenFile");
        token = std::string(Trim(*text));
      }
      if (!token.empty()) {
        if (!c.token_sha256.empty())
          return Status::InvalidArgument(where + ": give one of token, tokenFile, tokenSha256");
        c.token_sha256 = Sha256Hex(token);
      }
      if (n["certificateCommonName"]) c.certificate_cn = n["certificateCommonName"].as<std::string>();
      if (c.token_sha256.empty() && c.certificate_cn.empty()) {
        return Status::InvalidArgument(where +
                                       ": needs a token (token, tokenFile or tokenSha256) or certificateCommonName");
      }
      if (!out.clusters_.emplace(c.name, c).second) return Status::InvalidArgument(where + ": listed twice");
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("accepted clusters: ") + e.what());
  }
  return out;
}

Result<AcceptedClusters> AcceptedClusters::Load(const std::string& path) {
  KL_ASSIGN_OR_RETURN(std::string yaml, ReadFile(path));
  auto r = Parse(yaml, DirName(path));
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

const AcceptedCluster* AcceptedClusters::Find(const std::string& name) const {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : &it->second;
}

int AcceptedClusters::Authenticate(const std::string& claimed, const std::string& bearer_token,
                                   const std::string& cert_cn, std::string* error) const {
  const AcceptedCluster* c = Find(claimed);
  if (c == nullptr) {
    *error = "cluster \"" + claimed + "\" is not accepted by this kubelake (not in its list of clusters)";
    return 403;
  }
  if (!cert_cn.empty() && !c->certificate_cn.empty()) {
    if (cert_cn == c->certificate_cn) return 0;
    *error = "client certificate (CN \"" + cert_cn + "\") is not the one of cluster \"" + claimed + "\"";
    return 403;
  }
  if (!bearer_token.empty()) {
    if (c->token_sha256.empty()) {
      *error = "cluster \"" + claimed + "\" authenticates with a client certificate, not a token";
      return 401;
    }
    std::string got = Sha256Hex(bearer_token);
    if (got.size() == c->token_sha256.size() && CRYPTO_memcmp(got.data(), c->token_sha256.data(), got.size()) == 0) {
      return 0;
    }
    *error = "wrong token for cluster \"" + claimed + "\"";
    return 401;
  }
  if (!cert_cn.empty()) {
    *error = "cluster \"" + claimed + "\" accepts no client certificate (CN \"" + cert_cn + "\")";
    return 401;
  }
  *error = "no credentials: send a bearer token or a client certificate for cluster \"" + claimed + "\"";
  return 401;
}

}  // namespace kl::ingest
