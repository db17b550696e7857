// log — the event log: the durable hand-off between the collector, which
// appends Kubernetes watch events keyed by cluster, and the pipeline, which
// reads them from offsets recorded in its table commits. Embedded segmented
// files on local disk by default (SegmentLog), Kafka at scale (KafkaLog),
// both behind EventLog and opened from a URI with OpenEventLog.
#pragma once

#include "log/event_log.h"
#include "log/kafka_log.h"
#include "log/segment_log.h"
