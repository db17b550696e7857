#include "ingest/event_validator.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/file/file_util.h"
#include "common/testing/test_util.h"

namespace kl::ingest {
namespace {

// The document in a buffer of exactly its size: a read past its end is
// caught by AddressSanitizer (the unit tests run under it in CI).
class Exact {
 public:
  explicit Exact(std::string_view s) : data_(new char[s.empty() ? 1 : s.size()]), size_(s.size()) {
    if (!s.empty()) std::memcpy(data_.get(), s.data(), s.size());
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_;
};

const std::string kHead = R"({"type":"ADDED","uid":"u","kind":"Pod","resourceversion":"1",)";

// Both verdicts, and both event verdicts with the document as a value inside
// an event's obj, must be simdjson DOM's.
void ExpectSameAsDom(EventValidator& v, const std::string& doc) {
  bool dom = IsValidJsonForDom(doc);
  Status fast = v.ValidateJson(Exact(doc).view());
  EXPECT_EQ(fast.ok(), dom) << "json: " << doc << " -> " << fast.ToString();
  std::string event = kHead + R"("obj":{"x":)" + doc + "}}";
  EventFields a, b;
  Status fast_event = v.ValidateEvent(Exact(event).view(), &a);
  Status dom_event = ValidateEventWithDom(event, &b);
  EXPECT_EQ(fast_event.ok(), dom_event.ok())
      << event << " -> " << fast_event.ToString() << " / " << dom_event.ToString();
}

struct Case {
  std::string doc;
  bool valid;  // simdjson 3.0's DOM verdict (checked here too)
};

TEST(EventValidatorTest, JsonVerdictIsSimdjsonDoms) {
  // simdjson counts the non-empty arrays and objects open.
  const std::string deep_ok = std::string(1023, '[') + "1" + std::string(1023, ']');
  const std::string deep_ok_empty = std::string(1023, '[') + "[]" + std::string(1023, ']');
  const std::string too_deep = std::string(1024, '[') + "1" + std::string(1024, ']');
  const std::string too_deep_object = std::string(1023, '[') + R"({"a":1})" + std::string(1023, ']');
  const std::string deep_objects = [] {
    std::string s;
    for (int i = 0; i < 1023; ++i) s += "{\"a\":";
    s += "1";
    for (int i = 0; i < 1023; ++i) s += "}";
    return s;
  }();
  const std::vector<Case> cases = {
      // Roots, white space, literals.
      {"{}", true},
      {"[]", true},
      {"0", true},
      {"-0", true},
      {"\"x\"", true},
      {"true", true},
      {"false", true},
      {"null", true},
      {" \t\r\ntrue \n", true},
      {"", false},
      {"   ", false},
      {"tru", false},
      {"truee", false},
      {"True", false},
      {"nul", false},
      {"nulll", false},
      {"fals", false},
      {"[true1]", false},
      {"[truefalse]", false},
      {"[true,false,null]", true},
      {"[null ]", true},
      {"[tru]", false},
      {"[nul]", false},
      {"true false", false},
      {"1 2", false},
      {"\"a\" \"b\"", false},
      {"\"a\"x", false},
      {"NaN", false},
      {"Infinity", false},
      {"[-Infinity]", false},
      // Numbers: grammar.
      {"[1.5,-2e10,3E+2,4e-2,0.0,-0.0e0]", true},
      {"01", false},
      {"[01]", false},
      {"-01", false},
      {"-", false},
      {"[-]", false},
      {"[-a]", false},
      {"1.", false},
      {"[1.]", false},
      {"[.5]", false},
      {"[1e]", false},
      {"[1e+]", false},
      {"[+1]", false},
      {"[0x10]", false},
      {"[1.5e5.3]", false},
      {"[1.2.3]", false},
      {"[1-2]", false},
      {"[1\"a\"]", false},
      {"[1a]", false},
      {"[1 ]", true},
      // Numbers: range (integers in 64 bits, doubles finite).
      {"18446744073709551615", true},
      {"[18446744073709551615]", true},
      {"[18446744073709551616]", false},
      {"[19999999999999999999]", false},
      {"[99999999999999999999]", false},
      {"[123456789012345678901]", false},
      {"[9223372036854775808]", true},
      {"[-9223372036854775808]", true},
      {"[-9223372036854775809]", false},
      {"[-10000000000000000000]", false},
      {"[1e308]", true},
      {"[1e309]", false},
      {"[-1e309]", false},
      {"[1.7976931348623157e308]", true},
      {"[1.7976931348623158e308]", true},   // rounds to the largest double
      {"[1.7976931348623159e308]", false},  // rounds to infinity
      {"[17976931348623157e292]", true},
      {"[17976931348623159e292]", false},
      {"[0.1e309]", true},
      {"[1000e306]", false},
      {"[1e-400]", true},
      {"[1e-99999999999999999999]", true},
      {"[0e999999999999999999999]", true},
      {"[1e999999999999999999999]", false},
      {"[1e000000000000000000000000000001]", true},
      {"[123456789012345678901234567890.5]", true},
      {"[1000000000000000000000000000000e300]", false},
      {"[0.000000000000000000000000000001e320]", true},
      {"[179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330"
       "28641669288791094655554785194040263065748867150582068e200]",
       false},
      // Strings: escapes, \u and surrogates as simdjson pairs them.
      {R"("\"\\\/\b\f\n\r\t")", true},
      {R"("\u0000")", true},
      {R"("\u00e9\u00E9")", true},
      {R"("\ud83d\ude00")", true},
      {R"("\uD83D\uDE00")", true},
      {R"("\x")", false},
      {R"("\'")", false},
      {R"("\u12")", false},
      {R"("\u00")", false},
      {R"("\uZZZZ")", false},
      {R"("\uD800")", false},
      {R"("\uDC00")", false},
      {R"("\uDFFF")", false},
      {R"("\uD800\u0041")", false},
      {R"("\uD800x")", false},
      {R"("\uD800\uD800")", false},
      {R"("\uD800\\")", false},
      {R"(["\uDBFF\uDFFF"])", true},
      {R"(["a\\"])", true},
      {R"(["a\\\"])", false},
      {R"(["a\"])", false},
      {"\"a", false},
      {"\"abc\\", false},
      {"[\"tab\there\"]", false},
      {"[\"nl\nhere\"]", false},
      {std::string("[\"nul") + '\0' + "\"]", false},
      {"[\"\x7f\"]", true},
      // UTF-8.
      {"[\"\xc3\xa9\xf0\x9f\x98\x80\"]", true},
      {"[\"\xff\"]", false},
      {"[\"\xc0\xaf\"]", false},
      {"[\"\xed\xa0\x80\"]", false},
      {"[\"\xe2\x82\"]", false},
      {"[\"\xf4\x90\x80\x80\"]", false},
      {"\xef\xbb\xbf{}", false},  // a byte order mark
      // Structure.
      {R"({"a":1,"a":2})", true},
      {R"([1,[2,{"a":[]}],{}])", true},
      {R"({ "a" : [ 1 , 2 ] , "b" : { } })", true},
      {"[1 2]", false},
      {"[1,]", false},
      {"[,1]", false},
      {"[,]", false},
      {R"({"a" 1})", false},
      {R"({"a":1,})", false},
      {"{,}", false},
      {"{1:2}", false},
      {R"({"a":})", false},
      {R"({"a"})", false},
      {R"({"a":1:2})", false},
      {"[}", false},
      {"{]", false},
      {"[", false},
      {"{", false},
      {"]", false},
      {"[[]", false},
      {"[]]", false},
      {R"({"a":1} {})", false},
      {R"({"a":1}})", false},
      {R"({"a":1}x)", false},
      {std::string(R"({"a":1})") + '\0', false},
      {R"(["a"b])", false},
      {R"(["a""b"])", false},
      {R"({"a":1"b":2})", false},
      {"[1\\]", false},
      {"[\\]", false},
      {"[1]\\", false},
      {deep_ok, true},
      {deep_ok_empty, true},
      {deep_objects, true},
      {too_deep, false},
      {too_deep_object, false},
  };
  EventValidator v;
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidJsonForDom(c.doc), c.valid) << "the table is wrong about " << c.doc.substr(0, 200);
    Status s = v.ValidateJson(Exact(c.doc).view());
    EXPECT_EQ(s.ok(), c.valid) << c.doc.substr(0, 200) << " -> " << s.ToString();
    if (!s.ok()) {
      EXPECT_EQ(s.message().rfind("not valid JSON: ", 0), 0u) << s.ToString();
    }
    ExpectSameAsDom(v, c.doc);
  }
}

TEST(EventValidatorTest, ErrorsSayWhatAndWhere) {
  EventValidator v;
  Status s = v.ValidateJson(R"({"a":[1,2 3]})");
  EXPECT_EQ(s.message(), "not valid JSON: a comma or ] expected between values at byte 10");
  s = v.ValidateJson(R"({"a":"\q"})");
  EXPECT_EQ(s.message(), "not valid JSON: invalid escape in the string starting at byte 5");
  s = v.ValidateJson(R"({"a":01})");
  EXPECT_NE(s.message().find("invalid number"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("at byte 5"), std::string::npos) << s.ToString();
  s = v.ValidateJson("{\"a\":\"\xff\"}");
  EXPECT_EQ(s.message().rfind("not valid JSON: ", 0), 0u);
  EXPECT_NE(s.message().find("UTF-8"), std::string::npos) << s.ToString();
}

TEST(EventValidatorTest, EventFieldsAsTheDomFindsThem) {
  EventValidator v;
  struct EventCase {
    std::string doc;
    std::string error;  // empty: accepted
    EventFields fields;
  };
  const std::vector<EventCase> cases = {
      {kHead + R"("obj":{}})", "", {"ADDED", "u", "Pod", "1"}},
      // Escaped keys and values are compared unescaped.
      {R"({"t\u0079pe":"\u0041DDED","uid":"a\"b","kind":"P\/d","resourceversion":"\u00e9","obj":{}})",
       "",
       {"ADDED", "a\"b", "P/d", "\xc3\xa9"}},
      {R"({"type":"DELETED","uid":"\u0000","kind":"Pod","resourceversion":"1","\u006fbj":{"a":1}})",
       "",
       {"DELETED", std::string_view("\0", 1), "Pod", "1"}},
      // The first field of a name counts; nested ones do not.
      {R"({"type":"BOGUS","type":"ADDED","uid":"u","kind":"Pod","resourceversion":"1","obj":{}})",
       "type is not ADDED, MODIFIED or DELETED",
       {}},
      {R"({"type":"MODIFIED","uid":"","uid":"x","kind":"Pod","resourceversion":"1","obj":{}})",
       "uid is not a non-empty string",
       {}},
      {R"({"type":"MODIFIED","uid":"x","kind":"Pod","resourceversion":"1","obj":[],"obj":{}})",
       "obj is not an object",
       {}},
      {R"({"type":"ADDED","obj":{"uid":"x","kind":"Pod","resourceversion":"1"}})", "no uid", {}},
      {R"({"obj":{"type":"ADDED"}})", "no type", {}},
      {R"({"type":7,"uid":"u","kind":"Pod","resourceversion":"1","obj":{}})", "type is not a string", {}},
      {R"({"type":"ADDED","uid":"u","kind":null,"resourceversion":"1","obj":{}})",
       "kind is not a non-empty string",
       {}},
      {R"({"type":"ADDED","uid":"u","kind":"Pod","resourceversion":1,"obj":{}})",
       "resourceversion is not a non-empty string",
       {}},
      {R"({"type":"ADDED","uid":"u","kind":"Pod","resourceversion":"1"})", "no obj", {}},
      {R"({"type":"ADDED","uid":"u","kind":"Pod","resourceversion":"1","obj":"{}"})", "obj is not an object", {}},
      {R"({"type":"added","uid":"u","kind":"Pod","resourceversion":"1","obj":{}})",
       "type is not ADDED, MODIFIED or DELETED",
       {}},
      {R"({"Type":"ADDED","uid":"u","kind":"Pod","resourceversion":"1","obj":{}})", "no type", {}},
      {"[1]", "not a JSON object", {}},
      {"\"x\"", "not a JSON object", {}},
  };
  for (const EventCase& c : cases) {
    EventFields got;
    Exact exact(c.doc);
    Status s = v.ValidateEvent(exact.view(), &got);
    EventFields dom_got;
    Status dom = ValidateEventWithDom(c.doc, &dom_got);
    if (c.error.empty()) {
      ASSERT_TRUE(s.ok()) << c.doc << ": " << s.ToString();
      ASSERT_TRUE(dom.ok()) << c.doc << ": " << dom.ToString();
      for (const EventFields* f : {&got, &dom_got}) {
        EXPECT_EQ(f->type, c.fields.type) << c.doc;
        EXPECT_EQ(f->uid, c.fields.uid) << c.doc;
        EXPECT_EQ(f->kind, c.fields.kind) << c.doc;
        EXPECT_EQ(f->resource_version, c.fields.resource_version) << c.doc;
      }
    } else {
      EXPECT_EQ(s.message(), c.error) << c.doc;
      EXPECT_EQ(dom.message(), c.error) << c.doc;
    }
  }
}

// Large documents (the stage 1 buffers grow and shrink again), escapes and
// numbers at every distance from the end (where simdjson's own string and
// number parsers would read past it, the validator reads a padded copy).
TEST(EventValidatorTest, LargeDocumentsAndTokensNearTheEnd) {
  EventValidator v;
  std::string big = kHead + R"("obj":{"items":[)";
  for (int i = 0; i < 20000; ++i) {
    if (i) big += ",";
    big +=
        R"({"n":)" + std::to_string(i) + R"(,"f":)" + std::to_string(i) + R"(.25e-3,"s":"a\"b\\c\u00e9\ud83d\ude00"})";
  }
  big += "]}}";
  ASSERT_GT(big.size(), 1u << 20);
  KL_EXPECT_OK(v.ValidateEvent(Exact(big).view()));
  std::string broken = big;
  broken[broken.size() / 2] = '\x01';
  EXPECT_FALSE(v.ValidateEvent(Exact(broken).view()).ok());
  KL_EXPECT_OK(v.ValidateEvent(Exact(kHead + R"("obj":{}})").view()));  // after the big one: buffers given back
  for (std::string_view token : {R"("a\u00e9")", R"("\\")", "1.5", "-12345678.123456789e-3", "123", "true",
                                 R"("\ud83d\ude00")", R"("\u12")", "1.", "12345678901234567890123.5"}) {
    for (int pad = 0; pad < 80; ++pad) {
      std::string doc = "[" + std::string(token) + std::string(pad, ' ') + "]";
      ExpectSameAsDom(v, doc);
      std::string root = std::string(token) + std::string(pad, ' ');
      EXPECT_EQ(v.ValidateJson(Exact(root).view()).ok(), IsValidJsonForDom(root)) << root;
    }
  }
}

// Objects of a shape the validator remembers (the same structural
// characters in the same order as objects it passed before) are checked for
// their numbers, literals, escapes and key names alone: every verdict,
// message and field must be the whole walk's, and the DOM's verdict.
TEST(EventValidatorTest, ObjectsOfAKnownShape) {
  EventValidator v;
  EventValidator walk_only(/*remember_shapes=*/false);
  auto expect_as_walked = [&](const std::string& doc) {
    EventFields got, walked_fields;
    Exact exact(doc);  // the fields view into it
    Status s = v.ValidateEvent(exact.view(), &got);
    Status walked = walk_only.ValidateEvent(exact.view(), &walked_fields);
    EXPECT_EQ(s.ToString(), walked.ToString()) << doc;
    EXPECT_EQ(s.ok(), ValidateEventWithDom(doc).ok()) << doc;
    if (s.ok() && walked.ok()) {
      EXPECT_EQ(got.type, walked_fields.type) << doc;
      EXPECT_EQ(got.uid, walked_fields.uid) << doc;
      EXPECT_EQ(got.kind, walked_fields.kind) << doc;
      EXPECT_EQ(got.resource_version, walked_fields.resource_version) << doc;
    }
  };
  // The slots the variants below fill in: the type's key, the uid, a key of
  // obj, a string, a number, a literal, and an array's number and string.
  auto event = [](std::string_view type_key, std::string_view uid, std::string_view key, std::string_view text,
                  std::string_view number, std::string_view literal, std::string_view item,
                  std::string_view item_text) {
    return std::string(R"({")") + std::string(type_key) + R"(":"ADDED","uid":")" + std::string(uid) +
           R"(","kind":"Pod","resourceversion":"7","obj":{")" + std::string(key) + R"(":")" + std::string(text) +
           R"(","n":)" + std::string(number) + R"(,"b":)" + std::string(literal) + R"(,"list":[)" + std::string(item) +
           R"(,")" + std::string(item_text) +
           R"(",{"deep":[]}],"pad":"                                "},"origin":"watch"})";
  };
  const std::string base = event("type", "u-1", "name", "web", "12", "true", "3", "x");
  for (int i = 0; i < 3; ++i) KL_EXPECT_OK(v.ValidateEvent(Exact(base).view()));
  uint64_t known = v.known_shapes();
  EXPECT_GE(known, 1u) << "the third object of a shape is checked as a known shape";
  const std::vector<std::string> same_shape = {
      event("type", "u-2", "name", "other", "-0", "false", "0", "y"),
      event("type", "u-3", "name", "web", "123456789012345678901", "null", "1.5e3", "x"),  // out of range
      event("type", "u-4", "name", "web", "1e999", "true", "3", "x"),                      // not finite
      event("type", "u-5", "name", "web", "012", "true", "3", "x"),                        // a leading zero
      event("type", "u-6", "name", "web", "12", "trux", "3", "x"),
      event("type", "u-7", "name", "web", "12", "nul", "3", "x"),
      event("type", "u-8", "name", "web", "12", "true", "3.", "x"),
      event("type", "u-9", "name", R"(a\u00e9\"b)", "12", "true", "3", R"(\ud83d\ude00)"),
      event("type", "u-10", "name", R"(a\qb)", "12", "true", "3", "x"),      // an invalid escape
      event("type", "u-11", "name", "web", "12", "true", "3", R"(\ud800)"),  // a lone surrogate
      event("type", R"(u\u002d12)", R"(n\u0061me)", "web", "12", "true", "3", "x"),
      event(R"(t\u0079pe)", "u-13", "name", "web", "12", "true", "3", "x"),  // an escaped field name
      event("typo", "u-14", "name", "web", "12", "true", "3", "x"),          // no type
      event("type", "", "name", "web", "12", "true", "3", "x"),              // an empty uid
      event("type", "u-16", "uid", "web", "12", "true", "3", "x"),           // a nested uid does not count
      event("type", "u-17", "name", "web", "1a", "true", "3", "x"),
      event("type", "u-18", "name", "web", "12", "true", "-", "x"),
      // Not a number or literal where the shape has one: walked whole.
      event("type", "u-19", "name", "web", R"("s")", "true", "3", "x"),
      event("type", "u-20", "name", "web", "12", R"("\q")", "3", "x"),
      event("type", "u-21", "name", "web", "x1", "true", "3", "x"),
  };
  for (const std::string& doc : same_shape) expect_as_walked(doc);
  EXPECT_GE(v.known_shapes(), known + same_shape.size()) << "each was checked as a known shape";
  // The same number of structurals, another shape: walked whole.
  for (const std::string& doc :
       {std::string(R"({"type":"ADDED","uid":"u","kind":"Pod","resourceversion":"7","obj":{"name":"web","n":12,)"
                    R"("b":[true,"list"],"x":3,"y":"x","z":{"deep":[]},"pad":"                                "},)"
                    R"("origin":"watch"})"),
        std::string(
            R"({"type":"ADDED","uid":"u","kind":"Pod","resourceversion":"7","obj":{"name":"web","n":12,)"
            R"("b":[true,"list":3,"x",{"deep":[]}],"pad":"                                "},"origin":"watch"})")}) {
    expect_as_walked(doc);
  }
}

// More shapes than the validator remembers, in turn and mixed, some of the
// same structural count, each with an invalid object of the same shape:
// every answer is still the walk's.
TEST(EventValidatorTest, ManyShapesInTurn) {
  EventValidator v;
  EventValidator walk_only(/*remember_shapes=*/false);
  std::vector<std::string> docs;
  for (int shape = 0; shape < 20; ++shape) {
    std::string obj = "{";
    for (int i = 0; i < shape % 10; ++i) obj += R"("k)" + std::to_string(i) + R"(":)" + std::to_string(i) + ",";
    // 10 apart: the same structural count, another shape.
    std::string end = shape < 10 ? R"("end":[1,"a"]})" : R"("end":{"a":1}})";
    docs.push_back(kHead + R"("obj":)" + obj + end + "}");
    end.replace(end.find('1'), 1, "01");  // the same shape, an invalid number
    docs.push_back(kHead + R"("obj":)" + obj + end + "}");
  }
  uint64_t seed = 1;
  for (int round = 0; round < 2000; ++round) {
    if (round == 400) {
      // Each shape in turn, ten objects of it in a row: of the first eight
      // shapes (as many as the validator remembers; later ones wait for
      // those to age) the valid objects from the third on and all the
      // invalid ones met a known shape.
      EXPECT_GE(v.known_shapes(), 8u * (8 + 10));
    }
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    const std::string& doc = docs[(round < 400 ? round / 10 : seed >> 33) % docs.size()];
    Status s = v.ValidateEvent(Exact(doc).view());
    Status walked = walk_only.ValidateEvent(Exact(doc).view());
    ASSERT_EQ(s.ToString(), walked.ToString()) << doc;
  }
}

// Every real Kubernetes document at hand (whole files and NDJSON lines), as
// a document and wrapped as an event's obj: the DOM's verdict.
TEST(EventValidatorTest, RealKubernetesObjects) {
  KL_REQUIRE_SHARED("k8s-fixtures", dir);
  EventValidator v;
  int documents = 0, accepted = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    auto text = ReadFile(entry.path().string());
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    std::vector<std::string> docs = {*text};
    size_t from = 0;
    while (from < text->size()) {
      size_t nl = text->find('\n', from);
      if (nl == std::string::npos) nl = text->size();
      if (nl > from) docs.push_back(text->substr(from, nl - from));
      from = nl + 1;
    }
    for (const std::string& doc : docs) {
      ++documents;
      accepted += IsValidJsonForDom(doc);
      ExpectSameAsDom(v, doc);
      std::string event = R"({"type":"ADDED","obj":)" + doc + R"(,"kind":"Pod","uid":"u","resourceversion":"1"})";
      EventFields a, b;
      Status fast = v.ValidateEvent(Exact(event).view(), &a);
      Status dom = ValidateEventWithDom(event, &b);
      EXPECT_EQ(fast.ok(), dom.ok()) << entry.path() << ": " << fast.ToString() << " / " << dom.ToString();
    }
  }
  EXPECT_GT(documents, 100);
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace kl::ingest
