// Tests: a GET against a (simulated) API server with a cluster's credentials,
// e.g. the simulator's /kubelake/truth, to compare the warehouse with.
#pragma once

#include <curl/curl.h>

#include <string>

#include "collector/watchset/kubeconfig.h"
#include "common/result.h"

namespace kl::testing {

inline Result<std::string> GetFromApiServer(const collector::ClusterCredentials& c, const std::string& path) {
  CURL* curl = curl_easy_init();
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, (c.server + path).c_str());
  curl_blob blob{const_cast<char*>(c.ca_pem.data()), c.ca_pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
  std::string auth = "Authorization: Bearer " + c.token;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* ud) {
        static_cast<std::string*>(ud)->append(p, s * n);
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return Status::Unavailable(curl_easy_strerror(rc));
  return body;
}

}  // namespace kl::testing
