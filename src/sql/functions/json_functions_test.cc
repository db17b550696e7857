// JSON_QUERY's text against simdjson::minify, what paths select against a
// model of SQL/JSON paths, and a JsonCallSet (one parse per document, shared
// walks, objects scanned once for several keys) against each call evaluated
// alone, on random documents and paths.
#include "sql/functions/json_functions.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>
#include <vector>

#include "format/datum.h"
#include "sql/execution/context.h"
#include "sql/functions/json_text.h"

namespace kl::sql {
namespace {

// Keys of equal lengths, long ones, one that is a prefix of another, an empty one.
const std::vector<std::string> kKeys = {"a",
                                        "b",
                                        "ab",
                                        "ba",
                                        "type",
                                        "kind",
                                        "name",
                                        "labels",
                                        "x.y",
                                        "k'q",
                                        "",
                                        std::string(70, 'L'),
                                        std::string(71, 'L')};

std::string RandomString(std::mt19937& rng) {
  static const std::vector<std::string> kPieces = {"a",       "Ze",      " ",       "\\\"", "\\\\", "\\/",
                                                   "\\n",     "\\t",     "\\b",     "\\f",  "\\r",  "\\u0001",
                                                   "\\u001f", "\\u0062", "\\u00e9", "é",    "日本", "\\ud83d\\ude00",
                                                   "'",       "x.y"};
  std::string s = "\"";
  int n = static_cast<int>(rng() % 5);
  for (int i = 0; i < n; ++i) s += kPieces[rng() % kPieces.size()];
  return s + "\"";
}

std::string RandomKey(std::mt19937& rng) {
  if (rng() % 8 == 0) return "\"\\u0062\"";  // "b", escaped
  return "\"" + kKeys[rng() % kKeys.size()] + "\"";
}

std::string RandomValue(std::mt19937& rng, int depth) {
  int pick = static_cast<int>(rng() % (depth >= 4 ? 8 : 12));
  switch (pick) {
    case 0: return RandomString(rng);
    case 1: return std::to_string(static_cast<int64_t>(rng()) - (1ll << 31));
    case 2: {
      static const std::vector<std::string> kNumbers = {"0",
                                                        "-0",
                                                        "1.5",
                                                        "-2.25e3",
                                                        "1e400x",
                                                        "9223372036854775807",
                                                        "-9223372036854775808",
                                                        "18446744073709551615",
                                                        "9223372036854775808",
                                                        "1E2",
                                                        "0.1",
                                                        "123456789012345678901234567890"};
      std::string n = kNumbers[rng() % kNumbers.size()];
      return n == "1e400x" ? "1e30" : n;
    }
    case 3: return "true";
    case 4: return "false";
    case 5: return "null";
    case 6: return "[]";
    case 7: return "{}";
    case 8:
    case 9: {
      std::string s = "{";
      int n = static_cast<int>(rng() % 6);
      for (int i = 0; i < n; ++i) s += (i ? ", " : "") + RandomKey(rng) + " : " + RandomValue(rng, depth + 1);
      return s + "}";
    }
    default: {
      std::string s = "[";
      int n = static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) s += (i ? "," : "") + RandomValue(rng, depth + 1);
      return s + "]";
    }
  }
}

std::string RandomDocument(std::mt19937& rng) {
  std::string doc = rng() % 10 == 0 ? RandomValue(rng, 0) : "{" + RandomKey(rng) + ":" + RandomValue(rng, 1) + "}";
  if (rng() % 4 == 0) {
    std::string s = "{";
    int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + RandomKey(rng) + ":" + RandomValue(rng, 1);
    doc = s + "}";
  }
  if (rng() % 25 == 0) doc = doc.substr(0, rng() % (doc.size() + 1));  // mostly not JSON
  return doc;
}

std::string RandomPath(std::mt19937& rng) {
  std::string p = rng() % 12 == 0 ? "strict $" : "$";
  int n = static_cast<int>(rng() % 5);
  for (int i = 0; i < n; ++i) {
    switch (rng() % 10) {
      case 0: p += "[0]"; break;
      case 1: p += "[1]"; break;
      case 2: p += "[*]"; break;
      case 3: p += ".*"; break;
      case 4: p += "[last]"; break;
      default: {
        const std::string& k = kKeys[rng() % kKeys.size()];
        if (k.empty() || k.find('.') != std::string::npos || k.find('\'') != std::string::npos || rng() % 4 == 0) {
          p += k.find('\'') != std::string::npos ? "[\"" + k + "\"]" : "['" + k + "']";
        } else {
          p += "." + k;
        }
      }
    }
  }
  return p;
}

TEST(JsonFunctionsTest, MinifiedTextIsSimdjsons) {
  std::mt19937 rng(7);
  simdjson::dom::parser parser;
  std::string text;
  int checked = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string doc = RandomDocument(rng);
    simdjson::dom::element root;
    if (parser.parse(doc).get(root) != simdjson::SUCCESS) continue;
    // The root and each of its elements' subtrees.
    std::vector<simdjson::dom::element> todo{root};
    while (!todo.empty()) {
      simdjson::dom::element e = todo.back();
      todo.pop_back();
      text.clear();
      AppendMinifiedJson(e, &text);
      ASSERT_EQ(text, simdjson::minify(e)) << doc;
      ++checked;
      if (e.is_array()) {
        simdjson::dom::array items = e.get_array().value_unsafe();
        for (auto item : items) todo.push_back(item);
      } else if (e.is_object()) {
        simdjson::dom::object fields = e.get_object().value_unsafe();
        for (auto field : fields) todo.push_back(field.value);
      }
    }
  }
  EXPECT_GT(checked, 5000);
  // Strings of 0 to 40 pieces with what needs escaping ('"', '\\', control characters) at any
  // place, or nothing, among printable ASCII (0x20 and 0x7F included) and multi-byte UTF-8,
  // alone and in runs: bytes 0x80-0xFF, among them 0xA0, 0xA2 and 0xDC, whose high bit or
  // low bits could fool the 8-byte tests.
  static const char* kSpecial[] = {"\\\"", "\\\\", "\\n", "\\u0000", "\\u001f", "\\u0007"};
  static const char* kUtf8[] = {"\xc2\xa0",     "\xc2\xa2",     "\xc3\xa9",         "\xdc\xa2", "\xdc\x80", "\xc3\x9c",
                                "\xe6\x97\xa5", "\xe2\x80\xa2", "\xf0\x9f\x98\x80", "\xc2\x80", "\xdf\xbf"};
  constexpr size_t kUtf8Count = sizeof(kUtf8) / sizeof(kUtf8[0]);
  for (int i = 0; i < 6000; ++i) {
    std::string doc = "[\"";
    size_t n = rng() % 41;
    for (size_t k = 0; k < n; ++k) {
      if (rng() % (i % 2 ? 10 : 200) == 0) {
        doc += kSpecial[rng() % 6];
        continue;
      }
      switch (rng() % 5) {
        case 0: doc += kUtf8[rng() % kUtf8Count]; break;
        case 1:
          for (size_t run = 2 + rng() % 12; run > 0; --run) doc += kUtf8[rng() % kUtf8Count];
          break;
        case 2: doc += '\x7f'; break;
        default: {
          char c = static_cast<char>(0x20 + rng() % 0x60);  // ' ' to 0x7F
          doc += c == '"' || c == '\\' ? 'q' : c;
        }
      }
    }
    doc += "\"]";
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(doc).get(root), simdjson::SUCCESS) << doc;
    text.clear();
    AppendMinifiedJson(root, &text);
    ASSERT_EQ(text, simdjson::minify(root)) << doc;
  }
}

struct BoundCall {
  BoundFunction f;
  std::string text;
};

Result<BoundCall> Bind(const std::string& path, const JsonCallOptions& o) {
  CallSite site;
  site.name = o.kind == JsonFunctionKind::kQuery    ? "JSON_QUERY"
              : o.kind == JsonFunctionKind::kExists ? "JSON_EXISTS"
                                                    : "JSON_VALUE";
  site.arg_types = {DataType::String(), DataType::String()};
  site.constants = {std::nullopt, Datum::Bytes(path)};
  site.untyped_null = {false, false};
  KL_ASSIGN_OR_RETURN(BoundFunction f, BindJsonFunction(site, o));
  return BoundCall{std::move(f), site.name + "(doc, '" + path + "'" + ")"};
}

// The paths RandomPath writes, applied one step at a time to every element selected so
// far (the SQL/JSON definition, lax or strict): the model the engine's walks are held to.
struct ModelStep {
  char kind;  // 'k' key, '*' any key, 'i' index, 'a' any index, 'l' last
  std::string key;
  size_t index = 0;
};

bool ModelApply(std::string path, simdjson::dom::element root, std::vector<simdjson::dom::element>* out) {
  using simdjson::dom::element_type;
  bool strict = path.rfind("strict ", 0) == 0;
  if (strict) path = path.substr(7);
  std::vector<ModelStep> steps;
  for (size_t i = 1; i < path.size();) {
    if (path.compare(i, 2, ".*") == 0) {
      steps.push_back({'*', "", 0});
      i += 2;
    } else if (path[i] == '.') {
      size_t end = path.find_first_of(".[", i + 1);
      if (end == std::string::npos) end = path.size();
      steps.push_back({'k', path.substr(i + 1, end - i - 1), 0});
      i = end;
    } else {
      size_t end = path.find(']', i);
      std::string inside = path.substr(i + 1, end - i - 1);
      if (inside == "*") {
        steps.push_back({'a', "", 0});
      } else if (inside == "last") {
        steps.push_back({'l', "", 0});
      } else if (inside[0] == '\'' || inside[0] == '"') {
        steps.push_back({'k', inside.substr(1, inside.size() - 2), 0});
      } else {
        steps.push_back({'i', "", std::stoul(inside)});
      }
      i = end + 1;
    }
  }
  std::vector<simdjson::dom::element> cur{root}, next;
  for (const ModelStep& step : steps) {
    next.clear();
    for (simdjson::dom::element e : cur) {
      bool key_step = step.kind == 'k' || step.kind == '*';
      std::vector<simdjson::dom::element> objects;
      if (key_step && e.is_object()) {
        objects.push_back(e);
      } else if (key_step && e.is_array() && !strict) {  // lax: each element of the array
        simdjson::dom::array items = e.get_array().value_unsafe();
        for (auto item : items) {
          if (item.is_object()) objects.push_back(item);
        }
      } else if (key_step) {
        if (strict) return false;
        continue;
      }
      for (simdjson::dom::element o : objects) {
        simdjson::dom::object fields = o.get_object().value_unsafe();
        bool found = false;
        for (auto field : fields) {
          if (step.kind == '*' || field.key == step.key) {
            next.push_back(field.value);
            found = true;
            if (step.kind == 'k') break;  // the first field of the name
          }
        }
        if (!found && step.kind == 'k' && strict) return false;
      }
      if (key_step) continue;
      if (!e.is_array()) {
        if (strict) return false;
        if (step.kind != 'i' || step.index == 0) next.push_back(e);  // lax: an array of one
        continue;
      }
      std::vector<simdjson::dom::element> items;
      simdjson::dom::array array = e.get_array().value_unsafe();
      for (auto item : array) items.push_back(item);
      if (step.kind == 'a') {
        next.insert(next.end(), items.begin(), items.end());
      } else {
        size_t at = step.kind == 'l' ? items.size() - 1 : step.index;
        if (at < items.size()) {
          next.push_back(items[at]);
        } else if (strict) {
          return false;
        }
      }
    }
    cur.swap(next);
  }
  *out = cur;
  return true;
}

TEST(JsonFunctionsTest, PathsSelectWhatTheModelSelects) {
  std::mt19937 rng(5);
  ExecContext ctx;
  simdjson::dom::parser parser;
  int selected = 0;
  for (int round = 0; round < 300; ++round) {
    JsonCallOptions o;
    o.kind = JsonFunctionKind::kQuery;
    o.wrapper = JsonWrapperKind::kUnconditional;
    std::string path = RandomPath(rng);
    auto bound = Bind(path, o);
    ASSERT_TRUE(bound.ok()) << bound.status().ToString();
    Column docs(DataType::String());
    for (int i = 0; i < 20; ++i) docs.AppendBytes(RandomDocument(rng));
    Column got(bound->f.return_type);
    ASSERT_TRUE(bound->f.kernel(ctx, {&docs, nullptr}, docs.size(), &got).ok());
    for (size_t i = 0; i < docs.size(); ++i) {
      std::string doc(docs.GetBytes(i));
      std::string want = "NULL";
      simdjson::dom::element root;
      std::vector<simdjson::dom::element> found;
      if (parser.parse(doc).get(root) == simdjson::SUCCESS && ModelApply(path, root, &found) && !found.empty()) {
        want = "[";
        for (size_t k = 0; k < found.size(); ++k) want += (k ? "," : "") + simdjson::minify(found[k]);
        want += "]";
        ++selected;
      }
      ASSERT_EQ(format::DatumToString(got.Get(i), bound->f.return_type), want) << path << " over " << doc;
    }
  }
  EXPECT_GT(selected, 1000);
}

// A text past the buffer a thread keeps (1 MiB) is written whole, and the values after it
// (the buffer then released) are written as before, also large ones again.
TEST(JsonFunctionsTest, LargeQueryTextsBetweenSmallOnes) {
  ExecContext ctx;
  std::string big(3 << 20, 'x');
  big[1000] = '"';  // escaped, so written past the plain-copy path too
  std::string big_text = "[\"" + big.substr(0, 1000) + "\\\"" + big.substr(1001) + "\"]";
  std::string big_doc = "{\"a\":[\"" + big.substr(0, 1000) + "\\\"" + big.substr(1001) + "\"]}";
  for (JsonWrapperKind wrapper : {JsonWrapperKind::kWithout, JsonWrapperKind::kUnconditional}) {
    JsonCallOptions o;
    o.kind = JsonFunctionKind::kQuery;
    o.wrapper = wrapper;
    auto bound = Bind("$.a", o);
    ASSERT_TRUE(bound.ok()) << bound.status().ToString();
    Column docs(DataType::String());
    for (const std::string& d : {std::string("{\"a\":[1]}"), big_doc, std::string("{\"a\":[\"s\",2.5]}"), big_doc,
                                 std::string("{\"a\":{}}")}) {
      docs.AppendBytes(d);
    }
    Column got(bound->f.return_type);
    ASSERT_TRUE(bound->f.kernel(ctx, {&docs, nullptr}, docs.size(), &got).ok());
    std::vector<std::string> want = {"[1]", big_text, "[\"s\",2.5]", big_text, "{}"};
    for (std::string& w : want) {
      if (wrapper == JsonWrapperKind::kUnconditional) w = "[" + w + "]";
    }
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      std::string g = format::DatumToString(got.Get(i), bound->f.return_type);
      ASSERT_EQ(g.size(), want[i].size()) << i;
      ASSERT_TRUE(g == want[i]) << i;
    }
  }
}

TEST(JsonFunctionsTest, CallSetsAnswerAsEachCallAlone) {
  std::mt19937 rng(11);
  ExecContext ctx;
  for (int round = 0; round < 60; ++round) {
    std::vector<BoundCall> calls;
    while (calls.size() < 24) {
      JsonCallOptions o;
      switch (rng() % 7) {
        case 0: o.kind = JsonFunctionKind::kQuery; break;
        case 1:
          o.kind = JsonFunctionKind::kQuery;
          o.wrapper = rng() % 2 ? JsonWrapperKind::kUnconditional : JsonWrapperKind::kConditional;
          break;
        case 2: o.kind = JsonFunctionKind::kExists; break;
        case 3: o.returning = DataType::BigInt(); break;
        case 4: o.returning = DataType::Boolean(); break;
        default: break;
      }
      if (o.kind == JsonFunctionKind::kExists) {
        o.on_error = JsonOnBehavior::kFalse;
        o.returning = DataType::Boolean();
      }
      auto bound = Bind(RandomPath(rng), o);
      ASSERT_TRUE(bound.ok()) << bound.status().ToString();
      calls.push_back(std::move(*bound));
    }
    Column docs(DataType::String());
    for (int i = 0; i < 40; ++i) {
      if (rng() % 20 == 0) {
        docs.AppendNull();
      } else {
        docs.AppendBytes(RandomDocument(rng));
      }
    }
    std::vector<const JsonCall*> list;
    std::vector<Column> together;
    for (const BoundCall& c : calls) {
      list.push_back(c.f.json.get());
      together.emplace_back(c.f.return_type);
    }
    JsonCallSet set(list);
    ASSERT_TRUE(set.Evaluate(ctx, docs, 0, docs.size(), &together).ok());
    for (size_t k = 0; k < calls.size(); ++k) {
      Column alone(calls[k].f.return_type);
      ASSERT_TRUE(calls[k].f.kernel(ctx, {&docs, nullptr}, docs.size(), &alone).ok());
      ASSERT_EQ(together[k].size(), docs.size());
      for (size_t i = 0; i < docs.size(); ++i) {
        const DataType& t = calls[k].f.return_type;
        ASSERT_EQ(format::DatumToString(together[k].Get(i), t), format::DatumToString(alone.Get(i), t))
            << calls[k].text << " over " << (docs.IsNull(i) ? "NULL" : std::string(docs.GetBytes(i)));
      }
    }
  }
}

}  // namespace
}  // namespace kl::sql
