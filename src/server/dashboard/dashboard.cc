#include "server/dashboard/dashboard.h"

namespace kl::server {

namespace {

std::string ContentType(std::string_view path) {
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "text/html; charset=utf-8";
}

}  // namespace

void AddDashboardRoutes(std::map<std::string, HttpHandler>* routes) {
  for (const EmbeddedAsset& a : EmbeddedAssets()) {
    HttpResponse response{200, ContentType(a.path), std::string(a.data), {}};
    // Assets change only with the binary; the page itself is cheap to re-fetch.
    response.headers.emplace_back("Cache-Control", a.path == "/" ? "no-cache" : "public, max-age=3600");
    response.headers.emplace_back("Content-Security-Policy",
                                  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
    HttpHandler serve = [response](const HttpRequest&) { return response; };
    (*routes)[std::string(a.path)] = serve;
    if (a.path == "/") (*routes)["/index.html"] = serve;
  }
}

}  // namespace kl::server
