#include "sql/functions/helpers.h"

namespace kl::sql {

ScalarBinder FixedBinder(std::string kinds, size_t min_args, DataType ret, RowFunction f, bool null_handling) {
  return [kinds, min_args, ret, f, null_handling](const CallSite& site) -> Result<BoundFunction> {
    KL_RETURN_IF_ERROR(CheckArgCount(site, min_args, kinds.size()));
    BoundFunction b;
    b.return_type = ret;
    for (size_t i = 0; i < site.arg_types.size(); ++i) {
      const DataType& t = site.arg_types[i];
      char k = kinds[i];
      std::string want;
      switch (k) {
        case 's':
          if (!IsStringType(t)) want = "a string";
          b.arg_types.push_back(DataType::String());
          break;
        case 'i':
          if (!IsIntegral(t)) want = "an integer";
          b.arg_types.push_back(DataType::BigInt());
          break;
        case 'n':
          if (!IsNumeric(t)) want = "a number";
          b.arg_types.push_back(DataType::Double());
          break;
        case 'b':
          if (t.root() != TypeRoot::kBoolean) want = "a BOOLEAN";
          b.arg_types.push_back(DataType::Boolean());
          break;
        default: b.arg_types.push_back(t); break;
      }
      bool untyped_null = i < site.untyped_null.size() && site.untyped_null[i];
      if (!want.empty() && !untyped_null) {
        return site.Error(site.Arg(i) + " must be " + want + ", not " + TypeName(t.WithNullable(true)));
      }
    }
    b.kernel = RowKernel(f, null_handling, kinds.size());
    return b;
  };
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

size_t Utf8Offset(std::string_view s, size_t chars) {
  size_t i = 0, n = 0;
  while (i < s.size()) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (n == chars) return i;
      ++n;
    }
    ++i;
  }
  return s.size();
}

}  // namespace kl::sql
