// What the protocol layer itself needs to know about SQL text: where one
// statement ends (quotes, comments, dollar quoting), and which statements
// the server answers itself — transaction control, SET/RESET/SHOW of
// session settings, DISCARD and DEALLOCATE — before anything reaches the
// SQL engine.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kl::server::pg {

// Statements of a simple Query message, each trimmed; statements that hold
// only whitespace and comments are dropped (an empty result means
// EmptyQueryResponse).
std::vector<std::string> SplitStatements(std::string_view sql);

// True when the text holds only whitespace and comments ("", "-- ping").
bool IsEmptyStatement(std::string_view sql);

struct SessionCommand {
  enum class Kind {
    kEngine,      // not a session command: the SQL engine's
    kBegin,       // BEGIN / START TRANSACTION
    kCommit,      // COMMIT / END
    kRollback,    // ROLLBACK / ABORT
    kSet,         // SET name {TO|=} value
    kSetNoop,     // SET TRANSACTION / SESSION CHARACTERISTICS (accepted, nothing to change)
    kReset,       // RESET name / RESET ALL
    kShow,        // SHOW name / SHOW ALL
    kDiscardAll,  // DISCARD ALL
    kDeallocate,  // DEALLOCATE [PREPARE] name / ALL
    kCopy,        // COPY ... (see ParseCopy)
  };
  Kind kind = Kind::kEngine;
  std::string name;         // setting (lower case) or statement name; "all"
  std::string value;        // SET's value, unquoted; "default" for DEFAULT
  bool read_write = false;  // BEGIN/SET TRANSACTION READ WRITE
};

// Classifies one statement. `is_known_setting` decides whether SET/SHOW/RESET
// of a name is the server's (else the engine's, e.g. Flink's SET 'k'='v').
SessionCommand ClassifyStatement(std::string_view sql, bool (*is_known_setting)(std::string_view name));

// COPY {table [(columns)] | (query)} TO STDOUT [[WITH] (options) | legacy options]:
// the rows of a SELECT, sent as CopyData in PostgreSQL's text, csv or binary format.
struct CopyCommand {
  enum class Format { kText, kCsv, kBinary };
  std::string query;  // the SELECT whose rows are copied
  Format format = Format::kText;
  char delimiter = '\t';          // csv: ','
  std::string null_text = "\\N";  // csv: ""
  bool header = false;
  char quote = '"';   // csv
  char escape = '"';  // csv; the quote unless given
  bool force_quote_all = false;
  std::vector<std::string> force_quote;  // csv: columns always quoted (names as the query returns them)
};

// COPY parsed, or why not: `sqlstate` and `message` set (COPY FROM, a file or
// program on the server, an unknown or conflicting option).
struct CopyParse {
  CopyCommand command;
  std::string sqlstate;
  std::string message;
  bool ok() const { return sqlstate.empty(); }
};
CopyParse ParseCopy(std::string_view sql);

}  // namespace kl::server::pg
