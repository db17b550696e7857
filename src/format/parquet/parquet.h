// parquet — kubelake's own Apache Parquet codec (Debian ships no Arrow/Parquet
// C++ library). ParquetWriter turns ColumnBatch into Parquet files that Java
// Paimon (parquet-mr) reads, with Paimon's type mapping and field ids;
// ParquetReader reads parquet-mr files back into ColumnBatch, by projection,
// skipping row groups and pages by statistics. See docs/parquet.md.
//
// Layout: metadata/ (Thrift compact protocol, the footer, schema mapping,
// statistics), column/ (column chunks and pages, encodings, page codecs);
// the file reader and writer and the shared file cache sit on top.
#pragma once

#include "format/parquet/metadata/statistics.h"
#include "format/parquet/parquet_reader.h"
#include "format/parquet/parquet_writer.h"
