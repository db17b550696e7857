// common — the ground every part stands on: Status/Result error handling,
// filesystem access, byte coding, JSON, clocks, seeded randomness, logging.
// It depends on no other kubelake part. `file/` holds filesystem access and the
// caches of parsed write-once files; `testing/` the helpers of tests and benchmarks.
#pragma once

#include "common/clock.h"
#include "common/coding.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "common/random.h"
#include "common/result.h"
#include "common/status.h"
#include "common/string_util.h"
