// orc — kubelake's reader of Apache ORC files (Debian 12 packages no ORC
// library): what Java Paimon writes in ORC, its manifests and manifest lists
// (manifest.format = orc) and data files, read into ColumnBatch with fields
// matched by name. Read only. See docs/orc.md.
#pragma once

#include "format/orc/orc_decoding.h"
#include "format/orc/orc_reader.h"
