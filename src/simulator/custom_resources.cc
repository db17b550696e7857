#include "simulator/custom_resources.h"

#include <mutex>

#include "common/clock.h"
#include "common/random.h"
#include "simulator/resources.h"

namespace kl::simulator {
namespace {

WriteResponse Fail(int code, std::string_view reason, std::string_view message) {
  return WriteResponse{code, StatusJson(code, reason, message)};
}

JsonValue* Member(JsonValue* object, const std::string& key) {
  for (auto& [k, v] : object->mutable_members()) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Remove(JsonValue* object, const std::string& key) {
  auto& m = object->mutable_members();
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (it->first == key) {
      m.erase(it);
      return;
    }
  }
}

JsonValue* EnsureObject(JsonValue* object, const std::string& key) {
  JsonValue* v = Member(object, key);
  if (v == nullptr || !v->is_object()) {
    object->Set(key, JsonValue::Object());
    v = Member(object, key);
  }
  return v;
}

std::string ApiVersionOf(int resource) {
  const ResourceInfo& r = Resource(resource);
  return std::string(r.group) + "/" + std::string(r.version);
}

// The checks the CRD's openAPIV3Schema makes of a WatchSet.
std::string ValidateWatchSet(const JsonValue& obj) {
  const JsonValue* spec = obj.Find("spec");
  if (spec == nullptr || !spec->is_object()) return "spec: Required value";
  const JsonValue* resources = spec->Find("resources");
  if (resources == nullptr) return "spec.resources: Required value";
  if (!resources->is_array()) return "spec.resources: Invalid value: must be of type array";
  if (resources->items().empty()) return "spec.resources: Invalid value: should have at least 1 items";
  for (size_t i = 0; i < resources->items().size(); ++i) {
    const JsonValue& r = resources->items()[i];
    std::string at = "spec.resources[" + std::to_string(i) + "]";
    if (!r.is_object()) return at + ": Invalid value: must be of type object";
    for (const char* key : {"version", "resource"}) {
      const JsonValue* v = r.Find(key);
      if (v == nullptr) return at + "." + key + ": Required value";
      if (!v->is_string()) return at + "." + key + ": Invalid value: must be of type string";
    }
    for (const char* key : {"group", "kind", "labelSelector", "fieldSelector"}) {
      const JsonValue* v = r.Find(key);
      if (v != nullptr && !v->is_string()) return at + "." + key + ": Invalid value: must be of type string";
    }
    const JsonValue* ns = r.Find("namespaced");
    if (ns != nullptr && !ns->is_bool()) return at + ".namespaced: Invalid value: must be of type boolean";
    const JsonValue* nss = r.Find("namespaces");
    if (nss != nullptr && !nss->is_array()) return at + ".namespaces: Invalid value: must be of type array";
  }
  const JsonValue* clusters = spec->Find("clusters");
  if (clusters != nullptr && !clusters->is_array()) return "spec.clusters: Invalid value: must be of type array";
  return "";
}

std::string ValidateCrd(const JsonValue& obj) {
  const JsonValue* spec = obj.Find("spec");
  if (spec == nullptr || !spec->is_object()) return "spec: Required value";
  if (spec->GetStringOr("group", "").empty()) return "spec.group: Required value";
  const JsonValue* names = spec->Find("names");
  if (names == nullptr || names->GetStringOr("plural", "").empty()) return "spec.names.plural: Required value";
  std::string want = names->GetStringOr("plural", "") + "." + spec->GetStringOr("group", "");
  const JsonValue* meta = obj.Find("metadata");
  std::string name = meta != nullptr ? meta->GetStringOr("name", "") : "";
  if (name != want) return "metadata.name: Invalid value: \"" + name + "\": must be spec.names.plural+\".\"+spec.group";
  if (want != kWatchSetCrdName) {
    return "the simulated API server serves only the custom resource " + std::string(kWatchSetCrdName);
  }
  return "";
}

Labels LabelsOf(const JsonValue& obj) {
  Labels out;
  const JsonValue* meta = obj.Find("metadata");
  const JsonValue* labels = meta != nullptr ? meta->Find("labels") : nullptr;
  if (labels != nullptr && labels->is_object()) {
    for (const auto& [k, v] : labels->members()) {
      if (v.is_string()) out.emplace_back(k, v.as_string());
    }
  }
  return out;
}

// Stores `obj` (already complete but for its resourceVersion) and returns it as stored.
std::string Store(ClusterStore* store, int resource, const std::string& name, JsonValue obj, bool dry_run,
                  uint64_t dry_run_rv) {
  std::string json;
  auto render = [&](uint64_t rv, StoredObject* o) {
    EnsureObject(&obj, "metadata")->Set("resourceVersion", JsonValue::String(std::to_string(rv)));
    o->uid = obj.Find("metadata")->GetStringOr("uid", "");
    o->labels = LabelsOf(obj);
    o->json = obj.ToJson();
    json = o->json;
  };
  if (dry_run) {
    StoredObject scratch;
    render(dry_run_rv, &scratch);
  } else {
    store->Put(resource, "", name, render);
  }
  return json;
}

bool SpecDiffers(const JsonValue& a, const JsonValue& b) {
  const JsonValue* sa = a.Find("spec");
  const JsonValue* sb = b.Find("spec");
  std::string ja = sa != nullptr ? sa->ToJson() : "";
  std::string jb = sb != nullptr ? sb->ToJson() : "";
  return ja != jb;
}

}  // namespace

std::string StatusJson(int code, std::string_view reason, std::string_view message) {
  JsonWriter w;
  w.BeginObject().Key("kind").String("Status").Key("apiVersion").String("v1").Key("metadata").BeginObject().EndObject();
  w.Key("status").String(code < 300 ? "Success" : "Failure").Key("message").String(message);
  w.Key("reason").String(reason).Key("code").Int(code);
  w.EndObject();
  return w.Release();
}

void ApplyMergePatch(JsonValue* target, const JsonValue& patch) {
  if (!patch.is_object()) {
    *target = patch;
    return;
  }
  if (!target->is_object()) *target = JsonValue::Object();
  for (const auto& [key, value] : patch.members()) {
    if (value.is_null()) {
      Remove(target, key);
    } else if (value.is_object()) {
      JsonValue* existing = Member(target, key);
      if (existing == nullptr) {
        target->Set(key, JsonValue::Object());
        existing = Member(target, key);
      }
      ApplyMergePatch(existing, value);
    } else {
      target->Set(key, value);
    }
  }
}

WriteResponse HandleWrite(ClusterStore* store, const WriteRequest& req) {
  // A write reads the stored object, changes it and stores the result, which an
  // API server does in one transaction: writes take turns, so that one cannot
  // store its change over another it never saw (a WatchSet's status update
  // undoing a spec edit that landed meanwhile).
  static std::mutex write_mu;
  std::lock_guard<std::mutex> lock(write_mu);
  const ResourceInfo& info = Resource(req.resource);
  std::string kind(info.kind);
  ObjectPtr current = req.name.empty() ? nullptr : store->Get(req.resource, "", req.name);
  auto not_found = [&] {
    return Fail(404, "NotFound",
                std::string(info.resource) + "." + std::string(info.group) + " \"" + req.name + "\" not found");
  };

  if (req.method == "DELETE") {
    if (req.name.empty()) return Fail(405, "MethodNotAllowed", "deleting a collection is not supported");
    if (current == nullptr) return not_found();
    std::string body = current->json;
    if (!req.dry_run) {
      if (req.resource == kCustomResourceDefinitions && req.name == kWatchSetCrdName) {
        // Deleting a CRD deletes its objects.
        for (const ObjectPtr& o : store->All(kWatchSets)) {
          std::string json = o->json;
          store->Delete(kWatchSets, "", o->name, [&](uint64_t, StoredObject* s) { s->json = json; });
        }
      }
      std::string json = current->json;
      store->Delete(req.resource, "", req.name, [&](uint64_t, StoredObject* s) { s->json = json; });
    }
    return WriteResponse{200, body};
  }

  auto parsed = ParseJson(req.body, "request body");
  if (!parsed.ok()) return Fail(400, "BadRequest", parsed.status().message());
  JsonValue body = std::move(*parsed);
  if (!body.is_object()) return Fail(400, "BadRequest", "the request body is not a JSON object");

  JsonValue obj;
  if (req.method == "POST") {
    if (!req.name.empty()) return Fail(405, "MethodNotAllowed", "POST to a collection, not to an object");
    if (body.GetStringOr("kind", "") != kind || body.GetStringOr("apiVersion", "") != ApiVersionOf(req.resource)) {
      return Fail(400, "BadRequest",
                  "the body is a " + body.GetStringOr("apiVersion", "?") + " " + body.GetStringOr("kind", "?") +
                      ", not a " + ApiVersionOf(req.resource) + " " + kind);
    }
    obj = std::move(body);
    JsonValue* meta = EnsureObject(&obj, "metadata");
    std::string name = meta->GetStringOr("name", "");
    if (name.empty())
      return Fail(422, "Invalid", kind + " is invalid: metadata.name: Required value: name is required");
    if (store->Get(req.resource, "", name) != nullptr) {
      return Fail(409, "AlreadyExists",
                  std::string(info.resource) + "." + std::string(info.group) + " \"" + name + "\" already exists");
    }
    if (req.resource == kWatchSets) Remove(&obj, "status");  // status is written through /status only
    meta->Set("uid", JsonValue::String(RandomUuid()));
    meta->Set("creationTimestamp", JsonValue::String(FormatRfc3339(NowMillis())));
    meta->Set("generation", JsonValue::Int(1));
    Remove(meta, "resourceVersion");
    std::string invalid = req.resource == kWatchSets ? ValidateWatchSet(obj) : ValidateCrd(obj);
    if (!invalid.empty()) return Fail(422, "Invalid", kind + " \"" + name + "\" is invalid: " + invalid);
    std::string json = Store(store, req.resource, name, std::move(obj), req.dry_run, store->resource_version() + 1);
    return WriteResponse{201, json};
  }

  if (req.name.empty()) return Fail(405, "MethodNotAllowed", req.method + " needs an object name");
  if (current == nullptr) return not_found();
  auto cur = ParseJson(current->json, "stored object");
  if (!cur.ok()) return Fail(500, "InternalError", cur.status().message());
  JsonValue before = std::move(*cur);
  JsonValue incoming;
  if (req.method == "PUT") {
    const JsonValue* meta = body.Find("metadata");
    std::string rv = meta != nullptr ? meta->GetStringOr("resourceVersion", "") : "";
    if (!rv.empty() && rv != std::to_string(current->rv)) {
      return Fail(409, "Conflict",
                  "Operation cannot be fulfilled on " + std::string(info.resource) + "." + std::string(info.group) +
                      " \"" + req.name +
                      "\": the object has been modified; please apply your changes to the latest "
                      "version and try again");
    }
    incoming = std::move(body);
  } else if (req.method == "PATCH") {
    std::string type = req.content_type.substr(0, req.content_type.find(';'));
    if (type != "application/merge-patch+json" && type != "application/strategic-merge-patch+json") {
      return Fail(415, "UnsupportedMediaType", "the simulated API server takes merge patches only, not " + type);
    }
    const JsonValue* meta = body.Find("metadata");
    std::string rv = meta != nullptr ? meta->GetStringOr("resourceVersion", "") : "";
    if (!rv.empty() && rv != std::to_string(current->rv)) {
      return Fail(409, "Conflict", "the object has been modified; please apply your changes to the latest version");
    }
    incoming = before;
    ApplyMergePatch(&incoming, body);
  } else {
    return Fail(405, "MethodNotAllowed", "method " + req.method + " is not supported");
  }
  // The object keeps its identity; /status changes only status, the object
  // itself never changes status (the CRD has a status subresource).
  obj = before;
  if (req.status_subresource) {
    const JsonValue* status = incoming.Find("status");
    if (status != nullptr)
      obj.Set("status", *status);
    else
      Remove(&obj, "status");
  } else {
    for (const auto& [key, value] : incoming.members()) {
      if (key == "status" && req.resource == kWatchSets) continue;
      if (key == "metadata") continue;
      obj.Set(key, value);
    }
    for (const auto& [key, value] : before.members()) {
      if (key != "status" && key != "metadata" && key != "apiVersion" && key != "kind" &&
          incoming.Find(key) == nullptr) {
        Remove(&obj, key);
      }
    }
    // Labels and annotations come from the request; identity stays.
    JsonValue* meta = EnsureObject(&obj, "metadata");
    const JsonValue* in_meta = incoming.Find("metadata");
    for (const char* key : {"labels", "annotations"}) {
      const JsonValue* v = in_meta != nullptr ? in_meta->Find(key) : nullptr;
      if (v != nullptr)
        meta->Set(key, *v);
      else
        Remove(meta, key);
    }
    if (SpecDiffers(before, obj)) {
      const JsonValue* b = before.Find("metadata");
      meta->Set("generation", JsonValue::Int((b != nullptr ? b->GetIntOr("generation", 1) : 1) + 1));
    }
    std::string invalid = req.resource == kWatchSets ? ValidateWatchSet(obj) : ValidateCrd(obj);
    if (!invalid.empty()) return Fail(422, "Invalid", kind + " \"" + req.name + "\" is invalid: " + invalid);
  }
  std::string json = Store(store, req.resource, req.name, std::move(obj), req.dry_run, store->resource_version() + 1);
  return WriteResponse{200, json};
}

}  // namespace kl::simulator
