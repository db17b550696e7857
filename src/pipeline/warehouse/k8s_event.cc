#include "pipeline/warehouse/k8s_event.h"

#include <simdjson.h>

#include <cmath>
#include <cstdlib>

#include "common/clock.h"
#include "common/string_util.h"

namespace kl::pipeline {
namespace {

// Splits "1.5Gi" into 1.5 and a multiplier; nullopt on junk.
std::optional<double> ParseQuantity(std::string_view q, bool* had_milli) {
  q = Trim(q);
  if (q.empty()) return std::nullopt;
  static const struct {
    const char* suffix;
    double mult;
  } kSuffixes[] = {{"Ki", 1024.0},
                   {"Mi", 1048576.0},
                   {"Gi", 1073741824.0},
                   {"Ti", 1099511627776.0},
                   {"Pi", 1125899906842624.0},
                   {"Ei", 1152921504606846976.0},
                   {"k", 1e3},
                   {"M", 1e6},
                   {"G", 1e9},
                   {"T", 1e12},
                   {"P", 1e15},
                   {"E", 1e18},
                   {"m", 1e-3},
                   {"u", 1e-6},
                   {"n", 1e-9}};
  double mult = 1;
  std::string_view number = q;
  for (const auto& s : kSuffixes) {
    std::string_view suffix(s.suffix);
    if (q.size() > suffix.size() && q.substr(q.size() - suffix.size()) == suffix) {
      mult = s.mult;
      number = q.substr(0, q.size() - suffix.size());
      if (suffix == "m") *had_milli = true;
      break;
    }
  }
  auto v = ParseDouble(number);
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return *v * mult;
}

}  // namespace

std::optional<double> ParseQuantity(std::string_view quantity) {
  bool milli = false;
  return ParseQuantity(quantity, &milli);
}

std::optional<int64_t> ParseCpuMillis(std::string_view quantity) {
  bool milli = false;
  auto v = ParseQuantity(quantity, &milli);
  if (!v) return std::nullopt;
  return static_cast<int64_t>(std::llround(*v * 1000.0));
}

std::optional<int64_t> ParseMemoryBytes(std::string_view quantity) {
  bool milli = false;
  auto v = ParseQuantity(quantity, &milli);
  if (!v) return std::nullopt;
  return static_cast<int64_t>(std::llround(*v));
}

struct K8sEventParser::Impl {
  simdjson::dom::parser parser;
};

K8sEventParser::K8sEventParser(K8sEventOptions options)
    : impl_(std::make_unique<Impl>()), options_(std::move(options)) {}
K8sEventParser::~K8sEventParser() = default;

Result<K8sEvent> K8sEventParser::Parse(std::string_view content) {
  simdjson::dom::element root;
  if (auto err = impl_->parser.parse(content.data(), content.size()).get(root); err) {
    return Status::Corruption(std::string("event content is not JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::object doc;
  if (root.get_object().get(doc)) return Status::Corruption("event content is not a JSON object");
  K8sEvent e;
  auto str = [](simdjson::dom::object o, const char* key) -> std::string {
    std::string_view v;
    if (o.at_key(key).get_string().get(v)) return {};
    return std::string(v);
  };
  auto num = [](simdjson::dom::object o, const char* key) -> int64_t {
    simdjson::dom::element v;
    if (o.at_key(key).get(v)) return 0;
    int64_t i;
    if (!v.get_int64().get(i)) return i;
    uint64_t u;
    if (!v.get_uint64().get(u)) return static_cast<int64_t>(u);
    double d;
    if (!v.get_double().get(d)) return static_cast<int64_t>(d);
    std::string_view s;
    if (!v.get_string().get(s)) return ParseInt64(s).value_or(0);
    return 0;
  };
  e.type = str(doc, "type");
  if (e.type != "ADDED" && e.type != "MODIFIED" && e.type != "DELETED") {
    return Status::Corruption("event type \"" + e.type + "\" is not ADDED, MODIFIED or DELETED");
  }
  e.uid = str(doc, "uid");
  if (e.uid.empty()) return Status::Corruption("event without uid");
  e.kind = str(doc, "kind");
  e.group = str(doc, "group");
  e.version = str(doc, "version");
  e.namespace_ = str(doc, "namespace");
  e.name = str(doc, "name");
  e.resource_version = str(doc, "resourceversion");
  e.rv = ParseInt64(e.resource_version).value_or(0);
  e.watch_name = str(doc, "watchname");
  e.watch_setup_ms = num(doc, "watchsetuptimestamp");
  e.event_time_ms = num(doc, "__time_milli__");
  e.origin = str(doc, "origin");
  bool inferred = false;
  if (!doc.at_key("inferred").get_bool().get(inferred)) e.inferred = inferred;
  if (e.origin == "inferred") e.inferred = true;

  simdjson::dom::object obj;
  if (doc.at_key("obj").get_object().get(obj)) {
    e.labels_json = "{}";
    return e;
  }
  simdjson::dom::object meta;
  if (!obj.at_key("metadata").get_object().get(meta)) {
    simdjson::dom::object labels;
    if (!meta.at_key("labels").get_object().get(labels)) {
      e.labels_json = simdjson::minify(labels);
      auto label = [&](std::string_view key) -> std::string {
        std::string_view v;
        if (labels.at_key(key).get_string().get(v)) return {};
        return std::string(v);
      };
      e.user_id = label(options_.user_label);
      e.instance_id = label(options_.instance_label);
      e.topology_region = label("topology.kubernetes.io/region");
      e.topology_zone = label("topology.kubernetes.io/zone");
    } else {
      e.labels_json = "{}";
    }
    simdjson::dom::array owners;
    if (!meta.at_key("ownerReferences").get_array().get(owners)) {
      for (simdjson::dom::element o : owners) {
        simdjson::dom::object owner;
        if (o.get_object().get(owner)) continue;
        e.owner_kind = str(owner, "kind");
        e.owner_name = str(owner, "name");
        break;
      }
    }
    std::string created = str(meta, "creationTimestamp");
    if (!created.empty()) e.created_ms = std::max<int64_t>(0, ParseRfc3339Millis(created));
  } else {
    e.labels_json = "{}";
  }
  simdjson::dom::object spec;
  if (!obj.at_key("spec").get_object().get(spec)) {
    e.node_name = str(spec, "nodeName");
    bool unschedulable = false;
    if (!spec.at_key("unschedulable").get_bool().get(unschedulable)) e.unschedulable = unschedulable;
    if (e.kind == "Pod") {
      simdjson::dom::array containers;
      if (!spec.at_key("containers").get_array().get(containers)) {
        for (simdjson::dom::element c : containers) {
          simdjson::dom::object requests;
          if (c.at_pointer("/resources/requests").get_object().get(requests)) continue;
          std::string_view cpu, mem;
          if (!requests.at_key("cpu").get_string().get(cpu)) e.cpu_request_milli += ParseCpuMillis(cpu).value_or(0);
          if (!requests.at_key("memory").get_string().get(mem)) {
            e.memory_request_bytes += ParseMemoryBytes(mem).value_or(0);
          }
        }
      }
    }
  }
  simdjson::dom::object status;
  if (!obj.at_key("status").get_object().get(status)) e.phase = str(status, "phase");
  return e;
}

}  // namespace kl::pipeline
