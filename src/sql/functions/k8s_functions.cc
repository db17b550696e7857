// Kubernetes functions for the warehouse written in SQL (and for teams'
// statements over raw events): resource quantities and RFC 3339 times, parsed
// exactly as the collector's own code parses them.
#include <simdjson.h>

#include <limits>

#include "common/clock.h"
#include "pipeline/warehouse/k8s_event.h"
#include "sql/functions/helpers.h"

namespace kl::sql {

namespace {

// What one string of the array adds: its quantity, 0 if malformed.
int64_t CpuMillisTerm(std::string_view q) { return pipeline::ParseCpuMillis(q).value_or(0); }
int64_t MemoryBytesTerm(std::string_view q) { return pipeline::ParseMemoryBytes(q).value_or(0); }

// Sums the quantities in a JSON array of strings (JSON_QUERY(... '[*]...' WITH ARRAY
// WRAPPER)); elements that are not strings or do not parse count 0; NULL or not an array: 0.
int64_t SumQuantities(std::string_view json, bool cpu) {
  // One parser per thread: its buffers are allocated once, not for every row.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size(), true).get(root) != simdjson::SUCCESS) return 0;
  simdjson::dom::array items;
  if (root.get_array().get(items) != simdjson::SUCCESS) return 0;
  int64_t sum = 0;
  for (simdjson::dom::element e : items) {
    std::string_view q;
    if (e.get_string().get(q) != simdjson::SUCCESS) continue;
    // A sum past BIGINT's range saturates rather than wrapping.
    if (__builtin_add_overflow(sum, cpu ? CpuMillisTerm(q) : MemoryBytesTerm(q), &sum))
      return std::numeric_limits<int64_t>::max();
  }
  return sum;
}

// A K8S_SUM_* binder that also names the term it sums (BoundFunction::json_string_term).
ScalarBinder SumBinder(int64_t (*term)(std::string_view), ScalarBinder bind) {
  return [term, bind = std::move(bind)](const CallSite& site) -> Result<BoundFunction> {
    KL_ASSIGN_OR_RETURN(BoundFunction f, bind(site));
    f.json_string_term = term;
    return f;
  };
}

// A binder of a function of one string to a BIGINT (NULL for NULL) whose kernel, given a
// column of text, computes `f` value by value into the column, without a Datum per row
// (the DWD job's K8S_TIME_MILLIS); other arguments go to the bound row kernel.
ScalarBinder ColumnKernelOfText(ScalarBinder bind, std::optional<int64_t> (*f)(std::string_view)) {
  return [f, bind = std::move(bind)](const CallSite& site) -> Result<BoundFunction> {
    KL_ASSIGN_OR_RETURN(BoundFunction b, bind(site));
    b.kernel = [f, rows_kernel = std::move(b.kernel)](ExecContext& ctx, const std::vector<const Column*>& args,
                                                      size_t rows, Column* out) -> Status {
      if (args.size() != 1 || args[0]->kind() != format::PhysicalKind::kBytes) {
        return rows_kernel(ctx, args, rows, out);
      }
      const Column& in = *args[0];
      for (size_t i = 0; i < rows; ++i) {
        std::optional<int64_t> v = in.IsNull(i) ? std::nullopt : f(in.GetBytes(i));
        if (v) {
          out->AppendInt(*v);
        } else {
          out->AppendNull();
        }
      }
      return Status::OK();
    };
    return b;
  };
}

}  // namespace

void RegisterK8sFunctions(FunctionRegistry* r) {
  r->AddScalar("K8S_QUANTITY",
               FixedBinder("s", 1, DataType::Double(),
                           [](ExecContext&, const Datum* a, Datum* o) -> Status {
                             auto v = pipeline::ParseQuantity(a[0].as_bytes());
                             *o = v ? Datum::Double(*v) : Datum();
                             return Status::OK();
                           }),
               "K8S_QUANTITY(text): a Kubernetes quantity ('250m', '1.5Gi', '1e3') as a number; NULL if malformed");
  r->AddScalar("K8S_CPU_MILLIS",
               FixedBinder("s", 1, DataType::BigInt(),
                           [](ExecContext&, const Datum* a, Datum* o) -> Status {
                             auto v = pipeline::ParseCpuMillis(a[0].as_bytes());
                             *o = v ? Datum::Int(*v) : Datum();
                             return Status::OK();
                           }),
               "K8S_CPU_MILLIS(text): a CPU quantity in millicores ('250m' -> 250, '2' -> 2000); NULL if malformed");
  r->AddScalar("K8S_MEMORY_BYTES",
               FixedBinder("s", 1, DataType::BigInt(),
                           [](ExecContext&, const Datum* a, Datum* o) -> Status {
                             auto v = pipeline::ParseMemoryBytes(a[0].as_bytes());
                             *o = v ? Datum::Int(*v) : Datum();
                             return Status::OK();
                           }),
               "K8S_MEMORY_BYTES(text): a memory quantity in bytes ('128Mi', '1G'); NULL if malformed");
  r->AddScalar("K8S_SUM_CPU_MILLIS",
               SumBinder(CpuMillisTerm, FixedBinder(
                                            "s", 1, DataType::BigInt().NotNull(),
                                            [](ExecContext&, const Datum* a, Datum* o) -> Status {
                                              *o =
                                                  Datum::Int(a[0].is_null() ? 0 : SumQuantities(a[0].as_bytes(), true));
                                              return Status::OK();
                                            },
                                            /*null_handling=*/true)),
               "K8S_SUM_CPU_MILLIS(json_array): the millicores of a JSON array of CPU quantities, summed (0 for NULL)");
  r->AddScalar(
      "K8S_SUM_MEMORY_BYTES",
      SumBinder(MemoryBytesTerm, FixedBinder(
                                     "s", 1, DataType::BigInt().NotNull(),
                                     [](ExecContext&, const Datum* a, Datum* o) -> Status {
                                       *o = Datum::Int(a[0].is_null() ? 0 : SumQuantities(a[0].as_bytes(), false));
                                       return Status::OK();
                                     },
                                     /*null_handling=*/true)),
      "K8S_SUM_MEMORY_BYTES(json_array): the bytes of a JSON array of memory quantities, summed (0 for NULL)");
  r->AddScalar("K8S_TIME_MILLIS",
               ColumnKernelOfText(FixedBinder("s", 1, DataType::BigInt(),
                                              [](ExecContext&, const Datum* a, Datum* o) -> Status {
                                                int64_t ms = ParseRfc3339Millis(a[0].as_bytes());
                                                *o = ms < 0 ? Datum() : Datum::Int(ms);
                                                return Status::OK();
                                              }),
                                  [](std::string_view text) {
                                    int64_t ms = ParseRfc3339Millis(text);
                                    return ms < 0 ? std::nullopt : std::optional<int64_t>(ms);
                                  }),
               "K8S_TIME_MILLIS(text): an RFC 3339 time ('2024-05-01T10:00:00Z') in epoch milliseconds; NULL if "
               "malformed");
}

}  // namespace kl::sql
