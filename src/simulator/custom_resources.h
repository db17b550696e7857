// Writes of configuration objects on the simulated API server: the
// CustomResourceDefinition of WatchSets and WatchSet objects themselves,
// with create (POST), update (PUT), JSON merge patch (PATCH), delete, the
// status subresource (writes to /status change only status, writes to the
// object never do), resourceVersion conflicts, metadata.generation, schema
// checks of a WatchSet's spec, and server-side dry runs (dryRun=All). Enough
// for `kubectl apply/edit/delete` and for collectors writing status back.
#pragma once

#include <string>

#include "common/json.h"
#include "simulator/store.h"

namespace kl::simulator {

struct WriteRequest {
  std::string method;  // POST, PUT, PATCH, DELETE
  int resource = 0;    // kCustomResourceDefinitions or kWatchSets
  std::string name;    // empty for POST
  bool status_subresource = false;
  std::string content_type;  // for PATCH
  std::string body;
  bool dry_run = false;
};

struct WriteResponse {
  int code = 200;
  std::string body;  // the object, or a Status
};

WriteResponse HandleWrite(ClusterStore* store, const WriteRequest& request);

// RFC 7386: applies `patch` to `target` (null removes a member).
void ApplyMergePatch(JsonValue* target, const JsonValue& patch);

// A Kubernetes Status body.
std::string StatusJson(int code, std::string_view reason, std::string_view message);

}  // namespace kl::simulator
