-- kubelake's warehouse, in Flink SQL. `kubelake run`, `pipeline` and `demo` run
-- this file (shipped inside the binary; `kubelake sql --warehouse-sql` prints it)
-- with the values of their flags put in its placeholders; every INSERT is a streaming
-- job that commits with its source positions, exactly once. Teams add their own
-- statements beside it with --sql FILE.
--
--   log ─ods──────────────────────────────▶ ods_events          raw events (Avro), a commit every ${ods_commit_interval_ms} ms
--   log ─dwd─▶ parse ─▶ cluster dimension ─▶ dwd_objects         one row per object
--   dwd_objects' changelog ─▶ dim_cluster                        region/zone from node labels
--                          ─▶ dim_node                           live nodes: zone/region (topology look-ups)
--                          ─▶ ads_kind_count, ads_namespace_count, ads_node_pods, ads_user_resources
--                          ─▶ dws_topology                       user → instance → pod → node → cluster
--   ads_* sampled every ${trend_interval_ms} ms ─▶ trend_kind_count, trend_user_resources

CREATE DATABASE IF NOT EXISTS `${database}`;
USE `${database}`;

-- The event log: one record per Kubernetes object change, key = the cluster.
CREATE TEMPORARY TABLE k8s_events (
  ingest_time BIGINT METADATA FROM 'timestamp',  -- append time, ms
  cluster     STRING METADATA FROM 'key',
  content     STRING                             -- the event: type, obj, uid, kind, resourceversion, ...
) WITH (
  'connector' = 'kubelake-log',
  'uri' = '${log_uri}',
  'scan.startup.mode' = 'earliest-offset'
);

-- ---- tables ----
--
-- The primary-key tables compact every fourth flush of a bucket, DWD and topology, which
-- take a few hundred rows per bucket at every commit, every eighth
-- ('kubelake.compaction.level0-file-num'), and keep 16 levels ('num-levels')
-- instead of Paimon's default 6: a streaming commit flushes a few KB per bucket,
-- and with levels 1-5 all holding runs each group of level-0 files had to merge
-- into level 1, rewriting it at every compaction as it grew.
-- Their level-0 files (each commit's new rows) are merged into the levels below by
-- the next compactions: compressing them costs more CPU than their time on disk saves
-- ('file.compression.per.level'). Changelog files of the lookup producer are read once
-- by each follower soon after they are written and expire with their snapshot: neither
-- compression nor value statistics pay there ('changelog-file.*').

-- Raw events as they came (row format: one content can be megabytes).
CREATE TABLE IF NOT EXISTS ods_events (
  ingest_time BIGINT,
  cluster     STRING,
  content     STRING
) PARTITIONED BY (cluster) WITH (
  'file.format' = 'avro',
  -- zstd was the largest part of this job's CPU: 256 KB blocks (Avro's writers make 64 KB
  -- ones) at zstd's fast level -3 take a quarter less than 64 KB blocks at level 1, for files
  -- ~8 % larger; every Avro reader and zstd decoder reads them
  'file.compression.zstd-level' = '-3',
  'kubelake.avro.block-size' = '256 kb',
  'bucket' = '${ods_buckets}',
  'bucket-key' = 'ingest_time',
  -- contents are multi-KB: a bulk load flushes the fullest bucket each time the table's
  -- buckets hold this much, rather than keeping 256 MB (and as much again while growing)
  'write-buffer-size' = '64 mb',
  -- no job follows it: few snapshots, each adding a file per cluster and bucket
  'snapshot.num-retained.min' = '10',
  'snapshot.num-retained.max' = '${ods_snapshots_retained_max}',
  'snapshot.time-retained' = '1h'
);

-- One row per object: the newest version by numeric resourceVersion, then event
-- time, a deletion winning over everything before it (sequence.field). Deleted
-- objects stay, deleted = true: the audit of what was deleted and when. With
-- kubelake run --deleted-retention D, ${dwd_deleted_retention} below becomes Paimon's
-- record-level expiry on deleted_time ('record-level.expire-time' = 'D',
-- 'record-level.time-field' = 'deleted_time'): a deleted object's row goes at a
-- compaction D after its deletion (no changelog; live rows, whose deleted_time is NULL,
-- never expire), and the writer's lookup state forgets it, so the table and its memory
-- do not grow with churn.
CREATE TABLE IF NOT EXISTS dwd_objects (
  cluster              STRING,
  uid                  STRING,
  kind                 STRING,
  api_group            STRING,
  api_version          STRING,
  namespace            STRING,
  name                 STRING,
  resource_version     STRING,
  rv                   BIGINT,
  event_type           STRING,
  origin               STRING,   -- watch, list, inferred (a deletion inferred at relist)
  deleted              BOOLEAN,
  deleted_time         BIGINT,
  event_time           BIGINT,
  collect_time         BIGINT,
  watch_name           STRING,
  watch_setup_time     BIGINT,
  created_time         BIGINT,
  labels               STRING,
  owner_kind           STRING,
  owner_name           STRING,
  node_name            STRING,
  phase                STRING,
  unschedulable        BOOLEAN,
  user_id              STRING,
  instance_id          STRING,
  cpu_request_milli    BIGINT,
  memory_request_bytes BIGINT,
  topology_region      STRING,
  topology_zone        STRING,
  cluster_id           STRING,
  region_id            STRING,
  region               STRING,
  zone                 STRING,
  PRIMARY KEY (cluster, uid) NOT ENFORCED
) PARTITIONED BY (cluster) WITH (
  'file.format' = '${file_format}',
  'bucket' = '${dwd_buckets}',
  'changelog-producer' = 'lookup',
  'changelog-file.compression' = 'none',
  'changelog-file.stats-mode' = 'none',
  'file.compression.per.level' = '0:none',
  -- no value statistics in level-0 files: reads prune DWD by key range only, and no
  -- reader can prune a primary-key table's level-0 files by value statistics in a merge
  'metadata.stats-mode.per.level' = '0:none',
  -- a job catching up with a backlog leaves up to this many sorted runs per
  -- bucket uncompacted until it has caught up (a bulk load is written once)
  'num-sorted-run.stop-trigger' = '24',
  'sequence.field' = 'rv,event_time,deleted',
  ${dwd_deleted_retention}
  'snapshot.num-retained.min' = '10',
  'snapshot.num-retained.max' = '${snapshots_retained_max}',
  'snapshot.time-retained' = '1h',
  'kubelake.compaction.level0-file-num' = '8',
  'num-levels' = '16'
);

-- The cluster dimension, which users maintain; node_region/node_zone come from node labels.
CREATE TABLE IF NOT EXISTS dim_cluster (
  cluster     STRING,
  cluster_id  STRING,
  region_id   STRING,
  region      STRING,
  zone        STRING,
  node_region STRING,
  node_zone   STRING,
  PRIMARY KEY (cluster) NOT ENFORCED
) WITH (
  'file.format' = '${file_format}',
  'bucket' = '1',
  'merge-engine' = 'partial-update',
  'file.compression.per.level' = '0:none',
  'partial-update.remove-record-on-delete' = 'true',
  'snapshot.num-retained.min' = '10',
  'snapshot.num-retained.max' = '${snapshots_retained_max}',
  'snapshot.time-retained' = '1h',
  'kubelake.compaction.level0-file-num' = '4',
  'num-levels' = '16'
);

-- One row per live node: small enough to join on every topology look-up (DWD is
-- not). Keyed with the uid too: a node recreated under its name may be live beside
-- its old object until that one's deletion is seen (or inferred at a relist), and
-- that deletion must not remove the new one.
-- The two tables look-ups read by key (dim_node, dws_topology) are Parquet whatever
-- --file-format says, with pages of at most 1000 rows: a read by key decodes only the
-- pages whose key range (the page index) can hold the key.
CREATE TABLE IF NOT EXISTS dim_node (
  cluster       STRING,
  name          STRING,
  uid           STRING,
  region        STRING,
  zone          STRING,
  unschedulable BOOLEAN,
  PRIMARY KEY (cluster, name, uid) NOT ENFORCED
) WITH (
  'file.format' = 'parquet',
  'parquet.page.row.count.limit' = '1000',
  'bucket' = '1',
  'file.compression.per.level' = '0:none',
  'snapshot.num-retained.min' = '10',
  'snapshot.num-retained.max' = '${snapshots_retained_max}',
  'snapshot.time-retained' = '1h',
  'kubelake.compaction.level0-file-num' = '4',
  'num-levels' = '16'
);

-- Live objects per (cluster, kind): the table sums what the job writes.
-- The ADS tables keep a tag per day (their state as the day ended; read one with
-- /*+ OPTIONS('scan.tag-name' = '2026-03-05') */ or FOR SYSTEM_VERSION AS OF '2026-03-05'),
-- the newest ${ads_tags_retained}; manifests merge after 10 small ones, so a tag holds few files.
CREATE TABLE IF NOT EXISTS ads_kind_count (
  cluster    STRING,
  kind       STRING,
  live_count BIGINT,
  PRIMARY KEY (cluster, kind) NOT ENFORCED
) WITH (
  'file.format' = '${file_format}',
  'bucket' = '1',
  'merge-engine' = 'aggregation',
  'changelog-producer' = 'lookup',
  'changelog-file.compression' = 'none',
  'changelog-file.stats-mode' = 'none',
  'file.compression.per.level' = '0:none',
  'fields.live_count.aggregate-function' = 'sum',
  'tag.automatic-creation' = 'process-time',
  '${ads_tag_period_key}' = '${ads_tag_period}',
  'tag.num-retained-max' = '${ads_tags_retained}',
  'manifest.merge-min-count' = '10',
  'snapshot.num-retained.min' = '10',
  'snapshot.num-retained.max' = '${snapshots_retained_max}',
  'snapshot.time-retained' = '1h',
  'kubelake.compaction.level0-file-num' = '4',
  'num-levels' = '16'
);

CREATE TABLE IF NOT EXISTS ads_namespace_count (
  cluster    STRING,
  kind       STRING,
  namespace  STRING,
  live_count BIGINT,
  PRIMARY KEY (cluster, kind, namespace) NOT ENFORCED
) WITH (
  'file.format' = '${file_format}',
  'bucket' = '1',
  'merge-engine' = 'aggregation',
  'changelog-producer' = 'lookup',
  'changelog-file.compression' = 'none',
  'changelog-file.stats-mode' = 'none',
  'file.compression.per.level' = '0:none',
  'fields.live_count.aggregate-function' = 'sum',
  'tag.automatic-creation' = 'process-time',
  '${ads_tag_period_key}' = '${ads_tag_period}',
  'tag.num-retained-max' = '${ads_tags_retained}',
  'manifest.merge-min-count' = '10',
  'snapshot.num-retained.min' = '10',
  'snapshot.num-retained.max' = '${snapshots_retained_max}',
  'snapshot.time-retained' = '1h',
  'kubelake.compaction.level0-file-num' = '4',
  'num-levels' = '16'
);

CREATE TABLE IF NOT EXISTS ads_node_pods (
  cluster              STRING,
  node_name            STRING,
  pod_count            BIGINT,
  cpu_request_milli    BIGINT,
  memory_request_bytes BIGINT,
  PRIMARY KEY (cluster, node_name) NOT ENFORCED
) WITH (
  'file.format' = '${file_format}',
  'bucket' = '1',
  'merge-engine' = 'aggregation',
  'changelog-producer' = 'lookup',
  'changelog-file.compression' = 'none',
  'changelog-file.stats-mode' = 'none',
  'file.compression.per.level' = '0:none',
  'fields.pod_count.aggregate-function' = 'sum',
  'fields.cpu_request_milli.aggregate-function' = 'sum',
  'fields.memory_request_bytes.aggregate-function' = 'sum',
  'tag.automatic-creation' = 'process-time',
  '${ads_tag_period_key}' = '${ads_tag_period}',
  'tag.num-retained-max' = '${ads_tags_retained}',
  'manifest.merge-min-count' = '10',
  'snapshot.num-retained.min' = '10',
  'snapshot.num-retained.max' = '${snapshots_retained_max}',
  'snapshot.time-retained' = '1h',
  'kubelake.compaction.level0-file-num' = '4',
  'num-levels' = '16'
);

CREATE TABLE IF NOT EXISTS ads_user_resources (
  user_id              STRING,
  cluster              STRING,
  pod_count            BIGINT,
  cpu_request_milli    BIGINT,
  memory_request_bytes BIGINT,
  PRIMARY KEY (user_id, cluster) NOT ENFORCED
) WITH (
  'file.format' = '${file_format}',
  'bucket' = '1',
  'merge-engine' = 'aggregation',
  'changelog-producer' = 'lookup',
  'changelog-file.compression' = 'none',
  'changelog-file.stats-mode' = 'none',
  'file.compression.per.level' = '0:none',
  'fields.pod_count.aggregate-function' = 'sum',
  'fields.cpu_request_milli.aggregate-function' = 'sum',
  'fields.memory_request_bytes.aggregate-function' = 'sum',
  'tag.automatic-creation' = 'process-time',
  '${ads_tag_period_key}' = '${ads_tag_period}',
  'tag.num-retained-max' = '${ads_tags_retained}',
  'manifest.merge-min-count' = '10',
  'snapshot.num-retained.min' = '10',
  'snapshot.num-retained.max' = '${snapshots_retained_max}',
  'snapshot.time-retained' = '1h',
  'kubelake.compaction.level0-file-num' = '4',
  'num-levels' = '16'
);

-- One row per live pod that belongs to a user, bucketed by user: a look-up by user reads one bucket.
CREATE TABLE IF NOT EXISTS dws_topology (
  user_id              STRING,
  cluster              STRING,
  pod_uid              STRING,
  instance_id          STRING,
  namespace            STRING,
  pod_name             STRING,
  node_name            STRING,
  phase                STRING,
  cpu_request_milli    BIGINT,
  memory_request_bytes BIGINT,
  region               STRING,
  zone                 STRING,
  updated_time         BIGINT,
  PRIMARY KEY (user_id, cluster, pod_uid) NOT ENFORCED
) WITH (
  'file.format' = 'parquet',
  'parquet.page.row.count.limit' = '1000',
  'bucket' = '4',
  'bucket-key' = 'user_id',
  'file.compression.per.level' = '0:none',
  'num-sorted-run.stop-trigger' = '24',
  'snapshot.num-retained.min' = '10',
  'snapshot.num-retained.max' = '${snapshots_retained_max}',
  'snapshot.time-retained' = '1h',
  'kubelake.compaction.level0-file-num' = '8',
  'num-levels' = '16'
);

CREATE TABLE IF NOT EXISTS trend_kind_count (
  `minute`   BIGINT,  -- the sample's time (epoch ms, the end of its period)
  cluster    STRING,
  kind       STRING,
  live_count BIGINT
) WITH ('file.format' = '${file_format}', 'bucket' = '-1');

CREATE TABLE IF NOT EXISTS trend_user_resources (
  `minute`             BIGINT,
  user_id              STRING,
  cluster              STRING,
  pod_count            BIGINT,
  cpu_request_milli    BIGINT,
  memory_request_bytes BIGINT
) WITH ('file.format' = '${file_format}', 'bucket' = '-1');

-- ---- jobs reading the log (a commit every ${commit_interval_ms} ms) ----

SET 'execution.checkpointing.interval' = '${commit_interval_ms} ms';

-- Raw events are read by no streaming job: ODS commits less often (fewer snapshots and files).
SET 'execution.checkpointing.interval' = '${ods_commit_interval_ms} ms';
SET 'pipeline.name' = 'ods';
INSERT INTO ods_events
SELECT ingest_time, cluster, content
FROM k8s_events /*+ OPTIONS('properties.group.id' = 'kubelake-ods') */;

SET 'execution.checkpointing.interval' = '${commit_interval_ms} ms';

-- Every event becomes its object's row; dwd_objects' sequence.field keeps the newest.
-- The sink keeps the four cluster dimension columns (kubelake.cluster-dimensions):
-- what dim_cluster says, else what the cluster's node labels say.
SET 'pipeline.name' = 'dwd';
INSERT INTO dwd_objects /*+ OPTIONS('kubelake.cluster-dimensions' = 'dim_cluster') */
SELECT
  cluster, uid, NULLIF(kind, ''), NULLIF(api_group, ''), NULLIF(api_version, ''), NULLIF(namespace, ''),
  NULLIF(name, ''), NULLIF(resource_version, ''), COALESCE(TRY_CAST(resource_version AS BIGINT), 0),
  event_type, NULLIF(origin, ''), event_type = 'DELETED',
  CASE WHEN event_type = 'DELETED' THEN event_time END, event_time, ingest_time,
  NULLIF(watch_name, ''), watch_setup_time, CASE WHEN created_time > 0 THEN created_time END,
  COALESCE(labels, '{}'), NULLIF(owner_kind, ''), NULLIF(owner_name, ''), NULLIF(node_name, ''), NULLIF(phase, ''),
  COALESCE(unschedulable, FALSE), NULLIF(user_id, ''), NULLIF(instance_id, ''),
  CASE WHEN kind = 'Pod' THEN K8S_SUM_CPU_MILLIS(cpu_requests) ELSE 0 END,
  CASE WHEN kind = 'Pod' THEN K8S_SUM_MEMORY_BYTES(memory_requests) ELSE 0 END,
  NULLIF(topology_region, ''), NULLIF(topology_zone, ''),
  CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING)
FROM (
  SELECT
    cluster, ingest_time,
    JSON_VALUE(content, '$.type') AS event_type,
    JSON_VALUE(content, '$.uid') AS uid,
    JSON_VALUE(content, '$.kind') AS kind,
    JSON_VALUE(content, '$.group') AS api_group,
    JSON_VALUE(content, '$.version') AS api_version,
    JSON_VALUE(content, '$.namespace') AS namespace,
    JSON_VALUE(content, '$.name') AS name,
    JSON_VALUE(content, '$.resourceversion') AS resource_version,
    JSON_VALUE(content, '$.origin') AS origin,
    COALESCE(JSON_VALUE(content, '$.__time_milli__' RETURNING BIGINT), 0) AS event_time,
    JSON_VALUE(content, '$.watchname') AS watch_name,
    COALESCE(JSON_VALUE(content, '$.watchsetuptimestamp' RETURNING BIGINT), 0) AS watch_setup_time,
    K8S_TIME_MILLIS(JSON_VALUE(content, '$.obj.metadata.creationTimestamp')) AS created_time,
    JSON_QUERY(content, '$.obj.metadata.labels') AS labels,
    JSON_VALUE(content, '$.obj.metadata.ownerReferences[0].kind') AS owner_kind,
    JSON_VALUE(content, '$.obj.metadata.ownerReferences[0].name') AS owner_name,
    JSON_VALUE(content, '$.obj.spec.nodeName') AS node_name,
    JSON_VALUE(content, '$.obj.status.phase') AS phase,
    JSON_VALUE(content, '$.obj.spec.unschedulable' RETURNING BOOLEAN) AS unschedulable,
    JSON_VALUE(content, '$.obj.metadata.labels[''${user_label}'']') AS user_id,
    JSON_VALUE(content, '$.obj.metadata.labels[''${instance_label}'']') AS instance_id,
    JSON_QUERY(content, '$.obj.spec.containers[*].resources.requests.cpu' WITH ARRAY WRAPPER) AS cpu_requests,
    JSON_QUERY(content, '$.obj.spec.containers[*].resources.requests.memory' WITH ARRAY WRAPPER) AS memory_requests,
    JSON_VALUE(content, '$.obj.metadata.labels[''topology.kubernetes.io/region'']') AS topology_region,
    JSON_VALUE(content, '$.obj.metadata.labels[''topology.kubernetes.io/zone'']') AS topology_zone
  FROM k8s_events /*+ OPTIONS('properties.group.id' = 'kubelake-dwd') */
)
WHERE event_type IN ('ADDED', 'MODIFIED', 'DELETED') AND uid <> '';

-- ---- jobs following dwd_objects' changelog (a commit every ${follow_interval_ms} ms) ----

SET 'execution.checkpointing.interval' = '${follow_interval_ms} ms';

-- Region and zone of clusters from their live nodes' labels (partial update: what users set stays).
SET 'pipeline.name' = 'dim-from-nodes';
INSERT INTO dim_cluster (cluster, node_region, node_zone)
SELECT cluster, topology_region, topology_zone
FROM dwd_objects /*+ OPTIONS('consumer-id' = 'dim-from-nodes') */
WHERE kind = 'Node' AND deleted IS NOT TRUE AND topology_region IS NOT NULL;

-- Live nodes; a node that goes (deleted, or its deletion inferred) leaves its row.
SET 'pipeline.name' = 'dim-node';
INSERT INTO dim_node
SELECT cluster, name, uid, topology_region, topology_zone, unschedulable
FROM dwd_objects /*+ OPTIONS('consumer-id' = 'dim-node') */
WHERE kind = 'Node' AND deleted IS NOT TRUE AND cluster IS NOT NULL AND name IS NOT NULL;

-- Counts of live objects. DWD's changelog is exact (lookup producer), so a relist,
-- a modification or an inferred deletion moves a count exactly as the truth moves;
-- each checkpoint writes its deltas and the table's sum keeps the totals.
SET 'pipeline.name' = 'ads-kind-count';
INSERT INTO ads_kind_count
SELECT cluster, kind, COUNT(*)
FROM dwd_objects /*+ OPTIONS('consumer-id' = 'ads-kind-count') */
WHERE deleted IS NOT TRUE AND cluster IS NOT NULL AND kind IS NOT NULL
GROUP BY cluster, kind;

SET 'pipeline.name' = 'ads-namespace-count';
INSERT INTO ads_namespace_count
SELECT cluster, kind, namespace, COUNT(*)
FROM dwd_objects /*+ OPTIONS('consumer-id' = 'ads-namespace-count') */
WHERE deleted IS NOT TRUE AND cluster IS NOT NULL AND kind IS NOT NULL AND namespace IS NOT NULL
GROUP BY cluster, kind, namespace;

SET 'pipeline.name' = 'ads-node-pods';
INSERT INTO ads_node_pods
SELECT cluster, node_name, COUNT(*), SUM(cpu_request_milli), SUM(memory_request_bytes)
FROM dwd_objects /*+ OPTIONS('consumer-id' = 'ads-node-pods') */
WHERE deleted IS NOT TRUE AND kind = 'Pod' AND cluster IS NOT NULL AND node_name IS NOT NULL
GROUP BY cluster, node_name;

SET 'pipeline.name' = 'ads-user-resources';
INSERT INTO ads_user_resources
SELECT user_id, cluster, COUNT(*), SUM(cpu_request_milli), SUM(memory_request_bytes)
FROM dwd_objects /*+ OPTIONS('consumer-id' = 'ads-user-resources') */
WHERE deleted IS NOT TRUE AND kind = 'Pod' AND user_id IS NOT NULL AND cluster IS NOT NULL
GROUP BY user_id, cluster;

-- Live pods of users; a pod that goes (or moves to another user) leaves its row.
SET 'pipeline.name' = 'topology';
INSERT INTO dws_topology
SELECT user_id, cluster, uid, instance_id, namespace, name, node_name, phase, cpu_request_milli,
       memory_request_bytes, region, zone, event_time
FROM dwd_objects /*+ OPTIONS('consumer-id' = 'topology') */
WHERE deleted IS NOT TRUE AND kind = 'Pod' AND user_id IS NOT NULL;

-- ---- trends: the ADS tables as of every period's end (time travel fills periods missed) ----

SET 'pipeline.name' = 'trend-kind-count';
INSERT INTO trend_kind_count
SELECT snapshot_time, cluster, kind, live_count
FROM TABLE(SNAPSHOTS(TABLE ads_kind_count, INTERVAL '${trend_interval_ms}' MILLISECOND));

SET 'pipeline.name' = 'trend-user-resources';
INSERT INTO trend_user_resources
SELECT snapshot_time, user_id, cluster, pod_count, cpu_request_milli, memory_request_bytes
FROM TABLE(SNAPSHOTS(TABLE ads_user_resources, INTERVAL '${trend_interval_ms}' MILLISECOND));
