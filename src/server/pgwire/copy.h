// COPY ... TO STDOUT's rows in PostgreSQL's three formats: text (escaped,
// delimiter-separated lines, \N for NULL), csv (quoted as needed, a header
// line) and binary (the PGCOPY signature, then each row's fields in the
// binary wire form). The session sends each piece as one CopyData message.
#pragma once

#include <string>
#include <vector>

#include "format/datum.h"
#include "format/types.h"
#include "server/pgwire/query_engine.h"
#include "server/pgwire/statement.h"

namespace kl::sql {
class TimeZone;
}

namespace kl::server::pg {

class CopyEncoder {
 public:
  // Fails (42703) when FORCE_QUOTE names a column the query does not return.
  static SqlResult<CopyEncoder> Make(const CopyCommand& command, const format::RowType& columns);

  // What comes before the rows: the binary signature, or the header line; may be empty.
  std::string Start() const;
  // One row (a line, or a binary tuple) appended to `out`; text timestamptz values on
  // the wall clock of `zone` (null = UTC).
  Status AppendRow(const format::Row& row, std::string* out, const sql::TimeZone* zone = nullptr) const;
  // What comes after the rows: the binary trailer; may be empty.
  std::string Finish() const;
  // 0 text, 1 binary: CopyOutResponse's overall and per-column formats.
  int format_code() const { return command_.format == CopyCommand::Format::kBinary ? 1 : 0; }

 private:
  CopyEncoder(CopyCommand command, format::RowType columns, std::vector<bool> force_quote)
      : command_(std::move(command)), columns_(std::move(columns)), force_quote_(std::move(force_quote)) {}
  void AppendText(std::string_view value, std::string* out) const;
  void AppendCsv(std::string_view value, bool force, std::string* out) const;

  CopyCommand command_;
  format::RowType columns_;
  std::vector<bool> force_quote_;
};

}  // namespace kl::server::pg
