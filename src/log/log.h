// log — the event log: the durable hand-off between the collector, which
// appends Kubernetes watch events keyed by cluster, and the pipeline, which
// reads them from offsets recorded in its table commits. Embedded segmented
// files on local disk by default (SegmentLog), Kafka at scale (KafkaLog),
// both behind EventLog and opened from a URI with OpenEventLog.
//
// Layout: segment/ (the embedded log's files, writer, readers, retention),
// kafka/ (the Kafka backend and an in-process mock broker).
#pragma once

#include "log/event_log.h"
#include "log/kafka/kafka_log.h"
#include "log/segment/segment_log.h"
