#include "server/server.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include "server/dashboard/dashboard.h"
#include "server/http/api.h"
#include "server/http/http_server.h"
#include "server/http/sql_api.h"
#include "server/metrics/metrics.h"
#include "server/pgwire/engine/sql_engine.h"
#include "sql/sql.h"

namespace kl::server {

Result<std::unique_ptr<Server>> Server::Start(ServeOptions options, LiveSources live, QueryEngine* engine) {
  std::unique_ptr<Server> s(new Server());
  s->options_ = std::move(options);
  s->live_ = std::move(live);
  KL_ASSIGN_OR_RETURN(auto http_address, ParseListenAddress(s->options_.listen_http, "--listen-http"));
  KL_ASSIGN_OR_RETURN(auto pg_address, ParseListenAddress(s->options_.listen_pg, "--listen-pg"));
  if (engine == nullptr && s->options_.sql) {
    pg::PgEngineOptions eo;
    eo.warehouse = s->options_.warehouse.warehouse;
    eo.database = s->options_.warehouse.database;
    eo.allow_writes = s->options_.pg_allow_writes;
    KL_ASSIGN_OR_RETURN(s->sql_, pg::PgSqlEngine::Create(eo));
    engine = s->sql_.get();
  }
  if (http_address) {
    std::map<std::string, HttpHandler> routes;
    Server* self = s.get();
    ApiContext api;
    api.warehouse = s->options_.warehouse;
    api.ready_max_age_ms = s->options_.ready_max_age_ms;
    api.status = [self] { return GatherStatus(self->options_.warehouse, self->live_); };
    AddApiRoutes(api, &routes);
    AddDashboardRoutes(&routes);
    HttpServerOptions http_options;
    if (s->sql_) {
      SqlApiOptions sql_options;
      sql_options.max_rows = s->options_.http_sql_max_rows;
      sql_options.timeout_ms = s->options_.http_sql_timeout_ms;
      AddSqlApiRoute(s->sql_->shared_sql_engine(), sql_options, &routes, &http_options);
    }
    routes["/metrics"] = [self](const HttpRequest&) {
      return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", self->MetricsText(), {}};
    };
    auto http = HttpServer::Start(*http_address, routes, nullptr, http_options);
    if (!http.ok() && s->options_.any_port_if_busy && http_address->port != 0) {
      spdlog::warn("{}; using a free port instead", http.status().message());
      ListenAddress any = *http_address;
      reinterpret_cast<sockaddr_in*>(&any.addr)->sin_port = 0;  // same offset for IPv6's sin6_port
      any.port = 0;
      http = HttpServer::Start(any, routes, nullptr, http_options);
    }
    KL_RETURN_IF_ERROR(http.status());
    s->http_ = std::move(*http);
    if (!http_address->loopback) spdlog::warn("HTTP server listens on {}, beyond this machine", s->http_->url());
  }
  if (pg_address) {
    auto pg = PgServer::Start(*pg_address, s->options_.pg, engine);
    if (!pg.ok() && s->options_.any_port_if_busy && pg_address->port != 0 &&
        pg.status().code() == StatusCode::kIOError) {
      spdlog::warn("{}; using a free port instead", pg.status().message());
      reinterpret_cast<sockaddr_in*>(&pg_address->addr)->sin_port = 0;
      pg_address->port = 0;
      pg = PgServer::Start(*pg_address, s->options_.pg, engine);
    }
    KL_RETURN_IF_ERROR(pg.status());
    s->pg_ = std::move(*pg);
    s->pg_address_ = pg_address->ToString(s->pg_->port());
  }
  return s;
}

Server::~Server() {
  Stop();
  http_.reset();
  pg_.reset();
}

void Server::Stop() {
  if (http_) http_->Stop();
  if (pg_) pg_->Stop();
}

std::string Server::http_url() const { return http_ ? http_->url() : ""; }
std::string Server::pg_address() const { return pg_address_; }
int Server::http_port() const { return http_ ? http_->port() : 0; }
int Server::pg_port() const { return pg_ ? pg_->port() : 0; }

std::string Server::MetricsText() const {
  MetricsWriter w;
  w.Declare("kubelake_build_info", MetricsWriter::Type::kGauge, "Always 1; the labels describe this kubelake.");
  w.Add("kubelake_build_info", {{"version", kKubelakeVersion}}, 1);
  Status inventory = WriteInventoryMetrics(options_.warehouse, &w);
  w.Declare("kubelake_metrics_inventory_ok", MetricsWriter::Type::kGauge,
            "1 when the inventory gauges could be read from the ADS tables at this scrape.");
  w.Add("kubelake_metrics_inventory_ok", {}, inventory.ok() ? 1 : 0);
  if (!inventory.ok()) spdlog::warn("/metrics: reading the inventory: {}", inventory.ToString());
  WriteSystemMetrics(GatherStatus(options_.warehouse, live_), &w);
  if (pg_) pg_->WriteMetrics(&w);
  return w.Text();
}

}  // namespace kl::server
