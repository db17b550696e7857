// format — how values look in memory and on disk, below the table engine:
// Paimon's data types (types.h), single values (datum.h), columnar batches
// (column.h), block compression shared by the codecs (compression.h), and the
// file codecs kubelake writes by hand because Debian has no fitting package:
// Avro object container files (avro/), Parquet (parquet/) and an ORC reader
// (orc/). It depends only on common.
#pragma once

#include "format/column.h"
#include "format/datum.h"
#include "format/types.h"
