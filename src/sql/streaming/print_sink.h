// The 'print' connector's sink (Flink's): every change a job emits, one line
// each, as `+I[v1, v2]` (with 'print-identifier' as a prefix) on standard
// output, or standard error with 'standard-error' = 'true'. With
// 'kubelake.path' the lines go to that file instead, as the change kind and
// the values separated by tabs (tabs, newlines and backslashes escaped), for
// programs that read a query's changelog. Lines are written at each checkpoint;
// the sink keeps no position, so a restarted job prints from its sources' start.
#pragma once

#include <memory>
#include <string>

#include "pipeline/runtime/sink.h"
#include "sql/catalog/catalog.h"

namespace kl::sql::streaming {

Result<std::unique_ptr<pipeline::Sink>> MakePrintSink(const CatalogObject& table);

}  // namespace kl::sql::streaming
