#include "server/metrics/exposition.h"

#include <cmath>
#include <cstdio>

#include "common/json.h"

namespace kl::server {
namespace {

void AppendEscaped(std::string* out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && quote) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

const char* TypeName(MetricsWriter::Type t) {
  switch (t) {
    case MetricsWriter::Type::kGauge: return "gauge";
    case MetricsWriter::Type::kCounter: return "counter";
    case MetricsWriter::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(v));
    return buf;
  }
  return FormatDouble(v);  // shortest text that reads back exactly
}

void MetricsWriter::Declare(const std::string& name, Type type, std::string_view help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) order_.push_back(name);
  it->second.type = type;
  it->second.help = std::string(help);
}

MetricsWriter::Family& MetricsWriter::Get(const std::string& name) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    order_.push_back(name);
    it->second.type = Type::kGauge;
  }
  return it->second;
}

void MetricsWriter::AppendSample(std::string* out, std::string_view name, const Labels& labels, double value) {
  out->append(name);
  if (!labels.empty()) {
    out->push_back('{');
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append(labels[i].first).append("=\"");
      AppendEscaped(out, labels[i].second, true);
      out->push_back('"');
    }
    out->push_back('}');
  }
  out->push_back(' ');
  out->append(FormatMetricValue(value));
  out->push_back('\n');
}

void MetricsWriter::Add(const std::string& name, const Labels& labels, double value) {
  AppendSample(&Get(name).samples, name, labels, value);
}

void MetricsWriter::AddHistogram(const std::string& name, const Labels& labels, const DurationHistogram& h) {
  Family& f = Get(name);
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  for (size_t i = 0; i < DurationHistogram::kBounds.size(); ++i) {
    with_le.back().second = FormatMetricValue(DurationHistogram::kBounds[i]);
    AppendSample(&f.samples, name + "_bucket", with_le, static_cast<double>(h.cumulative(i)));
  }
  with_le.back().second = "+Inf";
  AppendSample(&f.samples, name + "_bucket", with_le, static_cast<double>(h.count()));
  AppendSample(&f.samples, name + "_sum", labels, h.sum());
  AppendSample(&f.samples, name + "_count", labels, static_cast<double>(h.count()));
}

std::string MetricsWriter::Text() const {
  std::string out;
  for (const auto& name : order_) {
    const Family& f = families_.at(name);
    if (f.samples.empty()) continue;
    out.append("# HELP ").append(name).push_back(' ');
    AppendEscaped(&out, f.help, false);
    out.append("\n# TYPE ").append(name).push_back(' ');
    out.append(TypeName(f.type)).push_back('\n');
    out.append(f.samples);
  }
  return out;
}

}  // namespace kl::server
