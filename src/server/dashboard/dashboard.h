// The web dashboard: HTML, CSS and JavaScript under dashboard/web plus the
// charting library (uPlot, from npm at build time), compiled into the binary
// so that kubelake serves it with no network at run time.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/http_server.h"

namespace kl::server {

struct EmbeddedAsset {
  std::string_view path;  // URL path: "/", "/assets/app.js"
  std::string_view data;
};

// Generated at build time (cmake/EmbedFiles.cmake).
const std::vector<EmbeddedAsset>& EmbeddedAssets();

// Adds a route per asset (and "/index.html").
void AddDashboardRoutes(std::map<std::string, HttpHandler>* routes);

}  // namespace kl::server
