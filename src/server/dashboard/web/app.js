// kubelake dashboard: reads the JSON API of the server that serves it.
"use strict";

const $ = (sel) => document.querySelector(sel);
const fmt = new Intl.NumberFormat("en-US");
const PALETTE = ["#1f6feb", "#d9480f", "#2f9e44", "#9c36b5", "#e8590c", "#0c8599", "#c2255c", "#5c940d", "#364fc7", "#a61e4d"];

async function api(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// Rows as objects keyed by column name.
function records(result) {
  const names = result.columns.map((c) => c.name);
  return result.rows.map((row) => Object.fromEntries(row.map((v, i) => [names[i], v])));
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function ago(seconds) {
  if (seconds == null) return "unknown";
  if (seconds < 1) return `${seconds.toFixed(1)} s`;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function bytes(n) {
  if (n == null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

let toastTimer = null;
function toast(message) {
  const t = $("#toast");
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
}

function setHead(table, columns) {
  const tr = el("tr");
  for (const c of columns) tr.append(el("th", { class: c.num ? "num" : "" }, c.label));
  table.tHead.replaceChildren(tr);
}

// ---- status ----

let lastStatus = null;
async function refreshStatus() {
  const s = await api("/api/v1/status");
  lastStatus = s;
  const fresh = $("#fresh");
  const f = s.freshness_seconds;
  fresh.textContent = f == null ? "freshness unknown" : `fresh ${ago(f)} ago`;
  fresh.className = "badge " + (f == null ? "" : f < 5 ? "ok" : f < 60 ? "warn" : "bad");
  const ready = $("#ready");
  ready.textContent = s.ready ? "ready" : "not ready";
  ready.className = "badge " + (s.ready ? "ok" : "bad");
  ready.title = s.problems.join("\n");
  renderSystem(s);
}

function renderSystem(s) {
  const jobs = $("#jobs");
  setHead(jobs, [{ label: "job" }, { label: "state" }, { label: "freshness", num: true }, { label: "log lag", num: true },
    { label: "changes in", num: true }, { label: "commits", num: true }, { label: "errors", num: true }]);
  $("#jobs-empty").hidden = s.jobs.length > 0;
  jobs.tBodies[0].replaceChildren(...s.jobs.map((j) => {
    const state = !j.running ? "bad" : j.freshness_seconds != null && j.freshness_seconds > 60 ? "warn" : "ok";
    return el("tr", {},
      el("td", {}, j.name),
      el("td", {}, el("span", { class: `dot ${state}` }), j.running ? "running" : "recovering"),
      el("td", { class: "num" }, j.freshness_seconds == null ? "–" : ago(j.freshness_seconds)),
      el("td", { class: "num" }, j.log_lag_records == null ? "–" : fmt.format(j.log_lag_records)),
      el("td", { class: "num" }, fmt.format(j.changes_in)),
      el("td", { class: "num" }, fmt.format(j.commits)),
      el("td", { class: "num" }, fmt.format(j.errors)));
  }));
  const col = $("#collector");
  if (!s.collector) {
    col.replaceChildren(el("p", { class: "empty" }, "No collector in this process."));
  } else {
    const byState = {};
    for (const w of s.collector.watches) byState[w.state] = (byState[w.state] || 0) + 1;
    const relists = s.collector.watches.reduce((a, w) => a + w.relists, 0);
    col.replaceChildren(el("div", { class: "summary" },
      el("div", {}, el("b", {}, fmt.format(s.collector.events)), "events"),
      el("div", {}, el("b", {}, `${byState.watching || 0}/${s.collector.watches.length}`), "watches watching"),
      el("div", {}, el("b", {}, fmt.format(relists)), "relists after 410")));
  }
  const tables = $("#tables");
  setHead(tables, [{ label: "table" }, { label: "snapshots", num: true }, { label: "last commit", num: true }]);
  tables.tBodies[0].replaceChildren(...s.tables.map((t) => el("tr", {},
    el("td", {}, t.name), el("td", { class: "num" }, fmt.format(t.snapshots)),
    el("td", { class: "num" }, t.age_seconds == null ? "–" : `${ago(t.age_seconds)} ago`))));
  if (s.log) {
    tables.tBodies[0].append(el("tr", {}, el("td", {}, "event log"),
      el("td", { class: "num" }, `${fmt.format(s.log.retained_records)} records`),
      el("td", { class: "num" }, bytes(s.log.bytes_on_disk))));
  }
}

// ---- inventory ----

const KIND_ORDER = ["Node", "Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Service", "Namespace"];
function kindSort(a, b) {
  const ia = KIND_ORDER.indexOf(a), ib = KIND_ORDER.indexOf(b);
  return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
}

let knownKinds = [];
async function refreshInventory() {
  const audit = records(await api("/api/v1/audit"));
  const kinds = [...new Set(audit.map((r) => r.kind))].sort(kindSort);
  const clusters = new Map();
  for (const r of audit) {
    if (!clusters.has(r.cluster)) clusters.set(r.cluster, { region: r.region || "", counts: {} });
    clusters.get(r.cluster).counts[r.kind] = r.live;
  }
  const totals = {};
  for (const r of audit) totals[r.kind] = (totals[r.kind] || 0) + r.live;

  $("#kpis").replaceChildren(
    el("div", { class: "kpi" }, el("div", { class: "label" }, "Clusters"), el("div", { class: "value", "data-kpi": "clusters" }, fmt.format(clusters.size)),
      el("div", { class: "note" }, `${new Set([...clusters.values()].map((c) => c.region).filter(Boolean)).size} regions`)),
    ...kinds.map((k) => el("div", { class: "kpi" }, el("div", { class: "label" }, k),
      el("div", { class: "value", "data-kpi": k }, fmt.format(totals[k])))));

  const table = $("#audit");
  setHead(table, [{ label: "cluster" }, { label: "region" }, ...kinds.map((k) => ({ label: k, num: true }))]);
  const rows = [...clusters.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([name, c]) => el("tr", {},
    el("td", {}, name), el("td", { class: "region" }, c.region || "–"),
    ...kinds.map((k) => {
      const v = c.counts[k] || 0;
      return el("td", { class: v ? "num" : "num zero", "data-cluster": name, "data-kind": k }, fmt.format(v));
    })));
  table.tBodies[0].replaceChildren(...rows);
  table.tFoot.replaceChildren(el("tr", {}, el("td", {}, "all clusters"), el("td", {}, ""),
    ...kinds.map((k) => el("td", { class: "num" }, fmt.format(totals[k] || 0)))));
  $("#audit-empty").hidden = audit.length > 0;
  const f = lastStatus && lastStatus.freshness_seconds;
  $("#inv-as-of").textContent = f == null ? "freshness unknown" : `as of ${ago(f)} ago`;

  if (kinds.join() !== knownKinds.join()) {
    knownKinds = kinds;
    for (const id of ["#trend-kind", "#del-kind"]) {
      const sel = $(id);
      const keep = sel.value;
      const opts = id === "#del-kind" ? [el("option", { value: "" }, "all")] : [];
      sel.replaceChildren(...opts, ...kinds.map((k) => el("option", { value: k }, k)));
      sel.value = keep && kinds.includes(keep) ? keep : id === "#trend-kind" ? (kinds.includes("Pod") ? "Pod" : kinds[0] || "") : "";
    }
  }
}

// ---- trends ----

let chart = null;
async function refreshTrend() {
  const kind = $("#trend-kind").value || "Pod";
  const minutes = $("#trend-minutes").value;
  const rows = records(await api(`/api/v1/trend?minutes=${minutes}&kind=${encodeURIComponent(kind)}`));
  const times = [...new Set(rows.map((r) => Date.parse(r.time) / 1000))].sort((a, b) => a - b);
  const clusters = [...new Set(rows.map((r) => r.cluster))].sort();
  const index = new Map(times.map((t, i) => [t, i]));
  const series = clusters.map((c) => {
    const ys = new Array(times.length).fill(null);
    for (const r of rows) if (r.cluster === c) ys[index.get(Date.parse(r.time) / 1000)] = r.live;
    return ys;
  });
  const box = $("#trend-chart");
  $("#trend-empty").hidden = times.length > 0;
  box.hidden = times.length === 0;
  if (chart) { chart.destroy(); chart = null; }
  if (times.length === 0) return;
  const width = box.clientWidth || 900;
  chart = new uPlot({
    width, height: 320,
    title: `Live ${kind} objects per cluster`,
    scales: { x: { time: true } },
    axes: [{}, { values: (u, vals) => vals.map((v) => fmt.format(v)), size: 64 }],
    series: [{}, ...clusters.map((c, i) => ({
      label: c, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true,
      points: { show: times.length < 60, size: 5 },
      value: (u, v) => (v == null ? "–" : fmt.format(v)),
    }))],
  }, [times, ...series], box);
  box.dataset.points = String(times.length);
  box.dataset.series = String(clusters.length);
}

// ---- topology ----

async function loadSuggestions() {
  const by = document.querySelector("input[name=by]:checked").value;
  const list = $("#topo-suggest");
  try {
    if (by === "user") {
      const users = records(await api("/api/v1/users?limit=200"));
      list.replaceChildren(...users.map((u) => el("option", { value: u.user_id }, `${u.pods} pods`)));
      renderTopUsers(users.slice(0, 10));
    } else {
      const nodes = records(await api("/api/v1/nodes"));
      list.replaceChildren(...nodes.map((n) => el("option", { value: `${n.cluster}/${n.node}` }, `${n.pods} pods`)));
    }
  } catch (e) { /* the warehouse may not exist yet */ }
}

function renderTopUsers(users) {
  const t = $("#top-users");
  setHead(t, [{ label: "user" }, { label: "clusters", num: true }, { label: "pods", num: true },
    { label: "CPU requests", num: true }, { label: "memory requests", num: true }]);
  t.tBodies[0].replaceChildren(...users.map((u) => {
    const link = el("a", { href: "#topology" }, u.user_id);
    link.addEventListener("click", (ev) => { ev.preventDefault(); $("#topo-q").value = u.user_id; lookup(); });
    return el("tr", {}, el("td", {}, link), el("td", { class: "num" }, u.clusters), el("td", { class: "num" }, fmt.format(u.pods)),
      el("td", { class: "num" }, `${(u.cpu_milli / 1000).toFixed(2)} cores`), el("td", { class: "num" }, bytes(u.memory_bytes)));
  }));
}

async function lookup() {
  const by = document.querySelector("input[name=by]:checked").value;
  const q = $("#topo-q").value.trim();
  const out = $("#topo-result");
  if (!q) return;
  let url;
  if (by === "user") {
    url = `/api/v1/topology?user=${encodeURIComponent(q)}`;
  } else {
    const slash = q.indexOf("/");
    url = slash > 0 ? `/api/v1/topology?cluster=${encodeURIComponent(q.slice(0, slash))}&node=${encodeURIComponent(q.slice(slash + 1))}`
      : `/api/v1/topology?node=${encodeURIComponent(q)}`;
  }
  const at = $("#topo-at").value;
  if (at) url += `&at=${encodeURIComponent(new Date(at).toISOString())}`;
  try {
    const rows = records(await api(url));
    renderTopology(rows, by, q, at);
  } catch (e) {
    out.replaceChildren(el("div", { class: "card" }, el("p", { class: "empty" }, e.message)));
  }
}

function renderTopology(rows, by, q, at) {
  const out = $("#topo-result");
  const uniq = (f) => new Set(rows.map(f)).size;
  const summary = el("div", { class: "summary", "data-topology-pods": String(rows.length) },
    el("div", {}, el("b", {}, uniq((r) => r.user_id)), "users"),
    el("div", {}, el("b", {}, uniq((r) => r.instance_id)), "instances"),
    el("div", {}, el("b", {}, rows.length), "pods"),
    el("div", {}, el("b", {}, uniq((r) => `${r.cluster}/${r.node}`)), "nodes"),
    el("div", {}, el("b", {}, uniq((r) => r.cluster)), "clusters"),
    el("div", {}, el("b", {}, uniq((r) => r.region)), "regions"),
    el("div", {}, el("b", {}, `${(rows.reduce((a, r) => a + (r.cpu_milli || 0), 0) / 1000).toFixed(2)}`), "CPU cores requested"),
    el("div", {}, el("b", {}, bytes(rows.reduce((a, r) => a + (r.memory_bytes || 0), 0))), "memory requested"));
  if (rows.length === 0) {
    out.replaceChildren(el("div", { class: "card" }, el("p", { class: "empty" },
      `Nothing runs for ${by} ${q}${at ? " at that time" : ""}.`)));
    return;
  }
  // user → instance → pod → node → cluster
  const tree = el("ul");
  const users = groupBy(rows, (r) => r.user_id);
  for (const [user, urows] of users) {
    const instances = el("ul");
    for (const [inst, irows] of groupBy(urows, (r) => r.instance_id || "(no instance)")) {
      const pods = el("ul");
      for (const r of irows) {
        pods.append(el("li", {}, `${r.namespace}/${r.pod}`, el("span", { class: `tag phase-${r.phase}` }, r.phase || "?"),
          " → node ", el("b", {}, r.node || "(unscheduled)"), r.node_zone ? el("span", { class: "tag" }, r.node_zone) : "",
          " → cluster ", el("b", {}, r.cluster), r.region ? el("span", { class: "tag" }, r.region) : ""));
      }
      instances.append(el("li", { class: "instance" }, el("span", {}, `instance ${inst}`),
        el("span", { class: "tag" }, `${irows.length} pods`), pods));
    }
    tree.append(el("li", {}, el("b", {}, `user ${user}`), instances));
  }
  const title = el("h3", {}, `${by} ${q}` + (at ? ` as of ${new Date(at).toLocaleString()}` : ""));
  out.replaceChildren(el("div", { class: "card" }, title, summary, el("div", { class: "tree" }, tree)));
}

function groupBy(rows, key) {
  const m = new Map();
  for (const r of rows) {
    const k = key(r);
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(r);
  }
  return m;
}

// ---- deleted ----

async function refreshDeleted() {
  const kind = $("#del-kind").value;
  const name = $("#del-name").value.trim();
  const rows = records(await api(`/api/v1/deleted?limit=50&kind=${encodeURIComponent(kind)}&name=${encodeURIComponent(name)}`));
  const t = $("#deleted-table");
  setHead(t, [{ label: "deleted" }, { label: "cluster" }, { label: "kind" }, { label: "namespace/name" },
    { label: "lived" }, { label: "owner" }, { label: "node" }, { label: "how" }]);
  t.tBodies[0].replaceChildren(...rows.map((r) => {
    const lived = r.created_time ? ago((Date.parse(r.deleted_time) - Date.parse(r.created_time)) / 1000) : "–";
    return el("tr", {}, el("td", {}, new Date(r.deleted_time).toLocaleString()), el("td", {}, r.cluster),
      el("td", {}, r.kind), el("td", {}, r.namespace ? `${r.namespace}/${r.name}` : r.name), el("td", {}, lived),
      el("td", {}, r.owner || "–"), el("td", {}, r.node || "–"),
      el("td", { title: "watched: a DELETED event; inferred: gone at a relist after the watch expired" }, r.origin || "–"));
  }));
  $("#deleted-empty").hidden = rows.length > 0;
}

// ---- SQL console ----

const SQL_EXAMPLES = {
  audit: "SELECT cluster, kind, live_count\nFROM ads_kind_count\nWHERE live_count <> 0\nORDER BY cluster, kind",
  namespaces: "SELECT cluster, namespace, SUM(live_count) AS objects\nFROM ads_namespace_count\nGROUP BY cluster, namespace\nORDER BY objects DESC\nLIMIT 20",
  deleted: "SELECT cluster, kind, namespace, name,\n  TO_TIMESTAMP_LTZ(deleted_time, 3) AS deleted_at, origin\nFROM dwd_objects\nWHERE deleted = TRUE\nORDER BY deleted_time DESC\nLIMIT 50",
  nodes: "SELECT cluster, node_name, pod_count,\n  cpu_request_milli / 1000.0 AS cpu_cores,\n  memory_request_bytes / 1073741824.0 AS memory_gib\nFROM ads_node_pods\nWHERE pod_count > 0\nORDER BY pod_count DESC\nLIMIT 50",
  snapshots: "SELECT snapshot_id, commit_kind, commit_time, total_record_count\nFROM `dwd_objects$snapshots`\nORDER BY snapshot_id DESC\nLIMIT 20",
};

function sqlGutter(errorLine = 0) {
  const lines = $("#sql-text").value.split("\n").length;
  const g = $("#sql-gutter");
  g.replaceChildren(...Array.from({ length: lines }, (_, i) =>
    el("span", { class: i + 1 === errorLine ? "err" : "" }, `${i + 1}\n`)));
  g.scrollTop = $("#sql-text").scrollTop;
}

// The error's place: the line of the statement and a caret under the column.
function showSqlError(body) {
  $("#sql-result").hidden = true;
  const box = $("#sql-error");
  box.hidden = false;
  const where = body.line ? `line ${body.line}, column ${body.column}: ` : "";
  $("#sql-error-message").textContent = where + (body.error || "the statement failed");
  box.dataset.line = body.line || "";
  box.dataset.column = body.column || "";
  const text = $("#sql-text").value;
  if (body.line) {
    const line = text.split("\n")[body.line - 1] ?? "";
    $("#sql-error-context").textContent = `${line}\n${" ".repeat(Math.max(0, body.column - 1))}^`;
    // Put the cursor on the place.
    const lines = text.split("\n");
    let offset = 0;
    for (let i = 0; i < body.line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset += Math.max(0, body.column - 1);
    const t = $("#sql-text");
    t.focus();
    t.setSelectionRange(offset, Math.min(text.length, offset + 1));
  } else {
    $("#sql-error-context").textContent = "";
  }
  sqlGutter(body.line || 0);
}

function cellText(v) {
  if (v === null) return "NULL";
  if (typeof v === "object") return JSON.stringify(v);
  if (typeof v === "number") return Number.isInteger(v) ? fmt.format(v) : String(v);
  return String(v);
}

async function runSql() {
  const status = $("#sql-status");
  const sql = $("#sql-text").value;
  if (!sql.trim()) return;
  status.textContent = "running…";
  $("#sql-run").disabled = true;
  try {
    const r = await fetch("/api/v1/sql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ sql, max_rows: Number($("#sql-max-rows").value) }),
    });
    const body = await r.json().catch(() => ({ error: r.statusText }));
    if (!r.ok) {
      status.textContent = `failed (${r.status})`;
      showSqlError(body);
      return;
    }
    $("#sql-error").hidden = true;
    sqlGutter(0);
    const result = $("#sql-result");
    result.hidden = false;
    const t = $("#sql-table");
    if (!body.columns) {
      t.tHead.replaceChildren();
      t.tBodies[0].replaceChildren();
      $("#sql-empty").hidden = false;
      $("#sql-empty").textContent = body.message || "Done.";
    } else {
      const numeric = body.columns.map((c) => /^(TINYINT|SMALLINT|INT|BIGINT|FLOAT|DOUBLE|DECIMAL)/.test(c.type));
      setHead(t, body.columns.map((c, i) => ({ label: c.name, num: numeric[i] })));
      for (const [i, th] of [...t.tHead.rows[0].cells].entries()) th.title = body.columns[i].type;
      t.tBodies[0].replaceChildren(...body.rows.map((row) => el("tr", {}, ...row.map((v, i) =>
        el("td", { class: v === null ? "null" : numeric[i] ? "num" : "" }, cellText(v))))));
      $("#sql-empty").hidden = body.rows.length > 0;
      $("#sql-empty").textContent = "No rows.";
    }
    result.dataset.rows = String(body.row_count ?? 0);
    const n = body.row_count ?? 0;
    status.textContent = (body.columns ? `${fmt.format(n)} row${n === 1 ? "" : "s"}${body.truncated ? " (cut at the row limit)" : ""}` : body.message || "") +
      ` · ${body.elapsed_ms.toFixed(1)} ms` + (body.statements > 1 ? ` · ${body.statements} statements` : "");
  } catch (e) {
    status.textContent = "failed";
    showSqlError({ error: e.message });
  } finally {
    $("#sql-run").disabled = false;
  }
}

// ---- wiring ----

async function guarded(f) {
  try { await f(); } catch (e) { toast(e.message); }
}

async function refreshAll() {
  await guarded(refreshStatus);
  await guarded(refreshInventory);
}

document.addEventListener("DOMContentLoaded", async () => {
  $("#topo-form").addEventListener("submit", (ev) => { ev.preventDefault(); lookup(); });
  for (const r of document.querySelectorAll("input[name=by]")) {
    r.addEventListener("change", () => {
      $("#topo-q").placeholder = r.value === "user" ? "user id, e.g. u00042" : "cluster/node, e.g. prod-1/node-3";
      $("#topo-q").value = "";
      loadSuggestions();
    });
  }
  $("#trend-kind").addEventListener("change", () => guarded(refreshTrend));
  $("#trend-minutes").addEventListener("change", () => guarded(refreshTrend));
  $("#del-kind").addEventListener("change", () => guarded(refreshDeleted));
  $("#del-name").addEventListener("input", () => guarded(refreshDeleted));
  $("#sql-run").addEventListener("click", runSql);
  $("#sql-text").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); runSql(); }
    if (ev.key === "Tab") {
      ev.preventDefault();
      const t = ev.target, at = t.selectionStart;
      t.setRangeText("  ", at, t.selectionEnd, "end");
      sqlGutter();
    }
  });
  $("#sql-text").addEventListener("input", () => sqlGutter());
  $("#sql-text").addEventListener("scroll", () => { $("#sql-gutter").scrollTop = $("#sql-text").scrollTop; });
  $("#sql-examples").addEventListener("change", (ev) => {
    if (!SQL_EXAMPLES[ev.target.value]) return;
    $("#sql-text").value = SQL_EXAMPLES[ev.target.value];
    ev.target.value = "";
    sqlGutter();
    runSql();
  });
  sqlGutter();
  window.addEventListener("resize", () => { if (chart) chart.setSize({ width: $("#trend-chart").clientWidth, height: 320 }); });
  await refreshAll();
  await guarded(refreshTrend);
  await guarded(refreshDeleted);
  await loadSuggestions();
  document.body.dataset.loaded = "true";
  setInterval(refreshAll, 5000);
  setInterval(() => guarded(refreshTrend), 30000);
  setInterval(() => guarded(refreshDeleted), 15000);
  setInterval(loadSuggestions, 60000);
});
