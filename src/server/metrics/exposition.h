// Prometheus text exposition format (version 0.0.4): families with HELP and
// TYPE, label values escaped, every sample of a family written together.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/histogram.h"

namespace kl::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsWriter {
 public:
  enum class Type { kGauge, kCounter, kHistogram };

  // Declares a family; samples may be added to it in any order afterwards.
  void Declare(const std::string& name, Type type, std::string_view help);
  // One sample of a gauge or counter family.
  void Add(const std::string& name, const Labels& labels, double value);
  // The _bucket, _sum and _count samples of a histogram family.
  void AddHistogram(const std::string& name, const Labels& labels, const DurationHistogram& h);

  // The exposition text, families in declaration order; families without samples are left out.
  std::string Text() const;

 private:
  struct Family {
    Type type;
    std::string help;
    std::string samples;
  };
  Family& Get(const std::string& name);
  static void AppendSample(std::string* out, std::string_view name, const Labels& labels, double value);

  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

// "1", "0.25", "+Inf", "NaN": Go's ParseFloat reads all of them back.
std::string FormatMetricValue(double v);

}  // namespace kl::server
