// ingest — the central side of fleet deployment: an HTTPS endpoint where
// in-cluster collectors ship numbered batches of events, appended to the
// event log exactly once (a retried batch is not appended twice, a restarted
// collector resumes from the acknowledged position). It sits between the
// collector and the log in the data flow: it includes `log` and `common`;
// the collector's remote sink includes only `ingest/wire.h`.
//
//   ingest/wire.h         the batch format both sides speak
//   ingest/http_server.h  a small libmicrohttpd + GnuTLS server (TLS, client certificates)
//   ingest/clusters.h     the accepted clusters and their credentials
//   ingest/ingest_server.h IngestServer: authenticate, deduplicate, append, acknowledge
#pragma once

#include "ingest/clusters.h"
#include "ingest/http_server.h"
#include "ingest/ingest_server.h"
#include "ingest/wire.h"
