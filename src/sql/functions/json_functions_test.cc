// JSON_QUERY's text against simdjson::minify, on random documents.
#include "sql/functions/json_functions.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>
#include <vector>

#include "format/datum.h"
#include "sql/execution/context.h"

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
}

}  // namespace
}  // namespace kl::sql
