#include "sql/streaming/print_sink.h"

#include <cstdio>
#include <fstream>

#include "common/string_util.h"
#include "sql/functions/cast.h"

namespace kl::sql::streaming {

namespace {

std::string Opt(const std::map<std::string, std::string>& o, const std::string& k, const std::string& fallback = "") {
  auto it = o.find(k);
  return it == o.end() ? fallback : it->second;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

class PrintSink : public pipeline::Sink {
 public:
  PrintSink(format::RowType type, std::string identifier, bool to_stderr, std::string path)
      : type_(std::move(type)), identifier_(std::move(identifier)), to_stderr_(to_stderr), path_(std::move(path)) {}

  std::string name() const override { return path_.empty() ? "print" : "print to " + path_; }
  Result<std::optional<pipeline::SourcePosition>> RestorePosition() override {
    return std::optional<pipeline::SourcePosition>();
  }
  Status Write(const pipeline::Changes& changes) override {
    for (const auto& c : changes) {
      std::string line;
      if (path_.empty()) {
        if (!identifier_.empty()) line = identifier_ + "> ";
        line += std::string(format::RowKindShortString(c.kind)) + "[";
        for (size_t i = 0; i < c.row.size(); ++i) {
          if (i > 0) line += ", ";
          line += c.row[i].is_null() ? "NULL" : ValueToText(ctx_, c.row[i], type_.type(i));
        }
        line += "]\n";
      } else {
        line = std::string(format::RowKindShortString(c.kind));
        for (size_t i = 0; i < c.row.size(); ++i) {
          line += "\t" + (c.row[i].is_null() ? std::string("\\N") : Escape(ValueToText(ctx_, c.row[i], type_.type(i))));
        }
        line += "\n";
      }
      pending_ += line;
    }
    return Status::OK();
  }
  bool has_pending() const override { return !pending_.empty(); }
  int64_t NextIdentifier(const pipeline::SourcePosition&) const override { return last_ + 1; }
  int64_t last_identifier() const override { return last_; }
  Result<table::CommitResult> Commit(const pipeline::SourcePosition&, bool) override {
    table::CommitResult r;
    if (pending_.empty()) return r;
    if (path_.empty()) {
      FILE* f = to_stderr_ ? stderr : stdout;
      std::fwrite(pending_.data(), 1, pending_.size(), f);
      std::fflush(f);
    } else {
      std::ofstream out(path_, std::ios::app | std::ios::binary);
      out << pending_;
      out.flush();
      if (!out) return Status::IOError("writing " + path_);
    }
    pending_.clear();
    r.snapshot_ids.push_back(++last_);
    return r;
  }
  void Reset() override { pending_.clear(); }

 private:
  format::RowType type_;
  std::string identifier_;
  bool to_stderr_;
  std::string path_;
  std::string pending_;
  int64_t last_ = 0;
  ExecContext ctx_;
};

}  // namespace

Result<std::unique_ptr<pipeline::Sink>> MakePrintSink(const CatalogObject& table) {
  return std::unique_ptr<pipeline::Sink>(new PrintSink(table.schema, Opt(table.connector_options, "print-identifier"),
                                                       Opt(table.connector_options, "standard-error") == "true",
                                                       Opt(table.connector_options, "kubelake.path")));
}

}  // namespace kl::sql::streaming
