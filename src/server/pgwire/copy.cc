#include "server/pgwire/copy.h"

#include <cstring>

#include "server/pgwire/types.h"

namespace kl::server::pg {

SqlResult<CopyEncoder> CopyEncoder::Make(const CopyCommand& command, const format::RowType& columns) {
  std::vector<bool> force(columns.size(), command.force_quote_all);
  for (const std::string& name : command.force_quote) {
    bool found = false;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns.field(i).name == name) {
        force[i] = true;
        found = true;
      }
    }
    if (!found) {
      return SqlError{"42703", "column \"" + name + "\" does not exist", "",
                      "FORCE_QUOTE names a column of the COPY's rows.", 0};
    }
  }
  return CopyEncoder(command, columns, std::move(force));
}

// Text format: backslash escapes for the backslash, the delimiter and control characters.
void CopyEncoder::AppendText(std::string_view value, std::string* out) const {
  for (char c : value) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\v': out->append("\\v"); break;
      default:
        if (c == command_.delimiter) out->push_back('\\');
        out->push_back(c);
    }
  }
}

// CSV: quoted when asked to, or when the value holds the delimiter, the quote or a line
// break, equals the NULL text, or is the end-of-data marker \. as a row's only value.
void CopyEncoder::AppendCsv(std::string_view value, bool force, std::string* out) const {
  const CopyCommand& c = command_;
  bool quote = force || value == c.null_text || (columns_.size() == 1 && value == "\\.");
  for (size_t i = 0; !quote && i < value.size(); ++i) {
    char ch = value[i];
    quote = ch == c.delimiter || ch == c.quote || ch == '\n' || ch == '\r';
  }
  if (!quote) {
    out->append(value);
    return;
  }
  out->push_back(c.quote);
  for (char ch : value) {
    if (ch == c.quote || ch == c.escape) out->push_back(c.escape);
    out->push_back(ch);
  }
  out->push_back(c.quote);
}

std::string CopyEncoder::Start() const {
  std::string out;
  if (command_.format == CopyCommand::Format::kBinary) {
    out.append("PGCOPY\n\377\r\n", 10);
    out.push_back('\0');
    out.append(8, '\0');  // flags, header extension length
    return out;
  }
  if (!command_.header) return out;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i > 0) out.push_back(command_.delimiter);
    if (command_.format == CopyCommand::Format::kCsv) {
      AppendCsv(columns_.field(i).name, false, &out);
    } else {
      AppendText(columns_.field(i).name, &out);
    }
  }
  out.push_back('\n');
  return out;
}

Status CopyEncoder::AppendRow(const format::Row& row, std::string* out, const sql::TimeZone* zone) const {
  if (row.size() != columns_.size()) {
    return Status::Internal("the engine returned a row of " + std::to_string(row.size()) + " values for " +
                            std::to_string(columns_.size()) + " columns");
  }
  std::string value;
  if (command_.format == CopyCommand::Format::kBinary) {
    auto be16 = [out](uint16_t v) {
      out->push_back(static_cast<char>(v >> 8));
      out->push_back(static_cast<char>(v));
    };
    auto be32 = [out](uint32_t v) {
      for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
    };
    be16(static_cast<uint16_t>(row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      if (row[i].is_null()) {
        be32(0xFFFFFFFFu);
        continue;
      }
      value.clear();
      KL_RETURN_IF_ERROR(EncodeValue(row[i], columns_.type(i), /*binary=*/true, &value));
      be32(static_cast<uint32_t>(value.size()));
      out->append(value);
    }
    return Status::OK();
  }
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) out->push_back(command_.delimiter);
    if (row[i].is_null()) {
      out->append(command_.null_text);
      continue;
    }
    value.clear();
    KL_RETURN_IF_ERROR(EncodeValue(row[i], columns_.type(i), /*binary=*/false, &value, zone));
    if (command_.format == CopyCommand::Format::kCsv) {
      AppendCsv(value, force_quote_[i], out);
    } else {
      AppendText(value, out);
    }
  }
  out->push_back('\n');
  return Status::OK();
}

std::string CopyEncoder::Finish() const {
  if (command_.format != CopyCommand::Format::kBinary) return "";
  return std::string("\xff\xff", 2);
}

}  // namespace kl::server::pg
