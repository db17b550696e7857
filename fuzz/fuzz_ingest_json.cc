// Differential: the ingest event validator (simdjson's stage 1 and a walk of
// its own over the structural indexes) against simdjson's DOM parser, on
// arbitrary bytes. The first byte picks how the rest is presented:
//   0  as the whole document
//   1  as the value of a field inside an event's obj (so the event checks pass
//      and only the JSON inside decides)
//   2  between [ and ]
// Both must agree on the JSON verdict (any root), on the event verdict, on the
// event fields when accepted and on the message when the fields are what is
// wrong; and the validator's answers for objects of a shape it remembers must
// be those of its whole walk. The document is handed over in a buffer of
// exactly its size, so a read past its end is caught by AddressSanitizer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "ingest/event_validator.h"

namespace {

[[noreturn]] void Mismatch(const std::string& doc, const std::string& what) {
  std::fprintf(stderr, "validator and simdjson DOM disagree (%s) on %zu bytes:\n%.*s\n", what.c_str(), doc.size(),
               static_cast<int>(std::min<size_t>(doc.size(), 2000)), doc.data());
  std::abort();
}

bool IsJsonError(const kl::Status& s) { return s.message().rfind("not valid JSON", 0) == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string doc;
  switch (data[0] % 3) {
    case 0: doc = rest; break;
    case 1:
      doc = R"({"type":"MODIFIED","uid":"u-1","kind":"Pod","resourceversion":"7","obj":{"metadata":{"name":"p"},"x":)" +
            rest + "}}";
      break;
    default: doc = "[" + rest + "]"; break;
  }
  std::unique_ptr<char[]> exact(new char[doc.size() == 0 ? 1 : doc.size()]);
  if (!doc.empty()) std::memcpy(exact.get(), doc.data(), doc.size());
  std::string_view view(exact.get(), doc.size());

  static kl::ingest::EventValidator validator;
  bool fast_json = validator.ValidateJson(view).ok();
  bool dom_json = kl::ingest::IsValidJsonForDom(doc);
  if (fast_json != dom_json) Mismatch(doc, dom_json ? "DOM accepts the JSON" : "DOM refuses the JSON");

  kl::ingest::EventFields fast_fields, dom_fields;
  kl::Status fast = validator.ValidateEvent(view, &fast_fields);
  kl::Status dom = kl::ingest::ValidateEventWithDom(doc, &dom_fields);
  if (fast.ok() != dom.ok()) Mismatch(doc, "event: " + fast.ToString() + " / " + dom.ToString());
  if (fast.ok()) {
    if (fast_fields.type != dom_fields.type || fast_fields.uid != dom_fields.uid ||
        fast_fields.kind != dom_fields.kind || fast_fields.resource_version != dom_fields.resource_version) {
      Mismatch(doc, "fields");
    }
  } else if (IsJsonError(fast) != IsJsonError(dom) || (!IsJsonError(fast) && fast.message() != dom.message())) {
    Mismatch(doc, "messages: " + fast.ToString() + " / " + dom.ToString());
  }

  // The validator above remembers the shapes of the objects it passed, and
  // checks a later object of one of them for its scalars, escapes and keys
  // alone: its answer, message included, must be the whole walk's. Each input
  // is checked twice more, so that its shape is recorded and the inputs that
  // follow meet it.
  static kl::ingest::EventValidator walk_only(/*remember_shapes=*/false);
  kl::ingest::EventFields walk_fields;
  kl::Status walked = walk_only.ValidateEvent(view, &walk_fields);
  for (int i = 0; i < 3; ++i) {
    kl::Status again = i == 0 ? fast : validator.ValidateEvent(view, &fast_fields);
    if (again.ToString() != walked.ToString()) Mismatch(doc, "shapes: " + again.ToString() + " / " + walked.ToString());
    if (again.ok() &&
        (fast_fields.type != walk_fields.type || fast_fields.uid != walk_fields.uid ||
         fast_fields.kind != walk_fields.kind || fast_fields.resource_version != walk_fields.resource_version)) {
      Mismatch(doc, "shapes: fields");
    }
  }
  return 0;
}
