// simulator — a fleet of fake Kubernetes API servers that speak the real
// list/watch protocol (discovery, paginated lists with expiring continue
// tokens, watches with bookmarks and 410 Expired, label and field
// selectors) over HTTPS with bearer tokens, with seeded churn and faults,
// and a ground-truth endpoint. The demo and every end-to-end test run on it.
#pragma once

#include "simulator/api_server.h"
#include "simulator/cluster_sim.h"
#include "simulator/faults.h"
#include "simulator/fleet.h"
#include "simulator/store.h"
