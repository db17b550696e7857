// Label and field selectors as the API server evaluates them for list and
// watch: equality (=, ==, !=), set-based (in, notin, exists, !key) for
// labels; =, ==, != on the fields the collector filters by.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace kl::simulator {

using Labels = std::vector<std::pair<std::string, std::string>>;

// What a field selector can look at.
struct SelectableFields {
  std::string_view name;
  std::string_view namespace_;
  std::string_view node_name;  // spec.nodeName (pods)
  std::string_view phase;      // status.phase (pods)
};

class LabelSelector {
 public:
  static Result<LabelSelector> Parse(std::string_view text);
  bool Matches(const Labels& labels) const;
  bool empty() const { return terms_.empty(); }

 private:
  enum class Op { kEq, kNotEq, kIn, kNotIn, kExists, kNotExists };
  struct Term {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  std::vector<Term> terms_;
};

class FieldSelector {
 public:
  static Result<FieldSelector> Parse(std::string_view text);
  bool Matches(const SelectableFields& fields) const;
  bool empty() const { return terms_.empty(); }

 private:
  struct Term {
    std::string field;
    bool equal;
    std::string value;
  };
  std::vector<Term> terms_;
};

}  // namespace kl::simulator
