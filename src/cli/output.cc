#include "cli/output.h"

#include <algorithm>

#include "common/json.h"

namespace kl::cli {

bool ParseOutputFormat(const std::string& text, OutputFormat* out) {
  if (text == "table") {
    *out = OutputFormat::kTable;
    return true;
  }
  if (text == "jsonl" || text == "json") {
    *out = OutputFormat::kJsonl;
    return true;
  }
  return false;
}

void PrintTextTable(std::FILE* out, const std::vector<std::string>& header,
                    const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < width.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      s += cell;
      if (c + 1 < width.size()) s.append(width[c] - std::min(width[c], cell.size()) + 2, ' ');
    }
    std::fprintf(out, "%s\n", s.c_str());
  };
  line(header);
  std::vector<std::string> rule;
  for (size_t w : width) rule.emplace_back(w, '-');
  line(rule);
  for (const auto& r : rows) line(r);
}

void PrintRowsJsonl(std::FILE* out, const format::ColumnBatch& rows, const std::vector<size_t>& order) {
  const auto& schema = rows.schema();
  JsonWriter w;
  for (size_t i : order) {
    w.Clear();
    w.BeginObject();
    for (size_t c = 0; c < schema.size(); ++c) {
      w.Key(schema.field(c).name);
      format::WriteDatumJson(&w, rows.column(c).Get(i), schema.type(c));
    }
    w.EndObject();
    std::fprintf(out, "%s\n", w.str().c_str());
  }
}

void PrintRowsTable(std::FILE* out, const format::ColumnBatch& rows, const std::vector<size_t>& order) {
  const auto& schema = rows.schema();
  std::vector<std::vector<std::string>> cells;
  for (size_t i : order) {
    std::vector<std::string> r;
    for (size_t c = 0; c < schema.size(); ++c)
      r.push_back(format::DatumToString(rows.column(c).Get(i), schema.type(c)));
    cells.push_back(std::move(r));
  }
  PrintTextTable(out, schema.names(), cells);
}

}  // namespace kl::cli
