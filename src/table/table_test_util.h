// Helpers shared by the table tests: a four-column table (id, region, name, n),
// rows for it, and reads rendered as sorted strings such as `+I 1 "eu" "a" 10`.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "table/table.h"

namespace kl::table::test_util {

inline std::shared_ptr<Table> MakeTestTable(const std::string& path, std::vector<std::string> primary_keys,
                                            std::map<std::string, std::string> options,
                                            std::vector<std::string> partition_keys = {},
                                            format::DataType n_type = format::DataType::BigInt()) {
  auto schema = NewTableSchema({{0, "id", format::DataType::BigInt(), ""},
                                {1, "region", format::DataType::String(), ""},
                                {2, "name", format::DataType::String(), ""},
                                {3, "n", std::move(n_type), ""}},
                               std::move(partition_keys), std::move(primary_keys), options);
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  auto t = Table::Create(path, *schema);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return *t;
}

inline format::Row R(int64_t id, const std::string& region, const std::string& name, int64_t n) {
  return {format::Datum::Int(id), format::Datum::Bytes(region), format::Datum::Bytes(name), format::Datum::Int(n)};
}

inline std::vector<std::string> Rows(const RowsWithKinds& r) {
  std::vector<std::string> out;
  for (size_t i = 0; i < r.size(); ++i) {
    std::string s = std::string(format::RowKindShortString(r.kinds[i]));
    for (const auto& d : r.rows.GetRow(i)) s += " " + format::DatumDebugString(d);
    out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What each of `snapshot_ids` (a commit's snapshots) holds as changes, in the order read.
inline Result<std::vector<RowsWithKinds>> ChangesOfSnapshots(Table& t, const std::vector<int64_t>& snapshot_ids) {
  std::vector<RowsWithKinds> out;
  for (int64_t id : snapshot_ids) {
    KL_ASSIGN_OR_RETURN(auto plan, t.NewScan().PlanChanges(id));
    KL_ASSIGN_OR_RETURN(auto read, t.NewRead());
    KL_ASSIGN_OR_RETURN(RowsWithKinds rows, read->ReadAll(plan));
    out.push_back(std::move(rows));
  }
  return out;
}

}  // namespace kl::table::test_util
