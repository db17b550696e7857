#include "collector/watchset/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <map>

#include "common/file/file_util.h"
#include "common/string_util.h"

namespace kl::collector {
namespace {

Result<std::string> Base64Decode(std::string_view in, const std::string& what) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    int v = value(c);
    if (v < 0) return Status::InvalidArgument(what + ": not base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string Str(const YAML::Node& node, const char* key) {
  if (!node || !node.IsMap()) return "";
  YAML::Node v = node[key];
  if (!v || !v.IsScalar()) return "";
  return v.as<std::string>();
}

bool Bool(const YAML::Node& node, const char* key) {
  std::string v = ToLower(Str(node, key));
  return v == "true" || v == "yes" || v == "1";
}

// Inline data (base64) wins over a file reference, as in kubectl.
Result<std::string> DataOrFile(const YAML::Node& node, const char* data_key, const char* file_key,
                               const std::string& base_dir, const std::string& what) {
  std::string data = Str(node, data_key);
  if (!data.empty()) return Base64Decode(data, what + " " + data_key);
  std::string file = Str(node, file_key);
  if (file.empty()) return std::string();
  if (file[0] != '/') file = JoinPath(base_dir, file);
  return ReadFile(file);
}

// Maps a list of {name, <field>} entries by name.
std::map<std::string, YAML::Node> ByName(const YAML::Node& list, const char* field) {
  std::map<std::string, YAML::Node> out;
  if (!list || !list.IsSequence()) return out;
  for (const YAML::Node& item : list) out[Str(item, "name")] = item[field];
  return out;
}

}  // namespace

Result<std::vector<ClusterCredentials>> ParseKubeconfig(const std::string& yaml, const std::string& base_dir,
                                                        const std::vector<std::string>& contexts) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("kubeconfig: ") + e.what());
  }
  try {
    auto clusters = ByName(root["clusters"], "cluster");
    auto users = ByName(root["users"], "user");
    std::vector<ClusterCredentials> out;
    std::vector<std::string> wanted = contexts;
    if (wanted.empty()) {
      if (root["contexts"] && root["contexts"].IsSequence()) {
        for (const YAML::Node& c : root["contexts"]) wanted.push_back(Str(c, "name"));
      }
    }
    auto ctxs = ByName(root["contexts"], "context");
    for (const std::string& name : wanted) {
      auto ctx = ctxs.find(name);
      if (ctx == ctxs.end()) return Status::NotFound("kubeconfig: no context named \"" + name + "\"");
      std::string cluster_name = Str(ctx->second, "cluster");
      auto cluster = clusters.find(cluster_name);
      if (cluster == clusters.end()) {
        return Status::NotFound("kubeconfig: context \"" + name + "\" names unknown cluster \"" + cluster_name + "\"");
      }
      ClusterCredentials cred;
      cred.name = name;
      cred.server = Str(cluster->second, "server");
      while (!cred.server.empty() && cred.server.back() == '/') cred.server.pop_back();
      if (cred.server.empty())
        return Status::InvalidArgument("kubeconfig: cluster \"" + cluster_name + "\" has no server");
      cred.insecure_skip_tls_verify = Bool(cluster->second, "insecure-skip-tls-verify");
      cred.tls_server_name = Str(cluster->second, "tls-server-name");
      std::string what = "kubeconfig cluster \"" + cluster_name + "\"";
      KL_ASSIGN_OR_RETURN(cred.ca_pem, DataOrFile(cluster->second, "certificate-authority-data",
                                                  "certificate-authority", base_dir, what));
      std::string user_name = Str(ctx->second, "user");
      auto user = users.find(user_name);
      if (user != users.end() && user->second) {
        what = "kubeconfig user \"" + user_name + "\"";
        KL_ASSIGN_OR_RETURN(cred.client_cert_pem,
                            DataOrFile(user->second, "client-certificate-data", "client-certificate", base_dir, what));
        KL_ASSIGN_OR_RETURN(cred.client_key_pem,
                            DataOrFile(user->second, "client-key-data", "client-key", base_dir, what));
        cred.token = Str(user->second, "token");
        std::string token_file = Str(user->second, "tokenFile");
        if (!token_file.empty()) cred.token_file = token_file[0] == '/' ? token_file : JoinPath(base_dir, token_file);
        if (user->second["exec"] || user->second["auth-provider"]) {
          return Status::NotSupported(what +
                                      ": exec and auth-provider credentials are not supported; use a token or "
                                      "a client certificate");
        }
      } else if (!user_name.empty()) {
        return Status::NotFound("kubeconfig: context \"" + name + "\" names unknown user \"" + user_name + "\"");
      }
      out.push_back(std::move(cred));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("kubeconfig: ") + e.what());
  }
}

Result<std::vector<ClusterCredentials>> LoadKubeconfig(const std::string& path,
                                                       const std::vector<std::string>& contexts) {
  KL_ASSIGN_OR_RETURN(std::string yaml, ReadFile(path));
  auto result = ParseKubeconfig(yaml, DirName(path), contexts);
  if (!result.ok()) return result.status().WithContext(path);
  return result;
}

Result<ClusterCredentials> InClusterCredentials(const std::string& cluster_name, const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr) {
    return Status::NotFound("in-cluster credentials: KUBERNETES_SERVICE_HOST/PORT not set (not running in a pod?)");
  }
  ClusterCredentials cred;
  cred.name = cluster_name;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  cred.server = "https://" + h + ":" + port;
  cred.token_file = JoinPath(sa_dir, "token");
  KL_ASSIGN_OR_RETURN(cred.ca_pem, ReadFile(JoinPath(sa_dir, "ca.crt")));
  KL_RETURN_IF_ERROR(CurrentToken(cred).status());
  return cred;
}

Result<std::string> CurrentToken(const ClusterCredentials& c) {
  if (c.token_file.empty()) return c.token;
  KL_ASSIGN_OR_RETURN(std::string token, ReadFile(c.token_file));
  return std::string(Trim(token));
}

}  // namespace kl::collector
