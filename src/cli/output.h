// Output helpers shared by commands: rows as JSON lines or as an aligned
// text table.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "format/column.h"

namespace kl::cli {

enum class OutputFormat { kTable, kJsonl };

// Parses "table" / "jsonl"; anything else is a usage error reported by the caller.
bool ParseOutputFormat(const std::string& text, OutputFormat* out);

// Prints a table with a header row; cells are already text.
void PrintTextTable(std::FILE* out, const std::vector<std::string>& header,
                    const std::vector<std::vector<std::string>>& rows);

// One JSON object per row, keys = column names, typed values.
void PrintRowsJsonl(std::FILE* out, const format::ColumnBatch& rows, const std::vector<size_t>& order);
void PrintRowsTable(std::FILE* out, const format::ColumnBatch& rows, const std::vector<size_t>& order);

}  // namespace kl::cli
