#include "simulator/selectors.h"

#include <algorithm>

#include "common/string_util.h"

namespace kl::simulator {
namespace {

// Splits on commas that are not inside parentheses ("a in (x,y),b").
std::vector<std::string> SplitTerms(std::string_view text) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!Trim(cur).empty() || !out.empty()) out.push_back(cur);
  return out;
}

const std::string* FindLabel(const Labels& labels, const std::string& key) {
  for (const auto& [k, v] : labels) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace

Result<LabelSelector> LabelSelector::Parse(std::string_view text) {
  LabelSelector sel;
  for (const std::string& raw : SplitTerms(text)) {
    std::string_view term = Trim(raw);
    if (term.empty()) return Status::InvalidArgument("label selector \"" + std::string(text) + "\": empty term");
    Term t;
    size_t pos;
    if (term.front() == '!') {
      t.op = Op::kNotExists;
      t.key = std::string(Trim(term.substr(1)));
    } else if ((pos = term.find("!=")) != std::string_view::npos) {
      t.op = Op::kNotEq;
      t.key = std::string(Trim(term.substr(0, pos)));
      t.values.emplace_back(Trim(term.substr(pos + 2)));
    } else if ((pos = term.find("==")) != std::string_view::npos) {
      t.op = Op::kEq;
      t.key = std::string(Trim(term.substr(0, pos)));
      t.values.emplace_back(Trim(term.substr(pos + 2)));
    } else if ((pos = term.find('=')) != std::string_view::npos) {
      t.op = Op::kEq;
      t.key = std::string(Trim(term.substr(0, pos)));
      t.values.emplace_back(Trim(term.substr(pos + 1)));
    } else if ((pos = term.find(" notin ")) != std::string_view::npos ||
               (pos = term.find(" in ")) != std::string_view::npos) {
      bool notin = term.substr(pos, 7) == " notin ";
      t.op = notin ? Op::kNotIn : Op::kIn;
      t.key = std::string(Trim(term.substr(0, pos)));
      std::string_view set = Trim(term.substr(pos + (notin ? 7 : 4)));
      if (set.size() < 2 || set.front() != '(' || set.back() != ')') {
        return Status::InvalidArgument("label selector \"" + std::string(text) + "\": expected (values)");
      }
      for (const auto& v : Split(set.substr(1, set.size() - 2), ',')) t.values.emplace_back(Trim(v));
    } else {
      t.op = Op::kExists;
      t.key = std::string(term);
    }
    if (t.key.empty()) return Status::InvalidArgument("label selector \"" + std::string(text) + "\": empty key");
    sel.terms_.push_back(std::move(t));
  }
  return sel;
}

bool LabelSelector::Matches(const Labels& labels) const {
  for (const Term& t : terms_) {
    const std::string* v = FindLabel(labels, t.key);
    bool in_set = v != nullptr && std::find(t.values.begin(), t.values.end(), *v) != t.values.end();
    switch (t.op) {
      case Op::kEq:
      case Op::kIn:
        if (!in_set) return false;
        break;
      case Op::kNotEq:
      case Op::kNotIn:
        if (in_set) return false;
        break;
      case Op::kExists:
        if (v == nullptr) return false;
        break;
      case Op::kNotExists:
        if (v != nullptr) return false;
        break;
    }
  }
  return true;
}

Result<FieldSelector> FieldSelector::Parse(std::string_view text) {
  FieldSelector sel;
  for (const std::string& raw : SplitTerms(text)) {
    std::string_view term = Trim(raw);
    Term t;
    size_t pos;
    size_t skip;
    if ((pos = term.find("!=")) != std::string_view::npos) {
      t.equal = false;
      skip = 2;
    } else if ((pos = term.find("==")) != std::string_view::npos) {
      t.equal = true;
      skip = 2;
    } else if ((pos = term.find('=')) != std::string_view::npos) {
      t.equal = true;
      skip = 1;
    } else {
      return Status::InvalidArgument("field selector \"" + std::string(text) + "\": expected field=value");
    }
    t.field = std::string(Trim(term.substr(0, pos)));
    t.value = std::string(Trim(term.substr(pos + skip)));
    if (t.field != "metadata.name" && t.field != "metadata.namespace" && t.field != "spec.nodeName" &&
        t.field != "status.phase") {
      return Status::InvalidArgument("field selector: field label not supported: " + t.field);
    }
    sel.terms_.push_back(std::move(t));
  }
  return sel;
}

bool FieldSelector::Matches(const SelectableFields& f) const {
  for (const Term& t : terms_) {
    std::string_view actual = t.field == "metadata.name"        ? f.name
                              : t.field == "metadata.namespace" ? f.namespace_
                              : t.field == "spec.nodeName"      ? f.node_name
                                                                : f.phase;
    if ((actual == t.value) != t.equal) return false;
  }
  return true;
}

}  // namespace kl::simulator
